//! The resource kinds of the CloudHSM domain, with the control each kind's drift concerns.

use kmsctl_core::{Control, ResourceKind};

use crate::diff::{KIND_CLUSTER, KIND_CONNECTION, KIND_HSM, KIND_KEY_STORE};

pub const KINDS: [ResourceKind; 4] = [
    ResourceKind {
        name: KIND_CLUSTER,
        control: Some(Control::Hsm),
    },
    ResourceKind {
        name: KIND_HSM,
        control: Some(Control::Hsm),
    },
    ResourceKind {
        name: KIND_KEY_STORE,
        control: Some(Control::Hsm),
    },
    ResourceKind {
        name: KIND_CONNECTION,
        control: Some(Control::Hsm),
    },
];
