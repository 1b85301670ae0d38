use std::path::Path;

use super::*;
use crate::limits::MAX_KEY_POLICY_BYTES;
use crate::policy::parse;
use crate::policy::test_fixtures::DEFAULT_KEY_POLICY;

fn lint_text(text: &str, kind: PolicyKind) -> Vec<Finding> {
    lint(
        &parse(text).expect("policy parses"),
        text,
        kind,
        Path::new("policy.json"),
    )
}

fn rules(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.rule.as_str()).collect()
}

#[test]
fn aws_default_key_policy_is_clean_and_sids_with_spaces_are_legal_in_key_policies() {
    assert_eq!(lint_text(DEFAULT_KEY_POLICY, PolicyKind::Key), []);
}

#[test]
fn the_seeds_key_policy_as_written_is_a_lockout_with_a_misspelt_key() {
    let text = include_str!("../../../../../tests/fixtures/seed/prod-rds-key-policy.json");
    let findings = lint_text(text, PolicyKind::Key);
    let misspelt = findings
        .iter()
        .find(|f| f.rule == "unknown-condition-key")
        .expect("misspelt key");
    assert!(
        misspelt.message.contains("aws:PrincipalOrgPath"),
        "{}",
        misspelt.message
    );
    assert!(
        misspelt.message.contains("the Deny hits everyone"),
        "{}",
        misspelt.message
    );
    assert_eq!(misspelt.fix, "did you mean aws:PrincipalOrgPaths?");
    assert!(
        rules(&findings).contains(&"policy-lockout"),
        "{findings:#?}"
    );
    assert!(
        rules(&findings).contains(&"orgpaths-value"),
        "{findings:#?}"
    );
}

#[test]
fn the_seeds_boundary_scp_uses_names_not_org_paths() {
    let text = include_str!("../../../../../tests/fixtures/seed/environment-boundary-scp.json");
    let findings = lint_text(text, PolicyKind::Scp);
    let org_path = findings
        .iter()
        .find(|f| f.rule == "orgpaths-value")
        .expect("org path");
    assert!(org_path.message.contains("/root/dev/*"));
    assert_eq!(
        org_path.location.pointer.as_deref(),
        Some("/Statement/0/Condition/ForAnyValue:StringNotLike")
    );
}

#[test]
fn unknown_actions_services_and_operators_with_suggestions() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
      "Action":["kms:Decrpyt","kmss:Encrypt","kms:*"],"Resource":"*",
      "Condition":{"StringEqualz":{"kms:ViaService":"s3.us-east-1.amazonaws.com"},"NumericLessThan":{"kms:ViaService":"3"}}}]}"#;
    let findings = lint_text(text, PolicyKind::Key);
    let fix = |rule: &str| {
        findings
            .iter()
            .find(|f| f.rule == rule)
            .map(|f| f.fix.clone())
            .unwrap_or_default()
    };
    assert_eq!(fix("unknown-action"), "did you mean kms:Decrypt?");
    assert_eq!(fix("unknown-service"), "did you mean kms:Encrypt?");
    assert!(rules(&findings).contains(&"invalid-operator"));
    assert!(rules(&findings).contains(&"operator-type"));
}

#[test]
fn an_unknown_service_is_one_finding_per_statement_naming_its_actions() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Macie","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
      "Action":["macie:ListFindings","macie:GetFindings","macie:DescribeBuckets","kms:Decrypt"],"Resource":"*"}]}"#;
    let findings = lint_text(text, PolicyKind::Key);
    let unknown: Vec<&Finding> = findings
        .iter()
        .filter(|f| f.rule == "unknown-service")
        .collect();
    assert_eq!(unknown.len(), 1, "{unknown:?}");
    assert!(
        unknown[0]
            .message
            .contains("macie:DescribeBuckets, macie:GetFindings, macie:ListFindings"),
        "{}",
        unknown[0].message
    );
}

#[test]
fn set_operators_negated_denies_and_principal_forms() {
    let text = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Set","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
       "Condition":{"ForAnyValue:StringEquals":{"aws:PrincipalAccount":"111122223333"},"StringLike":{"aws:PrincipalOrgPaths":"o-abcdefghij/r-ab12/*"}}},
      {"Sid":"Negated","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringNotEquals":{"aws:SourceVpce":"vpce-1"}}},
      {"Sid":"Bad","Effect":"Allow","Principal":{"AWS":"arn:aws:iam:111122223333:role/x","Service":"rds"},"Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/x"},
      {"Sid":"NotP","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Decrypt","Resource":"*"}
    ]}"#;
    let found = lint_text(text, PolicyKind::Key);
    let found = rules(&found);
    for rule in [
        "set-operator-single-valued",
        "plain-operator-multi-valued",
        "negated-operator-absent-key",
        "principal-form",
        "key-policy-resource",
        "notprincipal-allow",
    ] {
        assert!(found.contains(&rule), "{rule}: {found:?}");
    }
}

