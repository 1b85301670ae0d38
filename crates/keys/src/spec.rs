//! KMS key specs and the usages AWS allows for each.

use aws_sdk_kms::types::{KeySpec, OriginType};

/// Key specs and their allowed usages; the first usage is the default.
const SPECS: &[(&str, &[&str])] = &[
    ("SYMMETRIC_DEFAULT", &["ENCRYPT_DECRYPT"]),
    ("RSA_2048", &["ENCRYPT_DECRYPT", "SIGN_VERIFY"]),
    ("RSA_3072", &["ENCRYPT_DECRYPT", "SIGN_VERIFY"]),
    ("RSA_4096", &["ENCRYPT_DECRYPT", "SIGN_VERIFY"]),
    ("ECC_NIST_P256", &["SIGN_VERIFY", "KEY_AGREEMENT"]),
    ("ECC_NIST_P384", &["SIGN_VERIFY", "KEY_AGREEMENT"]),
    ("ECC_NIST_P521", &["SIGN_VERIFY", "KEY_AGREEMENT"]),
    ("ECC_SECG_P256K1", &["SIGN_VERIFY"]),
    ("ECC_NIST_EDWARDS25519", &["SIGN_VERIFY"]),
    ("ML_DSA_44", &["SIGN_VERIFY"]),
    ("ML_DSA_65", &["SIGN_VERIFY"]),
    ("ML_DSA_87", &["SIGN_VERIFY"]),
    ("HMAC_224", &["GENERATE_VERIFY_MAC"]),
    ("HMAC_256", &["GENERATE_VERIFY_MAC"]),
    ("HMAC_384", &["GENERATE_VERIFY_MAC"]),
    ("HMAC_512", &["GENERATE_VERIFY_MAC"]),
    ("SM2", &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "KEY_AGREEMENT"]),
];

pub const DEFAULT_SPEC: &str = "SYMMETRIC_DEFAULT";

/// The usages AWS accepts for `spec`, or `None` for an unknown spec.
pub fn usages(spec: &str) -> Option<&'static [&'static str]> {
    SPECS
        .iter()
        .find(|(name, _)| *name == spec)
        .map(|(_, usages)| *usages)
}

pub fn default_usage(spec: &str) -> Option<&'static str> {
    usages(spec).and_then(|u| u.first().copied())
}

pub fn known_specs() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|(name, _)| *name)
}

/// Automatic rotation exists only for symmetric keys with AWS-generated material.
pub fn rotatable(spec: &KeySpec, origin: &OriginType) -> bool {
    *spec == KeySpec::SymmetricDefault && *origin == OriginType::AwsKms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_rotation() {
        assert_eq!(default_usage("HMAC_256"), Some("GENERATE_VERIFY_MAC"));
        assert_eq!(default_usage("ECC_NIST_P256"), Some("SIGN_VERIFY"));
        assert_eq!(default_usage("NOPE"), None);
        assert!(rotatable(&"SYMMETRIC_DEFAULT".into(), &"AWS_KMS".into()));
        assert!(!rotatable(&"SYMMETRIC_DEFAULT".into(), &"EXTERNAL".into()));
        assert!(!rotatable(&"RSA_2048".into(), &"AWS_KMS".into()));
    }
}
