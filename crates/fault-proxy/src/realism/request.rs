//! What a request says: its fields (JSON body, or form body for the query protocols), whether it reads or
//! writes, and which resources it names.

use serde_json::Value;

use crate::op;

/// A request body, parsed.
#[derive(Debug)]
pub(crate) enum Body {
    Json(Value),
    /// Decoded `application/x-www-form-urlencoded` pairs (SNS).
    Form(Vec<(String, String)>),
    Empty,
}

impl Body {
    pub fn parse(service: &str, raw: &[u8]) -> Body {
        if raw.is_empty() {
            return Body::Empty;
        }
        if op::is_query_protocol(service) {
            return match std::str::from_utf8(raw) {
                Ok(text) => Body::Form(decode_form(text.trim())),
                Err(_) => Body::Empty,
            };
        }
        serde_json::from_slice(raw).map_or(Body::Empty, Body::Json)
    }

    pub fn json(&self) -> Option<&Value> {
        match self {
            Body::Json(value) => Some(value),
            _ => None,
        }
    }

    /// The string value of the top-level field `name`.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self {
            Body::Json(value) => value.get(name)?.as_str(),
            Body::Form(pairs) => pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str()),
            Body::Empty => None,
        }
    }

    /// The strings of the top-level field `name`: its value if a string, its string items if an array.
    pub fn strs(&self, name: &str) -> Vec<&str> {
        match self {
            Body::Json(value) => match value.get(name) {
                Some(Value::String(s)) => vec![s.as_str()],
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            },
            Body::Form(pairs) => pairs
                .iter()
                .filter(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
                .collect(),
            Body::Empty => Vec::new(),
        }
    }
}

