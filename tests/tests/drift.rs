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
        // A guardrail detached out of band is a violation of its control, not drift.
        (
            "violation",
            "guardrail-weakened",
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
    assert_eq!(report["summary"]["violations"], 3);
    assert_eq!(report["summary"]["drift"], 0);
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

fn tag(key: &str, value: &str) -> aws_sdk_kms::types::Tag {
    aws_sdk_kms::types::Tag::builder()
        .tag_key(key)
        .tag_value(value)
        .build()
        .expect("tag")
}

/// Every finding of the report, of every target.
fn findings_of(report: &Value) -> Vec<&Value> {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .flat_map(|t| t["findings"].as_array().expect("findings"))
        .collect()
}

/// The names of a finding's evidence (for drift: the attributes that differ).
fn evidence_names(finding: &Value) -> Vec<&str> {
    finding["evidence"]
        .as_object()
        .map(|e| e.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// A violation of a tag rule is the drift of that tag only: the key's other tag changes are
/// still drift (they used to show only in `plan`).
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_violation_subsumes_the_drift_of_its_own_tag_only() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let kms = project.kms().await;
    // The db key: a required tag removed, Owner edited, CostCenter added.
    let db = key_of_alias(&kms, "alias/dev-db-payments-encryption")
        .await
        .expect("db key");
    kms.untag_resource()
        .key_id(&db)
        .tag_keys("Project")
        .send()
        .await
        .expect("untag");
    kms.tag_resource()
        .key_id(&db)
        .tags(tag("Owner", "Someone Else"))
        .tags(tag("CostCenter", "4242"))
        .send()
        .await
        .expect("tag");
    // The logs key: Environment changed, Owner edited.
    let logs = key_of_alias(&kms, "alias/dev-s3-platform-logs")
        .await
        .expect("logs key");
    kms.tag_resource()
        .key_id(&logs)
        .tags(tag("Environment", "prod"))
        .tags(tag("Owner", "Nobody"))
        .send()
        .await
        .expect("tag");

    let run = project
        .kmsctl(&["drift", "env/dev", "--format", "json"])
        .expect_code(3);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let mut findings = findings_of(&report);
    // Drift first, then violations; each kind by resource.
    findings.sort_by_key(|f| (f["kind"] != "drift", f["resource"].as_str()));
    let found: Vec<(&str, &str, &str, Vec<&str>)> = findings
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default(),
                f["rule"].as_str().unwrap_or_default(),
                f["resource"].as_str().unwrap_or_default(),
                evidence_names(f),
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "drift",
                "drift-tags",
                "kms_key.db-payments-encryption",
                vec!["tags.CostCenter", "tags.Owner"]
            ),
            (
                "drift",
                "drift-tags",
                "kms_key.s3-platform-logs",
                vec!["tags.Owner"]
            ),
            (
                "violation",
                "required-tags",
                "kms_key.db-payments-encryption",
                vec!["key_id", "missing_tags"]
            ),
            (
                "violation",
                "environment-tag",
                "kms_key.s3-platform-logs",
                vec!["Environment", "key_id"]
            ),
        ],
        "{}",
        run.stdout
    );
    assert_eq!(
        findings[2]["evidence"]["missing_tags"],
        serde_json::json!(["Project"])
    );
    let db_drift = findings[0]["message"].as_str().unwrap_or_default();
    assert!(
        db_drift.contains("tags.Owner: \"Someone Else\" → \"Platform Team\"")
            && db_drift.contains("tags.CostCenter: \"4242\" → (none)")
            && !db_drift.contains("tags.Project"),
        "{db_drift}"
    );
    assert_eq!(report["summary"]["drift"], 2);
    assert_eq!(report["summary"]["violations"], 2);
}

