//! The role kmsctl applies as, and whether a key policy leaves it the actions it needs on the
//! key: the evaluation engine answers for the deployer's ARN and the request an apply makes.

use std::collections::{BTreeMap, BTreeSet};

use super::eval::{self, NamedPolicy, Outcome, Policies, Principal, Request};
use super::model::{PolicyDocument, Principals, Statement};

/// What the deployer must keep on every key: `kms:PutKeyPolicy` to change the policy again (AWS's
/// policy lockout safety check asks the same of the caller), `kms:DescribeKey` and
/// `kms:GetKeyPolicy` to read the key and its policy when it plans.
pub const DEPLOYER_KEY_ACTIONS: [&str; 3] =
    ["kms:PutKeyPolicy", "kms:DescribeKey", "kms:GetKeyPolicy"];

/// The role name kmsctl assumes when nothing names the deployer.
pub const DEFAULT_DEPLOYER_ROLE: &str = "kmsctl-deployer";

/// AWS's documentation example key id: the files do not know the real one.
const STAND_IN_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// The principal kmsctl applies as, in the key's account, and the request it makes there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deployer {
    /// `arn:aws:iam::111122223333:role/kmsctl-deployer`.
    pub arn: String,
    /// The key's account; the deployer's role sits in it.
    pub account: String,
    pub region: String,
    pub org_id: Option<String>,
    /// `o-…/r-…/ou-…/` of the account, when the organization's tree is known.
    pub org_paths: Vec<String>,
    /// The key's tags (`aws:ResourceTag/…`).
    pub key_tags: BTreeMap<String, String>,
    /// Why this ARN, for messages: `env/prod's assume_role_arn`.
    pub source: String,
}

impl Deployer {
    /// A role in `account`, named as kmsctl names it by default, in no known organization.
    pub fn default_in(partition: &str, account: &str, region: &str, source: String) -> Self {
        Self {
            arn: format!("arn:{partition}:iam::{account}:role/{DEFAULT_DEPLOYER_ROLE}"),
            account: account.to_owned(),
            region: region.to_owned(),
            org_id: None,
            org_paths: Vec::new(),
            key_tags: BTreeMap::new(),
            source,
        }
    }

    fn partition(&self) -> &str {
        self.arn.split(':').nth(1).unwrap_or("aws")
    }

    /// The request the deployer makes for `action` on the key: a role session (no MFA) over
    /// TLS, from its own account, in the key's region; its principal tags are not known and
    /// taken as absent.
    pub fn request(&self, action: &str) -> Request {
        let mut context = BTreeMap::new();
        let mut set = |key: &str, value: &str| {
            context.insert(key.to_lowercase(), vec![value.to_owned()]);
        };
        set("aws:MultiFactorAuthPresent", "false");
        set("kms:CallerAccount", &self.account);
        set("aws:RequestedRegion", &self.region);
        Request {
            principal: Principal {
                arn: self.arn.clone(),
                account: self.account.clone(),
                org_id: self.org_id.clone(),
                org_paths: self.org_paths.clone(),
                tags: BTreeMap::new(),
                is_service: false,
            },
            action: action.to_owned(),
            resource: format!(
                "arn:{}:kms:{}:{}:key/{STAND_IN_KEY_ID}",
                self.partition(),
                self.region,
                self.account
            ),
            resource_account: self.account.clone(),
            resource_tags: self.key_tags.clone(),
            context,
        }
    }

    /// `arn:aws:iam::111122223333:role/kmsctl-deployer (env/prod's assume_role_arn)`.
    pub fn shown(&self) -> String {
        format!("{} ({})", self.arn, self.source)
    }
}

/// How a key policy takes actions away from the deployer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loss<'a> {
    /// A Deny applies to the deployer for these actions.
    Denied {
        statement: &'a Statement,
        actions: Vec<&'static str>,
    },
    /// No Allow grants these actions to the deployer or to its account.
    NotGranted { actions: Vec<&'static str> },
}

