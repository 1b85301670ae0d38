//! From a question to the policies and the request AWS would evaluate, and the answer.

use std::collections::BTreeMap;

use kmsctl_core::policy::eval::{self, NamedPolicy, Policies, Principal, Request};
use kmsctl_core::policy::{self, PolicyDocument};
use kmsctl_org::config::PolicyType;
use kmsctl_org::levels::{Placement, placement};

use super::world::{EnvView, OrgView, World};
use super::{Answer, Identity, Question, Unanswerable};

/// AWS's documentation example key id: the files do not know the real one, and no policy of
/// kmsctl's names keys by id.
const STAND_IN_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// `ou = "outside"`: the principal's account is not in the organization (no SCP applies, no
/// `aws:PrincipalOrgID`, no `aws:PrincipalOrgPaths`).
pub const OUTSIDE: &str = "outside";

fn placed(org: &OrgView, account: Option<&str>) -> bool {
    account.is_some_and(|a| org.accounts.contains_key(a))
}

/// The principal's account, or that it is a service principal.
fn principal_account(arn: &str) -> Result<Option<String>, Unanswerable> {
    if !arn.starts_with("arn:") && arn.ends_with(".amazonaws.com") {
        return Ok(None);
    }
    let account = arn.split(':').nth(4).unwrap_or_default();
    let iam = arn.split(':').nth(2) == Some("iam") || arn.split(':').nth(2) == Some("sts");
    if !iam || account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(Unanswerable::new(
            format!("principal {arn:?} is neither an IAM ARN nor a service principal"),
            "write a role or user ARN (arn:aws:iam::111111111111:role/app), the account's root (arn:aws:iam::111111111111:root) or a service principal (rds.amazonaws.com)",
        ));
    }
    Ok(Some(account.to_owned()))
}

/// The OU path by names of an `ou` given as a path (`root/dev`) or an id (`ou-…`).
fn ou_names(ou: &str, tree: &kmsctl_org::ou_tree::OrgTree) -> Result<Vec<String>, Unanswerable> {
    let path = if ou.starts_with("ou-") || ou.starts_with("r-") {
        let path = tree.path_of(ou);
        if path == "root" && ou != tree.root_id {
            return Err(Unanswerable::new(
                format!("OU id {ou:?} is not in organization.toml's [tree.ous]"),
                "use an OU path by names (root/dev) or declare the OU's id in [tree.ous]",
            ));
        }
        path
    } else {
        ou.to_owned()
    };
    let names: Vec<String> = match path.strip_prefix("root") {
        Some("") => vec![],
        Some(rest) if rest.starts_with('/') => rest[1..].split('/').map(str::to_owned).collect(),
        _ => {
            return Err(Unanswerable::new(
                format!(
                    "{ou:?} is not an OU: write a path by names from the root (root/dev) or an OU id"
                ),
                "ou = \"root/dev\"",
            ));
        }
    };
    tree.resolve(&names).map_err(|e| {
        Unanswerable::new(
            e.to_string(),
            "declare the OU in organization.toml's [tree.ous]",
        )
    })?;
    Ok(names)
}

/// Where an account sits, by names: `ou` when given, else `[tree.accounts]`.
fn account_ou(
    org: &OrgView,
    account: &str,
    ou: Option<&str>,
    whose: &str,
) -> Result<Vec<String>, Unanswerable> {
    let tree = org.tree.as_ref().ok_or_else(|| {
        Unanswerable::new(
            "organization/organization.toml declares no [tree]: kmsctl cannot tell which OU an account is in, nor the ids aws:PrincipalOrgPaths holds",
            "add [tree] with org_id and root_id, [tree.ous] (\"root/dev\" = \"ou-…\") and [tree.accounts] (\"111111111111\" = \"root/dev\"); see README.md",
        )
    })?;
    if let Some(ou) = ou {
        return ou_names(ou, tree);
    }
    org.accounts.get(account).cloned().ok_or_else(|| {
        Unanswerable::new(
            format!("{whose} account {account} is not placed in {}", org.source),
            format!("add \"{account}\" = \"root/...\" to organization.toml's [tree.accounts] (or give the principal's ou; ou = \"outside\" for an account outside the organization)"),
        )
    })
}

