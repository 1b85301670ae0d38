//! References to values known only after apply (a new key's ARN, a key store id), so that one
//! domain's change can use another's output without the domain crates importing each other.
//!
//! A reference is written into a change's operations as `{"$ref": "kms_key.app#arn"}`; apply
//! replaces it with the output recorded when the referenced change ran. In a domain's typed
//! operation, a field that may hold one is a [`Ref`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::address::Address;

const REF_KEY: &str = "$ref";

/// `address#attribute`: an output of the change at `address`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub address: Address,
    pub attribute: String,
}

impl Reference {
    pub fn new(address: Address, attribute: impl Into<String>) -> Self {
        Self {
            address,
            attribute: attribute.into(),
        }
    }

    /// The JSON placeholder stored in a plan.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert(REF_KEY.to_owned(), Value::String(self.to_string()));
        Value::Object(map)
    }

    /// The output this reference names, once its change has been applied.
    pub fn lookup<'a>(&self, outputs: &'a Outputs) -> Result<&'a String, ReferenceError> {
        outputs
            .get(&self.address)
            .and_then(|attributes| attributes.get(&self.attribute))
            .ok_or_else(|| ReferenceError::Unresolved(self.address.clone(), self.attribute.clone()))
    }

    fn from_placeholder(value: &Value) -> Option<Result<Self, ReferenceError>> {
        let map = value.as_object()?;
        if map.len() != 1 {
            return None;
        }
        let text = map.get(REF_KEY)?.as_str()?;
        let parsed = text
            .split_once('#')
            .and_then(|(address, attribute)| Some((address.parse::<Address>().ok()?, attribute)))
            .map(|(address, attribute)| Self::new(address, attribute))
            .ok_or_else(|| ReferenceError::Malformed(text.to_owned()));
        Some(parsed)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}#{}", self.address, self.attribute)
    }
}

/// A value of a planned operation: known when the plan is made, or the output of an earlier
/// change (a new key's id). Serialised as the plain value, or as the `{"$ref": ...}` placeholder,
/// so plans read the same as when operations were untyped JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref<T> {
    Known(T),
    After(Reference),
}

impl<T> Ref<T> {
    /// The change whose output this is, if it is not known yet.
    pub fn reference(&self) -> Option<&Reference> {
        match self {
            Self::Known(_) => None,
            Self::After(reference) => Some(reference),
        }
    }
}

impl Ref<String> {
    /// The value, from `outputs` when it is a reference.
    pub fn resolve(&self, outputs: &Outputs) -> Result<String, ReferenceError> {
        match self {
            Self::Known(value) => Ok(value.clone()),
            Self::After(reference) => reference.lookup(outputs).cloned(),
        }
    }
}

impl<T> From<T> for Ref<T> {
    fn from(value: T) -> Self {
        Self::Known(value)
    }
}

impl<T: Serialize> Serialize for Ref<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Known(value) => value.serialize(serializer),
            Self::After(reference) => reference.to_value().serialize(serializer),
        }
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Ref<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        match Reference::from_placeholder(&value) {
            Some(Ok(reference)) => Ok(Self::After(reference)),
            Some(Err(error)) => Err(D::Error::custom(error)),
            None => T::deserialize(value)
                .map(Self::Known)
                .map_err(D::Error::custom),
        }
    }
}

/// Outputs of the changes applied so far: address → attribute → value.
pub type Outputs = BTreeMap<Address, BTreeMap<String, String>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReferenceError {
    #[error("malformed reference {0:?}: expected KIND.NAME#ATTRIBUTE")]
    Malformed(String),
    #[error("{0}#{1} is not known: the change that produces it has not been applied")]
    Unresolved(Address, String),
}

/// Every reference inside `value`.
pub fn references(value: &Value) -> Vec<Reference> {
    let mut found = Vec::new();
    collect(value, &mut found);
    found
}

