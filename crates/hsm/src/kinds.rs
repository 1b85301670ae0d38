//! The CloudHSM domain's resource kinds (the `kind` of a plan address), with the control each
//! kind's drift concerns: all of them are HSM-backed key storage.

use kmsctl_core::{Control, ResourceKind};

pub const KIND_CLUSTER: &str = "hsm_cluster";
pub const KIND_HSM: &str = "hsm";
pub const KIND_KEY_STORE: &str = "kms_custom_key_store";
pub const KIND_CONNECTION: &str = "kms_custom_key_store_connection";

pub const KINDS: [ResourceKind; 4] = [
    hsm(KIND_CLUSTER),
    hsm(KIND_HSM),
    hsm(KIND_KEY_STORE),
    hsm(KIND_CONNECTION),
];

const fn hsm(name: &'static str) -> ResourceKind {
    ResourceKind {
        name,
        control: Some(Control::Hsm),
    }
}
