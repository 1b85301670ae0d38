//! EventBridge event patterns for CloudTrail KMS events, compared by meaning, and a matcher that
//! says whether an event fires a pattern (the subset of EventBridge's pattern language kmsctl
//! writes: exact values in arrays, nested objects).

use serde_json::{Value, json};

/// The pattern of one alert rule: CloudTrail KMS API calls with these event names.
pub fn pattern(event_names: &[String]) -> Value {
    json!({
        "source": ["aws.kms"],
        "detail-type": ["AWS API Call via CloudTrail"],
        "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": event_names},
    })
}

/// Whether `event` matches `pattern`: every field of the pattern is present in the event with
/// one of the listed values (an array in the event matches if any element does).
pub fn matches(pattern: &Value, event: &Value) -> bool {
    let Some(fields) = pattern.as_object() else {
        return false;
    };
    fields.iter().all(|(name, wanted)| {
        let Some(actual) = event.get(name) else {
            return false;
        };
        match wanted {
            Value::Object(_) => matches(wanted, actual),
            Value::Array(allowed) => match actual {
                Value::Array(values) => values.iter().any(|v| allowed.contains(v)),
                value => allowed.contains(value),
            },
            _ => false,
        }
    })
}

/// Patterns equal in meaning: key order and the order of values in arrays do not matter.
pub fn semantically_equal(a: &Value, b: &Value) -> bool {
    normalise(a) == normalise(b)
}

fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().map(|(k, v)| (k.clone(), normalise(v))).collect();
            entries.sort_by(|x, y| x.0.cmp(&y.0));
            Value::Object(entries.into_iter().collect())
        }
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalise).collect();
            items.sort_by_key(|v| v.to_string());
            items.dedup();
            Value::Array(items)
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloudtrail(event_name: &str) -> Value {
        json!({
            "version": "0",
            "source": "aws.kms",
            "detail-type": "AWS API Call via CloudTrail",
            "detail": {"eventSource": "kms.amazonaws.com", "eventName": event_name, "awsRegion": "us-east-1"},
        })
    }

    #[test]
    fn the_critical_rule_fires_for_schedule_key_deletion_and_not_for_decrypt() {
        let critical = pattern(&["ScheduleKeyDeletion".to_owned()]);
        assert!(matches(&critical, &cloudtrail("ScheduleKeyDeletion")));
        assert!(!matches(&critical, &cloudtrail("Decrypt")));
        let mut other_source = cloudtrail("ScheduleKeyDeletion");
        other_source["source"] = json!("aws.s3");
        assert!(!matches(&critical, &other_source));
    }

    #[test]
    fn patterns_compare_by_meaning() {
        let a = pattern(&["PutKeyPolicy".to_owned(), "DisableKey".to_owned()]);
        let b: Value = serde_json::from_str(
            r#"{"detail":{"eventName":["DisableKey","PutKeyPolicy"],"eventSource":["kms.amazonaws.com"]},"detail-type":["AWS API Call via CloudTrail"],"source":["aws.kms"]}"#,
        )
        .expect("json");
        assert!(semantically_equal(&a, &b));
        assert!(!semantically_equal(
            &a,
            &pattern(&["DisableKey".to_owned()])
        ));
    }
}