fn collect(value: &Value, found: &mut Vec<Reference>) {
    if let Some(Ok(reference)) = Reference::from_placeholder(value) {
        found.push(reference);
        return;
    }
    match value {
        Value::Array(items) => items.iter().for_each(|item| collect(item, found)),
        Value::Object(map) => map.values().for_each(|item| collect(item, found)),
        _ => {}
    }
}

/// Replaces every reference in `value` with its output.
pub fn resolve(value: &mut Value, outputs: &Outputs) -> Result<(), ReferenceError> {
    if let Some(parsed) = Reference::from_placeholder(value) {
        *value = Value::String(parsed?.lookup(outputs)?.clone());
        return Ok(());
    }
    match value {
        Value::Array(items) => items.iter_mut().try_for_each(|item| resolve(item, outputs)),
        Value::Object(map) => map.values_mut().try_for_each(|item| resolve(item, outputs)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> Address {
        Address::new("kms_key", "app")
    }

    #[test]
    fn resolves_nested_references() {
        let mut value = json!({"op": "CreateAlias", "key": Reference::new(key(), "key_id").to_value(), "list": [Reference::new(key(), "arn").to_value()]});
        let mut outputs = Outputs::new();
        outputs.insert(
            key(),
            BTreeMap::from([
                ("key_id".into(), "k-1".into()),
                ("arn".into(), "arn:k-1".into()),
            ]),
        );
        resolve(&mut value, &outputs).expect("resolves");
        assert_eq!(
            value,
            json!({"op": "CreateAlias", "key": "k-1", "list": ["arn:k-1"]})
        );
    }

    #[test]
    fn unresolved_reference_names_the_address() {
        let mut value = json!({"key": Reference::new(key(), "arn").to_value()});
        let err = resolve(&mut value, &Outputs::new()).expect_err("nothing applied yet");
        assert_eq!(err, ReferenceError::Unresolved(key(), "arn".into()));
    }

    #[test]
    fn a_ref_is_the_plain_value_or_the_placeholder_both_ways() {
        let known: Ref<String> = Ref::Known("k-1".into());
        let after: Ref<String> = Ref::After(Reference::new(key(), "key_id"));
        assert_eq!(serde_json::to_value(&known).expect("encodes"), json!("k-1"));
        assert_eq!(
            serde_json::to_value(&after).expect("encodes"),
            json!({"$ref": "kms_key.app#key_id"})
        );
        for value in [known, after] {
            let encoded = serde_json::to_value(&value).expect("encodes");
            let decoded: Ref<String> = serde_json::from_value(encoded).expect("decodes");
            assert_eq!(decoded, value);
        }
    }

    #[test]
    fn a_ref_refuses_a_malformed_placeholder_and_a_value_of_another_type() {
        let malformed = serde_json::from_value::<Ref<String>>(json!({"$ref": "no-hash"}));
        assert!(
            malformed.is_err_and(|e| e.to_string().contains("malformed reference")),
            "a placeholder that is not KIND.NAME#ATTRIBUTE"
        );
        assert!(serde_json::from_value::<Ref<String>>(json!(7)).is_err());
        assert!(serde_json::from_value::<Ref<String>>(json!({"other": "x"})).is_err());
    }

    #[test]
    fn a_ref_resolves_against_outputs() {
        let mut outputs = Outputs::new();
        outputs.insert(key(), BTreeMap::from([("key_id".into(), "k-1".into())]));
        let after: Ref<String> = Ref::After(Reference::new(key(), "key_id"));
        assert_eq!(after.resolve(&outputs), Ok("k-1".to_owned()));
        assert_eq!(
            Ref::Known("k-2".to_owned()).resolve(&Outputs::new()),
            Ok("k-2".into())
        );
        assert_eq!(
            Ref::<String>::After(Reference::new(key(), "arn")).resolve(&outputs),
            Err(ReferenceError::Unresolved(key(), "arn".into()))
        );
    }

    #[test]
    fn finds_references() {
        let value =
            json!([{"a": Reference::new(key(), "arn").to_value()}, {"$ref": "x", "other": 1}]);
        assert_eq!(references(&value), vec![Reference::new(key(), "arn")]);
    }
}