fn named(placement: &Placement<'_>) -> Result<Vec<(String, Vec<NamedPolicy>)>, Unanswerable> {
    placement
        .on_path
        .iter()
        .map(|level| {
            let policies = level
                .policies
                .iter()
                .map(|p| to_named(p))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((level.name.clone(), policies))
        })
        .collect()
}

fn to_named(policy: &kmsctl_org::validate::RenderedPolicy) -> Result<NamedPolicy, Unanswerable> {
    let document = policy::parse(&policy.minified).map_err(|e| {
        Unanswerable::new(
            format!("{}: {e}", policy.file.display()),
            "run `kmsctl validate organization`",
        )
    })?;
    Ok(NamedPolicy {
        name: policy.file.display().to_string(),
        document,
    })
}

fn allow_all(action: &str) -> PolicyDocument {
    let document = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{"Sid": "AssumedIdentityAllow", "Effect": "Allow", "Action": action, "Resource": "*"}],
    });
    policy::parse(&document.to_string()).expect("a policy kmsctl writes parses")
}

/// A request names one real action and real condition keys: a typo would not match any
/// statement and give a confident wrong answer.
fn check_names(q: &Question) -> Result<(), Unanswerable> {
    let catalog = kmsctl_core::policy::catalog::Catalog::get();
    let (service, action) = q.action.split_once(':').unwrap_or(("", &q.action));
    let known = !action.contains(['*', '?'])
        && catalog
            .matching_actions(service, action)
            .is_some_and(|found| found.iter().any(|a| a.eq_ignore_ascii_case(action)));
    if !known {
        let nearest = catalog
            .nearest_action(service, action)
            .map(|a| format!("{}:{a}", service.to_lowercase()));
        return Err(Unanswerable::new(
            format!(
                "{:?} is not an action AWS's catalog knows (a request names one action, without wildcards)",
                q.action
            ),
            nearest.map_or_else(
                || "write service:Action, e.g. kms:Decrypt".to_owned(),
                |n| format!("did you mean {n}?"),
            ),
        ));
    }
    for key in q.context.keys() {
        if catalog.key(key).is_none() {
            return Err(Unanswerable::new(
                format!(
                    "context key {key:?} is not a condition key AWS's catalog knows: no policy condition could read it"
                ),
                catalog.nearest_key(key).map_or_else(
                    || "write a global aws: key or a key of the action's service".to_owned(),
                    |n| format!("did you mean {n}?"),
                ),
            ));
        }
    }
    Ok(())
}

