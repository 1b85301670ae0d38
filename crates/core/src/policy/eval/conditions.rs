//! Condition operators as AWS evaluates them, and policy variables.

use super::Request;
use super::explain::FalseCondition;
use crate::policy::Statement;
use crate::policy::lint::Operator;
use crate::policy::wildcard::glob;

/// The statement's conditions that are false for the request (operators and keys sorted);
/// empty when every condition holds (a statement applies only when all of them do).
pub fn false_conditions(st: &Statement, req: &Request) -> Vec<FalseCondition> {
    let mut failed = Vec::new();
    for (operator_text, keys) in &st.condition {
        let operator = Operator::parse(operator_text);
        for (key, written) in keys {
            let wanted: Vec<String> = written.iter().map(|v| substitute(v, req)).collect();
            let present = req.values(key);
            let holds = operator
                .as_ref()
                .is_some_and(|op| condition(op, present.as_deref(), &wanted));
            if !holds {
                failed.push(FalseCondition {
                    operator: operator_text.clone(),
                    key: key.clone(),
                    values: written.iter().cloned().collect(),
                    request: present,
                });
            }
        }
    }
    failed
}

/// Whether the statement's conditions on one key (under every operator that names it) hold for
/// the request; the conditions on other keys are not asked. For questions about a family of
/// requests that differ only in that key ("does some caller outside the organization meet
/// this?"): conditions on distinct keys are independent.
pub fn key_conditions_hold(st: &Statement, key: &str, req: &Request) -> bool {
    st.condition.iter().all(|(operator_text, keys)| {
        keys.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .all(|(k, wanted)| {
                let Some(operator) = Operator::parse(operator_text) else {
                    return false;
                };
                let wanted: Vec<String> = wanted.iter().map(|v| substitute(v, req)).collect();
                condition(&operator, req.values(k).as_deref(), &wanted)
            })
    })
}

/// Policy variables: `${aws:username}`, `${aws:PrincipalTag/team}`, `${*}`, `${?}`, `${$}`.
pub(super) fn substitute(value: &str, req: &Request) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let name = &rest[start + 2..start + end];
        let replacement = match name {
            "*" => "*".to_owned(),
            "?" => "?".to_owned(),
            "$" => "$".to_owned(),
            key => req
                .values(key)
                .and_then(|v| v.first().cloned())
                .unwrap_or_else(|| format!("${{{key}}}")),
        };
        out.push_str(&replacement);
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

pub(super) fn condition(
    operator: &Operator<'_>,
    present: Option<&[String]>,
    wanted: &[String],
) -> bool {
    if operator.base == "Null" {
        let absent = present.is_none_or(<[String]>::is_empty);
        return wanted
            .iter()
            .any(|w| w.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
    }
    let Some(values) = present.filter(|v| !v.is_empty()) else {
        // AWS: a missing key does not match, except that negated operators then hold; IfExists
        // holds; ForAllValues holds vacuously; ForAnyValue does not.
        return operator.if_exists
            || operator.set == Some("ForAllValues")
            || (operator.set.is_none() && operator.negated());
    };
    let negated = operator.negated();
    // One request value against the policy's values: positive operators need any match;
    // negated ones need none.
    let one = |value: &str| {
        let any = wanted.iter().any(|w| compare(operator.base, value, w));
        if negated { !any } else { any }
    };
    match operator.set {
        Some("ForAllValues") => values.iter().all(|v| one(v)),
        Some(_) => values.iter().any(|v| one(v)),
        None if negated => values.iter().all(|v| one(v)),
        None => values.iter().any(|v| one(v)),
    }
}

/// The positive comparison of one value (`StringNotLike` compares as `StringLike`).
fn compare(base: &str, value: &str, wanted: &str) -> bool {
    let positive = base.replace("Not", "");
    match positive.as_str() {
        "StringEquals" => value == wanted,
        "StringEqualsIgnoreCase" => value.eq_ignore_ascii_case(wanted),
        "StringLike" => glob(wanted, value),
        "ArnEquals" | "ArnLike" => glob(wanted, value),
        "Bool" => value.eq_ignore_ascii_case(wanted),
        "BinaryEquals" => value == wanted,
        "IpAddress" => ip_in(value, wanted),
        numeric if numeric.starts_with("Numeric") => {
            match (value.parse::<f64>(), wanted.parse::<f64>()) {
                (Ok(v), Ok(w)) => order(numeric.trim_start_matches("Numeric"), v.partial_cmp(&w)),
                _ => false,
            }
        }
        date if date.starts_with("Date") => match (epoch(value), epoch(wanted)) {
            (Some(v), Some(w)) => order(date.trim_start_matches("Date"), v.partial_cmp(&w)),
            _ => false,
        },
        _ => false,
    }
}

fn order(op: &str, cmp: Option<std::cmp::Ordering>) -> bool {
    use std::cmp::Ordering::*;
    matches!(
        (op, cmp),
        ("Equals", Some(Equal))
            | ("LessThan", Some(Less))
            | ("LessThanEquals", Some(Less | Equal))
            | ("GreaterThan", Some(Greater))
            | ("GreaterThanEquals", Some(Greater | Equal))
    )
}

fn epoch(text: &str) -> Option<f64> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Some(seconds);
    }
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp() as f64)
}

fn ip_in(value: &str, cidr: &str) -> bool {
    let (network, bits) = cidr.split_once('/').unwrap_or((cidr, "32"));
    match (
        value.parse::<std::net::Ipv4Addr>(),
        network.parse::<std::net::Ipv4Addr>(),
        bits.parse::<u32>(),
    ) {
        (Ok(ip), Ok(net), Ok(bits)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            (u32::from(ip) & mask) == (u32::from(net) & mask)
        }
        _ => value == network,
    }
}
