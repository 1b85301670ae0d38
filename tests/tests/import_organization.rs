//! `kmsctl import organization`: an SCP made by hand becomes a reviewed policy file and the
//! organization.toml lines that attach and adopt it; the plan then only adopts it (against the
//! emulator).

use aws_sdk_organizations::types::PolicyType;
use kmsctl_tests::org_ids;

const ORG: &str = "organization/organization.toml";

#[tokio::test(flavor = "multi_thread")]
async fn a_hand_made_scp_is_imported_then_adopted_where_it_is_attached() {
    let (project, client) = kmsctl_tests::organization_with_ous().await;
    project
        .kmsctl(&["apply", "organization", "--auto-approve"])
        .expect_code(0);
    let ids = org_ids(&client).await;
    let dev = &ids.ous["dev"];
    let content = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DevKeysDevOnly","Effect":"Deny","Action":"kms:Decrypt","Resource":"*",
          "Condition":{{"StringEquals":{{"aws:ResourceTag/Environment":"dev"}},"ForAllValues:StringNotLike":{{"aws:PrincipalOrgPaths":"{}/{}/{dev}/*"}}}}}}]}}"#,
        ids.org_id, ids.root
    );
    let made = client
        .create_policy()
        .name("legacy_guard")
        .description("made by hand")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(&content)
        .send()
        .await
        .expect("create");
    let policy_id = made
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .expect("id")
        .to_owned();
    client
        .attach_policy()
        .policy_id(&policy_id)
        .target_id(dev)
        .send()
        .await
        .expect("attach");

    let imported = project.kmsctl(&["import", "organization"]).expect_code(0);
    assert!(
        imported.stdout.contains("Imported 1 policy(ies)"),
        "{}{}",
        imported.stdout,
        imported.stderr
    );
    let file = project.read("policies/org/service_control_policy/legacy_guard.json");
    assert!(
        file.contains("{{ ou_path 'root/dev' }}*") && !file.contains(dev.as_str()),
        "the OU's ids become the template: {file}"
    );
    let fragment = project.read("organization/organization.imported.toml");
    assert!(
        fragment.contains("\"root/dev\" = [\"legacy_guard\"]") && fragment.contains("adopt = true"),
        "{fragment}"
    );

    // The user merges the lines into organization.toml.
    project.edit(
        ORG,
        "\"root/dev\" = [\"tag_enforcement\"]",
        "\"root/dev\" = [\"tag_enforcement\", \"legacy_guard\"]",
    );
    let settings = &fragment[fragment.find("\n[policy.").expect("the policy's table")..];
    let text = project.read(ORG);
    project.write(ORG, &format!("{text}\n{settings}"));
    std::fs::remove_file(project.file("organization/organization.imported.toml")).expect("merged");

    project.kmsctl(&["validate", "organization"]).expect_code(0);
    let plan = project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(2);
    assert!(
        plan.stdout
            .contains("# org_policy.scp/legacy_guard will be adopted"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("0 to add, 0 to change, 0 to destroy, 1 to adopt"),
        "only the adoption: {}",
        plan.stdout
    );
    project.kmsctl(&["apply"]).expect_code(0);
    project
        .kmsctl(&["plan", "organization", "--detailed-exitcode"])
        .expect_code(0);
    let tags = client
        .list_tags_for_resource()
        .resource_id(&policy_id)
        .send()
        .await
        .expect("tags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "kmsctl:managed" && t.value() == "true"),
        "{tags:?}"
    );
    // Nothing is left to import.
    let again = project.kmsctl(&["import", "organization"]).expect_code(0);
    assert!(
        again.stdout.contains("No policy to import"),
        "{}",
        again.stdout
    );
}

/// Without `adopt = true`, a declared name that exists by hand is refused, and the fix says how.
#[tokio::test(flavor = "multi_thread")]
async fn a_declared_name_made_by_hand_is_refused_without_adopt() {
    let (project, client) = kmsctl_tests::organization_with_ous().await;
    client
        .create_policy()
        .name("waiting_period")
        .description("made by hand")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*"}]}"#)
        .send()
        .await
        .expect("create");
    let refused = project.kmsctl(&["plan", "organization"]).expect_code(3);
    assert!(
        refused.stderr.contains("org-policy-unmanaged") && refused.stderr.contains("adopt = true"),
        "{}",
        refused.stderr
    );
}