/// What the key policy takes away from the deployer of [`DEPLOYER_KEY_ACTIONS`], as the
/// evaluation engine decides: nothing when every action is allowed. The deployer's identity
/// policy is assumed to allow `kms:*`, so an Allow to its account (delegating to IAM) counts.
pub fn losses<'a>(doc: &'a PolicyDocument, deployer: &Deployer) -> Vec<Loss<'a>> {
    let policies = Policies {
        key_policy: Some(NamedPolicy {
            name: "the key policy".into(),
            document: doc.clone(),
        }),
        identity: vec![NamedPolicy {
            name: "the deployer's identity policy (assumed to allow kms:*)".into(),
            document: identity_allow_all(),
        }],
        ..Policies::default()
    };
    let mut denied: Vec<(&Statement, Vec<&'static str>)> = Vec::new();
    let mut not_granted = Vec::new();
    for action in DEPLOYER_KEY_ACTIONS {
        let request = deployer.request(action);
        match eval::evaluate(&policies, &request).outcome {
            Outcome::Allowed => {}
            Outcome::ExplicitlyDenied => {
                for statement in eval::denying(doc, &request, true) {
                    match denied.iter_mut().find(|(s, _)| std::ptr::eq(*s, statement)) {
                        Some((_, actions)) => actions.push(action),
                        None => denied.push((statement, vec![action])),
                    }
                }
            }
            Outcome::ImplicitlyDenied => not_granted.push(action),
        }
    }
    let mut losses: Vec<Loss<'a>> = denied
        .into_iter()
        .map(|(statement, actions)| Loss::Denied { statement, actions })
        .collect();
    if !not_granted.is_empty() {
        losses.push(Loss::NotGranted {
            actions: not_granted,
        });
    }
    losses
}

fn identity_allow_all() -> PolicyDocument {
    let text = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#;
    super::parse(text).expect("a policy kmsctl writes parses")
}

/// Without an environment the deployer is not known: the principals the policy itself names
/// stand in for it, the likeliest first. For each account the policy delegates to (its root, or
/// the bare account id) a role named [`DEFAULT_DEPLOYER_ROLE`] in it; then each role or user it
/// names. The key is taken to be in the candidate's account, in us-east-1; the organization is
/// the one the policy's `aws:PrincipalOrgID` conditions name, when they name exactly one.
pub fn assumed_deployers(doc: &PolicyDocument) -> Vec<Deployer> {
    let mut delegated = Vec::new();
    let mut named = Vec::new();
    let region = "us-east-1";
    let source = "no environment: a principal the policy names stands in for the deployer; \
                  validate the environment to check its own";
    for st in doc.statements.iter().filter(|s| s.is_allow()) {
        let Some(Principals::Map(map)) = &st.principal else {
            continue;
        };
        for value in map.get("AWS").into_iter().flatten() {
            if value.len() == 12 && value.chars().all(|c| c.is_ascii_digit()) {
                delegated.push(Deployer::default_in("aws", value, region, source.into()));
                continue;
            }
            let parts: Vec<&str> = value.split(':').collect();
            if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
                continue;
            }
            let (partition, account, resource) = (parts[1], parts[4], parts[5]);
            if resource == "root" {
                delegated.push(Deployer::default_in(
                    partition,
                    account,
                    region,
                    source.into(),
                ));
            } else if resource.starts_with("role/") || resource.starts_with("user/") {
                named.push(Deployer {
                    arn: value.clone(),
                    ..Deployer::default_in(partition, account, region, source.into())
                });
            }
        }
    }
    let org_ids: BTreeSet<&String> = doc
        .statements
        .iter()
        .flat_map(|st| st.condition.values())
        .flat_map(|keys| keys.iter())
        .filter(|(key, _)| key.eq_ignore_ascii_case("aws:PrincipalOrgID"))
        .flat_map(|(_, values)| values.iter())
        .filter(|v| !v.contains('*') && !v.contains("${"))
        .collect();
    let org_id = (org_ids.len() == 1)
        .then(|| org_ids.into_iter().next().cloned())
        .flatten();
    let mut seen = BTreeSet::new();
    delegated
        .into_iter()
        .chain(named)
        .filter(|d| seen.insert(d.arn.clone()))
        .map(|d| Deployer {
            org_id: org_id.clone(),
            ..d
        })
        .collect()
}
