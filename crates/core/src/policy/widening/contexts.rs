//! The request contexts asked: the values worth asking per condition key, and the contexts
//! around an anchor built from them.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::candidates::IDENTITY_KEYS;
use crate::policy::catalog::{Catalog, KeyType};
use crate::policy::eval::{Request, key_conditions_hold};
use crate::policy::lint::Operator;
use crate::policy::model::Statement;

/// A string no policy compares with: a key's value outside every value a policy names.
const OUTSIDE: &str = "kmsctl-outside";
/// An address outside the networks a policy names (TEST-NET-2).
const OUTSIDE_IP: &str = "198.51.100.254";

/// `*` and `?` of a pattern made a literal the pattern matches.
pub(super) fn literal(pattern: &str) -> String {
    pattern.replace(['*', '?'], "x")
}

/// The values worth asking per condition key (not the identity keys, which come with the
/// principal): every value any statement compares the key with, wildcards made literals,
/// numbers also one either side; both booleans; and one value no statement names for keys under
/// a negated or `IfExists` operator.
#[derive(Default)]
pub(super) struct Values {
    /// Lowercased key → (key as first written, values in order of appearance).
    pub(super) by_key: BTreeMap<String, (String, Vec<String>)>,
}

impl Values {
    pub(super) fn of(statements: &[&Statement]) -> Self {
        let mut out = Self::default();
        for st in statements {
            for (operator, keys) in &st.condition {
                let Some(op) = Operator::parse(operator) else {
                    continue;
                };
                for (key, written) in keys {
                    let lowered = key.to_lowercase();
                    if IDENTITY_KEYS.contains(&lowered.as_str()) {
                        continue;
                    }
                    let (_, values) = out
                        .by_key
                        .entry(lowered)
                        .or_insert_with(|| (key.clone(), Vec::new()));
                    let mut add = |value: String| {
                        if !values.contains(&value) {
                            values.push(value);
                        }
                    };
                    for value in written {
                        for candidate in asked(&op, key, value) {
                            add(candidate);
                        }
                    }
                    if op.negated() || op.if_exists {
                        match op.family() {
                            Some(KeyType::IpAddress) => add(OUTSIDE_IP.to_owned()),
                            Some(KeyType::String | KeyType::Arn) => add(OUTSIDE.to_owned()),
                            _ => {}
                        }
                    }
                }
            }
        }
        for (key, (_, values)) in &mut out.by_key {
            distinct(key, values, statements);
        }
        out
    }

    fn of_key(&self, key: &str) -> Option<&(String, Vec<String>)> {
        self.by_key.get(key)
    }
}

/// Keeps the first of the values every statement's conditions on the key take alike (all hold,
/// or not, for both): changing the key to one or the other decides every request alike. Forty
/// endpoints both documents let through are one value to ask, the one only `after` lets through
/// another. Not for keys compared with policy variables (`${aws:username}`), which the caller
/// decides.
fn distinct(key: &str, values: &mut Vec<String>, statements: &[&Statement]) {
    let on_key: Vec<&Statement> = statements
        .iter()
        .filter(|st| {
            st.condition
                .values()
                .any(|keys| keys.keys().any(|k| k.eq_ignore_ascii_case(key)))
        })
        .copied()
        .collect();
    let variable = on_key.iter().any(|st| {
        st.condition.values().flatten().any(|(k, written)| {
            k.eq_ignore_ascii_case(key) && written.iter().any(|v| v.contains("${"))
        })
    });
    if variable {
        return;
    }
    let mut seen = HashSet::new();
    values.retain(|value| {
        let req = Request {
            context: BTreeMap::from([(key.to_owned(), vec![value.clone()])]),
            ..Request::default()
        };
        let taken: Vec<bool> = on_key
            .iter()
            .map(|st| key_conditions_hold(st, key, &req))
            .collect();
        seen.insert(taken)
    });
}

/// The values asked for one value a condition compares a key with.
fn asked(op: &Operator<'_>, key: &str, value: &str) -> Vec<String> {
    let base = op.base;
    if base == "Null" {
        return if value.eq_ignore_ascii_case("false") {
            vec![plausible(key)]
        } else {
            Vec::new()
        };
    }
    match op.family() {
        Some(KeyType::Bool) => vec!["true".to_owned(), "false".to_owned()],
        Some(KeyType::IpAddress) => vec![network(value)],
        Some(KeyType::Numeric) => match value.parse::<i64>() {
            Ok(n) => vec![
                value.to_owned(),
                (n.saturating_sub(1)).to_string(),
                (n.saturating_add(1)).to_string(),
            ],
            Err(_) => vec![value.to_owned()],
        },
        _ if base.ends_with("Like") || base.starts_with("Arn") => vec![literal(value)],
        _ => vec![value.to_owned()],
    }
}

fn network(cidr: &str) -> String {
    cidr.split('/').next().unwrap_or(cidr).to_owned()
}

