//! From a question to the policies and the request AWS would evaluate, and the answer.

use std::collections::BTreeMap;

use kmsctl_core::policy::eval::{self, NamedPolicy, Policies, Principal, Request};
use kmsctl_core::policy::{self, PolicyDocument};
use kmsctl_org::config::PolicyType;
use kmsctl_org::levels::{Placement, placement};

use super::names::{OUTSIDE, account_ou, check_names, placed, principal_account};
use super::world::{EnvView, World};
use super::{Answer, Identity, Question, Unanswerable};

/// AWS's documentation example key id: the files do not know the real one, and no policy of
/// kmsctl's names keys by id.
const STAND_IN_KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

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

fn to_named(policy: &kmsctl_org::guards::RenderedPolicy) -> Result<NamedPolicy, Unanswerable> {
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

/// Where a question's key is: its environment, its index there, and notes on the search.
type Located = (Option<std::rc::Rc<EnvView>>, Option<usize>, Vec<String>);

impl World<'_> {
    /// The environment of a question's key (or of its keyless call), the key, and notes. Looking
    /// for an alias in every environment, one whose files do not load is passed over (noted):
    /// its error is its own, and the others still answer.
    fn locate(&self, q: &Question) -> Result<Located, Unanswerable> {
        let Some(alias) = &q.key else {
            let env = match q.environment.as_ref().or(self.home.as_ref()) {
                Some(name) => Some(self.environment(name)?),
                None => None,
            };
            return Ok((env, None, Vec::new()));
        };
        let alias = if alias.starts_with("alias/") {
            alias.clone()
        } else {
            format!("alias/{alias}")
        };
        let named = q.environment.as_ref().or(self.home.as_ref());
        let candidates: Vec<String> = match named {
            Some(name) => vec![name.clone()],
            None => self.environment_names(),
        };
        let mut found = Vec::new();
        let mut unloadable = Vec::new();
        for name in &candidates {
            let env = match self.environment(name) {
                Ok(env) => env,
                Err(why) if named.is_none() && why.environment.is_some() => {
                    unloadable.push(why);
                    continue;
                }
                Err(why) => return Err(why),
            };
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
                let notes = unloadable
                    .iter()
                    .map(|why| {
                        let other = why.environment.as_deref().unwrap_or_default();
                        let prefix = format!("env/{other}: ");
                        format!(
                            "{alias} is env/{}'s; env/{other} could not be searched for it: {} ({})",
                            env.name,
                            why.message.strip_prefix(&prefix).unwrap_or(&why.message),
                            why.fix
                        )
                    })
                    .collect();
                Ok((Some(env), Some(index), notes))
            }
            // The key may well be in an environment that does not load: that is the error.
            0 if !unloadable.is_empty() => {
                let searched: Vec<String> = candidates
                    .iter()
                    .filter(|c| !unloadable.iter().any(|u| u.environment.as_ref() == Some(c)))
                    .map(|c| format!("env/{c}"))
                    .collect();
                let first = unloadable.swap_remove(0);
                Err(Unanswerable {
                    message: format!(
                        "no key has {alias} in {}, and {}",
                        if searched.is_empty() {
                            "any environment that loads".to_owned()
                        } else {
                            searched.join(", ")
                        },
                        std::iter::once(&first)
                            .chain(&unloadable)
                            .map(|u| u.message.clone())
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    ..first
                })
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
        let (env, key_index, located) = self.locate(q)?;
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
        let mut notes = located;
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
        if let Some(session) = principal.session() {
            notes.push(format!(
                "{} is a session of the role {role}: a policy naming the role (with or without its path) names it, and aws:PrincipalArn is taken to be {role} (a role with a path has it in its ARN: name the role's ARN as the principal for conditions on it)",
                q.principal,
                role = session.role_arn()
            ));
        }
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
        let mut off_path_denials = Vec::new();
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
                off_path_denials.extend(off_path(
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
                off_path_denials.extend(off_path(
                    &rcps,
                    "RCP",
                    "the key's account",
                    &request,
                    true,
                )?);
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
        let lint_errors = super::as_written::answer_errors(
            org.as_deref(),
            &policies,
            &request,
            key.map_or(&[], |k| k.policy.findings.as_slice()),
        );
        if decision.outcome == eval::Outcome::ExplicitlyDenied {
            // Denied anyway: what is attached elsewhere is beside the point.
            off_path_denials.clear();
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
            off_path_denials,
            lint_errors,
            policies,
            request,
        })
    }

    fn identity_policy(&self, file: &std::path::Path) -> Result<NamedPolicy, Unanswerable> {
        let text = self
            .files()
            .read(file, kmsctl_core::project_files::POLICY)
            .map_err(|e| {
                Unanswerable::new(
                    format!("identity policy {e}"),
                    "name a policy file inside the project, relative to its root",
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
