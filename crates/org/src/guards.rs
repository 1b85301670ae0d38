//! The organization's offline guards (`kmsctl validate organization`): every attached policy
//! exists, renders, parses, fits AWS's 5,120-character limit as uploaded, follows its type's
//! rules, and no target carries more than 5 policies of a type.
//!
//! Offline, OU paths resolve to the ids `[tree]` declares, else to stand-in ids of AWS's usual lengths (`o-` + 10, `r-` + 4,
//! `ou-` + 4 + `-` + 8): sizes are checked again with the real ids when planning.

use kmsctl_core::project_files::{POLICY, ProjectFiles};
use std::collections::BTreeMap;
use std::path::Path;

use kmsctl_core::policy::{self, PolicyDocument};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Location, Rule};

use crate::budget::Budget;
use crate::config::{OrganizationFile, PolicyType};
use crate::ou_tree::OrgTree;
use crate::target::Target;
use crate::{minify, template};
use kmsctl_core::limits::MAX_ORG_POLICY_CHARS;

pub const ORG_POLICY_TYPE: Rule = Rule::error(
    "org-policy-type",
    None,
    "the policy types attached are in enabled_policy_types",
);
pub const ORG_POLICY_UNATTACHED: Rule = Rule::error_or_warning(
    "org-policy-unattached",
    None,
    "every [policy.NAME] names a policy the file attaches (an error when the name is a misspelling of one)",
);
pub const ORG_TARGET: Rule = Rule::error(
    "org-target",
    None,
    "every target is root, an OU path, an OU id or an account id, and exists (plan)",
);
pub const ORG_POLICY_BUDGET: Rule = Rule::error(
    "org-policy-budget",
    None,
    "AWS's limit of policies of a type on a target, its FullAWSAccess and policies attached by hand included",
);
pub const ORG_POLICY_UNKNOWN: Rule = Rule::error(
    "org-policy-unknown",
    None,
    "every attached policy has its file",
);
pub const ORG_POLICY_SIZE: Rule = Rule::error(
    "org-policy-size",
    None,
    "AWS's size limit, counted as uploaded (minified)",
);
pub const ORG_POLICY_TEMPLATE: Rule = Rule::error(
    "org-policy-template",
    None,
    "every {{ variable }} and {{ ou_path '...' }} renders",
);
pub const ORG_POLICY_JSON: Rule = Rule::error(
    "org-policy-json",
    None,
    "the rendered policy is a JSON policy document",
);
pub const ORG_POLICY_VERSION: Rule =
    Rule::error("org-policy-version", None, "Version is 2012-10-17");
pub const ORG_POLICY_SID: Rule =
    Rule::error("org-policy-sid", None, "Sids are letters and digits only");
pub const ORG_POLICY_STATEMENT: Rule = Rule::error(
    "org-policy-statement",
    None,
    "every statement has Action or NotAction",
);
pub const ORG_SCP_PRINCIPAL: Rule =
    Rule::error("org-scp-principal", None, "an SCP takes no Principal");
pub const ORG_RCP_EFFECT: Rule = Rule::error("org-rcp-effect", None, "an RCP only denies");
pub const ORG_RCP_PRINCIPAL: Rule =
    Rule::error("org-rcp-principal", None, "an RCP's Principal is \"*\"");

pub const STAND_IN_ORG: &str = "o-aaaaaaaaaa";
const STAND_IN_ROOT: &str = "r-aaaa";
const STAND_IN_OU: &str = "ou-aaaa-aaaaaaaa";

/// A policy file rendered and minified: what would be uploaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedPolicy {
    pub kind: PolicyType,
    pub name: String,
    /// Relative to the project root.
    pub file: std::path::PathBuf,
    pub minified: String,
    /// Characters of the file as written, for the plan's "size before and after".
    pub written_size: usize,
}

pub fn stand_in_path(names: &[String]) -> Result<String, String> {
    let mut path = format!("{STAND_IN_ORG}/{STAND_IN_ROOT}/");
    for _ in names {
        path.push_str(STAND_IN_OU);
        path.push('/');
    }
    Ok(path)
}

