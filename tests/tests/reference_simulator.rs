//! kmsctl's policy evaluation against a reference: the policy simulator
//! `@cloud-copilot/iam-simulate` (npm, installed by `cargo xtask` with the other validators).
//! Every question is asked of `kmsctl simulate` on the shipped project (the shipped SCPs, RCP and
//! key policies, rendered with the organization's [tree]); the inputs kmsctl reports
//! (`--show-inputs`: the request with every context key, the policies by level) go to the
//! reference unchanged, and both answers must agree, except where the reference is known to be
//! wrong (listed below with the AWS documentation that decides).

use kmsctl_tests::{TestProject, validators};
use serde_json::{Value, json};

const NO_AWS: &str = "http://127.0.0.1:9";

/// Where the reference contradicts AWS's documentation: (question id, what AWS decides, why).
const REFERENCE_KNOWN_WRONG: &[(&str, &str, &str)] = &[(
    "root-user/prod-key/kms:Decrypt/no-identity",
    "allowed",
    "the account's root user needs no IAM policy where the key policy names its account: \
     \"Allows access to the AWS account and enables IAM policies ... gives the AWS account root \
     user full access to the key\" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam); \
     iam-simulate reads arn:aws:iam::ACCOUNT:root in a key policy only as delegation to IAM",
)];

struct Question {
    id: String,
    args: Vec<String>,
}

