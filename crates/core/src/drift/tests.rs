use super::*;

fn finding(kind: Kind, resource: &str, control: &str) -> DriftFinding {
    DriftFinding {
        kind,
        rule: "r".into(),
        resource: resource.into(),
        key: None,
        message: "m".into(),
        control: Some(ControlMap::built_in().get(control)),
        source: None,
        evidence: BTreeMap::new(),
    }
}

fn target(findings: Vec<DriftFinding>) -> TargetReport {
    TargetReport {
        target: "env/prod".into(),
        account_id: "222222222222".into(),
        region: "us-east-1".into(),
        status: TargetStatus::Checked,
        error: None,
        observed_at: "2026-11-29T00:00:00Z".into(),
        resources: vec![],
        findings,
    }
}

#[test]
fn the_summary_counts_each_kind_and_a_key_finding_carries_its_aliases_and_arn() {
    let key = KeyRef {
        key_id: "k-1".into(),
        arn: Some("arn:aws:kms:us-east-1:222222222222:key/k-1".into()),
        aliases: vec!["alias/prod-db".into()],
    };
    let mut drift = finding(Kind::Drift, "kms_key.db", "3.1.1");
    drift.key = Some(key.clone());
    let report = DriftReport::new(
        "0.1.0",
        "now",
        vec![target(vec![
            finding(Kind::Violation, "kms_key.db", "3.1.1"),
            drift,
            finding(Kind::Unmanaged, "key/k-9", "3.1.1"),
        ])],
    );
    assert_eq!(report.summary.violations, 1);
    assert_eq!(report.summary.drift, 1);
    assert_eq!(report.summary.unmanaged, 1);
    let json = serde_json::to_value(&report).expect("json");
    let findings = &json["targets"][0]["findings"];
    assert_eq!(findings[0].get("key"), None, "absent when not a key's");
    assert_eq!(findings[1]["key"]["aliases"][0], "alias/prod-db");
    assert_eq!(
        findings[1]["key"]["arn"],
        "arn:aws:kms:us-east-1:222222222222:key/k-1"
    );
    assert_eq!(
        key.label("kms_key.db"),
        "kms_key.db (alias/prod-db, arn:aws:kms:us-east-1:222222222222:key/k-1)"
    );
    assert_eq!(
        key.label("arn:aws:kms:us-east-1:222222222222:key/k-1"),
        "arn:aws:kms:us-east-1:222222222222:key/k-1 (alias/prod-db)"
    );
}

#[test]
fn every_control_of_the_seed_maps_to_requirements() {
    let map = ControlMap::built_in();
    for id in [
        "3.1.1", "3.2.2", "3.2.3", "3.2.4", "3.3.1", "3.4.1", "HSM", "MON",
    ] {
        let control = map.get(id);
        assert!(!control.pci_dss_v4.is_empty(), "{id}");
        assert!(!control.nist_800_53_r5.is_empty(), "{id}");
    }
    assert_eq!(map.get("3.3.1").pci_dss_v4, ["3.6.1", "3.7.4"]);
}

#[test]
fn the_shipped_schema_is_the_one_the_types_generate() {
    let shipped: Value =
        serde_json::from_str(include_str!("../../../../schemas/drift-report.schema.json"))
            .expect("schemas/drift-report.schema.json is JSON");
    assert_eq!(
        shipped,
        DriftReport::schema(),
        "regenerate it: cargo run -q -p kmsctl -- schema drift-report > schemas/drift-report.schema.json"
    );
}
