//! Condition operators and keys: every operator is IAM's, every key resolves as IAM resolves it
//! ([`Catalog::key`]), operators fit the key's type and arity, and conditions that hold (or
//! fail) for every request without the key are named.

use super::operator::{self, Operator};
use super::{
    INVALID_OPERATOR, NEGATED_OPERATOR_ABSENT_KEY, OPERATOR_TYPE, OPERATOR_TYPE_TEXT,
    PLAIN_OPERATOR_MULTI_VALUED, SET_OPERATOR_SINGLE_VALUED, UNKNOWN_CONDITION_KEY,
    VACUOUS_CONDITION, name, values,
};
use crate::finding::{Finding, Location};
use crate::policy::catalog::{Catalog, ConditionKey, KeyType};
use crate::policy::model::Statement;

pub(super) fn check(
    st: &Statement,
    catalog: &Catalog,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    for (operator_text, keys) in &st.condition {
        let location = at(
            st.line_of("Condition"),
            &format!("{}/Condition/{operator_text}", st.pointer),
        );
        let Some(operator) = Operator::parse(operator_text) else {
            out.push(Finding::of(
                &INVALID_OPERATOR,
                location,
                format!("{}: {operator_text:?} is not a condition operator", name(st)),
                operator::nearest(operator_text).map_or_else(
                    || "use an IAM condition operator (StringEquals, ArnLike, NumericLessThan, Bool, IpAddress, Null, ...), optionally with ForAnyValue:/ForAllValues: and IfExists".to_owned(),
                    |n| format!("did you mean {n}? (operators are case-sensitive)"),
                ),
            ));
            continue;
        };
        for (key_text, written) in keys {
            let key = catalog.key(key_text);
            values::check(
                st, &operator, key_text, key, written, catalog, &location, out,
            );
            let Some(key) = key else {
                if super::placeholder::is_placeholder_key(key_text) {
                    out.push(super::placeholder::finding(
                        location.clone(),
                        &name(st),
                        key_text,
                        "a condition key",
                    ));
                    continue;
                }
                out.push(unknown_key(
                    st,
                    &operator,
                    key_text,
                    catalog,
                    location.clone(),
                ));
                continue;
            };
            arity_and_type(st, &operator, operator_text, key_text, key, &location, out);
            absent_key(
                st,
                &operator,
                operator_text,
                key_text,
                key,
                written,
                &location,
                out,
            );
        }
    }
}

fn unknown_key(
    st: &Statement,
    operator: &Operator<'_>,
    key_text: &str,
    catalog: &Catalog,
    location: Location,
) -> Finding {
    // What IAM makes of a condition on a key no request carries.
    let null_true = |v: &String| v.eq_ignore_ascii_case("true");
    let true_without_key = match (operator.base, operator.set) {
        ("Null", _) => st
            .condition
            .get("Null")
            .and_then(|keys| keys.get(key_text))
            .is_some_and(|v| v.iter().any(null_true)),
        (_, Some("ForAllValues")) => true,
        (_, Some(_)) => false,
        _ => operator.if_exists || operator.negated(),
    };
    let absent = match (true_without_key, st.is_deny()) {
        (true, true) => {
            " No request carries it, so this condition is true for every request: the Deny hits everyone its other elements name."
        }
        (true, false) => {
            " No request carries it, so this condition is true for every request: the Allow applies to everyone its other elements name."
        }
        (false, _) => {
            " No request carries it, so this condition is never true: the statement never applies."
        }
    };
    Finding::of(
        &UNKNOWN_CONDITION_KEY,
        location,
        format!("{}: {key_text} is not a condition key.{absent}", name(st)),
        catalog.nearest_key(key_text).map_or(
            "use a global aws: key, a key of a service in AWS's service authorization reference (kms:ViaService, s3:prefix, ...) or a federation key (saml:aud, ISSUER:sub)".to_owned(),
            |n| format!("did you mean {n}?"),
        ),
    )
}