fn question(id: String, principal: &str, action: &str, extra: &[&str]) -> Question {
    let mut args: Vec<String> = [
        "simulate",
        "--format",
        "json",
        "--show-inputs",
        "--principal",
        principal,
        "--action",
        action,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Question { id, args }
}

fn questions() -> Vec<Question> {
    let principals: &[(&str, &str, &[&str])] = &[
        (
            "dev-app",
            "arn:aws:iam::111111111111:role/dev-app-role",
            &[],
        ),
        (
            "prod-db",
            "arn:aws:iam::222222222222:role/prod-db-admin-role",
            &[],
        ),
        (
            "prod-admin",
            "arn:aws:iam::222222222222:role/prod-kms-admin-role",
            &[],
        ),
        (
            "prod-deployer",
            "arn:aws:iam::222222222222:role/kmsctl-deployer",
            &[],
        ),
        ("management", "arn:aws:iam::123456789012:role/ops", &[]),
        (
            "outsider",
            "arn:aws:iam::999999999999:role/partner",
            &["--ou", "outside"],
        ),
        (
            "rds",
            "rds.amazonaws.com",
            &[
                "--context",
                "kms:ViaService=rds.us-east-1.amazonaws.com",
                "--context",
                "aws:SourceAccount=222222222222",
            ],
        ),
    ];
    let keys = [
        ("dev-key", "alias/dev-db-payments-encryption"),
        ("prod-key", "alias/prod-db-payments-encryption"),
    ];
    let actions: &[(&str, &str, &[&str])] = &[
        ("decrypt", "kms:Decrypt", &[]),
        ("put-policy", "kms:PutKeyPolicy", &[]),
        (
            "delete-7",
            "kms:ScheduleKeyDeletion",
            &["--context", "kms:ScheduleKeyDeletionPendingWindowInDays=7"],
        ),
        (
            "delete-30",
            "kms:ScheduleKeyDeletion",
            &["--context", "kms:ScheduleKeyDeletionPendingWindowInDays=30"],
        ),
        ("rotation-off", "kms:DisableKeyRotation", &[]),
    ];
    let mut all = Vec::new();
    for (who, arn, who_args) in principals {
        for (key_name, alias) in keys {
            for (what, action, action_args) in actions {
                for mfa in [false, true] {
                    if *who == "rds" && (mfa || *what != "decrypt") {
                        continue;
                    }
                    let mut extra: Vec<&str> = vec!["--key", alias];
                    extra.extend_from_slice(who_args);
                    extra.extend_from_slice(action_args);
                    if mfa {
                        extra.push("--mfa");
                    }
                    let id = format!(
                        "{who}/{key_name}/{what}/{}",
                        if mfa { "mfa" } else { "no-mfa" }
                    );
                    all.push(question(id, arn, action, &extra));
                }
            }
            if *who != "rds" {
                let mut extra: Vec<&str> = vec!["--key", alias, "--no-identity-policy"];
                extra.extend_from_slice(who_args);
                all.push(question(
                    format!("{who}/{key_name}/kms:Decrypt/no-identity"),
                    arn,
                    "kms:Decrypt",
                    &extra,
                ));
            }
        }
    }
    let every_tag = [
        "aws:RequestTag/BU=Finance",
        "aws:RequestTag/BusinessOwner=Finance Team",
        "aws:RequestTag/TechnicalOwner=Database Team",
        "aws:RequestTag/Project=Payment System",
        "aws:RequestTag/Owner=Payments Team",
        "aws:RequestTag/Environment=prod",
        "aws:TagKeys=BU,BusinessOwner,TechnicalOwner,Project,Owner,Environment",
    ];
    for (who, arn, _) in &principals[..4] {
        for (tags, context) in [("all-tags", &every_tag[..]), ("bu-only", &every_tag[..1])] {
            for mfa in [false, true] {
                let mut extra: Vec<&str> = vec!["--environment", "prod"];
                for c in context {
                    extra.extend(["--context", c]);
                }
                if mfa {
                    extra.push("--mfa");
                }
                let id = format!(
                    "{who}/create-key/{tags}/{}",
                    if mfa { "mfa" } else { "no-mfa" }
                );
                all.push(question(id, arn, "kms:CreateKey", &extra));
            }
        }
    }
    for (key_name, alias) in keys {
        all.push(question(
            format!("root-user/{key_name}/kms:Decrypt/no-identity"),
            "arn:aws:iam::222222222222:root",
            "kms:Decrypt",
            &["--key", alias, "--no-identity-policy"],
        ));
    }
    all
}

/// The reference driver's case: the inputs kmsctl reports, SCP and RCP levels as lists.
fn reference_case(id: &str, inputs: &Value) -> Value {
    let levels = |name: &str| -> Value {
        inputs[name]
            .as_array()
            .map(|levels| levels.iter().map(|l| l["policies"].clone()).collect())
            .unwrap_or_default()
    };
    json!({
        "id": id,
        "principal": inputs["principal"],
        "action": inputs["action"],
        "resource": inputs["resource"],
        "resource_account": inputs["resource_account"],
        "context": inputs["context"],
        "scps": levels("scps"),
        "rcps": levels("rcps"),
        "key_policy": inputs["key_policy"],
        "identity": inputs["identity"],
    })
}

#[test]
fn kmsctl_agrees_with_the_reference_simulator_over_scps_rcps_and_key_policies() {
    let validators = validators();
    let project = TestProject::shipped();
    let questions = questions();
    let mut cases = Vec::new();
    let mut ours = Vec::new();
    for q in &questions {
        let args: Vec<&str> = q.args.iter().map(String::as_str).collect();
        let run = project.kmsctl_at(NO_AWS, &args).expect_code(0);
        let answer: Value = serde_json::from_str(&run.stdout).expect("simulate --format json");
        cases.push(reference_case(&q.id, &answer["inputs"]));
        ours.push(answer);
    }
    let file = project.file("reference-cases.json");
    std::fs::write(&file, serde_json::to_string(&cases).expect("json")).expect("write cases");
    let output = validators.iam_simulate(&file).output().expect("node runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let theirs: Vec<Value> =
        serde_json::from_slice(&output.stdout).expect("the driver prints JSON");
    assert_eq!(theirs.len(), questions.len());

    let mut agreed = 0;
    let mut disagreements = Vec::new();
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for ((q, our), their) in questions.iter().zip(&ours).zip(&theirs) {
        assert_eq!(their["id"], q.id.as_str());
        let our_outcome = our["decision"].as_str().expect("decision");
        *outcomes.entry(our_outcome.to_owned()).or_default() += 1;
        let Some(their_outcome) = their["outcome"].as_str() else {
            disagreements.push(format!(
                "{}: the reference failed: {}",
                q.id, their["error"]
            ));
            continue;
        };
        if let Some((_, aws, _)) = REFERENCE_KNOWN_WRONG.iter().find(|(id, _, _)| *id == q.id) {
            assert_eq!(
                our_outcome, *aws,
                "{}: kmsctl must give AWS's documented answer",
                q.id
            );
            assert_ne!(
                their_outcome, *aws,
                "{}: the reference now gives AWS's answer: remove it from REFERENCE_KNOWN_WRONG",
                q.id
            );
            continue;
        }
        if our_outcome == their_outcome {
            agreed += 1;
        } else {
            disagreements.push(format!(
                "{}: kmsctl {our_outcome} ({}), reference {their_outcome} ({})",
                q.id, our["why"], their["detail"]
            ));
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s):\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
    eprintln!("{agreed} answers agree with the reference; kmsctl's outcomes: {outcomes:?}");
    assert!(agreed >= 40, "only {agreed} requests compared");
    // The questions reach every kind of answer, so agreeing is not agreeing on one.
    for outcome in ["allowed", "implicitly denied", "explicitly denied"] {
        assert!(
            outcomes.get(outcome).copied().unwrap_or(0) >= 5,
            "{outcomes:?}"
        );
    }
}