/// Every guard over the organization file and the policies it attaches.
/// With `tree` (at plan time) `{{ ou_path }}` and `{{ org_id }}` resolve to the real ids;
/// without it (offline) to the ids `[tree]` declares, else to stand-ins of AWS's usual lengths.
pub fn check(
    files: &ProjectFiles,
    file: &SourceFile,
    org: &OrganizationFile,
    tree: Option<&OrgTree>,
) -> (Vec<RenderedPolicy>, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut rendered: BTreeMap<(PolicyType, String), RenderedPolicy> = BTreeMap::new();
    // Offline, the ids organization.toml declares in [tree] (when it does) stand for AWS's.
    let declared = match (tree, &org.tree) {
        (None, Some(declared)) => match crate::declared_tree::build(file, declared) {
            Ok(tree) => Some(tree),
            Err(errors) => {
                findings.extend(errors);
                None
            }
        },
        _ => None,
    };
    let tree = tree.or(declared.as_ref());
    let mut vars = org.template_variables();
    let org_id = tree.map_or(STAND_IN_ORG, |t| t.org_id.as_str());
    vars.entry("org_id".into()).or_insert_with(|| org_id.into());
    let resolve = |names: &[String]| match tree {
        Some(tree) => tree.org_path(names).map_err(|e| e.to_string()),
        None => stand_in_path(names),
    };
    for kind in PolicyType::ALL {
        let attachments = org.attachments(kind);
        let enabled = org
            .enabled_policy_types
            .iter()
            .any(|t| *t.get_ref() == kind);
        // The targets that attach policies of a type not enabled: one finding for them all.
        let mut not_enabled: Vec<&toml::Spanned<String>> = Vec::new();
        for (target, names) in attachments {
            let at = file.location(target.span());
            if !enabled && !names.is_empty() {
                not_enabled.push(target);
            }
            if let Err(error) = Target::parse(target.get_ref()) {
                findings.push(Finding::of(
                    &ORG_TARGET,
                    at.clone(),
                    error.to_string(),
                    "fix the target",
                ));
            }
            let declared: Vec<String> = names.iter().map(|n| n.get_ref().clone()).collect();
            let kept = if declared.iter().any(|n| n == kind.aws_managed()) {
                vec![]
            } else {
                vec![kind.aws_managed().to_owned()]
            };
            let budget = Budget::after_apply(&declared, &kept);
            if budget.over() {
                findings.push(Finding::of(
                    &ORG_POLICY_BUDGET,
                    at.clone(),
                    format!("{} on {}: {}", kind.api_name(), target.get_ref(), budget.describe()),
                    "combine policies (one policy may hold many statements) or attach some lower in the tree",
                ));
            }
            for name in names {
                let key = (kind, name.get_ref().clone());
                if name.get_ref() == kind.aws_managed() || rendered.contains_key(&key) {
                    continue;
                }
                match render_policy(files, kind, name.get_ref(), &vars, &resolve) {
                    Ok((policy, policy_findings)) => {
                        findings.extend(policy_findings);
                        rendered.insert(key, policy);
                    }
                    Err(finding) => {
                        let mut finding = *finding;
                        // A policy that cannot be read is reported where it is attached.
                        if finding.location.file.as_os_str().is_empty() {
                            finding.location = file.location(name.span());
                        }
                        findings.push(finding);
                    }
                }
            }
        }
        if let Some(finding) = type_not_enabled(file, kind, not_enabled) {
            findings.push(finding);
        }
    }
    findings.extend(unattached_settings(files, file, org));
    let rendered: Vec<RenderedPolicy> = rendered.into_values().collect();
    findings.extend(crate::deployer::check(&crate::deployer::Context {
        files,
        file,
        org,
        rendered: &rendered,
        tree,
        org_id,
        resolve: &resolve,
    }));
    findings.extend(crate::lint::warnings(&rendered));
    (rendered, findings)
}

/// One `org-policy-type` finding for every target that attaches policies of `kind` while the
/// type is not enabled: at the first of them, naming each with its line.
fn type_not_enabled(
    file: &SourceFile,
    kind: PolicyType,
    mut targets: Vec<&toml::Spanned<String>>,
) -> Option<Finding> {
    targets.sort_by_key(|target| target.span().start);
    let first = targets.first()?;
    let places: Vec<String> = targets
        .iter()
        .map(|target| {
            format!(
                "{} (line {})",
                target.get_ref(),
                file.line_of(target.span().start)
            )
        })
        .collect();
    Some(Finding::of(
        &ORG_POLICY_TYPE,
        file.location(first.span()),
        format!(
            "[{}] attaches policies to {}, but {} is not in enabled_policy_types",
            kind.table(),
            places.join(", "),
            kind.api_name()
        ),
        format!(
            "add \"{}\" to enabled_policy_types: kmsctl enables it on the root before attaching",
            kind.api_name()
        ),
    ))
}

