//! Planned API calls. Each domain names its calls with its own enum (`KeyOp`, `OrgOp`, ...) that
//! implements [`DomainOp`]; a change holds them encoded as [`Operation`]s, which only
//! [`Operation::encode`] makes from code (or a plan file, read back as data): a misspelt field or
//! call is a compile error, not an apply-time surprise.

use std::fmt;
use std::ops::Index;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::reference::{self, Outputs, Reference, ReferenceError};
use crate::semantics::Semantics;

/// One domain's API call as planned. Serialised with its name in the `op` field; fields that may
/// come from an earlier change are [`crate::Ref`]s.
pub trait DomainOp: Serialize + DeserializeOwned {
    /// The same call with every reference replaced by its value: what apply makes.
    type Resolved: DeserializeOwned + Clone;

    /// The `op` name it is stored under (`CreateKey`).
    fn name(&self) -> &'static str;

    /// How AWS treats the call, as apply relies on it.
    fn semantics(&self) -> Semantics;

    /// How AWS treats the call when `earlier` calls of the same change were made just before it
    /// (a call right after CreateKey or EnableKey meets a key whose new state has not
    /// propagated). By default the same as [`DomainOp::semantics`].
    fn semantics_after(&self, earlier: &[Self]) -> Semantics
    where
        Self: Sized,
    {
        let _ = earlier;
        self.semantics()
    }
}

/// A planned call in its domain's serialised form: opaque to the core but for its name and the
/// references it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Operation(Value);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OperationError {
    #[error(transparent)]
    Reference(#[from] ReferenceError),
    /// Not one of the calls the domain knows, or a field of the wrong shape.
    #[error("{0}")]
    Decode(String),
}

impl Operation {
    pub fn encode<T: DomainOp>(op: &T) -> Self {
        // Operations hold strings, numbers, booleans, lists and string-keyed maps: serde_json
        // cannot fail on them (each domain's round-trip test encodes every one).
        Self(serde_json::to_value(op).expect("a domain operation encodes as JSON"))
    }

    /// An operation from raw JSON, for tests of code that reads plans (a forged or old plan).
    #[cfg(test)]
    pub(crate) fn raw_for_tests(value: Value) -> Self {
        Self(value)
    }

    /// The call's name, the `op` field.
    pub fn name(&self) -> Option<&str> {
        self.0.get("op")?.as_str()
    }

    /// Every reference to an earlier change's output.
    pub fn references(&self) -> Vec<Reference> {
        reference::references(&self.0)
    }

    /// The call as planned, references kept.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, OperationError> {
        T::deserialize(&self.0).map_err(|e| OperationError::Decode(e.to_string()))
    }

    /// The call with its references replaced from `outputs`, decoded as `T` (a domain's
    /// resolved form).
    pub fn resolve<T: DeserializeOwned>(&self, outputs: &Outputs) -> Result<T, OperationError> {
        let mut value = self.0.clone();
        reference::resolve(&mut value, outputs)?;
        serde_json::from_value(value).map_err(|e| OperationError::Decode(e.to_string()))
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }
}

/// `operation["key_id"]`, as on the JSON it is.
impl Index<&str> for Operation {
    type Output = Value;

    fn index(&self, field: &str) -> &Value {
        &self.0[field]
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The `op` names serde accepts for `T`, read from the error it gives for an unknown one. Tests
/// use it to check that a list of sample operations covers every variant of a domain's enum.
pub fn variant_names<T: DeserializeOwned>() -> Vec<String> {
    const PROBE: &str = "\u{0}not an operation";
    let Err(error) = serde_json::from_value::<T>(serde_json::json!({ "op": PROBE })) else {
        return vec![];
    };
    // "unknown variant `\0not an operation`, expected one of `A`, `B`" (or "expected `A`").
    let text = error.to_string();
    let Some((_, expected)) = text.split_once("expected ") else {
        return vec![];
    };
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::Address;
    use crate::reference::Ref;
    use crate::semantics::{LostAnswer, NotYet};

    /// A domain of two calls, to test the encoding without a real one.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "op", deny_unknown_fields)]
    enum TestOp<K = Ref<String>> {
        Make { name: String },
        Use { id: K },
    }

    impl DomainOp for TestOp {
        type Resolved = TestOp<String>;

        fn name(&self) -> &'static str {
            match self {
                Self::Make { .. } => "Make",
                Self::Use { .. } => "Use",
            }
        }

        fn semantics(&self) -> Semantics {
            Semantics {
                lost_answer: LostAnswer::Repeat,
                not_yet: NotYet::Never,
                confirm: None,
            }
        }
    }

    fn made() -> Address {
        Address::new("thing", "a")
    }

    #[test]
    fn encodes_with_the_name_and_finds_references() {
        let op = TestOp::Use {
            id: Ref::After(Reference::new(made(), "id")),
        };
        let encoded = Operation::encode(&op);
        assert_eq!(encoded.name(), Some("Use"));
        assert_eq!(encoded["id"], json!({"$ref": "thing.a#id"}));
        assert_eq!(encoded.references(), vec![Reference::new(made(), "id")]);
        assert_eq!(encoded.decode::<TestOp>(), Ok(op));
    }

    #[test]
    fn resolves_into_the_resolved_form() {
        let encoded = Operation::encode(&TestOp::Use {
            id: Ref::After(Reference::new(made(), "id")),
        });
        let outputs = Outputs::from([(made(), BTreeMap::from([("id".into(), "t-1".into())]))]);
        assert_eq!(
            encoded.resolve::<TestOp<String>>(&outputs),
            Ok(TestOp::Use { id: "t-1".into() })
        );
        assert!(matches!(
            encoded.resolve::<TestOp<String>>(&Outputs::new()),
            Err(OperationError::Reference(ReferenceError::Unresolved(..)))
        ));
    }

    #[test]
    fn a_misspelt_call_or_field_does_not_decode() {
        let misspelt = Operation::raw_for_tests(json!({"op": "Mak", "name": "x"}));
        assert!(matches!(
            misspelt.decode::<TestOp>(),
            Err(OperationError::Decode(_))
        ));
        let extra = Operation::raw_for_tests(json!({"op": "Make", "name": "x", "nme": "y"}));
        assert!(extra.decode::<TestOp>().is_err());
    }

    #[test]
    fn variant_names_lists_every_variant() {
        assert_eq!(variant_names::<TestOp>(), ["Make", "Use"]);
    }
}
