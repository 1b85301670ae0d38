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

/// Fillers AWS's examples write where an id goes, lowercased without punctuation
/// (`account-id`, `Your_account_ID`, `myAccountID`, `service-prefix`).
const FILLERS: &[&str] = &[
    "accountid",
    "accountnumber",
    "awsaccountid",
    "myaccountid",
    "youraccountid",
    "orgid",
    "myorgid",
    "organizationid",
    "serviceprefix",
];

/// Whether `text` is clearly marked as a placeholder: `<...>`, `[...]`, an all-capitals name
/// with an underscore (`ACCOUNT_ID`), `xxxxxxxxxxxx`, or one of AWS's fillers. Nothing else is
/// guessed: a real value that merely looks descriptive (`eu-region`, `app-name-*`) keeps its error.
pub fn is_placeholder(text: &str) -> bool {
    if (text.contains('<') && text.contains('>')) || (text.starts_with('[') && text.ends_with(']'))
    {
        return true;
    }
    let shouting = text.contains('_')
        && text.chars().any(|c| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    let crosses = text.len() >= 4 && text.chars().all(|c| c == 'x' || c == 'X');
    let normalized: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_lowercase();
    // `service-prefix-1`, `account-id-2`: numbered fillers.
    let unnumbered = normalized.trim_end_matches(|c: char| c.is_ascii_digit());
    shouting || crosses || FILLERS.contains(&unnumbered)
}

/// Whether a condition key is a placeholder: only when marked (`<OIDC_provider>:sub`); a
/// misspelt key (`aws:Resource_OrgID`) is an unknown key, whatever it looks like.
pub fn is_placeholder_key(key: &str) -> bool {
    (key.contains('<') && key.contains('>')) || (key.contains('[') && key.contains(']'))
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
            "ACCOUNTID",
            "AccountId",
            "xxxxxxxxxxxx",
            "service-prefix",
            "service-prefix-2",
            "[MAX_SIGNATURE_AGE_IN_MILLISECONDS]",
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
            "PROD-ACCOUNT",
            "/root/eu-region/*",
            "role/app-name-*",
            "aws:user_name",
        ] {
            assert!(!is_placeholder(text), "{text}");
        }
        assert!(is_placeholder_key("<OIDC_provider_name_1>:sub"));
        assert!(!is_placeholder_key("aws:Resource_OrgID"));
    }
}