#[test]
fn organization_policy_rules() {
    let scp = r#"{"Version":"2012-10-17","Statement":[{"Sid":"deny all","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*"}]}"#;
    let found = lint_text(scp, PolicyKind::Scp);
    assert_eq!(rules(&found), ["scp-principal", "policy-sid"]);
    let rcp = r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":["kms:Decrypt","ec2:RunInstances"],"Resource":"*"}]}"#;
    let found = lint_text(rcp, PolicyKind::Rcp);
    assert_eq!(rules(&found), ["rcp-allow", "rcp-principal", "rcp-service"]);
    let good = r#"{"Version":"2012-10-17","Statement":[{"Sid":"OrgOnly","Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*",
      "Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-abcdefghij"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}]}"#;
    assert_eq!(lint_text(good, PolicyKind::Rcp), []);
}

/// A policy of `len` bytes that is not even JSON: only a check on its length can answer.
fn oversized(len: usize) -> String {
    let mut text = String::from("{\"Version\": \"2012-10-17\", \"Statement\": [");
    while text.len() < len {
        text.push_str("{\"Sid\": \"é\", ");
    }
    text
}

#[test]
fn oversized_policies_are_refused_by_their_bytes_before_parsing() {
    let file = Path::new("policies/kms/big.json");
    // Just over the key policy limit: the size, not the broken JSON, is reported.
    let text = oversized(MAX_KEY_POLICY_BYTES + 1);
    let findings = super::lint_text(&text, PolicyKind::Key, file);
    assert_eq!(rules(&findings), ["policy-size"]);
    assert!(
        findings[0]
            .message
            .contains(&format!("{} bytes", text.len())),
        "{}",
        findings[0].message
    );
    assert!(findings[0].message.contains("32768"));
    assert_eq!(findings[0].location.file, file);

    // 18 MB: refused at once, for every kind.
    let text = oversized(18 * 1024 * 1024);
    let started = std::time::Instant::now();
    for kind in [PolicyKind::Key, PolicyKind::Scp, PolicyKind::Rcp] {
        let findings = super::lint_text(&text, kind, file);
        assert_eq!(rules(&findings), ["policy-size"], "{kind:?}");
        assert!(findings[0].message.contains(&text.len().to_string()));
    }
    assert!(
        parse(&text)
            .expect_err("too large")
            .message
            .contains("kmsctl parses at most 65536 bytes")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // An SCP's limit is on its minified form: whitespace alone does not refuse it.
    let padded = format!(
        "{{\"Version\": \"2012-10-17\",{}\"Statement\": [{{\"Effect\": \"Deny\", \"Action\": \"kms:Decrypt\", \"Resource\": \"*\"}}]}}",
        " ".repeat(20_000)
    );
    let findings = super::lint_text(&padded, PolicyKind::Scp, file);
    assert!(!rules(&findings).contains(&"policy-size"), "{findings:?}");
    assert!(!rules(&findings).contains(&"policy-json"), "{findings:?}");
}

fn errors(findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .filter(|f| f.is_error())
        .map(|f| format!("{}: {}", f.rule, f.message))
        .collect()
}

#[test]
fn condition_keys_resolve_as_iam_resolves_them() {
    let text = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"CloudTrail","Effect":"Allow","Principal":{"Service":"cloudtrail.amazonaws.com"},"Action":"kms:GenerateDataKey*","Resource":"*",
       "Condition":{"StringLike":{"kms:EncryptionContext:aws:cloudtrail:arn":"arn:aws:cloudtrail:*:111122223333:trail/*"},
                    "StringEquals":{"AWS:SourceArn":"arn:aws:cloudtrail:us-east-1:111122223333:trail/main"}}},
      {"Sid":"Federated","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:Decrypt","Resource":"*",
       "Condition":{"StringEquals":{"SAML:aud":"https://signin.aws.amazon.com/saml","sts:ExternalId":"x",
                    "token.actions.githubusercontent.com:sub":"repo:acme/app:ref:refs/heads/main",
                    "cognito-identity.amazonaws.com:aud":"us-east-1:abc","accounts.google.com:aud":"x",
                    "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub":"system:serviceaccount:a:b",
                    "aws:ResourceTag/Team":"a","kms:EncryptionContext:Department":"x"},
                    "Bool":{"aws:AssumedRoot":"false"},
                    "ArnLike":{"aws:ChatbotSourceArn":"arn:aws:chatbot::111122223333:*"}}}
    ]}"#;
    assert_eq!(
        errors(&lint_text(text, PolicyKind::Key)),
        Vec::<String>::new()
    );

    let typo = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:*","Resource":"*",
      "Condition":{"Stringlike":{"kms:ViaServic":"s3.*.amazonaws.com"}}}]}"#;
    let found = lint_text(typo, PolicyKind::Scp);
    let operator = found
        .iter()
        .find(|f| f.rule == "invalid-operator")
        .expect("operator");
    assert!(
        operator.fix.contains("did you mean StringLike?"),
        "{}",
        operator.fix
    );
}

