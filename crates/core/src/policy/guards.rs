//! Offline guards for KMS key policies.

use std::collections::BTreeMap;
use std::path::Path;

use super::model::{PolicyDocument, Principals, Statement};
use super::wildcard::action_matches;
use crate::finding::{Finding, Location};

/// The only policy language version that supports policy variables and current features.
pub const POLICY_VERSION: &str = "2012-10-17";
/// AWS KMS refuses key policies larger than 32 KB.
pub const MAX_KEY_POLICY_BYTES: usize = 32_768;
const PUT_KEY_POLICY: &str = "kms:PutKeyPolicy";

/// The `policy-size` error when a key policy of `raw_len_bytes` (after templating) is larger
/// than AWS KMS accepts. Needs no parsing: callers check it first.
pub fn key_policy_size(raw_len_bytes: usize, file: &Path) -> Option<Finding> {
    (raw_len_bytes > MAX_KEY_POLICY_BYTES).then(|| {
        Finding::error(
            "policy-size",
            Location::at_line(file, 1).with_pointer(""),
            format!(
                "the policy is {raw_len_bytes} bytes after templating; AWS KMS accepts at most \
                 {MAX_KEY_POLICY_BYTES} bytes (32 KB)"
            ),
            "shrink the policy: merge statements that share a principal and condition, list \
             principals once, or grant through IAM policies or grants instead",
        )
    })
}

/// Checks a parsed key policy. `raw_len_bytes` is the size of the document after
/// templating, as it will be sent to AWS. Every finding is an error and points at `file`
/// with a line and a JSON pointer.
///
/// Rules: `policy-version`, `policy-size`, `policy-unknown-field`, `policy-sid-unique`,
/// `policy-statement`, `policy-lockout`, `policy-public-principal`.
pub fn check_key_policy(doc: &PolicyDocument, raw_len_bytes: usize, file: &Path) -> Vec<Finding> {
    let at = |line: usize, pointer: &str| Location::at_line(file, line).with_pointer(pointer);
    let mut findings = Vec::new();

    match doc.version.as_deref() {
        Some(POLICY_VERSION) => {}
        Some(other) => findings.push(Finding::error(
            "policy-version",
            at(doc.line_of("Version"), "/Version"),
            format!("the policy Version is \"{other}\", not \"{POLICY_VERSION}\""),
            format!(
                "set \"Version\": \"{POLICY_VERSION}\"; older versions do not support policy \
                 variables such as ${{aws:username}}"
            ),
        )),
        None => findings.push(Finding::error(
            "policy-version",
            at(1, "/Version"),
            "the policy has no Version",
            format!(
                "add \"Version\": \"{POLICY_VERSION}\" at the top level; without it IAM uses the \
                 2008 language, which treats policy variables as literal text"
            ),
        )),
    }

    if let Some(finding) = key_policy_size(raw_len_bytes, file) {
        findings.push(finding);
    }

    for (pointer, line) in &doc.unknown_fields {
        let name = pointer.rsplit('/').next().unwrap_or(pointer);
        findings.push(Finding::error(
            "policy-unknown-field",
            at(*line, pointer),
            format!("\"{name}\" is not a policy element; AWS rejects the policy"),
            "fix the spelling (elements are case-sensitive: Version, Id, Statement, Sid, Effect, \
             Principal, NotPrincipal, Action, NotAction, Resource, NotResource, Condition) or \
             remove it",
        ));
    }

    let mut sids: BTreeMap<&str, &Statement> = BTreeMap::new();
    for st in &doc.statements {
        let Some(sid) = st.sid_name() else { continue };
        if let Some(first) = sids.get(sid) {
            findings.push(Finding::error(
                "policy-sid-unique",
                at(st.line_of("Sid"), &format!("{}/Sid", st.pointer)),
                format!(
                    "Sid \"{sid}\" is already used by the statement at {}",
                    first.pointer
                ),
                "give every statement a distinct Sid; the diff and plan identify statements by \
                 Sid",
            ));
        } else {
            sids.insert(sid, st);
        }
    }

    for st in &doc.statements {
        statement_shape(st, &at, &mut findings);
    }

    lockout(doc, &at, &mut findings);

    for st in &doc.statements {
        let public = st.principal.as_ref().is_some_and(Principals::is_public);
        if st.is_allow() && public && st.condition.is_empty() {
            findings.push(Finding::error(
                "policy-public-principal",
                at(
                    st.line_of("Principal"),
                    &format!("{}/Principal", st.pointer),
                ),
                format!(
                    "{} allows everyone (principal \"*\") with no Condition",
                    describe(st)
                ),
                "name the principals instead of \"*\", or add a Condition that limits who \
                 matches, such as \"StringEquals\": {\"kms:CallerAccount\": \"111122223333\"}",
            ));
        }
    }
    findings
}

