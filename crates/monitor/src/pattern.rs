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

/// What a file of CloudTrail events holds, as `kmsctl events test` takes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// An event as EventBridge delivers it (`source`, `detail-type`, `detail`).
    Delivered,
    /// One CloudTrail record (`eventSource`, `eventName` at the top), as a trail writes it or
    /// `aws cloudtrail lookup-events` shows it.
    Record,
    /// A CloudTrail log file: `{"Records": [...]}`.
    Log,
}

/// The events of a file as EventBridge would deliver them: an EventBridge event as it is; a
/// CloudTrail record, or each record of a log file, wrapped in the envelope EventBridge puts
/// around it ([`envelope`]). An error says what the file is not.
pub fn delivered_events(value: &Value) -> Result<(EventShape, Vec<Value>), String> {
    if is_record(value) {
        return Ok((EventShape::Record, vec![envelope(value)]));
    }
    if let Some(records) = value.get("Records") {
        let Some(records) = records.as_array() else {
            return Err("\"Records\" is not an array of CloudTrail records".to_owned());
        };
        let mut events = Vec::with_capacity(records.len());
        for (index, record) in records.iter().enumerate() {
            if !is_record(record) {
                return Err(format!(
                    "Records[{index}] is not a CloudTrail record (it has no eventSource and eventName)"
                ));
            }
            events.push(envelope(record));
        }
        return Ok((EventShape::Log, events));
    }
    let delivered = value.is_object()
        && ["source", "detail-type", "detail"]
            .iter()
            .all(|field| value.get(field).is_some());
    if delivered {
        return Ok((EventShape::Delivered, vec![value.clone()]));
    }
    Err("neither an EventBridge event (source, detail-type, detail), a CloudTrail record (eventSource, eventName) nor a CloudTrail log file (Records)".to_owned())
}

fn is_record(value: &Value) -> bool {
    value.get("eventSource").is_some_and(Value::is_string)
        && value.get("eventName").is_some_and(Value::is_string)
}

/// The event EventBridge delivers for a CloudTrail record: `source` from the record's
/// `eventSource` (`kms.amazonaws.com` → `aws.kms`), `detail-type` from its `eventType`
/// (`AwsApiCall` → "AWS API Call via CloudTrail"), account, time and region from the record, and
/// the record itself as `detail`.
pub fn envelope(record: &Value) -> Value {
    let source = record["eventSource"]
        .as_str()
        .map(|s| format!("aws.{}", s.strip_suffix(".amazonaws.com").unwrap_or(s)));
    let detail_type = match record["eventType"].as_str() {
        Some("AwsServiceEvent") => "AWS Service Event via CloudTrail",
        Some("AwsConsoleSignIn") => "AWS Console Sign In via CloudTrail",
        Some("AwsConsoleAction") => "AWS Console Action via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };
    let mut event = serde_json::Map::new();
    event.insert("version".into(), json!("0"));
    for (field, from) in [
        ("id", "eventID"),
        ("account", "recipientAccountId"),
        ("time", "eventTime"),
        ("region", "awsRegion"),
    ] {
        if let Some(value) = record.get(from) {
            event.insert(field.into(), value.clone());
        }
    }
    event.insert("detail-type".into(), json!(detail_type));
    event.insert("source".into(), json!(source));
    event.insert("resources".into(), json!([]));
    event.insert("detail".into(), record.clone());
    Value::Object(event)
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
    fn a_raw_record_and_a_log_file_are_wrapped_as_eventbridge_delivers_them() {
        let record = json!({
            "eventVersion": "1.08",
            "eventSource": "kms.amazonaws.com",
            "eventName": "ScheduleKeyDeletion",
            "eventType": "AwsApiCall",
            "awsRegion": "us-east-1",
            "recipientAccountId": "222222222222",
        });
        let (shape, events) = delivered_events(&record).expect("a record");
        assert_eq!(shape, EventShape::Record);
        assert_eq!(events[0]["source"], "aws.kms");
        assert_eq!(events[0]["detail-type"], "AWS API Call via CloudTrail");
        assert_eq!(events[0]["account"], "222222222222");
        assert_eq!(events[0]["detail"], record);
        let critical = pattern(&["ScheduleKeyDeletion".to_owned()]);
        assert!(matches(&critical, &events[0]));

        let mut rotation = record.clone();
        rotation["eventName"] = json!("RotateKey");
        rotation["eventType"] = json!("AwsServiceEvent");
        let log = json!({"Records": [record, rotation]});
        let (shape, events) = delivered_events(&log).expect("a log");
        assert_eq!(shape, EventShape::Log);
        assert_eq!(events[1]["detail-type"], "AWS Service Event via CloudTrail");

        let delivered = cloudtrail("Decrypt");
        assert_eq!(
            delivered_events(&delivered),
            Ok((EventShape::Delivered, vec![delivered.clone()]))
        );
        assert!(delivered_events(&json!({"eventName": "Decrypt"})).is_err());
        assert!(
            delivered_events(&json!({"Records": [{"x": 1}]}))
                .is_err_and(|e| e.starts_with("Records[0]"))
        );
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