/// A request context: its label for the message (`None` for the empty one) and its values by
/// lowercased key.
type Context = (Option<String>, BTreeMap<String, Vec<String>>);

/// Contexts numbered once per action, so each (principal, context) is asked once.
#[derive(Default)]
pub(super) struct Interned {
    pub(super) list: Vec<Context>,
    index: HashMap<BTreeMap<String, Vec<String>>, usize>,
}

impl Interned {
    pub(super) fn intern(&mut self, context: Context) -> usize {
        if let Some(&i) = self.index.get(&context.1) {
            return i;
        }
        self.index.insert(context.1.clone(), self.list.len());
        self.list.push(context);
        self.list.len() - 1
    }
}

/// The contexts asked around an anchor: the one meeting its conditions, then that one with one
/// of `keys` changed to each of its values, then without it.
pub(super) fn around(anchor: &Statement, keys: &BTreeSet<String>, values: &Values) -> Vec<Context> {
    let base = meeting(anchor);
    let context = |entries: &[(String, String, String)]| -> Context {
        let labels: Vec<String> = entries
            .iter()
            .map(|(written, _, value)| format!("{written}={value}"))
            .collect();
        let map = entries
            .iter()
            .map(|(_, lowered, value)| (lowered.clone(), vec![value.clone()]))
            .collect();
        ((!labels.is_empty()).then(|| labels.join(", ")), map)
    };
    let mut out = vec![context(&base)];
    for key in keys {
        let Some((written, asked)) = values.of_key(key) else {
            continue;
        };
        for value in asked {
            let mut entries = base.clone();
            match entries.iter_mut().find(|(_, lowered, _)| lowered == key) {
                Some(entry) if entry.2 == *value => continue,
                Some(entry) => entry.2 = value.clone(),
                None => entries.push((written.clone(), key.clone(), value.clone())),
            }
            out.push(context(&entries));
        }
        if base.iter().any(|(_, lowered, _)| lowered == key) {
            let entries: Vec<_> = base
                .iter()
                .filter(|(_, lowered, _)| lowered != key)
                .cloned()
                .collect();
            out.push(context(&entries));
        }
    }
    out
}

/// A context meeting a statement's conditions where a value is easily had (the first value,
/// wildcards made literal), as (key as written, lowercased key, value); a negated operator is
/// met by the key's absence, or by a value no policy names where absence would not do
/// (`ForAnyValue:`).
fn meeting(st: &Statement) -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = Vec::new();
    for (operator, keys) in &st.condition {
        let Some(op) = Operator::parse(operator) else {
            continue;
        };
        for (key, wanted) in keys {
            let lowered = key.to_lowercase();
            let Some(first) = wanted.iter().next() else {
                continue;
            };
            if IDENTITY_KEYS.contains(&lowered.as_str()) || out.iter().any(|e| e.1 == lowered) {
                continue;
            }
            let value = if op.negated() {
                if op.set != Some("ForAnyValue") || op.if_exists {
                    continue;
                }
                match op.family() {
                    Some(KeyType::IpAddress) => OUTSIDE_IP.to_owned(),
                    Some(KeyType::String | KeyType::Arn) => OUTSIDE.to_owned(),
                    _ => continue,
                }
            } else {
                match op.base {
                    "Null" if first.eq_ignore_ascii_case("true") => continue,
                    "Null" => plausible(key),
                    "IpAddress" => network(first),
                    "NumericLessThan" => match first.parse::<i64>() {
                        Ok(n) => n.saturating_sub(1).to_string(),
                        Err(_) => continue,
                    },
                    "NumericGreaterThan" => match first.parse::<i64>() {
                        Ok(n) => n.saturating_add(1).to_string(),
                        Err(_) => continue,
                    },
                    "DateLessThan" => "1970-01-01T00:00:00Z".to_owned(),
                    "DateGreaterThan" => "9999-12-31T23:59:59Z".to_owned(),
                    "Bool"
                    | "NumericEquals"
                    | "NumericLessThanEquals"
                    | "NumericGreaterThanEquals"
                    | "DateEquals"
                    | "DateLessThanEquals"
                    | "DateGreaterThanEquals"
                    | "BinaryEquals" => first.clone(),
                    base if base.ends_with("Like") || base.starts_with("Arn") => literal(first),
                    base if base.starts_with("String") => first.clone(),
                    _ => continue,
                }
            };
            out.push((key.clone(), lowered, value));
        }
    }
    out
}

/// A value of the key's type, for `Null: false` (the key present).
fn plausible(key: &str) -> String {
    let value = match Catalog::get().key(key).map(|k| k.kind) {
        Some(KeyType::Bool) => "true",
        Some(KeyType::Numeric) => "1",
        Some(KeyType::Date) => "2020-01-01T00:00:00Z",
        Some(KeyType::IpAddress) => "192.0.2.1",
        _ => "x",
    };
    value.to_owned()
}
