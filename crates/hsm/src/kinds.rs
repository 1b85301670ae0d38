//! The CloudHSM domain's resource kinds: the `kind` of a plan address.

pub const KIND_CLUSTER: &str = "hsm_cluster";
pub const KIND_HSM: &str = "hsm";
pub const KIND_KEY_STORE: &str = "kms_custom_key_store";
pub const KIND_CONNECTION: &str = "kms_custom_key_store_connection";

pub const ALL: [&str; 4] = [KIND_CLUSTER, KIND_HSM, KIND_KEY_STORE, KIND_CONNECTION];
