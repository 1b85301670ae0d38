//! Observing an organization in the emulator: the OU tree, policy types, policies and targets.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType, Tag};
use kmsctl_org::config::PolicyType as Kind;

/// An Organizations client in an account of its own (the emulator keeps accounts apart).
async fn client() -> Client {
    let account = xtask::emulator::fresh_account();
    Client::new(&kmsctl_tests::account_config(&account).await)
}

async fn ou(client: &Client, parent: &str, name: &str) -> String {
    let created = client
        .create_organizational_unit()
        .parent_id(parent)
        .name(name)
        .send()
        .await
        .expect("create OU");
    created
        .organizational_unit()
        .and_then(|o| o.id())
        .expect("OU id")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_tree_the_types_and_the_policies_with_their_targets() {
    let client = client().await;
    client
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("organization");
    let roots = client.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().expect("root id").to_owned();
    client
        .enable_policy_type()
        .root_id(&root)
        .policy_type(PolicyType::ServiceControlPolicy)
        .send()
        .await
        .expect("enable");
    ou(&client, &root, "dev").await;
    let prod = ou(&client, &root, "prod").await;
    let payments = ou(&client, &prod, "payments").await;
    let content = r#"{"Version":"2012-10-17","Statement":[{"Sid":"W","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#;
    let created = client
        .create_policy()
        .name("waiting_period")
        .description("d")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(content)
        .tags(
            Tag::builder()
                .key("kmsctl:managed")
                .value("true")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("policy");
    let policy_id = created
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .expect("id")
        .to_owned();
    client
        .attach_policy()
        .policy_id(&policy_id)
        .target_id(&prod)
        .send()
        .await
        .expect("attach");

    let org = kmsctl_org::observe::observe(&client, 4)
        .await
        .expect("observed");
    let names = |path: &str| path.split('/').map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(
        org.tree.id_of(&names("prod/payments")).as_deref(),
        Ok(payments.as_str())
    );
    let org_path = org.tree.org_path(&names("prod")).expect("resolves");
    assert_eq!(org_path, format!("{}/{}/{}/", org.tree.org_id, root, prod));
    assert!(org.tree.org_id.starts_with("o-"), "{}", org.tree.org_id);
    assert!(org.enabled_types.contains(&Kind::ServiceControlPolicy));
    assert!(!org.enabled_types.contains(&Kind::ResourceControlPolicy));

    let ours = org
        .policies
        .iter()
        .find(|p| p.id == policy_id)
        .expect("our policy");
    assert!(ours.is_managed());
    assert_eq!(ours.content, content);
    assert!(ours.targets.contains(&prod));
    assert_eq!(
        org.attached_to(Kind::ServiceControlPolicy, &prod)
            .filter(|p| p.id == policy_id)
            .count(),
        1
    );
    let full = org
        .policies
        .iter()
        .find(|p| p.name == "FullAWSAccess")
        .expect("AWS's own SCP");
    assert!(full.aws_managed && !full.is_managed());
}