/// Findings about a key name it as operators know it, by alias and ARN, in every format.
#[tokio::test(flavor = "multi_thread")]
async fn key_findings_carry_the_keys_aliases_and_arn_in_every_format() {
    let project = TestProject::dev();
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let kms = project.kms().await;
    let logs = key_of_alias(&kms, "alias/dev-s3-platform-logs")
        .await
        .expect("logs key");
    let arn = kms
        .describe_key()
        .key_id(&logs)
        .send()
        .await
        .expect("describe")
        .key_metadata()
        .and_then(|m| m.arn())
        .expect("arn")
        .to_owned();
    kms.disable_key_rotation()
        .key_id(&logs)
        .send()
        .await
        .expect("rotation off");
    kms.update_key_description()
        .key_id(&logs)
        .description("edited by hand")
        .send()
        .await
        .expect("description");
    let aliases = ["alias/dev-platform-logs", "alias/dev-s3-platform-logs"];

    let run = project
        .kmsctl(&[
            "drift",
            "env/dev",
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
            "markdown",
            "--output",
            "drift.md",
        ])
        .expect_code(3);
    // Human: the address with the aliases and the ARN.
    for resource in [
        "kms_key.s3-platform-logs",
        "kms_key_rotation.s3-platform-logs",
    ] {
        let shown = format!("= key: {resource} ({}, {arn})", aliases.join(", "));
        assert!(run.stdout.contains(&shown), "{shown}\n{}", run.stdout);
    }
    // JSON: the key's id, ARN and aliases on each of its findings.
    let report: Value = serde_json::from_str(&project.read("drift.json")).expect("json");
    let about_logs: Vec<&Value> = findings_of(&report)
        .into_iter()
        .filter(|f| {
            f["resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".s3-platform-logs"))
        })
        .collect();
    let rules: Vec<&str> = about_logs
        .iter()
        .filter_map(|f| f["rule"].as_str())
        .collect();
    assert_eq!(rules, ["drift-kms-key", "rotation-required"], "{report:#}");
    for finding in &about_logs {
        assert_eq!(finding["key"]["key_id"], logs.as_str(), "{finding:#}");
        assert_eq!(finding["key"]["arn"], arn.as_str(), "{finding:#}");
        assert_eq!(
            finding["key"]["aliases"],
            serde_json::json!(aliases),
            "{finding:#}"
        );
    }
    // ... and on what the compliance report lists.
    let checked = report["targets"][0]["resources"]
        .as_array()
        .expect("resources");
    assert!(
        checked
            .iter()
            .filter(|r| r["resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".s3-platform-logs")))
            .all(|r| r["key"]["arn"] == arn.as_str()),
        "{checked:#?}"
    );
    // SARIF: in the result's properties and as its logical location.
    let sarif: Value = serde_json::from_str(&project.read("drift.sarif")).expect("sarif");
    let results: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| {
            r["properties"]["resource"]
                .as_str()
                .is_some_and(|r| r.ends_with(".s3-platform-logs"))
        })
        .collect();
    assert_eq!(results.len(), 2, "{sarif:#}");
    for result in results {
        assert_eq!(
            result["properties"]["key"]["arn"],
            arn.as_str(),
            "{result:#}"
        );
        assert_eq!(
            result["properties"]["key"]["aliases"],
            serde_json::json!(aliases)
        );
        let logical = &result["locations"][0]["logicalLocations"][0];
        assert_eq!(logical["name"], aliases[0], "{result:#}");
        assert_eq!(logical["fullyQualifiedName"], arn.as_str(), "{result:#}");
        assert_eq!(logical["kind"], "resource");
        // Still located at the declaring line.
        assert_eq!(
            result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "environments/dev/keys.toml"
        );
    }
    let markdown = project.read("drift.md");
    assert!(
        markdown.contains(&arn) && markdown.contains(aliases[0]),
        "{markdown}"
    );
    let compliance = project
        .kmsctl(&["report", "env/dev", "--format", "markdown"])
        .expect_code(0);
    assert!(
        compliance.stdout.contains(&format!(
            "<code>kms\\_key\\_rotation.s3-platform-logs</code> ({}, {arn})",
            aliases.join(", ")
        )),
        "{}",
        compliance.stdout
    );
}

/// A plan refused by what only the live state shows (an alias on a key kmsctl does not manage)
/// names that key by alias and ARN, and so does drift's violation.
#[tokio::test(flavor = "multi_thread")]
async fn a_refusal_about_a_live_key_names_it_by_alias_and_arn() {
    let project = TestProject::dev();
    let kms = project.kms().await;
    let made = kms
        .create_key()
        .description("made by hand")
        .send()
        .await
        .expect("key");
    let metadata = made.key_metadata().expect("metadata");
    let (key_id, arn) = (
        metadata.key_id().to_owned(),
        metadata.arn().expect("arn").to_owned(),
    );
    kms.create_alias()
        .alias_name("alias/dev-db-payments-encryption")
        .target_key_id(&key_id)
        .send()
        .await
        .expect("alias");

    let run = project
        .kmsctl(&["plan", "env/dev", "--no-color"])
        .expect_code(3);
    let shown = format!("= key: {key_id} (alias/dev-db-payments-encryption, {arn})");
    assert!(
        run.stderr.contains("error[alias-unmanaged-key]") && run.stderr.contains(&shown),
        "{shown}\n{}",
        run.stderr
    );

    let run = project
        .kmsctl(&["drift", "env/dev", "--format", "json"])
        .expect_code(3);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let findings = findings_of(&report);
    let refusal = findings
        .iter()
        .find(|f| f["rule"] == "alias-unmanaged-key")
        .expect("the refusal is a violation");
    assert_eq!(refusal["key"]["arn"], arn.as_str(), "{refusal:#}");
    assert_eq!(
        refusal["key"]["aliases"],
        serde_json::json!(["alias/dev-db-payments-encryption"])
    );
}

/// An environment whose files do not load is that environment's error: the organization and the
/// other environments are still checked, and the exit code is the worst of them all.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_environment_is_its_own_error_and_the_others_are_still_checked() {
    let estate = applied_estate().await;
    let project = &estate.project;
    // A boundary test about a dev key, which the organization's check answers from the files.
    let organizations = aws_sdk_organizations::Client::new(&project.sdk_config().await);
    let ids = kmsctl_tests::org_ids(&organizations).await;
    let text = project.read("organization/organization.toml");
    project.write(
        "organization/organization.toml",
        &format!(
            "{text}\n[tree]\norg_id = \"{}\"\nroot_id = \"{}\"\n[tree.ous]\n\"root/dev\" = \"{}\"\n\"root/prod\" = \"{}\"\n[tree.accounts]\n\"{}\" = \"root/dev\"\n\"{}\" = \"root/prod\"\n",
            ids.org_id, ids.root, ids.ous["dev"], ids.ous["prod"], estate.dev, estate.prod
        ),
    );
    project.write(
        "organization/expect.toml",
        &format!(
            "[[expect]]\nname = \"the dev key's account may use it\"\nprincipal = {{ arn = \"arn:aws:iam::{}:root\" }}\naction = \"kms:DescribeKey\"\nkey = \"alias/dev-db-payments-encryption\"\ndecision = \"allow\"\n",
            estate.dev
        ),
    );
    // The environments' org paths, as that tree has them (the key policies use them).
    for (env, ou) in [("dev", &ids.ous["dev"]), ("prod", &ids.ous["prod"])] {
        let file = format!("environments/{env}/environment.toml");
        let text = project.read(&file);
        let start = text.find("_org_path = \"").expect("org path") + "_org_path = \"".len();
        let end = start + text[start..].find('"').expect("end of org path");
        project.write(
            &file,
            &format!(
                "{}{}/{}/{ou}/{}",
                &text[..start],
                ids.org_id,
                ids.root,
                &text[end..]
            ),
        );
        project
            .kmsctl(&["apply", &format!("env/{env}"), "--auto-approve"])
            .expect_code(0);
    }
    project.kmsctl(&["drift"]).expect_code(0);

    std::fs::remove_dir_all(project.file("environments/dev")).expect("remove dev");
    std::fs::create_dir_all(project.file("environments/dev")).expect("empty dev");
    let run = project.kmsctl(&["drift", "--no-color"]).expect_code(1);
    for shown in [
        "error env/dev: environments/dev holds no .toml file",
        "clean organization",
        "clean env/prod",
    ] {
        assert!(run.stdout.contains(shown), "{shown}\n{}", run.stdout);
    }
    // Named one by one, the same.
    let run = project
        .kmsctl(&[
            "drift",
            "organization",
            "env/dev",
            "env/prod",
            "--format",
            "json",
        ])
        .expect_code(1);
    let report: Value = serde_json::from_str(&run.stdout).expect("json");
    let statuses: Vec<(&str, &str)> = report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap_or_default(),
                t["status"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("organization", "checked"),
            ("env/dev", "error"),
            ("env/prod", "checked")
        ]
    );
    // Checked alone, the organization cannot answer its boundary test about dev's key: it says
    // why, naming env/dev.
    let run = project.kmsctl(&["drift", "organization"]).expect_code(1);
    assert!(
        run.stdout
            .contains("env/dev: environments/dev holds no .toml file"),
        "{}",
        run.stdout
    );

    // The worst wins: a violation in prod is exit 3, with env/dev's error still reported.
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
    let run = project.kmsctl(&["drift", "--no-color"]).expect_code(3);
    assert!(
        run.stdout.contains("error env/dev:")
            && run.stdout.contains("violation[rotation-required]")
            && run.stdout.contains("clean organization"),
        "{}",
        run.stdout
    );
    let run = project
        .kmsctl(&["report", "--format", "markdown"])
        .expect_code(1);
    assert!(
        run.stdout.contains("**env/dev could not be checked:**")
            && run
                .stdout
                .contains("## 3.3.1 Automatic key rotation — 1 of"),
        "{}",
        run.stdout
    );
}
