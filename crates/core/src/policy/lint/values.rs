//! The values of a condition in the format its operator and key need: a value in another
//! format never matches (`kms:CallerAccount` "prod", `aws:PrincipalOrgPaths` "/root/dev/*").
//! Values with policy variables or wildcards are not checked: they are patterns.

use std::collections::BTreeSet;

use super::operator::Operator;
use super::placeholder::{self, is_placeholder};
use super::{CONDITION_VALUE, ORGPATHS_VALUE, name};
use crate::finding::{Finding, Location};
use crate::policy::catalog::{Catalog, ConditionKey, KeyType};
use crate::policy::model::Statement;

const ORG_PATH_KEYS: &[&str] = &[
    "aws:principalorgpaths",
    "aws:resourceorgpaths",
    "aws:sourceorgpaths",
    "aws:vpceorgpaths",
];
const ACCOUNT_KEYS: &[&str] = &[
    "kms:calleraccount",
    "aws:principalaccount",
    "aws:resourceaccount",
    "aws:sourceaccount",
    "aws:vpceaccount",
];
const ORG_ID_KEYS: &[&str] = &[
    "aws:principalorgid",
    "aws:resourceorgid",
    "aws:sourceorgid",
    "aws:vpceorgid",
];
const PRINCIPAL_TYPES: &[&str] = &[
    "Account",
    "User",
    "FederatedUser",
    "AssumedRole",
    "Anonymous",
];

#[allow(clippy::too_many_arguments)]
pub(super) fn check(
    st: &Statement,
    operator: &Operator<'_>,
    key_text: &str,
    key: Option<ConditionKey>,
    written: &BTreeSet<String>,
    catalog: &Catalog,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    // Org paths, also under a misspelt key that means one (its values are wrong twice).
    let meant = key.map_or_else(
        || {
            catalog
                .nearest_key(key_text)
                .unwrap_or_default()
                .to_lowercase()
        },
        |k| k.name.to_lowercase(),
    );
    if ORG_PATH_KEYS.contains(&meant.as_str()) {
        for value in written.iter().filter(|v| !is_org_path(v)) {
            if is_placeholder(value) {
                out.push(placeholder::finding(
                    location.clone(),
                    &name(st),
                    value,
                    "an organization path",
                ));
                continue;
            }
            out.push(Finding::of(
                &ORGPATHS_VALUE,
                location.clone(),
                format!("{}: {key_text} value {value:?} is not an organization path: it never matches", name(st)),
                "org paths are ids, not OU names: o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ (end with /* to include OUs below); organization.toml policies can write {{ ou_path 'root/dev' }}",
            ));
        }
        return;
    }
    let Some(key) = key else { return };
    let lowered = key_text.to_lowercase();
    for value in written {
        if value.contains("${") || value.contains('*') || value.contains('?') {
            continue;
        }
        let Some(expected) = expected_format(operator, &lowered, key, value) else {
            continue;
        };
        if is_placeholder(value) {
            out.push(placeholder::finding(
                location.clone(),
                &name(st),
                value,
                expected,
            ));
            continue;
        }
        out.push(Finding::of(
            &CONDITION_VALUE,
            location.clone(),
            format!(
                "{}: {} {key_text} value {value:?} is not {expected}: it never matches",
                name(st),
                operator.base
            ),
            format!("write {key_text} values as {expected}"),
        ));
    }
}

