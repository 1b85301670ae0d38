use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_kms::types::{KeySpec, KeyState, KeyUsageType, OriginType};
use kmsctl_core::environment::{EnvironmentSettings, Rules};

use super::*;

fn env() -> EnvironmentSettings {
    EnvironmentSettings {
        name: "prod".into(),
        account_id: "222222222222".into(),
        region: "eu-west-1".into(),
        assume_role_arn: None,
        variables: BTreeMap::new(),
        tags: BTreeMap::new(),
        rules: Rules::default(),
        organization: None,
    }
}

fn key(id: &str, aliases: &[&str], policy: &str) -> ObservedKey {
    ObservedKey {
        key_id: id.into(),
        arn: format!("arn:aws:kms:eu-west-1:222222222222:key/{id}"),
        description: "hand-made".into(),
        state: Some(KeyState::Enabled).into(),
        spec: Some(KeySpec::SymmetricDefault).into(),
        usage: Some(KeyUsageType::EncryptDecrypt).into(),
        origin: Some(OriginType::AwsKms).into(),
        multi_region: false,
        deletion_date: None,
        tags: [("Owner".to_owned(), "payments".to_owned())].into(),
        policy: Some(policy.into()),
        rotation_enabled: Some(true),
        rotation_period_days: Some(180),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        tags_confirmed: true,
    }
}

const CUSTOM: &str = r#"{"Version":"2012-10-17","Statement":[
  {"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"kms:*","Resource":"*"},
  {"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logs.eu-west-1.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*"}]}"#;

#[test]
fn keys_become_entries_named_from_their_alias_with_templated_policies() {
    let default = crate::desired::default_policy_text(&env());
    let keys = [
        key(
            "1111aaaa-0000-0000-0000-000000000001",
            &["alias/prod-db-payments-encryption", "alias/legacy"],
            CUSTOM,
        ),
        key(
            "2222bbbb-0000-0000-0000-000000000002",
            &["alias/hand-made"],
            &default,
        ),
        key("3333cccc-0000-0000-0000-000000000003", &[], &default),
    ];
    let taken = |f: &str| f != "prod-db-payments-encryption-policy.json";
    let out = entries(&env(), &keys, &BTreeSet::new(), &taken);
    assert_eq!(out.imported, 3);
    let parsed: toml::Table = toml::from_str(&out.toml).expect("the file is TOML");
    let entries = parsed["key"].as_array().expect("[[key]]");
    let first = entries[0].as_table().expect("table");
    assert_eq!(first["function"].as_str(), Some("db"));
    assert_eq!(first["team"].as_str(), Some("payments"));
    assert_eq!(first["purpose"].as_str(), Some("encryption"));
    assert!(!first.contains_key("alias"), "the alias is the default one");
    assert_eq!(first["aliases"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["rotation_period_in_days"].as_integer(), Some(180));
    assert_eq!(first["tags"]["Owner"].as_str(), Some("payments"));
    // An existing file is never overwritten: the next free name.
    assert_eq!(
        first["policy"].as_str(),
        Some("prod-db-payments-encryption-policy-2.json")
    );
    let (file, text) = &out.policies[0];
    assert_eq!(file, "prod-db-payments-encryption-policy-2.json");
    assert!(
        text.contains("arn:aws:iam::{{ account_id }}:root"),
        "{text}"
    );
    assert!(text.contains("logs.{{ region }}.amazonaws.com"), "{text}");
    assert!(!text.contains("222222222222"), "{text}");
    // No fitting alias: the alias is kept and the names are marked to fill in.
    let second = entries[1].as_table().expect("table");
    assert_eq!(second["alias"].as_str(), Some("alias/hand-made"));
    assert_eq!(second["function"].as_str(), Some("fill-in"));
    assert!(
        !second.contains_key("policy"),
        "AWS's default policy needs no file"
    );
    assert!(out.toml.contains("TODO(import)"));
    // No alias at all: adopted by its id.
    let third = entries[2].as_table().expect("table");
    assert_eq!(
        third["key_id"].as_str(),
        Some("3333cccc-0000-0000-0000-000000000003")
    );
    assert_eq!(out.policies.len(), 1);
}

#[test]
fn declared_keys_and_keys_kmsctl_cannot_make_are_left_with_a_note() {
    let mut external = key(
        "4444dddd-0000-0000-0000-000000000004",
        &["alias/byok"],
        CUSTOM,
    );
    external.origin = Some(OriginType::External).into();
    let declared_key = key(
        "5555eeee-0000-0000-0000-000000000005",
        &["alias/prod-app-x-y"],
        CUSTOM,
    );
    let declared: BTreeSet<String> = ["alias/prod-app-x-y".to_owned()].into();
    let out = entries(&env(), &[external, declared_key], &declared, &|_| true);
    assert_eq!(out.imported, 0);
    assert_eq!(out.notes.len(), 2, "{:?}", out.notes);
    assert!(out.notes[0].contains("EXTERNAL"), "{:?}", out.notes);
}

#[test]
fn what_key_names_is_read_as_an_alias_or_a_key_id() {
    assert_eq!(wanted_name("app"), "alias/app");
    assert_eq!(wanted_name("alias/app"), "alias/app");
    assert_eq!(
        wanted_name("1234abcd-12ab-34cd-56ef-1234567890ab"),
        "1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    assert_eq!(
        wanted_name("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        "1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    assert_eq!(
        wanted_name("arn:aws:kms:us-east-1:111122223333:alias/app"),
        "alias/app"
    );
}
