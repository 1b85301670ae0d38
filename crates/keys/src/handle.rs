//! A key as operations name it: its id when it exists, or a reference to the change creating it.

use kmsctl_core::{Address, Ref, Reference};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHandle {
    Existing(String),
    New(Address),
}

impl KeyHandle {
    /// The key as an operation names it.
    pub fn key_id(&self) -> Ref<String> {
        match self {
            Self::Existing(id) => Ref::Known(id.clone()),
            Self::New(address) => Ref::After(Reference::new(address.clone(), "key_id")),
        }
    }

    /// The key change this one must follow when the key is new.
    pub fn creating_change(&self) -> Option<&Address> {
        match self {
            Self::Existing(_) => None,
            Self::New(address) => Some(address),
        }
    }
}