/// `a=1&b=x%3Ay` → `[("a", "1"), ("b", "x:y")]`.
pub(crate) fn decode_form(text: &str) -> Vec<(String, String)> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match (bytes[i], escaped) {
            (_, Some(byte)) => {
                out.push(byte);
                i += 3;
                continue;
            }
            (b'+', None) => out.push(b' '),
            (byte, None) => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether an operation reads, writes, or neither (cryptographic operations, publishing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Read,
    Write,
    Neither,
}

/// Operations that neither read a resource's state nor change it.
const NEITHER: &[&str] = &[
    "Encrypt",
    "Decrypt",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
    "DeriveSharedSecret",
    "Publish",
    "PublishBatch",
    "PutEvents",
    "TestEventPattern",
    "SelectResourceConfig",
    "SelectAggregateResourceConfig",
];

pub(crate) fn kind(action: &str) -> Kind {
    if ["Get", "List", "Describe"]
        .iter()
        .any(|prefix| action.starts_with(prefix))
    {
        Kind::Read
    } else if NEITHER.contains(&action) || action.starts_with("Generate") {
        Kind::Neither
    } else {
        Kind::Write
    }
}

/// A KMS key named by ARN is named by its id; an alias by ARN by its name (`alias/x`).
pub(crate) fn kms_normal(value: &str) -> &str {
    if value.starts_with("arn:") {
        if let Some((_, id)) = value.split_once(":key/") {
            return id;
        }
        if let Some(at) = value.find(":alias/") {
            return &value[at + 1..];
        }
    }
    value
}

/// An EventBridge bus named by ARN or name (`default` when absent): its name.
pub(crate) fn event_bus(body: &Body) -> &str {
    match body.str("EventBusName") {
        Some(bus) if !bus.is_empty() => bus.rsplit_once("event-bus/").map_or(bus, |(_, name)| name),
        _ => "default",
    }
}

/// An EventBridge rule's id: `bus|name`.
pub(crate) fn event_rule(bus: &str, name: &str) -> String {
    format!("{bus}|{name}")
}

const ORGANIZATIONS_FIELDS: &[&str] = &[
    "PolicyId",
    "TargetId",
    "RootId",
    "ParentId",
    "ChildId",
    "ResourceId",
    "OrganizationalUnitId",
    "AccountId",
];

/// The resources a request names (for `StaleReads`), normalised: KMS keys by id, EventBridge rules as
/// `bus|name`, the rest as given. Sorted, without duplicates.
pub(crate) fn named(service: &str, body: &Body) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut add = |fields: &[&str], normal: &dyn Fn(&str) -> String| {
        for field in fields {
            ids.extend(body.strs(field).into_iter().map(normal));
        }
    };
    match service {
        "kms" => add(
            &[
                "KeyId",
                "TargetKeyId",
                "AliasName",
                "DestinationKeyId",
                "SourceKeyId",
            ],
            &|v| kms_normal(v).to_string(),
        ),
        "organizations" => add(ORGANIZATIONS_FIELDS, &str::to_string),
        "config" => {
            add(&["ConfigRuleName", "ConfigRuleNames"], &str::to_string);
            if let Some(name) = body
                .json()
                .and_then(|v| v.get("ConfigRule")?.get("ConfigRuleName")?.as_str())
            {
                ids.push(name.to_string());
            }
        }
        "events" => {
            let bus = event_bus(body);
            add(&["Name", "Rule"], &|v| event_rule(bus, v));
        }
        "sns" => add(
            &["TopicArn", "SubscriptionArn", "ResourceArn"],
            &str::to_string,
        ),
        "tagging" => add(&["ResourceARNList"], &|v| kms_normal(v).to_string()),
        _ => {}
    }
    ids.retain(|id| !id.is_empty());
    ids.sort();
    ids.dedup();
    ids
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_decoded() {
        let body = Body::parse(
            "sns",
            b"Action=Subscribe&TopicArn=arn%3Aaws%3Asns%3Aus-east-1%3A1%3At&Endpoint=a+b&Empty=&Bad=%zz%4",
        );
        assert_eq!(body.str("Action"), Some("Subscribe"));
        assert_eq!(body.str("TopicArn"), Some("arn:aws:sns:us-east-1:1:t"));
        assert_eq!(body.str("Endpoint"), Some("a b"));
        assert_eq!(body.str("Empty"), Some(""));
        assert_eq!(body.str("Bad"), Some("%zz%4"), "invalid escapes kept");
        assert_eq!(body.str("Nope"), None);
    }

    #[test]
    fn json_fields() {
        let body = Body::parse("config", br#"{"ConfigRuleNames":["a","b",1],"X":"y"}"#);
        assert_eq!(body.strs("ConfigRuleNames"), ["a", "b"]);
        assert_eq!(body.strs("X"), ["y"]);
        assert!(body.strs("Z").is_empty());
        assert!(matches!(Body::parse("kms", b"not json"), Body::Empty));
        assert!(matches!(Body::parse("kms", b""), Body::Empty));
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("DescribeKey"), Kind::Read);
        assert_eq!(kind("ListKeys"), Kind::Read);
        assert_eq!(kind("GetKeyPolicy"), Kind::Read);
        assert_eq!(kind("PutKeyPolicy"), Kind::Write);
        assert_eq!(kind("AttachPolicy"), Kind::Write);
        assert_eq!(kind("Encrypt"), Kind::Neither);
        assert_eq!(kind("GenerateDataKey"), Kind::Neither);
        assert_eq!(kind("Publish"), Kind::Neither);
    }

    #[test]
    fn named_resources() {
        let kms = Body::parse(
            "kms",
            br#"{"KeyId":"arn:aws:kms:us-east-1:1:key/k-1","TargetKeyId":"k-1","AliasName":"arn:aws:kms:us-east-1:1:alias/a"}"#,
        );
        assert_eq!(named("kms", &kms), ["alias/a", "k-1"]);
        let org = Body::parse("organizations", br#"{"PolicyId":"p-1","TargetId":"r-1"}"#);
        assert_eq!(named("organizations", &org), ["p-1", "r-1"]);
        let config = Body::parse("config", br#"{"ConfigRule":{"ConfigRuleName":"c"}}"#);
        assert_eq!(named("config", &config), ["c"]);
        let events = Body::parse(
            "events",
            br#"{"Rule":"r","EventBusName":"arn:aws:events:us-east-1:1:event-bus/b"}"#,
        );
        assert_eq!(named("events", &events), ["b|r"]);
        let events = Body::parse("events", br#"{"Name":"r"}"#);
        assert_eq!(named("events", &events), ["default|r"]);
        let sns = Body::parse("sns", b"Action=GetTopicAttributes&TopicArn=arn%3At");
        assert_eq!(named("sns", &sns), ["arn:t"]);
        assert!(named("sts", &sns).is_empty());
    }
}
