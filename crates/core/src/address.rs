//! Resource addresses: `kind.name`, e.g. `kms_key.db-payments-encryption` or `kms_alias.alias/payments-db`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The stable name of one managed resource inside a target. The kind says which domain owns it
/// (`kms_*` keys, later `org_*`, `hsm_*`, `monitor_*`); the name is unique within the kind.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub kind: String,
    pub name: String,
}

impl Address {
    pub fn new(kind: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.kind, self.name)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid resource address {0:?}: expected KIND.NAME, e.g. kms_key.db-payments-encryption")]
pub struct AddressParseError(String);

impl FromStr for Address {
    type Err = AddressParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once('.') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(Self::new(kind, name)),
            _ => Err(AddressParseError(s.to_owned())),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_names_with_slashes_and_dots() {
        let address: Address = "kms_alias.alias/team.app".parse().expect("valid");
        assert_eq!(address.kind, "kms_alias");
        assert_eq!(address.name, "alias/team.app");
        assert_eq!(address.to_string(), "kms_alias.alias/team.app");
    }

    #[test]
    fn rejects_missing_parts() {
        assert!("kms_key".parse::<Address>().is_err());
        assert!(".x".parse::<Address>().is_err());
        assert!("kms_key.".parse::<Address>().is_err());
    }
}