fn arity_and_type(
    st: &Statement,
    operator: &Operator<'_>,
    operator_text: &str,
    key_text: &str,
    key: ConditionKey,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    if let Some(family) = operator.family() {
        let compatible = family == key.kind
            || matches!(
                (family, key.kind),
                (KeyType::String, KeyType::Arn) | (KeyType::Arn, KeyType::String)
            )
            // aws:EpochTime is a date and a number (IAM user guide).
            || (family == KeyType::Numeric && key.name == "aws:EpochTime")
            // aws:AssumedRoot holds "true" and AWS's own examples test it with Bool.
            || (family == KeyType::Bool && key.name == "aws:AssumedRoot");
        if compatible {
            // Nothing to say.
        } else if family == KeyType::String {
            // IAM compares the key's text: "true" or "30" match as written, "30.0" or "TRUE" not.
            out.push(Finding::of(
                &OPERATOR_TYPE_TEXT,
                location.clone(),
                format!("{}: {operator_text} compares {key_text}, a {:?} key, as text: only values written exactly as AWS renders them match", name(st), key.kind),
                format!("use a {:?} operator for {key_text}", key.kind),
            ));
        } else {
            out.push(Finding::of(
                &OPERATOR_TYPE,
                location.clone(),
                format!("{}: {operator_text} compares {key_text} as {family:?}, but it holds a {:?} value: the condition never matches", name(st), key.kind),
                format!("use a {:?} operator for {key_text}", key.kind),
            ));
        }
    }
    match (operator.set, key.multi_valued) {
        (Some(set), false) => out.push(Finding::of(
            &SET_OPERATOR_SINGLE_VALUED,
            location.clone(),
            format!("{}: {set} on {key_text}, a single-valued key", name(st)),
            format!("drop {set}: — set operators are for multi-valued keys; on single-valued ones they can match unexpectedly (ForAllValues is true when the key is absent)"),
        )),
        (None, true) if operator.base != "Null" => out.push(Finding::of(
            &PLAIN_OPERATOR_MULTI_VALUED,
            location.clone(),
            format!("{}: {operator_text} on {key_text}, a multi-valued key", name(st)),
            format!("use ForAnyValue:{operator_text} (any value matches) or ForAllValues:{operator_text} (every value matches)"),
        )),
        _ => {}
    }
}

/// Keys that IAM sets only for temporary credentials: long-term access keys lack them.
const ABSENT_FOR_LONG_TERM_CREDENTIALS: &[&str] =
    &["aws:MultiFactorAuthPresent", "aws:TokenIssueTime"];

/// Conditions that decide the same way for every request without the key.
#[allow(clippy::too_many_arguments)]
fn absent_key(
    st: &Statement,
    operator: &Operator<'_>,
    operator_text: &str,
    key_text: &str,
    key: ConditionKey,
    written: &std::collections::BTreeSet<String>,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    let may_be_absent = !key.always_present;
    if st.is_deny()
        && operator.negated()
        && !operator.if_exists
        && operator.set.is_none()
        && may_be_absent
        && key.name.starts_with("aws:")
    {
        out.push(Finding::of(
            &NEGATED_OPERATOR_ABSENT_KEY,
            location.clone(),
            format!(
                "{}: {operator_text} on {key_text} in a Deny is true for every request without that key (AWS services, callers outside an organization...)",
                name(st)
            ),
            format!("if requests without the key must not be denied, write {}IfExists", operator.base),
        ));
    }
    let null_checked = st.condition.get("Null").is_some_and(|keys| {
        keys.iter().any(|(k, v)| {
            k.eq_ignore_ascii_case(key_text) && v.iter().any(|v| v.eq_ignore_ascii_case("false"))
        })
    });
    if st.is_allow() && operator.set == Some("ForAllValues") && may_be_absent && !null_checked {
        out.push(Finding::of(
            &VACUOUS_CONDITION,
            location.clone(),
            format!(
                "{}: {operator_text} on {key_text} in an Allow is true for a request without {key_text}: the Allow applies to it",
                name(st)
            ),
            format!("add \"Null\": {{\"{key_text}\": \"false\"}} to require the key, or use ForAnyValue"),
        ));
    }
    if operator.base == "Bool"
        && !operator.if_exists
        && st.is_deny()
        && written.iter().any(|v| v.eq_ignore_ascii_case("false"))
        && ABSENT_FOR_LONG_TERM_CREDENTIALS
            .iter()
            .any(|k| k.eq_ignore_ascii_case(key_text))
    {
        out.push(Finding::of(
            &VACUOUS_CONDITION,
            location.clone(),
            format!(
                "{}: Bool {key_text} = false in a Deny is false for long-term credentials (access keys), which carry no {key_text}: the Deny misses them",
                name(st)
            ),
            format!("write BoolIfExists, so requests without {key_text} are denied too"),
        ));
    }
}
