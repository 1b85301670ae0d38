//! References to values known only after apply (a new key's ARN, a key store id), so that one
//! domain's change can use another's output without the domain crates importing each other.
//!
//! A reference is written into a change's operations as `{"$ref": "kms_key.app#arn"}`; apply
//! replaces it with the output recorded when the referenced change ran.

use std::collections::BTreeMap;

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
        map.insert(
            REF_KEY.to_owned(),
            Value::String(format!("{}#{}", self.address, self.attribute)),
        );
        Value::Object(map)
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
        let reference = parsed?;
        let resolved = outputs
            .get(&reference.address)
            .and_then(|attributes| attributes.get(&reference.attribute))
            .ok_or_else(|| {
                ReferenceError::Unresolved(reference.address.clone(), reference.attribute.clone())
            })?;
        *value = Value::String(resolved.clone());
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
    fn finds_references() {
        let value =
            json!([{"a": Reference::new(key(), "arn").to_value()}, {"$ref": "x", "other": 1}]);
        assert_eq!(references(&value), vec![Reference::new(key(), "arn")]);
    }
}