/// `[policy.NAME]` tables whose policy no attachment list names: their settings apply to
/// nothing, and the policy itself is neither checked nor uploaded. A warning (a policy detached
/// everywhere on purpose may keep its table), an error when the name has no policy file and is
/// one or two letters from an attached policy's: that policy's settings are lost.
fn unattached_settings(
    files: &ProjectFiles,
    file: &SourceFile,
    org: &OrganizationFile,
) -> Vec<Finding> {
    let attached: Vec<(PolicyType, &str)> = PolicyType::ALL
        .into_iter()
        .flat_map(|kind| {
            org.attachments(kind)
                .values()
                .flatten()
                .map(move |name| (kind, name.get_ref().as_str()))
        })
        .collect();
    let mut findings = Vec::new();
    for name in org.policy.keys() {
        let name_ref = name.get_ref().as_str();
        if attached.iter().any(|(_, n)| *n == name_ref) {
            continue;
        }
        let valid_name = !name_ref.is_empty()
            && name_ref
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let file_of = |kind: PolicyType| {
            let relative = Path::new("policies/org")
                .join(kind.folder())
                .join(format!("{name_ref}.json"));
            (valid_name && files.resolve(&relative).is_ok_and(|p| p.is_file())).then_some(relative)
        };
        let existing = PolicyType::ALL
            .into_iter()
            .find_map(|kind| file_of(kind).map(|relative| (kind, relative)));
        let nearest = attached
            .iter()
            .map(|(_, n)| (kmsctl_core::template::levenshtein(name_ref, n), *n))
            .filter(|(distance, _)| *distance <= 2)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, n)| n);
        let misspelt = existing.is_none() && nearest.is_some();
        let (what, fix) = match (existing, nearest) {
            (Some((kind, relative)), _) => (
                format!("{} exists, attached nowhere", relative.display()),
                format!(
                    "attach it: add \"{name_ref}\" to a target's list under [{}] (root = [\"{name_ref}\"]), or remove [policy.{name_ref}]",
                    kind.table()
                ),
            ),
            (None, Some(nearest)) => (
                format!("did you mean [policy.{nearest}]?"),
                format!("rename the table [policy.{nearest}], or remove it"),
            ),
            (None, None) => (
                format!(
                    "no policies/org/service_control_policy/{name_ref}.json or policies/org/resource_control_policy/{name_ref}.json exists either"
                ),
                format!(
                    "write the policy under policies/org/service_control_policy/ (or resource_control_policy/) and attach it: [service_control_policies] root = [\"{name_ref}\"]; or remove [policy.{name_ref}]"
                ),
            ),
        };
        let finding = if misspelt {
            Finding::of
        } else {
            Finding::warning_of
        };
        findings.push(finding(
            &ORG_POLICY_UNATTACHED,
            file.location(name.span()),
            format!(
                "[policy.{name_ref}] gives settings to policy {name_ref}, but no list under [service_control_policies] or [resource_control_policies] attaches it, and kmsctl neither checks nor uploads a policy it does not attach ({what})"
            ),
            fix,
        ));
    }
    findings
}

/// Reads, renders, minifies and checks one policy file.
fn render_policy(
    files: &ProjectFiles,
    kind: PolicyType,
    name: &str,
    vars: &BTreeMap<String, String>,
    resolve: &dyn Fn(&[String]) -> Result<String, String>,
) -> Result<(RenderedPolicy, Vec<Finding>), Box<Finding>> {
    let valid_name = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let relative = Path::new("policies/org")
        .join(kind.folder())
        .join(format!("{name}.json"));
    let missing = |message: String| {
        Finding::of(
            &ORG_POLICY_UNKNOWN,
            Location::default(),
            message,
            format!("create {} or fix the name", relative.display()),
        )
    };
    if !valid_name {
        return Err(Box::new(missing(format!(
            "{name:?} is not a policy name: use the file stem of a policy under policies/org/{}/",
            kind.folder()
        ))));
    }
    let text = files
        .read(&relative, POLICY)
        .map_err(|e| missing(format!("policy {name}: {e}")))
        .map_err(Box::new)?;
    let at = |line: usize| Location::at_line(relative.clone(), line);
    // Measured on its bytes before anything renders or parses it (the exact limit, on the
    // minified upload, is checked below).
    let too_large = |len: usize| {
        Box::new(Finding::of(
            &ORG_POLICY_SIZE,
            at(1),
            format!(
                "policy {name} is {len} bytes; AWS allows {MAX_ORG_POLICY_CHARS} characters as uploaded (minified), and kmsctl does not parse more than {} bytes",
                policy::MAX_POLICY_TEXT_BYTES
            ),
            "split it into two policies, or shorten it (wildcards in Action lists, fewer statements)",
        ))
    };
    if text.len() > policy::MAX_POLICY_TEXT_BYTES {
        return Err(too_large(text.len()));
    }
    let rendered = template::render(&text, vars, resolve)
        .map_err(|e| {
            Finding::of(
                &ORG_POLICY_TEMPLATE,
                at(e.line()),
                e.to_string(),
                "declare the variable under [variables], or write {{ ou_path 'root/NAME' }}",
            )
        })
        .map_err(Box::new)?;
    if rendered.len() > policy::MAX_POLICY_TEXT_BYTES {
        return Err(too_large(rendered.len()));
    }
    let minified = minify::minify(&rendered)
        .map_err(|e| {
            Finding::of(
                &ORG_POLICY_JSON,
                at(e.line()),
                format!("policy {name} is not valid JSON: {e}"),
                "fix the JSON",
            )
        })
        .map_err(Box::new)?;
    let document = policy::parse(&rendered)
        .map_err(|e| {
            Finding::of(
                &ORG_POLICY_JSON,
                at(e.line),
                format!("policy {name}: {e}"),
                "fix the policy document",
            )
        })
        .map_err(Box::new)?;
    let mut findings = Vec::new();
    let size = minify::size(&minified);
    if size > MAX_ORG_POLICY_CHARS {
        findings.push(Finding::of(
            &ORG_POLICY_SIZE,
            at(1),
            format!("policy {name} is {size} characters as uploaded (minified; {} as written); AWS allows {MAX_ORG_POLICY_CHARS}", minify::size(&text)),
            "split it into two policies, or shorten it (wildcards in Action lists, fewer statements)",
        ));
    }
    check_grammar(kind, name, &document, &relative, &mut findings);
    let policy = RenderedPolicy {
        kind,
        name: name.to_owned(),
        file: relative,
        minified,
        written_size: minify::size(&text),
    };
    Ok((policy, findings))
}