fn describe(st: &Statement) -> String {
    match st.sid_name() {
        Some(sid) => format!("statement \"{sid}\""),
        None => format!("statement {}", st.pointer),
    }
}

fn statement_shape(
    st: &Statement,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    let who = describe(st);
    let mut push = |field: Option<&str>, message: String, fix: &str| {
        let (line, pointer) = match field {
            Some(field) => (st.line_of(field), format!("{}/{field}", st.pointer)),
            None => (st.line, st.pointer.clone()),
        };
        findings.push(Finding::error(
            "policy-statement",
            at(line, &pointer),
            message,
            fix,
        ));
    };

    match st.effect.as_deref() {
        Some("Allow" | "Deny") => {}
        Some(other) => push(
            Some("Effect"),
            format!("{who} has Effect \"{other}\""),
            "Effect must be exactly \"Allow\" or \"Deny\"",
        ),
        None => push(
            None,
            format!("{who} has no Effect"),
            "add \"Effect\": \"Allow\" or \"Effect\": \"Deny\"",
        ),
    }

    let pairs = [
        (
            "Principal",
            st.principal.is_some(),
            "NotPrincipal",
            st.not_principal.is_some(),
            "a key policy statement must name who it applies to, e.g. \
             \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"}",
        ),
        (
            "Action",
            st.action.is_some(),
            "NotAction",
            st.not_action.is_some(),
            "add \"Action\": [...] listing the kms: actions the statement allows or denies",
        ),
        (
            "Resource",
            st.resource.is_some(),
            "NotResource",
            st.not_resource.is_some(),
            "add \"Resource\": \"*\"; in a key policy \"*\" means this key",
        ),
    ];
    for (positive, has_positive, negative, has_negative, fix) in pairs {
        match (has_positive, has_negative) {
            (false, false) => push(
                None,
                format!("{who} has neither {positive} nor {negative}"),
                fix,
            ),
            (true, true) => push(
                Some(negative),
                format!("{who} has both {positive} and {negative}"),
                &format!("keep only one of {positive} and {negative}"),
            ),
            _ => {}
        }
    }

    let empty_sets = [
        ("Action", st.action.as_ref().is_some_and(|s| s.is_empty())),
        (
            "NotAction",
            st.not_action.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "Resource",
            st.resource.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "NotResource",
            st.not_resource.as_ref().is_some_and(|s| s.is_empty()),
        ),
        (
            "Principal",
            st.principal.as_ref().is_some_and(no_principals),
        ),
        (
            "NotPrincipal",
            st.not_principal.as_ref().is_some_and(no_principals),
        ),
    ];
    for (field, empty) in empty_sets {
        if empty {
            push(
                Some(field),
                format!("{who} has an empty {field}"),
                "list at least one value, or remove the element",
            );
        }
    }
}

fn no_principals(principals: &Principals) -> bool {
    match principals {
        Principals::Wildcard => false,
        Principals::Map(map) => map.values().all(|set| set.is_empty()),
    }
}

