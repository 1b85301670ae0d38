//! Reads the organization: its id, the root and the OU tree, the enabled policy types, and every
//! SCP and RCP with its content, tags and targets. Organizations is a global service (the SDK
//! signs for us-east-1 whatever the region) and honours `AWS_ENDPOINT_URL` like every client.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{PolicyType as ApiPolicyType, PolicyTypeStatus};
use kmsctl_aws::{AwsError, map_bounded};

use crate::config::PolicyType;
use crate::ou_tree::{OrgTree, Ou};

pub(crate) const TAG_MANAGED: &str = "kmsctl:managed";

/// One SCP or RCP as AWS holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedPolicy {
    pub id: String,
    pub name: String,
    pub kind: PolicyType,
    pub description: String,
    pub content: String,
    /// `FullAWSAccess`, `RCPFullAWSAccess`: AWS's own, never touched unless a file lists them.
    pub aws_managed: bool,
    pub tags: BTreeMap<String, String>,
    /// Root, OU and account ids it is attached to.
    pub targets: BTreeSet<String>,
}

impl ObservedPolicy {
    /// Only policies kmsctl tagged are ever updated, detached or deleted.
    pub fn is_managed(&self) -> bool {
        self.tags.get(TAG_MANAGED).is_some_and(|v| v == "true")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObservedOrg {
    pub tree: OrgTree,
    pub enabled_types: BTreeSet<PolicyType>,
    pub policies: Vec<ObservedPolicy>,
}

impl ObservedOrg {
    /// Everything a plan's changes depend on, in a stable form, for the staleness check.
    pub fn snapshot(&self) -> serde_json::Value {
        let mut policies: Vec<_> = self
            .policies
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id, "name": p.name, "type": p.kind.api_name(), "description": p.description,
                    "content": p.content, "tags": p.tags, "targets": p.targets,
                })
            })
            .collect();
        policies.sort_by_key(|p| p["id"].as_str().map(str::to_owned));
        let types: Vec<_> = self.enabled_types.iter().map(|t| t.api_name()).collect();
        let ous: BTreeMap<_, _> = self
            .tree
            .ous
            .iter()
            .map(|o| (o.id.clone(), (o.name.clone(), o.parent_id.clone())))
            .collect();
        serde_json::json!({"types": types, "ous": ous, "policies": policies})
    }

    /// The policies of `kind` attached to `target_id`.
    pub fn attached_to<'a>(
        &'a self,
        kind: PolicyType,
        target_id: &'a str,
    ) -> impl Iterator<Item = &'a ObservedPolicy> + 'a {
        self.policies
            .iter()
            .filter(move |p| p.kind == kind && p.targets.contains(target_id))
    }
}

fn api_type(kind: PolicyType) -> ApiPolicyType {
    match kind {
        PolicyType::ServiceControlPolicy => ApiPolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy => ApiPolicyType::ResourceControlPolicy,
    }
}

/// The organization's id, its root, the policy types enabled on it and every OU.
pub async fn observe_tree(client: &Client) -> Result<(OrgTree, BTreeSet<PolicyType>), AwsError> {
    let organization = client
        .describe_organization()
        .send()
        .await
        .map_err(|e| AwsError::call("organizations:DescribeOrganization", e))?;
    let org_id = organization
        .organization()
        .and_then(|o| o.id())
        .unwrap_or_default()
        .to_owned();
    // These paginators have no item view: pages, then their lists.
    let pages: Vec<_> = client
        .list_roots()
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::call("organizations:ListRoots", e))?;
    let roots: Vec<_> = pages
        .iter()
        .flat_map(|p| p.roots().iter().cloned())
        .collect();
    let root = roots.first().ok_or_else(|| AwsError::Call {
        operation: "organizations:ListRoots".into(),
        code: None,
        message: "the organization has no root".into(),
    })?;
    let root_id = root.id().unwrap_or_default().to_owned();
    let enabled_types = PolicyType::ALL
        .into_iter()
        .filter(|kind| {
            root.policy_types().iter().any(|t| {
                // Enabling is asynchronous: a type PENDING_ENABLE is on its way, and enabling
                // it again would fail (its AttachPolicy calls wait for it instead).
                t.r#type() == Some(&api_type(*kind))
                    && matches!(
                        t.status(),
                        Some(PolicyTypeStatus::Enabled | PolicyTypeStatus::PendingEnable)
                    )
            })
        })
        .collect();

    // The OU tree, breadth first from the root.
    let mut ous = Vec::new();
    let mut parents = vec![root_id.clone()];
    while let Some(parent) = parents.pop() {
        let pages: Vec<_> = client
            .list_organizational_units_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::call("organizations:ListOrganizationalUnitsForParent", e))?;
        for child in pages.iter().flat_map(|p| p.organizational_units()) {
            let id = child.id().unwrap_or_default().to_owned();
            parents.push(id.clone());
            ous.push(Ou {
                id,
                name: child.name().unwrap_or_default().to_owned(),
                parent_id: parent.clone(),
            });
        }
    }

    Ok((
        OrgTree {
            org_id,
            root_id,
            ous,
        },
        enabled_types,
    ))
}

