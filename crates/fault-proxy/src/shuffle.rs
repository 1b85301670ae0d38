//! `ShufflePolicies`: the same policy document, in another text.
//!
//! AWS does not give back a policy byte for byte as it was put (key order and whitespace change); the
//! emulator does. This rewrites the policy inside an answer with object keys in a shuffled order
//! (recursively) and another layout, so that a client comparing texts instead of documents is caught.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::prng::Prng;

/// Rewrites the policy in a JSON answer of `op`; `None` if the answer has none (it is then sent as it was).
pub(crate) fn shuffle_answer(op: &str, body: &[u8], prng: &Prng) -> Option<Vec<u8>> {
    let mut answer: Value = serde_json::from_slice(body).ok()?;
    let slot = match op {
        "kms:GetKeyPolicy" => answer.get_mut("Policy")?,
        "organizations:DescribePolicy" => answer.get_mut("Policy")?.get_mut("Content")?,
        _ => return None,
    };
    let Value::String(policy) = slot else {
        return None;
    };
    let shuffled = shuffle_document(policy, prng)?;
    *slot = Value::String(shuffled);
    serde_json::to_vec(&answer).ok()
}

/// The same JSON document with keys shuffled and another layout; always textually different from `text`.
/// `None` if `text` is not JSON.
pub(crate) fn shuffle_document(text: &str, prng: &Prng) -> Option<String> {
    let document: Value = serde_json::from_str(text).ok()?;
    for attempt in 0..8 {
        let shuffled = shuffle_value(document.clone(), prng);
        let style = (prng.below(LAYOUTS) + attempt) % LAYOUTS;
        let out = render(&shuffled, style)?;
        if out != text {
            return Some(out);
        }
    }
    // Same keys in the same order in every layout tried: whitespace alone makes the difference.
    Some(format!(" {}\n", render(&document, 0)?))
}

fn shuffle_value(value: Value, prng: &Prng) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            for i in (1..entries.len()).rev() {
                entries.swap(i, prng.below(i + 1));
            }
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, shuffle_value(v, prng)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|v| shuffle_value(v, prng)).collect())
        }
        other => other,
    }
}

const LAYOUTS: usize = 4;

fn render(value: &Value, style: usize) -> Option<String> {
    let indent: &[u8] = match style {
        0 => return serde_json::to_string(value).ok(),
        1 => b"  ",
        2 => b"    ",
        _ => b"\t",
    };
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(indent);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    value.serialize(&mut serializer).ok()?;
    String::from_utf8(out).ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},{"Sid":"b","Effect":"Deny","Principal":"*","Action":["kms:Decrypt","kms:Encrypt"],"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}"#;

    fn keys_in_order(text: &str) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => {
                    for (k, v) in m {
                        out.push(k.clone());
                        walk(v, out);
                    }
                }
                Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&serde_json::from_str(text).unwrap(), &mut out);
        out
    }

    #[test]
    fn same_document_other_text() {
        let prng = Prng::new(5);
        let mut orders = std::collections::HashSet::new();
        for _ in 0..20 {
            let out = shuffle_document(POLICY, &prng).unwrap();
            assert_ne!(out, POLICY);
            let a: Value = serde_json::from_str(&out).unwrap();
            let b: Value = serde_json::from_str(POLICY).unwrap();
            assert_eq!(
                a, b,
                "semantically equal (serde_json map equality ignores order)"
            );
            orders.insert(keys_in_order(&out));
        }
        assert!(orders.len() > 5, "key orders vary: {}", orders.len());
    }

    #[test]
    fn trivial_documents_still_change() {
        let prng = Prng::new(1);
        for text in ["{}", "[]", "1", r#"{"a":1}"#] {
            let out = shuffle_document(text, &prng).unwrap();
            assert_ne!(out, text);
            assert_eq!(
                serde_json::from_str::<Value>(&out).unwrap(),
                serde_json::from_str::<Value>(text).unwrap()
            );
        }
        assert_eq!(shuffle_document("not json", &prng), None);
    }

    #[test]
    fn answers() {
        let prng = Prng::new(2);
        let kms = serde_json::json!({"Policy": POLICY, "PolicyName": "default"}).to_string();
        let out: Value = serde_json::from_slice(
            &shuffle_answer("kms:GetKeyPolicy", kms.as_bytes(), &prng).unwrap(),
        )
        .unwrap();
        assert_eq!(out["PolicyName"], "default");
        let policy = out["Policy"].as_str().unwrap();
        assert_ne!(policy, POLICY);
        assert_eq!(
            serde_json::from_str::<Value>(policy).unwrap(),
            serde_json::from_str::<Value>(POLICY).unwrap()
        );

        let org =
            serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-1"}, "Content": POLICY}})
                .to_string();
        let out: Value = serde_json::from_slice(
            &shuffle_answer("organizations:DescribePolicy", org.as_bytes(), &prng).unwrap(),
        )
        .unwrap();
        assert_eq!(out["Policy"]["PolicySummary"]["Id"], "p-1");
        assert_ne!(out["Policy"]["Content"].as_str().unwrap(), POLICY);

        assert_eq!(shuffle_answer("kms:GetKeyPolicy", b"{}", &prng), None);
        assert_eq!(shuffle_answer("kms:GetKeyPolicy", b"<xml/>", &prng), None);
        assert_eq!(shuffle_answer("kms:ListKeys", kms.as_bytes(), &prng), None);
    }
}