/// What a value should have been, when it is not.
fn expected_format(
    operator: &Operator<'_>,
    lowered_key: &str,
    key: ConditionKey,
    value: &str,
) -> Option<&'static str> {
    let is_string = operator.family() == Some(KeyType::String);
    if operator.base == "Null" {
        return (!is_bool(value)).then_some("true or false");
    }
    if is_string && ACCOUNT_KEYS.contains(&lowered_key) {
        return (!is_account(value)).then_some("an account id (12 digits)");
    }
    if is_string && ORG_ID_KEYS.contains(&lowered_key) {
        return (!is_org_id(value))
            .then_some("an organization id (o- and 10 to 32 lowercase letters or digits)");
    }
    if is_string && lowered_key == "kms:viaservice" {
        return (!is_service_endpoint(value))
            .then_some("a service endpoint name such as s3.us-east-1.amazonaws.com");
    }
    if is_string && lowered_key == "aws:principaltype" {
        return (!PRINCIPAL_TYPES.contains(&value))
            .then_some("a principal type (Account, User, FederatedUser, AssumedRole, Anonymous)");
    }
    match operator.family()? {
        KeyType::Numeric => value.parse::<f64>().is_err().then_some("a number"),
        KeyType::Date => {
            (!is_date(value)).then_some("a date (2026-12-31T23:59:59Z) or epoch seconds")
        }
        KeyType::Bool => (!is_bool(value)).then_some("true or false"),
        KeyType::IpAddress => (!is_cidr(value)).then_some("an IP address or CIDR range"),
        KeyType::Arn => (!value.starts_with("arn:")).then_some("an ARN"),
        KeyType::String
            if key.kind == KeyType::Arn && operator.base.starts_with("StringEquals") =>
        {
            (!value.starts_with("arn:")).then_some("an ARN")
        }
        _ => None,
    }
}

fn is_account(value: &str) -> bool {
    value.len() == 12 && value.chars().all(|c| c.is_ascii_digit())
}

fn is_org_id(value: &str) -> bool {
    value.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len())
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    })
}

fn is_service_endpoint(value: &str) -> bool {
    let host = value
        .strip_suffix(".amazonaws.com")
        .or_else(|| value.strip_suffix(".amazonaws.com.cn"));
    host.is_some_and(|h| !h.is_empty() && !h.contains('/'))
}

fn is_bool(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

fn is_date(value: &str) -> bool {
    if value.chars().all(|c| c.is_ascii_digit()) && !value.is_empty() {
        return true;
    }
    let bytes = value.as_bytes();
    bytes.len() >= 10
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && bytes[5..7].iter().all(u8::is_ascii_digit)
        && bytes[7] == b'-'
        && bytes[8..10].iter().all(u8::is_ascii_digit)
}

fn is_cidr(value: &str) -> bool {
    let (address, prefix) = value.split_once('/').unwrap_or((value, ""));
    let prefix_ok = |max: u8| prefix.is_empty() || prefix.parse::<u8>().is_ok_and(|p| p <= max);
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix_ok(32),
        Ok(std::net::IpAddr::V6(_)) => prefix_ok(128),
        Err(_) => false,
    }
}

/// `o-xxxxxxxxxx/r-xxxx/ou-xxxx-xxxxxxxx/...` or a prefix of it, `*` wildcards and policy
/// variables allowed.
fn is_org_path(value: &str) -> bool {
    if value == "*" || value.starts_with("${") {
        return true;
    }
    let mut parts = value.split('/');
    let first = parts.next().unwrap_or_default();
    (first.starts_with("o-") || first == "*")
        && parts.all(|p| {
            p.is_empty()
                || p == "*"
                || p.starts_with("r-")
                || p.starts_with("ou-")
                || p.ends_with('*')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert!(is_account("111122223333"));
        assert!(!is_account("prod"));
        assert!(is_org_id("o-a1b2c3d4e5"));
        assert!(!is_org_id("o-ABC"));
        assert!(is_service_endpoint("s3.us-east-1.amazonaws.com"));
        assert!(!is_service_endpoint("s3"));
        assert!(is_date("2026-12-31T23:59:59Z"));
        assert!(is_date("1767225599"));
        assert!(!is_date("tomorrow"));
        assert!(is_cidr("10.0.0.0/8"));
        assert!(is_cidr("2001:db8::/32"));
        assert!(!is_cidr("10.0.0.0/33"));
        assert!(is_org_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"));
        assert!(!is_org_path("/root/dev/*"));
    }
}
