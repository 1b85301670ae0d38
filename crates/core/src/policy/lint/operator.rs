//! Condition operators: `ForAnyValue:StringNotLikeIfExists` split into its parts, and the
//! nearest operator for a misspelt one (`Stringlike`).

use super::super::catalog::KeyType;

pub(super) const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// `ForAnyValue:StringNotLikeIfExists` split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator<'a> {
    pub set: Option<&'a str>,
    pub base: &'a str,
    pub if_exists: bool,
}

impl<'a> Operator<'a> {
    pub fn parse(text: &'a str) -> Option<Self> {
        let (set, rest) = match text.split_once(':') {
            Some((set, rest)) if set == "ForAnyValue" || set == "ForAllValues" => (Some(set), rest),
            Some(_) => return None,
            None => (None, text),
        };
        let (base, if_exists) = match rest.strip_suffix("IfExists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        // `NullIfExists` means nothing: Null already asks whether the key is there.
        (OPERATORS.contains(&base) && !(base == "Null" && if_exists)).then_some(Self {
            set,
            base,
            if_exists,
        })
    }

    pub fn negated(&self) -> bool {
        self.base.contains("Not")
    }

    /// The key type the operator compares as; `None` for `Null`.
    pub fn family(&self) -> Option<KeyType> {
        let b = self.base;
        Some(if b.starts_with("String") {
            KeyType::String
        } else if b.starts_with("Numeric") {
            KeyType::Numeric
        } else if b.starts_with("Date") {
            KeyType::Date
        } else if b == "Bool" {
            KeyType::Bool
        } else if b.starts_with("Binary") {
            KeyType::Binary
        } else if b.contains("IpAddress") {
            KeyType::IpAddress
        } else if b.starts_with("Arn") {
            KeyType::Arn
        } else {
            return None;
        })
    }
}

/// The operator a misspelt one meant, written in full (`ForAnyValue:Stringlike` →
/// `ForAnyValue:StringLike`): case differences first, then small edits of each part.
pub fn nearest(written: &str) -> Option<String> {
    let (set, rest) = match written.split_once(':') {
        Some((set, rest)) => {
            let lowered = set.to_lowercase();
            let set = ["ForAnyValue", "ForAllValues"]
                .into_iter()
                .min_by_key(|s| crate::template::levenshtein(&lowered, &s.to_lowercase()))?;
            if crate::template::levenshtein(&lowered, &set.to_lowercase()) > 3 {
                return None;
            }
            (Some(set), rest)
        }
        None => (None, written),
    };
    let lowered = rest.to_lowercase();
    let (base_text, if_exists) = match lowered.strip_suffix("ifexists") {
        Some(base) => (base.to_owned(), true),
        None => (lowered, false),
    };
    let base = OPERATORS
        .iter()
        .map(|o| {
            (
                crate::template::levenshtein(&base_text, &o.to_lowercase()),
                *o,
            )
        })
        .filter(|(d, o)| *d <= 2.max(o.len() / 6))
        .min_by_key(|(d, _)| *d)?
        .1;
    Some(format!(
        "{}{base}{}",
        set.map_or(String::new(), |s| format!("{s}:")),
        if if_exists { "IfExists" } else { "" }
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misspelt_operators_get_their_nearest_name() {
        assert_eq!(nearest("Stringlike").as_deref(), Some("StringLike"));
        assert_eq!(
            nearest("ForAnyvalue:StringEqual").as_deref(),
            Some("ForAnyValue:StringEquals")
        );
        assert_eq!(
            nearest("ArnLikeIfexists").as_deref(),
            Some("ArnLikeIfExists")
        );
        assert_eq!(nearest("Whatever"), None);
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAllValues:StringNotLikeIfExists").is_some());
    }
}