impl World<'_> {
    /// The environment of a question's key (or of its keyless call), and the key.
    fn locate(
        &self,
        q: &Question,
    ) -> Result<(Option<std::rc::Rc<EnvView>>, Option<usize>), Unanswerable> {
        let Some(alias) = &q.key else {
            let env = match q.environment.as_ref().or(self.home.as_ref()) {
                Some(name) => Some(self.environment(name)?),
                None => None,
            };
            return Ok((env, None));
        };
        let alias = if alias.starts_with("alias/") {
            alias.clone()
        } else {
            format!("alias/{alias}")
        };
        let candidates: Vec<String> = match q.environment.as_ref().or(self.home.as_ref()) {
            Some(name) => vec![name.clone()],
            None => self.environment_names(),
        };
        let mut found = Vec::new();
        for name in &candidates {
            let env = self.environment(name)?;
            if let Some(index) = env
                .keys
                .iter()
                .position(|k| k.all_aliases().any(|a| a == &alias))
            {
                found.push((env, index));
            }
        }
        match found.len() {
            1 => {
                let (env, index) = found.pop().expect("one");
                Ok((Some(env), Some(index)))
            }
            0 => Err(Unanswerable::new(
                format!(
                    "no key has {alias} in {}",
                    candidates
                        .iter()
                        .map(|c| format!("env/{c}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "name a key by one of its aliases (`kmsctl validate env/NAME` lists the keys), and its environment when it is another one",
            )),
            _ => Err(Unanswerable::new(
                format!(
                    "{alias} is a key of several environments ({})",
                    found
                        .iter()
                        .map(|(e, _)| format!("env/{}", e.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "say which: environment = \"NAME\" (--environment NAME)",
            )),
        }
    }

    /// Answers one question.
    pub fn answer(&mut self, q: &Question) -> Result<Answer, Unanswerable> {
        check_names(q)?;
        let org = self.organization()?;
        let (env, key_index) = self.locate(q)?;
        let key = match (&env, key_index) {
            (Some(env), Some(index)) => Some(&env.keys[index]),
            _ => None,
        };
        let principal_account = principal_account(&q.principal)?;
        let fix_tree = |e: kmsctl_org::ou_tree::OuError| {
            Unanswerable::new(e.to_string(), "fix organization.toml's [tree]")
        };

        // Where the call lands: the key's account; a call on no key (kms:CreateKey) acts in the
        // caller's own account, in the environment's region.
        let mut notes = Vec::new();
        let region = env
            .as_ref()
            .map_or_else(|| "us-east-1".to_owned(), |e| e.region.clone());
        let resource_account = match (&env, key) {
            (Some(env), Some(_)) => env.account.clone(),
            (env, _) => {
                let caller = principal_account.clone().unwrap_or_default();
                if let Some(env) = env.as_ref().filter(|e| e.account != caller) {
                    notes.push(format!(
                        "{} acts on no key, so in the caller's own account {caller}, not in env/{}'s {}",
                        q.action, env.name, env.account
                    ));
                }
                caller
            }
        };
        let partition = kmsctl_core::environment::partition_of(&region);
        let resource = match key {
            Some(_) => {
                format!("arn:{partition}:kms:{region}:{resource_account}:key/{STAND_IN_KEY_ID}")
            }
            None => "*".to_owned(),
        };

        let mut principal = Principal {
            arn: q.principal.clone(),
            account: principal_account.clone().unwrap_or_default(),
            tags: q.principal_tags.clone(),
            is_service: principal_account.is_none(),
            ..Principal::default()
        };
        let mut principal_names = None;
        let outside = q.ou.as_deref() == Some(OUTSIDE);
        if outside
            && org
                .as_ref()
                .is_some_and(|o| placed(o, principal_account.as_deref()))
        {
            return Err(Unanswerable::new(
                format!(
                    "ou = \"{OUTSIDE}\", but {} places account {} in the organization",
                    org.as_ref().map_or("", |o| o.source),
                    principal_account.unwrap_or_default()
                ),
                "use an account outside the organization, or drop ou",
            ));
        }
        if let (Some(org), Some(account), false) = (&org, &principal_account, outside) {
            let names = account_ou(org, account, q.ou.as_deref(), "the principal's")?;
            let tree = org.tree.as_ref().expect("account_ou checked it");
            principal.org_id = Some(tree.org_id.clone());
            principal.org_paths = vec![tree.org_path(&names).map_err(fix_tree)?];
            principal_names = Some(names);
        }

        let mut context: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut set = |key: &str, value: String| {
            context.insert(key.to_lowercase(), vec![value]);
        };
        set("aws:RequestedRegion", region.clone());
        if let Some(account) = &principal_account {
            set("aws:MultiFactorAuthPresent", q.mfa.to_string());
            set("kms:CallerAccount", account.clone());
        }
        if let Some(ip) = &q.source_ip {
            set("aws:SourceIp", ip.clone());
        }
        for (name, values) in &q.context {
            context.insert(name.to_lowercase(), values.clone());
        }
        let request = Request {
            principal,
            action: q.action.clone(),
            resource,
            resource_account: resource_account.clone(),
            resource_tags: key.map(|k| k.tags.clone()).unwrap_or_default(),
            context,
        };

        let mut policies = Policies::default();
        if let Some(org) = &org {
            policies.management_account = Some(org.org.account_id.get_ref().clone());
            let tree = org.tree.as_ref();
            if let (Some(names), Some(tree), Some(account)) =
                (&principal_names, tree, &principal_account)
            {
                let scps = placement(
                    &org.org,
                    &org.rendered,
                    PolicyType::ServiceControlPolicy,
                    tree,
                    account,
                    names,
                )
                .map_err(fix_tree)?;
                policies.scps = named(&scps)?;
                notes.extend(off_path(
                    &scps,
                    "SCP",
                    "the principal's account",
                    &request,
                    false,
                )?);
            }
            if key.is_some() {
                let names = account_ou(org, &resource_account, None, "the key's")?;
                let tree = org.tree.as_ref().expect("account_ou checked it");
                let rcps = placement(
                    &org.org,
                    &org.rendered,
                    PolicyType::ResourceControlPolicy,
                    tree,
                    &resource_account,
                    &names,
                )
                .map_err(fix_tree)?;
                policies.rcps = named(&rcps)?;
                notes.extend(off_path(&rcps, "RCP", "the key's account", &request, true)?);
            }
        } else {
            notes.push(
                "the project has no organization/organization.toml: no SCP or RCP is in play"
                    .to_owned(),
            );
        }
        if let Some(key) = key {
            policies.key_policy = Some(NamedPolicy {
                name: key.policy.file.as_ref().map_or_else(
                    || "(AWS's default key policy)".to_owned(),
                    |f| f.display().to_string(),
                ),
                document: key.policy.document(),
            });
        }
        if principal_account.is_some() {
            match &q.identity {
                Identity::AssumedAllow => {
                    notes.push(format!(
                        "identity policies: none given, so one allowing {} on every resource is assumed",
                        q.action
                    ));
                    policies.identity.push(NamedPolicy {
                        name: "(assumed identity policy)".to_owned(),
                        document: allow_all(&q.action),
                    });
                }
                Identity::Files(files) => {
                    for file in files {
                        policies.identity.push(self.identity_policy(file)?);
                    }
                }
            }
        }
        let decision = eval::evaluate(&policies, &request);
        if decision.outcome == eval::Outcome::ExplicitlyDenied {
            notes.retain(|n| !n.contains("would deny this"));
        }
        Ok(Answer {
            decision,
            principal: q.principal.clone(),
            principal_ou: principal_names.map(|names| {
                if names.is_empty() {
                    "root".to_owned()
                } else {
                    format!("root/{}", names.join("/"))
                }
            }),
            action: q.action.clone(),
            key: key
                .zip(env.as_ref())
                .map(|(k, e)| format!("env/{} {}", e.name, k.alias)),
            resource: request.resource.clone(),
            notes,
            policies,
            request,
        })
    }

    fn identity_policy(&self, file: &std::path::Path) -> Result<NamedPolicy, Unanswerable> {
        let path = self.root().join(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Unanswerable::new(
                format!("cannot read identity policy {}: {e}", file.display()),
                "name a policy file relative to the project root",
            )
        })?;
        let document = policy::parse(&text).map_err(|e| {
            Unanswerable::new(
                format!("identity policy {}: {e}", file.display()),
                format!("run `kmsctl lint {}`", file.display()),
            )
        })?;
        Ok(NamedPolicy {
            name: file.display().to_string(),
            document,
        })
    }
}

/// Deny statements attached off the path that would deny this request: the classic mistake of
/// a boundary SCP on its own OU, named so the answer says why it does not apply.
fn off_path(
    placement: &Placement<'_>,
    kind: &str,
    whose: &str,
    request: &Request,
    resource_policy: bool,
) -> Result<Vec<String>, Unanswerable> {
    let path: Vec<&str> = placement.on_path.iter().map(|l| l.name.as_str()).collect();
    let mut notes = Vec::new();
    for (target, policy) in &placement.off_path {
        let named = to_named(policy)?;
        let statements = eval::denying_statements(&named, request, resource_policy);
        if statements.is_empty() {
            continue;
        }
        notes.push(format!(
            "{} {} would deny this, but it is attached to {target}, which is not on {whose} path ({}): an {kind} restricts only what is below its target",
            named.name,
            statements.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "),
            path.join(" → ")
        ));
    }
    Ok(notes)
}
