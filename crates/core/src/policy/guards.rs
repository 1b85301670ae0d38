//! Offline guards for KMS key policies.

use std::path::Path;

use super::deployer::{DEPLOYER_KEY_ACTIONS, Deployer, Loss, assumed_deployers, losses};
use super::grammar::PolicyKind;
pub use super::grammar::{
    POLICY_SID_UNIQUE, POLICY_STATEMENT, POLICY_UNKNOWN_FIELD, POLICY_VERSION,
};
use super::model::{PolicyDocument, Statement};
use super::public::{Exposure, exposure};
use crate::finding::{Finding, Location};
use crate::limits::MAX_KEY_POLICY_BYTES;
use crate::rule::{Control, Rule};

pub use super::grammar::POLICY_LANGUAGE_VERSION;

pub const POLICY_SIZE: Rule = Rule::error(
    "policy-size",
    None,
    "AWS's size limits: a key policy after templating, an SCP or RCP minified",
);
pub const POLICY_LOCKOUT: Rule = Rule::error(
    "policy-lockout",
    None,
    "the deployer keeps kms:PutKeyPolicy, kms:DescribeKey and kms:GetKeyPolicy after every Deny",
);
pub const POLICY_PUBLIC_PRINCIPAL: Rule = Rule::error(
    "policy-public-principal",
    Some(Control::EnvironmentBoundaries),
    "no Allow to Principal \"*\" unless a condition keeps callers from outside out",
);