/// Whether every condition of the statement is true for any request by an IAM principal: none,
/// negated operators (or `Null: true`) on keys no request carries (a misspelt key), and
/// `aws:PrincipalIsAWSService = false`. Anything else may be false for someone: not counted.
fn holds_for_every_iam_principal(st: &Statement) -> bool {
    let catalog = super::catalog::Catalog::get();
    st.condition.iter().all(|(operator_text, keys)| {
        let Some(operator) = super::lint::Operator::parse(operator_text) else {
            return false;
        };
        keys.iter().all(|(key, values)| {
            let unknown = catalog.key(key).is_none();
            let only =
                |v: &str| values.len() == 1 && values.iter().all(|x| x.eq_ignore_ascii_case(v));
            (unknown && operator.negated() && operator.set.is_none())
                || (unknown && operator.base == "Null" && only("true"))
                || (key.eq_ignore_ascii_case("aws:PrincipalIsAWSService")
                    && operator.base == "Bool"
                    && only("false"))
        })
    })
}

/// Whether the statement's actions cover kms:PutKeyPolicy.
fn covers_put_key_policy(st: &Statement) -> bool {
    match (&st.action, &st.not_action) {
        (Some(actions), _) => actions.iter().any(|a| action_matches(a, PUT_KEY_POLICY)),
        (None, Some(excluded)) => !excluded.iter().any(|a| action_matches(a, PUT_KEY_POLICY)),
        (None, None) => false,
    }
}