fn check_grammar(
    kind: PolicyType,
    name: &str,
    document: &PolicyDocument,
    file: &Path,
    findings: &mut Vec<Finding>,
) {
    let at =
        |line: usize, pointer: &str| Location::at_line(file.to_owned(), line).with_pointer(pointer);
    if document.version.as_deref() != Some(policy::POLICY_LANGUAGE_VERSION) {
        findings.push(Finding::of(
            &ORG_POLICY_VERSION,
            at(1, "/Version"),
            format!("policy {name}: Version must be \"2012-10-17\""),
            "set \"Version\": \"2012-10-17\"",
        ));
    }
    for statement in &document.statements {
        let label = statement
            .sid
            .clone()
            .unwrap_or_else(|| format!("#{}", statement.index + 1));
        if let Some(sid) = &statement.sid
            && !sid.chars().all(|c| c.is_ascii_alphanumeric())
        {
            findings.push(Finding::of(
                &ORG_POLICY_SID,
                at(statement.line_of("Sid"), &statement.pointer),
                format!(
                    "policy {name}: Sid {sid:?} must be letters and digits only in an SCP or RCP"
                ),
                "remove spaces and punctuation from the Sid",
            ));
        }
        if statement.action.is_none() && statement.not_action.is_none() {
            findings.push(Finding::of(
                &ORG_POLICY_STATEMENT,
                at(statement.line, &statement.pointer),
                format!("policy {name}: statement {label} has no Action or NotAction"),
                "add an Action list",
            ));
        }
        match kind {
            PolicyType::ServiceControlPolicy => {
                if statement.principal.is_some() || statement.not_principal.is_some() {
                    findings.push(Finding::of(&ORG_SCP_PRINCIPAL, at(statement.line_of("Principal"), &statement.pointer), format!("policy {name}: statement {label} has a Principal; SCPs apply to the principals of the accounts below their target and take none"), "remove Principal (use aws:PrincipalArn in a Condition to single out principals)"));
                }
            }
            PolicyType::ResourceControlPolicy => {
                if !statement.is_deny() {
                    findings.push(Finding::of(&ORG_RCP_EFFECT, at(statement.line_of("Effect"), &statement.pointer), format!("policy {name}: statement {label} is not a Deny; RCPs only deny (RCPFullAWSAccess is the only Allow)"), "make it a Deny, or move the grant to a key policy"));
                }
                if !statement
                    .principal
                    .as_ref()
                    .is_some_and(policy::Principals::is_public)
                    || matches!(&statement.principal, Some(policy::Principals::Map(_)))
                {
                    findings.push(Finding::of(&ORG_RCP_PRINCIPAL, at(statement.line_of("Principal"), &statement.pointer), format!("policy {name}: statement {label} must have \"Principal\": \"*\"; RCPs name principals through conditions"), "set \"Principal\": \"*\" and narrow it with a Condition"));
                }
            }
        }
    }
}