/// The `policy-size` error when a key policy of `raw_len_bytes` (after templating) is larger
/// than AWS KMS accepts. Needs no parsing: callers check it first.
pub fn key_policy_size(raw_len_bytes: usize, file: &Path) -> Option<Finding> {
    (raw_len_bytes > MAX_KEY_POLICY_BYTES).then(|| {
        Finding::of(
            &POLICY_SIZE,
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
/// with a line and a JSON pointer. Without an environment the deployer is not known: the
/// lockout guard asks whether some principal the policy names keeps what the deployer needs
/// (see [`check_key_policy_for`]).
///
/// Rules: `policy-version`, `policy-size`, `policy-unknown-field`, `policy-sid-unique`,
/// `policy-statement`, `policy-lockout`, `policy-public-principal`.
pub fn check_key_policy(doc: &PolicyDocument, raw_len_bytes: usize, file: &Path) -> Vec<Finding> {
    check_key_policy_for(doc, raw_len_bytes, file, None)
}

/// [`check_key_policy`] for a key kmsctl applies as `deployer`: the lockout guard asks the
/// evaluation engine whether the deployer keeps `kms:PutKeyPolicy`, `kms:DescribeKey` and
/// `kms:GetKeyPolicy` on the key.
pub fn check_key_policy_for(
    doc: &PolicyDocument,
    raw_len_bytes: usize,
    file: &Path,
    deployer: Option<&Deployer>,
) -> Vec<Finding> {
    let at = |line: usize, pointer: &str| Location::at_line(file, line).with_pointer(pointer);
    let mut findings = Vec::new();

    findings.extend(super::grammar::structure(doc, PolicyKind::Key, file));
    if let Some(finding) = key_policy_size(raw_len_bytes, file) {
        findings.push(finding);
    }

    lockout(doc, deployer, &at, &mut findings);

    for st in &doc.statements {
        let Exposure::Public { limiting_keys } = exposure(st) else {
            continue;
        };
        let why = if st.condition.is_empty() {
            " with no Condition".to_owned()
        } else if limiting_keys.is_empty() {
            format!(
                ": its Condition holds for callers in any account ({}); no condition on a key \
                 that names the caller or where the call comes from (aws:PrincipalOrgID, \
                 aws:PrincipalAccount, aws:PrincipalArn, kms:CallerAccount, aws:SourceVpce, \
                 aws:SourceAccount, aws:SourceArn...) limits it",
                condition_keys(st)
            )
        } else {
            format!(
                ": a caller outside the organization and its accounts still meets its \
                 conditions on {} (a negated operator, ...IfExists and ForAllValues hold when \
                 the caller's value differs or is absent)",
                limiting_keys.join(", ")
            )
        };
        findings.push(Finding::of(
            &POLICY_PUBLIC_PRINCIPAL,
            at(
                st.line_of("Principal"),
                &format!("{}/Principal", st.pointer),
            ),
            format!("{} allows everyone (principal \"*\"){why}", describe(st)),
            "name the principals instead of \"*\", or limit the caller with a positive \
             condition such as \"StringEquals\": {\"aws:PrincipalOrgID\": \"o-xxxxxxxxxx\"} or \
             {\"kms:CallerAccount\": \"111122223333\"} (not StringNotEquals, ...IfExists or \
             ForAllValues, which let a caller without the key through)",
        ));
    }
    findings
}

/// `Bool aws:SecureTransport` for each condition of the statement.
fn condition_keys(st: &Statement) -> String {
    st.condition
        .iter()
        .flat_map(|(operator, keys)| keys.keys().map(move |key| format!("{operator} {key}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe(st: &Statement) -> String {
    match st.sid_name() {
        Some(sid) => format!("statement \"{sid}\""),
        None => format!("statement {}", st.pointer),
    }
}

const LOCKOUT_WHY: &str = "AWS refuses a key policy that would stop its caller from changing it \
    again (the policy lockout safety check), and kmsctl plans by reading the key and its policy";

/// What losing these actions stops kmsctl from doing.
fn consequence(actions: &[&str]) -> &'static str {
    let change = actions.contains(&"kms:PutKeyPolicy");
    let read = actions.iter().any(|a| *a != "kms:PutKeyPolicy");
    match (change, read) {
        (true, true) => "read or change this key's policy",
        (true, false) => "change this key's policy",
        _ => "read this key and its policy to plan",
    }
}

fn lockout(
    doc: &PolicyDocument,
    deployer: Option<&Deployer>,
    at: &impl Fn(usize, &str) -> Location,
    findings: &mut Vec<Finding>,
) {
    let candidates = match deployer {
        Some(deployer) => vec![deployer.clone()],
        None => assumed_deployers(doc),
    };
    let Some(first) = candidates.first() else {
        findings.push(Finding::of(
            &POLICY_LOCKOUT,
            at(doc.line_of("Statement"), "/Statement"),
            format!(
                "no Allow statement grants {} to a named principal (\"*\" and services do not \
                 count), so no deployer could keep them",
                DEPLOYER_KEY_ACTIONS.join(", ")
            ),
            format!(
                "{LOCKOUT_WHY}: allow them (e.g. kms:*) to the account root, \"Principal\": \
                 {{\"AWS\": \"arn:aws:iam::111122223333:root\"}}, which delegates to IAM, or to \
                 the deployer role"
            ),
        ));
        return;
    };
    let lost = losses(doc, first);
    // Without an environment, one principal the policy names that keeps everything will do.
    if lost.is_empty() || candidates.iter().skip(1).any(|d| losses(doc, d).is_empty()) {
        return;
    }
    for loss in lost {
        match loss {
            Loss::Denied { statement, actions } => findings.push(Finding::of(
                &POLICY_LOCKOUT,
                at(statement.line, &statement.pointer),
                format!(
                    "{} denies the deployer {} {}: kmsctl could not {} again (as the evaluation \
                     engine decides for a role session without MFA over TLS, principal tags \
                     absent)",
                    describe(statement),
                    first.shown(),
                    actions.join(", "),
                    consequence(&actions)
                ),
                format!(
                    "{LOCKOUT_WHY}: exempt the deployer from this Deny, e.g. add {:?} to an \
                     \"ArnNotLike\": {{\"aws:PrincipalArn\": [...]}} in its Condition, or take \
                     {} out of its Action",
                    first.arn,
                    actions.join(", ")
                ),
            )),
            Loss::NotGranted { actions } => findings.push(Finding::of(
                &POLICY_LOCKOUT,
                at(doc.line_of("Statement"), "/Statement"),
                format!(
                    "no statement allows the deployer {} {}: neither an Allow naming it nor one to \
                     its account {} (which delegates to IAM) whose conditions it meets, so kmsctl \
                     could not {}",
                    first.shown(),
                    actions.join(", "),
                    first.account,
                    consequence(&actions)
                ),
                format!(
                    "{LOCKOUT_WHY}: allow them (e.g. kms:*) to the account root, \"Principal\": \
                     {{\"AWS\": \"arn:{}:iam::{}:root\"}}, which delegates to IAM, or to the \
                     deployer role {} itself",
                    first.arn.split(':').nth(1).unwrap_or("aws"),
                    first.account,
                    first.arn
                ),
            )),
        }
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
                    \"Effect\": \"Allow\", \"Principal\": {\"AWS\": \"arn:aws:iam::1:root\"}, \
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
        // The public grant's condition holds for App, so only the reads are missing.
        assert!(
            f.message.starts_with(
                "no statement allows the deployer arn:aws:iam::111122223333:role/App \
                 (no environment: a principal the policy names stands in for the deployer; validate the environment to check its own) \
                 kms:DescribeKey, kms:GetKeyPolicy:"
            ),
            "{}",
            f.message
        );
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
            ("Action", r#"["kms:Describe*", "kms:Put*", "kms:Get*"]"#),
            (
                "Action",
                r#"["KMS:putkeypolicy", "kms:describekey", "kms:GetKeyPolic?"]"#,
            ),
            ("NotAction", r#""kms:ScheduleKeyDeletion""#),
        ] {
            assert_eq!(check(&admin_role_with(member, value)), vec![], "{value}");
        }
        for (member, value) in [
            ("Action", r#""kms:Get*""#),
            ("Action", r#""kms:PutKeyPolicy""#),
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
        for statement in [deny, not_principal] {
            let findings = check(&policy(vec![statement.clone()]));
            assert_eq!(rules(&findings), vec!["policy-lockout"], "{statement}");
        }
        let findings = check(&policy(vec![public_aws]));
        assert_eq!(
            rules(&findings),
            vec!["policy-lockout", "policy-public-principal"]
        );
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
        assert!(
            findings[0].message.starts_with(
                "statement \"NoChanges\" denies the deployer \
                 arn:aws:iam::111122223333:role/kmsctl-deployer"
            ),
            "{}",
            findings[0].message
        );
        assert!(
            findings[0]
                .message
                .contains("kms:PutKeyPolicy: kmsctl could not change")
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

    /// A public Allow of kms:Decrypt under this condition block.
    fn public_with(condition: Value) -> Vec<Finding> {
        check(&with_admin(json!({
            "Sid": "Shared",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "kms:Decrypt",
            "Resource": "*",
            "Condition": condition
        })))
    }

    fn is_public(condition: Value) -> bool {
        let findings = public_with(condition.clone());
        let public = rules(&findings) == vec!["policy-public-principal"];
        assert!(public || findings.is_empty(), "{condition}: {findings:?}");
        public
    }

    #[test]
    fn a_condition_every_caller_meets_is_public() {
        let findings = public_with(json!({"Bool": {"aws:SecureTransport": "true"}}));
        assert_eq!(rules(&findings), vec!["policy-public-principal"]);
        assert_eq!(pointers(&findings), vec!["/Statement/1/Principal"]);
        assert!(
            findings[0].message.contains(
                "its Condition holds for callers in any account (Bool aws:SecureTransport)"
            ),
            "{}",
            findings[0].message
        );
        assert!(findings[0].fix.contains("aws:PrincipalOrgID"));
        for condition in [
            json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
            json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
            json!({"StringLike": {"aws:PrincipalArn": "*"}}),
            json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}),
            json!({"Null": {"aws:PrincipalOrgID": "false"}}),
        ] {
            assert!(is_public(condition.clone()), "{condition}");
        }
    }

    #[test]
    fn the_organization_or_named_accounts_limit_a_public_grant() {
        for condition in [
            json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            json!({"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/*"}}),
            json!({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}),
            json!({"StringEquals": {"kms:CallerAccount": ["111122223333", "444455556666"]}}),
            json!({"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/App"}}),
            json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}),
            json!({"ArnLike": {"aws:SourceArn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}),
            json!({"StringEquals": {"aws:SourceAccount": "111122223333"}}),
            json!({"StringEquals": {"aws:PrincipalAccount": "${aws:ResourceAccount}"}}),
            // One limiting condition is enough, whatever else the block says.
            json!({
                "Bool": {"aws:SecureTransport": "true"},
                "StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}
            }),
        ] {
            assert!(!is_public(condition.clone()), "{condition}");
        }
    }

    #[test]
    fn negated_if_exists_and_vacuous_set_conditions_stay_public() {
        for condition in [
            // Every caller outside the organization is not in it.
            json!({"StringNotEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}),
            // A request without the key (a service, an anonymous caller) meets IfExists.
            json!({"StringEqualsIfExists": {"aws:PrincipalAccount": "111122223333"}}),
            // ForAllValues holds vacuously for a caller in no organization.
            json!({"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/r-ab12/"}}),
            json!({"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": "o-a1b2c3d4e5/*"}}),
            json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/App"}}),
        ] {
            let findings = public_with(condition.clone());
            assert_eq!(
                rules(&findings),
                vec!["policy-public-principal"],
                "{condition}"
            );
            assert!(
                findings[0]
                    .message
                    .contains("a caller outside the organization and its accounts still meets"),
                "{}",
                findings[0].message
            );
        }
    }

    fn prod_deployer() -> Deployer {
        Deployer {
            arn: "arn:aws:iam::111122223333:role/kmsctl-deployer".into(),
            source: "env/prod's assume_role_arn".into(),
            ..Deployer::default_in("aws", "111122223333", "us-east-1", String::new())
        }
    }

    fn check_for(text: &str, deployer: &Deployer) -> Vec<Finding> {
        let doc = parse(text).unwrap();
        check_key_policy_for(&doc, text.len(), Path::new(FILE), Some(deployer))
    }

    #[test]
    fn a_deny_the_deployer_meets_locks_it_out_and_is_named() {
        let deny = json!({
            "Sid": "OnlyAdminsChangeThePolicy",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"],
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "admins"}}
        });
        let text = with_admin(deny);
        for findings in [check(&text), check_for(&text, &prod_deployer())] {
            assert_eq!(rules(&findings), vec!["policy-lockout"]);
            assert_eq!(pointers(&findings), vec!["/Statement/1"]);
            assert_eq!(
                findings[0].location.line,
                line_of_pointer(&text, "/Statement/1")
            );
            assert!(
                findings[0].message.starts_with(
                    "statement \"OnlyAdminsChangeThePolicy\" denies the deployer \
                     arn:aws:iam::111122223333:role/kmsctl-deployer"
                ),
                "{}",
                findings[0].message
            );
            assert!(findings[0].message.contains(" kms:PutKeyPolicy: "));
            assert!(findings[0].fix.contains("\"ArnNotLike\""));
        }
        let findings = check_for(&text, &prod_deployer());
        assert!(
            findings[0].message.contains("(env/prod's assume_role_arn)"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn a_deny_that_exempts_the_deployer_is_fine() {
        let deny = |exempt: &str| {
            with_admin(json!({
                "Sid": "OnlyAdmins",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:*",
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalArn": [
                    "arn:aws:iam::111122223333:role/Admin", exempt
                ]}}
            }))
        };
        let deployer = prod_deployer();
        assert_eq!(
            check_for(&deny("arn:aws:iam::*:role/kmsctl-*"), &deployer),
            vec![]
        );
        let findings = check_for(&deny("arn:aws:iam::111122223333:role/Other"), &deployer);
        assert_eq!(rules(&findings), vec!["policy-lockout"]);
        assert!(
            findings[0]
                .message
                .contains("kms:PutKeyPolicy, kms:DescribeKey, kms:GetKeyPolicy"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn the_default_key_policy_keeps_the_deployer_through_iam() {
        assert_eq!(check_for(DEFAULT_KEY_POLICY, &prod_deployer()), vec![]);
        // In another account the root delegation does not reach the deployer.
        let elsewhere = Deployer::default_in("aws", "444455556666", "us-east-1", "test".into());
        let findings = check_for(DEFAULT_KEY_POLICY, &elsewhere);
        assert_eq!(rules(&findings), vec!["policy-lockout"]);
        assert!(
            findings[0]
                .message
                .starts_with("no statement allows the deployer")
        );
        assert!(findings[0].fix.contains("arn:aws:iam::444455556666:root"));
    }

    #[test]
    fn a_grant_naming_the_deployer_role_counts_and_one_naming_another_role_does_not() {
        let grant = |role: &str| {
            policy(vec![json!({
                "Sid": "Admins",
                "Effect": "Allow",
                "Principal": {"AWS": format!("arn:aws:iam::111122223333:role/{role}")},
                "Action": "kms:*",
                "Resource": "*"
            })])
        };
        assert_eq!(
            check_for(&grant("kmsctl-deployer"), &prod_deployer()),
            vec![]
        );
        let findings = check_for(&grant("Admin"), &prod_deployer());
        assert_eq!(rules(&findings), vec!["policy-lockout"]);
        // Without an environment, the named role stands in for the deployer.
        assert_eq!(check(&grant("Admin")), vec![]);
    }
}