/// The organization: its tree, enabled policy types, and every policy with its content, tags
/// and targets.
pub async fn observe(client: &Client, parallelism: usize) -> Result<ObservedOrg, AwsError> {
    let (tree, enabled_types) = observe_tree(client).await?;
    let mut summaries = Vec::new();
    for kind in PolicyType::ALL {
        let pages: Vec<_> = client
            .list_policies()
            .filter(api_type(kind))
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::call("organizations:ListPolicies", e))?;
        summaries.extend(
            pages
                .iter()
                .flat_map(|p| p.policies().iter().cloned())
                .map(|summary| (kind, summary)),
        );
    }
    let policies = map_bounded(summaries, parallelism, |(kind, summary)| async move {
        let id = summary.id().unwrap_or_default().to_owned();
        let described = client
            .describe_policy()
            .policy_id(&id)
            .send()
            .await
            .map_err(|e| AwsError::call("organizations:DescribePolicy", e))?;
        let content = described
            .policy()
            .and_then(|p| p.content())
            .unwrap_or_default()
            .to_owned();
        let tags: Vec<_> = if summary.aws_managed() {
            vec![]
        } else {
            client
                .list_tags_for_resource()
                .resource_id(&id)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|e| AwsError::call("organizations:ListTagsForResource", e))?
        };
        let target_pages: Vec<_> = client
            .list_targets_for_policy()
            .policy_id(&id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::call("organizations:ListTargetsForPolicy", e))?;
        let targets: Vec<_> = target_pages
            .iter()
            .flat_map(|p| p.targets().iter().cloned())
            .collect();
        Ok::<_, AwsError>(ObservedPolicy {
            name: summary.name().unwrap_or_default().to_owned(),
            description: summary.description().unwrap_or_default().to_owned(),
            aws_managed: summary.aws_managed(),
            kind,
            content,
            tags: tags
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
            targets: targets
                .iter()
                .filter_map(|t| t.target_id())
                .map(str::to_owned)
                .collect(),
            id,
        })
    })
    .await?;
    Ok(ObservedOrg {
        tree,
        enabled_types,
        policies,
    })
}

/// Where every account of the organization sits: account id → the id of its parent (the root
/// or an OU). One `ListAccountsForParent` per parent, one after the other: Organizations'
/// request rate is low, and an organization has few OUs.
pub async fn account_places(
    client: &Client,
    tree: &OrgTree,
) -> Result<BTreeMap<String, String>, AwsError> {
    let mut places = BTreeMap::new();
    let parents =
        std::iter::once(tree.root_id.clone()).chain(tree.ous.iter().map(|o| o.id.clone()));
    for parent in parents {
        let pages: Vec<_> = client
            .list_accounts_for_parent()
            .parent_id(&parent)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::call("organizations:ListAccountsForParent", e))?;
        for account in pages.iter().flat_map(|p| p.accounts()) {
            if let Some(id) = account.id() {
                places.insert(id.to_owned(), parent.clone());
            }
        }
    }
    Ok(places)
}
