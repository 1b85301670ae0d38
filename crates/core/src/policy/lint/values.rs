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
    if operator.base == "Null" {
        for value in written.iter().filter(|v| !is_bool(v)) {
            out.push(Finding::of(
                &CONDITION_VALUE,
                location.clone(),
                format!(
                    "{}: Null {key_text} value {value:?} is not true or false",
                    name(st)
                ),
                "write \"true\" (the key is absent) or \"false\" (the key is present)",
            ));
        }
        return;
    }
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
        let pattern = operator.base.contains("Like");
        for value in written.iter().filter(|v| !is_org_path(v, pattern)) {
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
                "org paths are ids from the organization down, not OU names, and end with /: o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ (with StringLike, end with /* to include OUs below); in a project, write {{ ou_path 'root/dev' }} (rendered from organization.toml's [tree])",
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
    let ignore_case = operator.base.contains("IgnoreCase");
    if is_string && ACCOUNT_KEYS.contains(&lowered_key) {
        return (!is_account(value)).then_some("an account id (12 digits)");
    }
    if is_string && ORG_ID_KEYS.contains(&lowered_key) {
        return (!is_org_id(value))
            .then_some("an organization id (o- and 10 to 32 lowercase letters or digits)");
    }
    if is_string && lowered_key == "kms:viaservice" {
        let value = if ignore_case {
            value.to_lowercase()
        } else {
            value.to_owned()
        };
        return (!is_service_endpoint(&value))
            .then_some("a service endpoint name such as s3.us-east-1.amazonaws.com");
    }
    if is_string && lowered_key == "aws:principaltype" {
        let known = PRINCIPAL_TYPES
            .iter()
            .any(|t| *t == value || (ignore_case && t.eq_ignore_ascii_case(value)));
        return (!known)
            .then_some("a principal type (Account, User, FederatedUser, AssumedRole, Anonymous)");
    }
    match operator.family()? {
        KeyType::Numeric => (!is_number(value)).then_some("a number"),
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

/// The DNS suffixes of AWS partitions' service endpoints (commercial, China, GovCloud shares
/// the first; ISO, ISO-B, ISO-E, ISO-F and the European Sovereign Cloud).
const ENDPOINT_SUFFIXES: &[&str] = &[
    ".amazonaws.com",
    ".amazonaws.com.cn",
    ".c2s.ic.gov",
    ".sc2s.sgov.gov",
    ".cloud.adc-e.uk",
    ".csp.hci.ic.gov",
    ".amazonaws.eu",
];

fn is_service_endpoint(value: &str) -> bool {
    ENDPOINT_SUFFIXES.iter().any(|suffix| {
        value
            .strip_suffix(suffix)
            .is_some_and(|host| !host.is_empty() && !host.contains('/'))
    })
}

/// A decimal number as IAM reads one (no `NaN`, `inf` or exponents).
fn is_number(value: &str) -> bool {
    let digits = value.strip_prefix('-').unwrap_or(value);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().filter(|c| *c == '.').count() <= 1
        && digits.chars().any(|c| c.is_ascii_digit())
}

fn is_bool(value: &str) -> bool {
    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
}

/// ISO 8601 (`2026-12-31`, `2026-12-31T23:59:59Z`, `...T23:59:59.000+01:00`) or epoch seconds.
fn is_date(value: &str) -> bool {
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_digit()) {
        return true;
    }
    let Some(date) = value.get(..10) else {
        return false;
    };
    let number =
        |range: std::ops::Range<usize>| date.get(range).and_then(|t| t.parse::<u32>().ok());
    let valid_date = date.as_bytes()[4] == b'-'
        && date.as_bytes()[7] == b'-'
        && number(0..4).is_some()
        && number(5..7).is_some_and(|m| (1..=12).contains(&m))
        && number(8..10).is_some_and(|d| (1..=31).contains(&d));
    let time = &value[10..];
    valid_date
        && (time.is_empty()
            || (time.starts_with('T')
                && time.len() > 1
                && time[1..]
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | 'Z' | '+' | '-'))))
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

/// `o-xxxxxxxxxx/r-xxxx/ou-xxxx-xxxxxxxx/.../`: the organization, its root, then OUs, in that
/// order; `*` wildcards and policy variables allowed in any part. Without a pattern operator
/// (`StringEquals`) the path ends with `/`, as every value of the key does.
fn is_org_path(value: &str, pattern: bool) -> bool {
    if value == "*" || value.starts_with("${") {
        return true;
    }
    // A policy variable may hold a `/` (`${aws:ResourceTag/ou}`): it stands for one free part.
    let mut flattened = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        flattened.push_str(&rest[..start]);
        flattened.push('*');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    flattened.push_str(rest);
    let value = flattened.as_str();
    let free = |p: &str| p.contains('*');
    let parts: Vec<&str> = value.split('/').collect();
    let shaped = parts.iter().enumerate().all(|(i, p)| {
        free(p)
            || match i {
                0 => p.starts_with("o-"),
                1 => p.starts_with("r-"),
                _ => p.starts_with("ou-") || (p.is_empty() && i + 1 == parts.len()),
            }
    });
    let ends_right = pattern || value.ends_with('/') || free(value);
    shaped && ends_right
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
        assert!(!is_date("2019-99-99garbage"));
        assert!(is_date("2019-01-01T00:00:01.000+01:00"));
        assert!(is_number("-1.5") && !is_number("NaN") && !is_number("inf") && !is_number("1e9"));
        assert!(is_service_endpoint("s3.us-iso-east-1.c2s.ic.gov"));
        assert!(is_org_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*", true));
        assert!(is_org_path(
            "o-a1b2c3d4e5/r-ab12/${aws:ResourceTag/ou}/*",
            true
        ));
        assert!(is_org_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/", false));
        assert!(!is_org_path("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111", false));
        assert!(!is_org_path("o-a1b2c3d4e5/ou-prod/*", true));
        assert!(!is_org_path("/root/dev/*", true));
    }
}
