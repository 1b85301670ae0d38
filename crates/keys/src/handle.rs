//! A key as operations name it: its id when it exists, or a reference to the change creating it.

use kmsctl_core::{Address, Reference};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyHandle {
    Existing(String),
    New(Address),
}

impl KeyHandle {
    pub fn to_value(&self) -> Value {
        match self {
            Self::Existing(id) => Value::String(id.clone()),
            Self::New(address) => Reference::new(address.clone(), "key_id").to_value(),
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