fn lockout(
    doc: &PolicyDocument,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    const FIX: &str = "AWS refuses a key policy that would stop the caller from changing it \
        again (the policy lockout safety check), and without such a grant nobody could ever \
        update this policy: allow kms:PutKeyPolicy (e.g. kms:*) to the account root, \
        \"Principal\": {\"AWS\": \"arn:aws:iam::111122223333:root\"}, or to an admin role";

    // An unconditional Deny to everyone overrides any Allow, the account root's included.
    for st in &doc.statements {
        let public = st.principal.as_ref().is_some_and(Principals::is_public);
        let this_key = st.resource.as_ref().is_some_and(|r| r.contains("*"));
        if st.is_deny()
            && public
            && this_key
            && holds_for_every_iam_principal(st)
            && covers_put_key_policy(st)
        {
            let why = if st.condition.is_empty() {
                "with no Condition".to_owned()
            } else {
                "and its Condition holds for every IAM principal (a negated operator on a key no request carries, or aws:PrincipalIsAWSService = false)".to_owned()
            };
            findings.push(Finding::error(
                "policy-lockout",
                at(st.line, &st.pointer),
                format!(
                    "{} denies kms:PutKeyPolicy to everyone, {why}",
                    describe(st)
                ),
                FIX,
            ));
            return;
        }
    }

    let granted = doc.statements.iter().any(|st| {
        st.is_allow()
            && st
                .principal
                .as_ref()
                .is_some_and(Principals::names_specific_principal)
            && covers_put_key_policy(st)
    });
    if !granted {
        findings.push(Finding::error(
            "policy-lockout",
            at(doc.line_of("Statement"), "/Statement"),
            "no Allow statement grants kms:PutKeyPolicy to a named principal \
             (\"*\" does not count)",
            FIX,
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::finding::Severity;
    use crate::policy::test_fixtures::{DEFAULT_KEY_POLICY, REALISTIC_POLICY};
    use crate::policy::{line_of_pointer, parse};

    const FILE: &str = "keys/app.json";

    fn check(text: &str) -> Vec<Finding> {
        let doc = parse(text).unwrap();
        check_key_policy(&doc, text.len(), Path::new(FILE))
    }

    fn rules(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.rule.as_str()).collect()
    }

    fn pointers(findings: &[Finding]) -> Vec<&str> {
        findings
            .iter()
            .map(|f| f.location.pointer.as_deref().unwrap_or("-"))
            .collect()
    }

    /// The account root may do everything: satisfies the lockout rule.
    fn admin() -> Value {
        json!({
            "Sid": "Admin",
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
            "Action": "kms:*",
            "Resource": "*"
        })
    }

    /// A version-2012 policy of these statements, pretty-printed (one member per line).
    fn policy(statements: Vec<Value>) -> String {
        let doc = json!({"Version": "2012-10-17", "Statement": statements});
        serde_json::to_string_pretty(&doc).unwrap()
    }

    /// A policy of [`admin`] and one more statement.
    fn with_admin(statement: Value) -> String {
        policy(vec![admin(), statement])
    }

    #[test]
    fn default_key_policy_passes_every_guard() {
        assert_eq!(check(DEFAULT_KEY_POLICY), vec![]);
    }

    #[test]
    fn realistic_policy_passes_every_guard() {
        assert_eq!(check(REALISTIC_POLICY), vec![]);
    }

    #[test]
    fn findings_carry_file_line_pointer_and_fix() {
        let text = "{\n\"Version\": \"2008-10-17\",\n\"Statement\": []\n}";
        let findings = check(text);
        let version = &findings[0];
        assert_eq!(version.rule, "policy-version");
        assert_eq!(version.severity, Severity::Error);
        assert_eq!(
            version.location,
            Location::at_line(FILE, 2).with_pointer("/Version")
        );
        assert_eq!(
            version.message,
            "the policy Version is \"2008-10-17\", not \"2012-10-17\""
        );
        assert!(version.fix.contains("\"Version\": \"2012-10-17\""));
    }

    #[test]
    fn missing_version() {
        let text = json!({"Statement": [admin()]}).to_string();
        let findings = check(&text);
        assert_eq!(rules(&findings), vec!["policy-version"]);
        assert_eq!(findings[0].message, "the policy has no Version");
        assert_eq!(
            findings[0].location,
            Location::at_line(FILE, 1).with_pointer("/Version")
        );
    }

    #[test]
    fn size_limit_is_32_kib_after_templating() {
        let doc = parse(DEFAULT_KEY_POLICY).unwrap();
        let file = Path::new("k.json");
        assert_eq!(check_key_policy(&doc, 32_768, file), vec![]);
        let findings = check_key_policy(&doc, 32_769, file);
        assert_eq!(rules(&findings), vec!["policy-size"]);
        assert!(findings[0].message.contains("32769 bytes"));
        assert_eq!(
            findings[0].location,
            Location::at_line(file, 1).with_pointer("")
        );
    }

    #[test]
    fn duplicate_sid_points_at_the_second() {
        let text = r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": "arn:r"},
             "Action": "kms:Encrypt", "Resource": "*"},
            {"Effect": "Allow", "Principal": {"AWS": "arn:r"},
             "Sid": "Use", "Action": "kms:Decrypt", "Resource": "*"}
        ]}"#;
        let findings = check(text);
        assert_eq!(rules(&findings), vec!["policy-sid-unique"]);
        assert_eq!(
            findings[0].location,
            Location::at_line(FILE, 7).with_pointer("/Statement/2/Sid")
        );
        assert_eq!(
            findings[0].message,
            "Sid \"Use\" is already used by the statement at /Statement/1"
        );
    }

    #[test]
    fn statement_missing_elements() {
        let text = "{\"Version\": \"2012-10-17\", \"Statement\": [\n{\"Sid\": \"A\", \
                    \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:r\"}, \
                    \"Action\": \"kms:*\", \"Resource\": \"*\"},\n\n{\"Sid\": \"Bare\"}]}";
        let findings = check(text);
        assert_eq!(rules(&findings), vec!["policy-statement"; 4]);
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "statement \"Bare\" has no Effect",
                "statement \"Bare\" has neither Principal nor NotPrincipal",
                "statement \"Bare\" has neither Action nor NotAction",
                "statement \"Bare\" has neither Resource nor NotResource",
            ]
        );
        let expected = Location::at_line(FILE, 4).with_pointer("/Statement/1");
        assert!(findings.iter().all(|f| f.location == expected));
        assert!(findings.iter().all(|f| !f.fix.is_empty()));
    }

    #[test]
    fn statement_bad_effect_and_both_action_forms() {
        let text = with_admin(json!({
            "Effect": "allow",
            "Principal": {"AWS": "arn:r"},
            "Action": "kms:Encrypt",
            "NotAction": "kms:Decrypt",
            "Resource": "*"
        }));
        let findings = check(&text);
        assert_eq!(rules(&findings), vec!["policy-statement"; 2]);
        assert_eq!(
            findings[0].message,
            "statement /Statement/1 has Effect \"allow\""
        );
        assert_eq!(
            findings[1].message,
            "statement /Statement/1 has both Action and NotAction"
        );
        assert_eq!(
            pointers(&findings),
            vec!["/Statement/1/Effect", "/Statement/1/NotAction"]
        );
        assert_eq!(
            findings[0].location.line,
            line_of_pointer(&text, "/Statement/1/Effect")
        );
        assert_eq!(
            findings[1].location.line,
            line_of_pointer(&text, "/Statement/1/NotAction")
        );
    }

    #[test]
    fn statement_with_both_principal_forms_or_empty_sets() {
        let text = with_admin(json!({
            "Effect": "Deny",
            "Principal": {"AWS": []},
            "NotPrincipal": {"AWS": "arn:r"},
            "Action": [],
            "Resource": "*"
        }));
        let findings = check(&text);
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(
            messages,
            vec![
                "statement /Statement/1 has both Principal and NotPrincipal",
                "statement /Statement/1 has an empty Action",
                "statement /Statement/1 has an empty Principal",
            ]
        );
        assert_eq!(
            pointers(&findings),
            vec![
                "/Statement/1/NotPrincipal",
                "/Statement/1/Action",
                "/Statement/1/Principal"
            ]
        );
    }

    #[test]
    fn unknown_fields_are_reported() {
        let mut statement = admin();
        statement["Conditon"] = json!({});
        let text = policy(vec![statement]);
        let findings = check(&text);
        assert_eq!(rules(&findings), vec!["policy-unknown-field"]);
        assert_eq!(
            findings[0].location.line,
            line_of_pointer(&text, "/Statement/0/Conditon")
        );
        assert_eq!(pointers(&findings), vec!["/Statement/0/Conditon"]);
        assert!(
            findings[0]
                .message
                .starts_with("\"Conditon\" is not a policy element")
        );
    }

    #[test]
    fn lockout_when_only_public_principal_can_put_key_policy() {
        let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Public",
      "Effect": "Allow",
      "Principal": "*",
      "Action": "kms:PutKeyPolicy",
      "Resource": "*",
      "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}
    },
    {
      "Sid": "Use",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:role/App"},
      "Action": ["kms:Encrypt", "kms:Decrypt"],
      "Resource": "*"
    }
  ]
}"#;
        let findings = check(text);
        assert_eq!(rules(&findings), vec!["policy-lockout"]);
        let f = &findings[0];
        assert_eq!(
            f.location,
            Location::at_line(FILE, 3).with_pointer("/Statement")
        );
        assert!(f.message.contains("kms:PutKeyPolicy"));
        assert!(f.fix.contains("lockout safety check"));
        assert!(f.fix.contains("arn:aws:iam::111122223333:root"));
    }

    fn admin_role_with(action_member: &str, value: &str) -> String {
        let mut statement = admin();
        statement.as_object_mut().unwrap().remove("Action");
        statement["Principal"] = json!({"AWS": "arn:aws:iam::1:role/Admin"});
        statement[action_member] = serde_json::from_str(value).unwrap();
        policy(vec![statement])
    }

    #[test]
    fn lockout_rule_accepts_wildcards_and_not_action() {
        for (member, value) in [
            ("Action", r#""kms:*""#),
            ("Action", r#""*""#),
            ("Action", r#"["kms:Describe*", "kms:Put*"]"#),
            ("Action", r#""KMS:putkeypolicy""#),
            ("Action", r#""kms:PutKeyPolic?""#),
            ("NotAction", r#""kms:ScheduleKeyDeletion""#),
        ] {
            assert_eq!(check(&admin_role_with(member, value)), vec![], "{value}");
        }
        for (member, value) in [
            ("Action", r#""kms:Get*""#),
            ("Action", r#"["kms:Encrypt", "kms:PutKeyPolicyX"]"#),
            ("NotAction", r#""kms:Put*""#),
        ] {
            let findings = check(&admin_role_with(member, value));
            assert_eq!(rules(&findings), vec!["policy-lockout"], "{value}");
        }
    }

    #[test]
    fn lockout_ignores_deny_not_principal_and_public_grants() {
        let mut deny = admin();
        deny["Effect"] = json!("Deny");
        let mut not_principal = admin();
        let principal = not_principal.as_object_mut().unwrap().remove("Principal");
        not_principal["NotPrincipal"] = principal.unwrap();
        let mut public_aws = admin();
        public_aws["Principal"] = json!({"AWS": "*"});
        public_aws["Condition"] = json!({"Bool": {"aws:SecureTransport": true}});
        for statement in [deny, not_principal, public_aws] {
            let findings = check(&policy(vec![statement.clone()]));
            assert_eq!(rules(&findings), vec!["policy-lockout"], "{statement}");
        }
    }

    #[test]
    fn unconditional_public_deny_of_put_key_policy_locks_out() {
        let deny = json!({
            "Sid": "NoChanges",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:Put*",
            "Resource": "*"
        });
        let findings = check(&with_admin(deny.clone()));
        assert_eq!(rules(&findings), vec!["policy-lockout"]);
        assert_eq!(pointers(&findings), vec!["/Statement/1"]);
        assert_eq!(
            findings[0].message,
            "statement \"NoChanges\" denies kms:PutKeyPolicy to everyone, with no Condition"
        );

        let mut conditional = deny.clone();
        conditional["Condition"] = json!({"Bool": {"aws:SecureTransport": false}});
        let mut other_action = deny.clone();
        other_action["Action"] = json!("kms:ScheduleKeyDeletion");
        let mut other_resource = deny;
        other_resource["Resource"] = json!("arn:aws:kms:eu-west-1:1:key/other");
        for statement in [conditional, other_action, other_resource] {
            assert_eq!(check(&with_admin(statement.clone())), vec![], "{statement}");
        }
    }

    #[test]
    fn public_principal_without_condition() {
        for principal in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": ["arn:r", "*"]}),
        ] {
            let text = with_admin(json!({
                "Sid": "Open",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "kms:Decrypt",
                "Resource": "*"
            }));
            let findings = check(&text);
            assert_eq!(
                rules(&findings),
                vec!["policy-public-principal"],
                "{principal}"
            );
            assert_eq!(pointers(&findings), vec!["/Statement/1/Principal"]);
            assert_eq!(
                findings[0].location.line,
                line_of_pointer(&text, "/Statement/1/Principal")
            );
            assert_eq!(
                findings[0].message,
                "statement \"Open\" allows everyone (principal \"*\") with no Condition"
            );
        }
    }

    #[test]
    fn public_principal_is_fine_with_condition_deny_or_other_types() {
        let open = json!({
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*"
        });
        let mut conditioned = open.clone();
        conditioned["Condition"] = json!({"StringEquals": {"kms:CallerAccount": "111122223333"}});
        let mut deny = open.clone();
        deny["Effect"] = json!("Deny");
        let mut service_star = open;
        service_star["Principal"] = json!({"Service": "*"});
        for statement in [conditioned, deny, service_star] {
            assert_eq!(check(&with_admin(statement.clone())), vec![], "{statement}");
        }
    }
}
