//! The SDK's enums (`KeySpec`, `KeyState`, `ClusterState`, ...) in kmsctl's own JSON (plans,
//! fingerprints of observed state) as the plain strings AWS sends, so code compares enums while
//! what is saved reads as before. Every SDK enum has `as_str()` (`AsRef<str>`) and `From<&str>`
//! (an unknown value is kept as `Unknown`).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `#[serde(with = "kmsctl_aws::sdk_enum::wire")]` on a field holding an SDK enum.
pub mod wire {
    use super::*;

    pub fn serialize<T: AsRef<str>, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(value.as_ref())
    }

    pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
    where
        T: for<'a> From<&'a str>,
        D: Deserializer<'de>,
    {
        let text = String::deserialize(d)?;
        Ok(T::from(text.as_str()))
    }
}

/// An SDK enum as AWS reported it, or nothing when AWS did not say: serialised and displayed as
/// the AWS string, `""` when absent (what the observed strings held before).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reported<T>(Option<T>);

impl<T> Reported<T> {
    pub fn new(value: Option<T>) -> Self {
        Self(value)
    }

    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<T: AsRef<str>> Reported<T> {
    /// The AWS string, `""` when AWS did not say.
    pub fn as_str(&self) -> &str {
        self.0.as_ref().map_or("", AsRef::as_ref)
    }
}

impl<T> Default for Reported<T> {
    fn default() -> Self {
        Self(None)
    }
}

/// `reported == KeyState::Enabled`: false when AWS did not say.
impl<T: PartialEq> PartialEq<T> for Reported<T> {
    fn eq(&self, other: &T) -> bool {
        self.0.as_ref() == Some(other)
    }
}

impl<T> From<Option<T>> for Reported<T> {
    fn from(value: Option<T>) -> Self {
        Self(value)
    }
}

/// From the AWS string, as in tests and saved JSON: `""` is "not reported".
impl<T: for<'a> From<&'a str>> From<&str> for Reported<T> {
    fn from(text: &str) -> Self {
        Self((!text.is_empty()).then(|| T::from(text)))
    }
}

impl<T: AsRef<str>> fmt::Display for Reported<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<T: AsRef<str>> Serialize for Reported<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de, T: for<'a> From<&'a str>> Deserialize<'de> for Reported<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(Self::from(text.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_kms::types::{KeySpec, KeyState};
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Saved {
        #[serde(with = "wire")]
        spec: KeySpec,
        state: Reported<KeyState>,
    }

    #[test]
    fn saved_as_the_aws_strings_and_read_back() {
        let saved = Saved {
            spec: KeySpec::EccNistP256,
            state: Some(KeyState::PendingDeletion).into(),
        };
        let value = serde_json::to_value(&saved).expect("encodes");
        assert_eq!(
            value,
            json!({"spec": "ECC_NIST_P256", "state": "PendingDeletion"})
        );
        assert_eq!(
            serde_json::from_value::<Saved>(value).expect("decodes"),
            saved
        );
    }

    #[test]
    fn not_reported_is_the_empty_string_and_equals_nothing() {
        let absent: Reported<KeyState> = Reported::new(None);
        assert_eq!(serde_json::to_value(&absent).expect("encodes"), json!(""));
        assert_eq!(absent.to_string(), "");
        assert_eq!(Reported::<KeyState>::from(""), absent);
        assert_ne!(absent, KeyState::Enabled);
        assert_eq!(Reported::from("Enabled"), KeyState::Enabled);
    }

    #[test]
    fn unknown_values_are_kept() {
        let future: Reported<KeyState> = "Hibernating".into();
        assert_eq!(future.as_str(), "Hibernating");
        let decoded: Saved =
            serde_json::from_value(json!({"spec": "PQ_9000", "state": ""})).expect("decodes");
        assert_eq!(decoded.spec.as_str(), "PQ_9000");
    }
}