#[test]
fn every_type_gets_the_structural_rules_and_its_own_grammar() {
    let broken = r#"{"Version":"2012-10-17","Statment":[],"Statement":[
      {"Sid":"A","Effect":"allow","Action":"kms:Decrypt","NotAction":"kms:Encrypt"},
      {"Sid":"A","Effect":"Deny","Resource":"*"}]}"#;
    for kind in [PolicyKind::Scp, PolicyKind::Rcp, PolicyKind::Identity] {
        let found = lint_text(broken, kind);
        let found = rules(&found);
        for rule in [
            "policy-unknown-field",
            "policy-sid-unique",
            "policy-statement",
        ] {
            assert!(found.contains(&rule), "{kind:?} {rule}: {found:?}");
        }
    }
    let unknown = lint_text(broken, PolicyKind::Identity);
    let unknown = unknown
        .iter()
        .find(|f| f.rule == "policy-unknown-field")
        .expect("unknown");
    assert!(
        unknown.fix.starts_with("did you mean Statement?"),
        "{}",
        unknown.fix
    );

    let rcp_not_action = r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Principal":"*","NotAction":"s3:GetObject","Resource":"*"}]}"#;
    assert!(rules(&lint_text(rcp_not_action, PolicyKind::Rcp)).contains(&"policy-element"));
    let identity_principal = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]}"#;
    assert!(
        rules(&lint_text(identity_principal, PolicyKind::Identity)).contains(&"policy-element")
    );
    let identity = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/*"}]}"#;
    assert_eq!(lint_text(identity, PolicyKind::Identity), []);
    assert!(rules(&lint_text(identity, PolicyKind::Key)).contains(&"policy-statement"));
}

#[test]
fn values_in_the_wrong_format_never_match() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{
      "StringNotEqualsIfExists":{"kms:CallerAccount":"prod","aws:PrincipalOrgID":"my-org"},
      "StringEquals":{"kms:ViaService":"s3"},
      "NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"thirty"},
      "DateGreaterThan":{"aws:CurrentTime":"tomorrow"},
      "NotIpAddress":{"aws:SourceIp":"10.0.0.0/33"},
      "ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"/root/dev/*"}}}]}"#;
    let found = lint_text(text, PolicyKind::Scp);
    let values: Vec<&str> = found
        .iter()
        .filter(|f| f.rule == "condition-value")
        .map(|f| f.message.as_str())
        .collect();
    for expected in [
        "\"prod\"",
        "\"my-org\"",
        "\"s3\"",
        "\"thirty\"",
        "\"tomorrow\"",
        "\"10.0.0.0/33\"",
    ] {
        assert!(
            values.iter().any(|m| m.contains(expected)),
            "{expected}: {values:#?}"
        );
    }
    assert!(rules(&found).contains(&"orgpaths-value"));
}

#[test]
fn an_expert_reviewers_warnings() {
    let text = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Users","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},
       "Action":["kms:Decrypt","kms:CreateGrant","s3:GetObject"],"Resource":"*",
       "Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":["Team"]}}},
      {"Sid":"Mfa","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*",
       "Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}},
      {"Sid":"Attach","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:role/App"},"Action":"kms:CreateGrant","Resource":"*",
       "Condition":{"Bool":{"kms:GrantIsForAWSResource":"true"}}}
    ]}"#;
    let found = lint_text(text, PolicyKind::Key);
    assert_eq!(errors(&found), Vec::<String>::new());
    let warned = |rule: &str| found.iter().filter(|f| f.rule == rule).count();
    assert_eq!(warned("key-policy-foreign-action"), 1, "{found:#?}");
    assert_eq!(warned("create-grant-unscoped"), 1, "{found:#?}");
    assert_eq!(warned("vacuous-condition"), 2, "{found:#?}");
}

#[test]
fn partial_wildcard_principals_are_refused() {
    let text = r#"{"Version":"2012-10-17","Statement":[
      {"Sid":"Admin","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},
      {"Sid":"Any","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::*:root"},"Action":"kms:Decrypt","Resource":"*"}]}"#;
    let found = lint_text(text, PolicyKind::Key);
    let form = found
        .iter()
        .find(|f| f.rule == "principal-form")
        .expect("principal-form");
    assert!(form.message.contains("wildcard"), "{}", form.message);
}

#[test]
fn what_a_reviewer_found_stays_fixed() {
    let scp = |condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S","Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{condition}}}]}}"#
        )
    };
    // A misspelt key is never taken for a placeholder.
    let found = lint_text(
        &scp(r#"{"StringNotEquals":{"aws:Resource_OrgID":"o-a1b2c3d4e5"}}"#),
        PolicyKind::Scp,
    );
    let unknown = found
        .iter()
        .find(|f| f.rule == "unknown-condition-key")
        .expect("unknown key");
    assert!(
        unknown.message.contains("the Deny hits everyone"),
        "{}",
        unknown.message
    );
    // ForAnyValue over an absent key is false: the Deny never applies.
    let found = lint_text(
        &scp(r#"{"ForAnyValue:StringNotEquals":{"aws:Nope":"x"}}"#),
        PolicyKind::Scp,
    );
    assert!(
        found.iter().any(|f| f.message.contains("never true")),
        "{found:#?}"
    );
    // An OU name in an org path is an error, however descriptive it looks.
    assert!(
        rules(&lint_text(
            &scp(r#"{"ForAnyValue:StringLike":{"aws:PrincipalOrgPaths":"/root/eu-region/*"}}"#),
            PolicyKind::Scp
        ))
        .contains(&"orgpaths-value")
    );
    // Null on an org path key takes true or false.
    assert_eq!(
        errors(&lint_text(
            &scp(r#"{"Null":{"aws:PrincipalOrgPaths":"false"}}"#),
            PolicyKind::Scp
        )),
        Vec::<String>::new()
    );
    // Case-insensitive operators compare case-insensitively.
    assert_eq!(
        errors(&lint_text(
            &scp(r#"{"StringEqualsIgnoreCase":{"aws:PrincipalType":"assumedrole"}}"#),
            PolicyKind::Scp
        )),
        Vec::<String>::new()
    );
    // No statement at all; an identity policy's Sid.
    assert!(
        rules(&lint_text(
            r#"{"Version":"2012-10-17","Statement":[]}"#,
            PolicyKind::Identity
        ))
        .contains(&"policy-statement")
    );
    assert!(rules(&lint_text(r#"{"Version":"2012-10-17","Statement":[{"Sid":"Allow S3","Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#, PolicyKind::Identity)).contains(&"policy-sid"));
    // Wildcard and group principals are refused even with descriptive words in them.
    let key = |principal: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"P","Effect":"Allow","Principal":{{"AWS":"{principal}"}},"Action":"kms:Decrypt","Resource":"*"}}]}}"#
        )
    };
    for principal in [
        "arn:aws:iam::111122223333:role/app-name-*",
        "arn:aws:iam::111122223333:group/admin-names",
    ] {
        assert!(
            rules(&lint_text(&key(principal), PolicyKind::Key)).contains(&"principal-form"),
            "{principal}"
        );
    }
    assert!(
        !rules(&lint_text(
            &key("arn:aws:iam::ACCOUNT_ID:root"),
            PolicyKind::Key
        ))
        .contains(&"principal-form")
    );
}

#[test]
fn create_grant_is_limited_only_by_positive_conditions() {
    let grant = |action: &str, condition: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"Admin","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:root"}},"Action":"kms:*","Resource":"*"}},{{"Sid":"G","Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::111122223333:role/app"}},"Action":"{action}","Resource":"*","Condition":{condition}}}]}}"#
        )
    };
    let flagged =
        |text: String| rules(&lint_text(&text, PolicyKind::Key)).contains(&"create-grant-unscoped");
    assert!(!flagged(grant(
        "kms:CreateGrant",
        r#"{"Bool":{"kms:GrantIsForAWSResource":"true"}}"#
    )));
    assert!(flagged(grant(
        "kms:CreateGrant",
        r#"{"Bool":{"kms:GrantIsForAWSResource":"false"}}"#
    )));
    assert!(flagged(grant(
        "kms:CreateGrant",
        r#"{"StringNotEquals":{"kms:GranteePrincipal":"x"}}"#
    )));
    assert!(flagged(grant("kms:CreateGr*", "{}")));
    assert!(!flagged(grant("kms:Create*", "{}")));
}
