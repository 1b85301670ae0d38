//! `kmsctl drift` and `kmsctl report` over the organization and env/dev, env/prod, against the
//! emulator: clean after apply; out-of-band changes found once each, with kind, control and
//! file:line in every format; the JSON and SARIF validated by real validators, the HTML parsed
//! by a strict HTML5 parser.

use std::process::Command;

use kmsctl_tests::{TestProject, account_config, key_of_alias, validators};
use serde_json::Value;

struct Estate {
    project: TestProject,
    dev: String,
    prod: String,
}

/// The organization (in the project's account, with OUs dev and prod), env/dev and env/prod in
/// accounts of their own, all applied; prod's account has its central Config recorder.
async fn applied_estate() -> Estate {
    let (project, _) = kmsctl_tests::organization_with_ous().await;
    let dev = project.add_environment("dev", "111111111111");
    let prod = project.add_environment("prod", "222222222222");
    kmsctl_tests::central_recorder(&prod, "central").await;
    for target in ["organization", "env/dev", "env/prod"] {
        project
            .kmsctl(&["apply", target, "--auto-approve"])
            .expect_code(0);
    }
    Estate { project, dev, prod }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_estate_has_no_drift_and_says_so() {
    let estate = applied_estate().await;
    let run = estate.project.kmsctl(&["drift"]).expect_code(0);
    assert!(run.stdout.contains("No drift."), "{}", run.stdout);
    for target in ["clean organization", "clean env/dev", "clean env/prod"] {
        assert!(run.stdout.contains(target), "{target}\n{}", run.stdout);
    }
}

fn read(project: &TestProject, file: &str) -> String {
    project.read(file)
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_band_changes_are_found_once_each_in_every_format() {
    let estate = applied_estate().await;
    let project = &estate.project;

    // 1. Rotation off on a prod key.
    let prod_kms = aws_sdk_kms::Client::new(&account_config(&estate.prod).await);
    let prod_key = key_of_alias(&prod_kms, "alias/prod-db-payments-encryption")
        .await
        .expect("prod key");
    prod_kms
        .disable_key_rotation()
        .key_id(&prod_key)
        .send()
        .await
        .expect("rotation off");
    // 2. The tag_enforcement SCP detached from root/dev.
    let organizations = aws_sdk_organizations::Client::new(&project.sdk_config().await);
    let dev_ou = kmsctl_tests::org_ids(&organizations).await.ous["dev"].clone();
    let policies = organizations
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("policies");
    let tag_enforcement = policies
        .policies()
        .iter()
        .find(|p| p.name() == Some("tag_enforcement"))
        .and_then(|p| p.id())
        .expect("tag_enforcement")
        .to_owned();
    organizations
        .detach_policy()
        .policy_id(&tag_enforcement)
        .target_id(&dev_ou)
        .send()
        .await
        .expect("detach");
    // 3. A dev key's Environment tag set to prod.
    let dev_kms = aws_sdk_kms::Client::new(&account_config(&estate.dev).await);
    let dev_key = key_of_alias(&dev_kms, "alias/dev-db-payments-encryption")
        .await
        .expect("dev key");
    dev_kms
        .tag_resource()
        .key_id(&dev_key)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key("Environment")
                .tag_value("prod")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    // 4. An unmanaged key.
    let unmanaged = dev_kms
        .create_key()
        .description("made by hand")
        .send()
        .await
        .expect("key");
    let unmanaged_id = unmanaged
        .key_metadata()
        .expect("metadata")
        .key_id()
        .to_owned();

    let run = project
        .kmsctl(&[
            "drift",
            "--format",
            "human",
            "--format",
            "json",
            "--output",
            "drift.json",
            "--format",
            "sarif",
            "--output",
            "drift.sarif",
            "--format",
            "junit",
            "--output",
            "drift.xml",
            "--format",
            "markdown",
            "--output",
            "drift.md",
        ])
        .expect_code(3);
    let human = run.stdout;

    // Each once, with its kind and control, in the JSON.
    let report: Value = serde_json::from_str(&read(project, "drift.json")).expect("json");
    let findings: Vec<&Value> = report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .flat_map(|t| t["findings"].as_array().expect("findings"))
        .collect();
    let expected = [
        (
            "violation",
            "rotation-required",
            "3.3.1",
            "kms_key_rotation.db-payments-encryption",
            "environments/prod/keys.toml",
            "env/prod",
        ),
        (
            "drift",
            "drift-org-attachment",
            "3.1.1",
            "org_attachment.scp/tag_enforcement@root/dev",
            "organization/organization.toml",
            "organization",
        ),
        (
            "violation",
            "environment-tag",
            "3.1.1",
            "kms_key.db-payments-encryption",
            "environments/dev/keys.toml",
            "env/dev",
        ),
        (
            "unmanaged",
            "unmanaged-key",
            "3.1.1",
            unmanaged_id.as_str(),
            "environments/dev/environment.toml",
            "env/dev",
        ),
    ];
    assert_eq!(
        findings.len(),
        expected.len(),
        "{}",
        serde_json::to_string_pretty(&report).unwrap_or_default()
    );
    for (kind, rule, control, resource, file, target) in expected {
        let matching: Vec<&&Value> = findings
            .iter()
            .filter(|f| {
                f["kind"] == kind
                    && f["rule"] == rule
                    && f["resource"].as_str().is_some_and(|r| r.contains(resource))
            })
            .collect();
        assert_eq!(matching.len(), 1, "{kind} {rule} {resource}: {findings:#?}");
        let finding = matching[0];
        assert_eq!(finding["control"]["id"], control, "{finding:#?}");
        assert!(
            !finding["control"]["pci_dss_v4"]
                .as_array()
                .expect("pci")
                .is_empty()
        );
        assert_eq!(finding["source"]["file"], file, "{finding:#?}");
        let line = finding["source"]["line"].as_u64().expect("a line");
        let shown = format!("{file}:{line}");
        // ... and in the other four formats, with the same file:line and control.
        assert!(
            human.contains(&shown) && human.contains(&format!("control {control}")),
            "{shown}\n{human}"
        );
        let markdown = read(project, "drift.md");
        assert!(
            markdown.contains(&shown) && markdown.contains(&format!("| {control} ")),
            "{shown}\n{markdown}"
        );
        let sarif: Value = serde_json::from_str(&read(project, "drift.sarif")).expect("sarif");
        let results = sarif["runs"][0]["results"].as_array().expect("results");
        let located = results.iter().filter(|r| {
            r["ruleId"] == rule
                && r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == file
                && r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64()
                    == Some(line)
                && r["properties"]["control"]["id"] == control
        });
        assert_eq!(located.count(), 1, "{rule} at {shown} in the SARIF");
        let junit = read(project, "drift.xml");
        assert!(
            junit.contains(&format!("at {shown}")) && junit.contains(&format!("control {control}")),
            "{shown}\n{junit}"
        );
        let _ = target;
    }
    assert_eq!(report["summary"]["violations"], 2);
    assert_eq!(report["summary"]["drift"], 1);
    assert_eq!(report["summary"]["unmanaged"], 1);

    // The JSON validates against the shipped schema; the SARIF against SARIF 2.1.0.
    let tools = validators();
    let schema = kmsctl_tests::repo_root().join("schemas/drift-report.schema.json");
    let checked = Command::new(&tools.check_jsonschema)
        .arg("--schemafile")
        .arg(&schema)
        .arg(project.file("drift.json"))
        .output()
        .expect("check-jsonschema runs");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let sarif = Command::new(&tools.sarif_multitool)
        .args(["validate", "--output"])
        .arg(project.file("sarif-validation.sarif"))
        .arg(project.file("drift.sarif"))
        .output()
        .expect("SARIF multitool runs");
    let said = String::from_utf8_lossy(&sarif.stdout).into_owned();
    assert!(
        sarif.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&sarif.stderr)
    );
    assert!(!said.contains(": error"), "{said}");

    // --fail-on-unmanaged only matters when nothing worse is found; 4 is unmanaged only.
    assert!(human.contains("Violations found."), "{human}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_unmanaged_exits_4_with_the_flag_and_0_without() {
    let estate = applied_estate().await;
    let dev_kms = aws_sdk_kms::Client::new(&account_config(&estate.dev).await);
    dev_kms
        .create_key()
        .description("made by hand")
        .send()
        .await
        .expect("key");
    estate.project.kmsctl(&["drift"]).expect_code(0);
    estate
        .project
        .kmsctl(&["drift", "--fail-on-unmanaged"])
        .expect_code(4);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_html_report_is_valid_html5_per_control_with_evidence() {
    let estate = applied_estate().await;
    let dev_kms = aws_sdk_kms::Client::new(&account_config(&estate.dev).await);
    let key = key_of_alias(&dev_kms, "alias/dev-db-payments-encryption")
        .await
        .expect("dev key");
    dev_kms
        .disable_key_rotation()
        .key_id(&key)
        .send()
        .await
        .expect("rotation off");
    estate
        .project
        .kmsctl(&["report", "--format", "html", "--output", "report.html"])
        .expect_code(0);
    let html = estate.project.read("report.html");
    for shown in [
        "<h2>3.3.1 Automatic key rotation</h2>",
        "PCI DSS v4.0 3.6.1, 3.7.4",
        "does not satisfy: violation [rotation-required]",
        "rotation_enabled=false",
        "kms_key_rotation.s3-platform-logs",
        "not an audited mapping",
    ] {
        assert!(html.contains(shown), "{shown}");
    }
    // A strict HTML5 parse (html5lib raises on any parse error).
    let tools = validators();
    let parsed = Command::new(&tools.python)
        .args([
            "-c",
            "import sys, html5lib; html5lib.HTMLParser(strict=True).parse(open(sys.argv[1], 'rb')); print('valid')",
        ])
        .arg(estate.project.file("report.html"))
        .output()
        .expect("python runs");
    assert!(
        parsed.status.success(),
        "{}",
        String::from_utf8_lossy(&parsed.stderr)
    );

    let run = estate
        .project
        .kmsctl(&["report", "--format", "markdown"])
        .expect_code(0);
    assert!(
        run.stdout
            .contains("## 3.3.1 Automatic key rotation — 1 of"),
        "{}",
        run.stdout
    );
}
