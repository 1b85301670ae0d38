//! Placeholders as AWS's published examples write them (`<my-org-id>`, `ACCOUNT_ID`,
//! `account-id`, `Your_account_ID`, `myAccountID`, `service-prefix`): a policy holding one is an
//! example to fill in, not a broken policy. Where a value fails its format because it is a
//! placeholder, lint says so as a warning instead of an error.

use crate::finding::{Finding, Location};
use crate::rule::Rule;

pub const PLACEHOLDER: Rule = Rule::warning(
    "placeholder",
    None,
    "no placeholder of an example left in a value (<my-org-id>, ACCOUNT_ID, account-id)",
);

/// Words AWS's examples use for the part to fill in.
const WORDS: &[&str] = &[
    "accountid",
    "accountnumber",
    "orgid",
    "prefix",
    "region",
    "name",
    "example",
];

pub fn is_placeholder(text: &str) -> bool {
    if (text.contains('<') && text.contains('>')) || (text.starts_with('[') && text.ends_with(']'))
    {
        return true;
    }
    let letters = text.chars().any(|c| c.is_ascii_alphabetic());
    // ACCOUNT_ID, ORG_ID, MY-ACCOUNT
    let shouting = letters
        && (text.contains('_') || text.contains('-'))
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
    let normalized: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    let descriptive = (text.contains('-')
        || text.contains('_')
        || normalized.starts_with("my")
        || normalized.starts_with("your"))
        && WORDS.iter().any(|w| normalized.contains(w));
    shouting || descriptive || normalized.starts_with("your")
}

/// The warning for `value`, a placeholder where `what` belongs.
pub fn finding(location: Location, who: &str, value: &str, what: &str) -> Finding {
    Finding::of(
        &PLACEHOLDER,
        location,
        format!("{who}: {value:?} is a placeholder where {what} belongs"),
        "replace it with the real value before you use the policy",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_of_aws_examples() {
        for text in [
            "<my-org-id>",
            "ACCOUNT_ID",
            "account-id",
            "Your_account_ID",
            "myAccountID",
            "service-prefix",
            "<OIDC_provider_name_1>:sub",
        ] {
            assert!(is_placeholder(text), "{text}");
        }
        for text in [
            "prod",
            "s3",
            "111122223333",
            "o-a1b2c3d4e5",
            "my-org",
            "tomorrow",
            "10.0.0.0/33",
        ] {
            assert!(!is_placeholder(text), "{text}");
        }
    }
}
