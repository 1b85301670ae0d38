//! IAM policy documents: one semantic model (key policies today; SCPs and RCPs later),
//! parsed from strict JSON with source lines, compared semantically, diffed statement by
//! statement, and checked by the key-policy guards.
//!
//! ```
//! use kmsctl_core::policy;
//!
//! let before = policy::parse(r#"{"Version": "2012-10-17", "Statement": [
//!     {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
//!      "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}]}"#).unwrap();
//! let after = policy::parse(r#"{"Version": "2012-10-17", "Statement": {
//!     "Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
//!     "Action": "kms:Encrypt", "Resource": ["*"]}}"#).unwrap();
//! let changes = policy::diff(&before, &after);
//! assert_eq!(policy::render_diff(&changes), "~ Use (modified)\n    Action\n      - kms:Decrypt\n");
//! ```

pub mod catalog;
pub mod deployer;
mod diff;
pub mod eval;
pub mod grammar;
pub mod guards;
pub mod lint;
mod model;
mod parse;
pub mod public;
#[cfg(test)]
mod test_fixtures;
pub mod widening;
mod wildcard;

pub use deployer::Deployer;
pub use diff::{
    ChangeKind, DOCUMENT, FieldChange, StatementChange, attribute_changes, diff, render_diff,
};
pub use guards::{POLICY_LANGUAGE_VERSION, check_key_policy, check_key_policy_for};
pub use model::{Conditions, PolicyDocument, Principals, Statement, semantically_equal};
pub use parse::{MAX_POLICY_TEXT_BYTES, PolicyParseError, line_of_pointer, parse};
pub use wildcard::action_matches;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::test_fixtures::{DEFAULT_KEY_POLICY, REALISTIC_POLICY};
    use super::*;

    fn equal(a: &str, b: &str) -> bool {
        semantically_equal(&parse(a).unwrap(), &parse(b).unwrap())
    }

    #[test]
    fn default_policy_equals_itself_reformatted() {
        let compact = serde_json::to_string(
            &serde_json::from_str::<serde_json::Value>(DEFAULT_KEY_POLICY).unwrap(),
        )
        .unwrap();
        assert_ne!(compact, DEFAULT_KEY_POLICY);
        assert!(equal(DEFAULT_KEY_POLICY, &compact));
    }

    #[test]
    fn key_order_string_vs_array_and_set_order_are_equal() {
        let a = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow",
            "Principal": {"AWS": ["arn:b", "arn:a"], "Service": "s"},
            "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": ["x", "y"]}, "Bool": {"aws:SecureTransport": "true"}}}]}"#;
        let b = r#"{"Statement": {"Resource": ["*"], "Action": ["kms:Decrypt", "kms:Encrypt"],
            "Condition": {"Bool": {"AWS:SecureTransport": true}, "StringEquals": {"kms:viaservice": ["y", "x"]}},
            "Principal": {"Service": ["s"], "AWS": ["arn:a", "arn:b"]}, "Effect": "Allow", "Sid": "S"},
            "Version": "2012-10-17"}"#;
        assert!(equal(a, b));
    }

    #[test]
    fn shuffled_statements_are_equal() {
        let doc = parse(REALISTIC_POLICY).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(REALISTIC_POLICY).unwrap();
        value["Statement"].as_array_mut().unwrap().reverse();
        let shuffled = serde_json::to_string_pretty(&value).unwrap();
        let shuffled = parse(&shuffled).unwrap();
        assert_ne!(doc.statements[0].sid, shuffled.statements[0].sid);
        assert!(semantically_equal(&doc, &shuffled));
        assert_eq!(doc.canonical(), shuffled.canonical());
        assert_eq!(diff(&doc, &shuffled), vec![]);
    }

    #[test]
    fn shuffled_sidless_statements_are_equal() {
        let a = r#"{"Statement": [
            {"Effect": "Allow", "Action": "a"},
            {"Effect": "Deny", "Action": "b"},
            {"Sid": "Z", "Action": "z"}
        ]}"#;
        let b = r#"{"Statement": [
            {"Sid": "Z", "Action": ["z"]},
            {"Effect": "Deny", "Action": "b"},
            {"Action": "a", "Effect": "Allow"}
        ]}"#;
        assert!(equal(a, b));
    }

    #[test]
    fn real_differences_are_not_equal() {
        let base = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow",
            "Principal": "*", "Action": "kms:Encrypt", "Resource": "*"}]}"#;
        for changed in [
            base.replace("kms:Encrypt", "kms:Decrypt"),
            base.replace("\"Allow\"", "\"Deny\""),
            base.replace("\"Sid\": \"S\"", "\"Sid\": \"T\""),
            base.replace("\"Principal\": \"*\"", "\"Principal\": {\"AWS\": \"*\"}"),
            base.replace("\"Action\"", "\"NotAction\""),
            base.replace("\"Version\": \"2012-10-17\", ", ""),
            base.replace(
                "kms:Encrypt\"",
                "kms:Encrypt\", \"Condition\": {\"Bool\": {\"aws:SecureTransport\": true}}",
            ),
        ] {
            assert!(!equal(base, &changed), "{changed}");
            assert_ne!(
                diff(&parse(base).unwrap(), &parse(&changed).unwrap()),
                vec![],
                "{changed}"
            );
        }
    }

    #[test]
    fn condition_values_and_operators_stay_case_sensitive() {
        let a = r#"{"Statement": [{"Condition": {"StringEquals": {"k": "Value"}}}]}"#;
        assert!(!equal(a, &a.replace("Value", "value")));
        assert!(!equal(a, &a.replace("StringEquals", "StringLike")));
    }
}
