//! Whether an SCP or RCP would stop kmsctl itself. The evaluation engine answers for the
//! deployer role in each account a policy bears on, making the requests an apply makes (a role
//! session without MFA, over TLS, with the tags kmsctl sends and its 30-day deletion window).
//! A denied action kmsctl needs to restore a control is an error unless organization.toml lists
//! it in `deployer_knowingly_denied`; any other denied action kmsctl calls is a warning.

use std::collections::{BTreeMap, BTreeSet};

use kmsctl_core::policy::catalog::Catalog;
use kmsctl_core::policy::eval::{self, Principal, Request};
use kmsctl_core::policy::{self, Statement};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Location, Rule};

use crate::config::{OrganizationFile, PolicyType};
use crate::guards::RenderedPolicy;
use crate::ou_tree::OrgTree;
use crate::target::Target;

pub const ORG_DEPLOYER_DENIED: Rule = Rule::error_or_warning(
    "org-deployer-denied",
    None,
    "no SCP or RCP denies the deployer what kmsctl needs to restore a control (an error), or another action kmsctl calls (a warning)",
);
pub const ORG_DEPLOYER_KNOWINGLY_DENIED: Rule = Rule::error_or_warning(
    "org-deployer-knowingly-denied",
    None,
    "deployer_knowingly_denied names actions in full (an error), ones kmsctl calls (a warning)",
);

/// What kmsctl calls when it plans and applies environments: KMS, and CloudTrail's reads of
/// the check that a trail delivers the KMS events an environment's alerts match
/// (`cloudtrail-missing`).
pub const KMSCTL_ACTIONS: &[&str] = &[
    "kms:CreateKey",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:EnableKeyRotation",
    "kms:DisableKeyRotation",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:EnableKey",
    "kms:DisableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:UpdateKeyDescription",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:ListKeys",
    "kms:ListAliases",
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetTrailStatus",
    "cloudtrail:GetEventSelectors",
];

/// The actions kmsctl needs to restore a control that drifted, and so must never be denied to
/// the deployer unknowingly. To see the drift: `DescribeKey`, `GetKeyPolicy`,
/// `GetKeyRotationStatus`, `ListResourceTags`, `ListKeys` and `ListAliases` (how kmsctl finds
/// and reads its keys). To put it back: `PutKeyPolicy` (access, 3.2.x), `TagResource` (required
/// tags, 3.1.1), `EnableKeyRotation` (3.3.1), `CancelKeyDeletion` (3.4.1, undoing a deletion
/// nobody planned), `EnableKey` (a disabled key), `CreateKey` (a key that is gone). The others
/// kmsctl calls loosen or rename (`DisableKeyRotation`, `ScheduleKeyDeletion`, `DisableKey`,
/// `UntagResource`, aliases, descriptions): an SCP denying those only stops some changes.
pub const RESTORE_ACTIONS: &[&str] = &[
    "kms:CreateKey",
    "kms:PutKeyPolicy",
    "kms:TagResource",
    "kms:EnableKeyRotation",
    "kms:CancelKeyDeletion",
    "kms:EnableKey",
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    "kms:ListKeys",
    "kms:ListAliases",
];

/// Stands for the accounts under a target that `[tree]` places none in.
const REPRESENTATIVE_ACCOUNTS: [&str; 2] = ["111122223333", "444455556666"];

/// The tags kmsctl adds to every key it manages, besides those the rules require.
const KMSCTL_TAGS: &[&str] = &["kmsctl:managed", "kmsctl:environment", "kmsctl:id"];

/// What the deployer check reads.
pub struct Context<'a> {
    pub files: &'a kmsctl_core::project_files::ProjectFiles,
    /// organization.toml.
    pub file: &'a SourceFile,
    pub org: &'a OrganizationFile,
    pub rendered: &'a [RenderedPolicy],
    /// The ids the policies were rendered with (`[tree]`, AWS's, or stand-ins).
    pub tree: Option<&'a OrgTree>,
    pub org_id: &'a str,
    /// An OU path by names to its `aws:PrincipalOrgPaths` value, as the policies were rendered.
    pub resolve: &'a dyn Fn(&[String]) -> Result<String, String>,
}

/// An account a policy bears on, and where it sits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    account: String,
    /// OU names under the root, when known.
    ou: Option<Vec<String>>,
}

/// One Deny statement that denies the deployer: what and where.
#[derive(Default)]
struct Denial {
    actions: BTreeSet<&'static str>,
    accounts: BTreeSet<String>,
    deployers: BTreeSet<String>,
}

/// Errors and warnings for the SCPs and RCPs that deny the deployer an action kmsctl needs, and
/// for `deployer_knowingly_denied` entries that name no action.
pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut findings = knowingly_denied_names(ctx);
    let knowingly: BTreeSet<String> = ctx
        .org
        .deployer_knowingly_denied
        .iter()
        .map(|a| a.get_ref().to_lowercase())
        .collect();
    let deployer = ctx.org.deployer_role_arn();
    let deployer = deployer.as_str();
    let management = ctx.org.account_id.get_ref().as_str();
    for rendered in ctx.rendered {
        let Ok(document) = policy::parse(&rendered.minified) else {
            continue;
        };
        let is_rcp = rendered.kind == PolicyType::ResourceControlPolicy;
        let mut denials: BTreeMap<usize, Denial> = BTreeMap::new();
        for place in places(ctx, rendered) {
            // Neither SCPs nor RCPs restrict the management account (its principals, its keys).
            if place.account == management {
                continue;
            }
            let arn = deployer_in(deployer, &place.account);
            let principal_account = arn.split(':').nth(4).unwrap_or_default().to_owned();
            // An SCP restricts the principals of the accounts below its target only.
            if !is_rcp && principal_account != place.account {
                continue;
            }
            let principal = principal_of(ctx, &arn, &principal_account, &place);
            for action in KMSCTL_ACTIONS {
                // An RCP guards the keys: a call on no key (CreateKey, ListKeys) has none.
                if is_rcp && on_no_key(action) {
                    continue;
                }
                let request = request(ctx, &principal, action, &place);
                if !is_rcp && !request.scps_apply(Some(management)) {
                    continue;
                }
                for statement in eval::denying(&document, &request, is_rcp) {
                    let denial = denials.entry(statement.index).or_default();
                    denial.actions.insert(action);
                    denial.accounts.insert(place.account.clone());
                    denial.deployers.insert(arn.clone());
                }
            }
        }
        for (index, denial) in denials {
            let statement = &document.statements[index];
            findings.extend(report(ctx, rendered, statement, &denial, &knowingly));
        }
    }
    findings
}

fn report(
    ctx: &Context<'_>,
    rendered: &RenderedPolicy,
    statement: &Statement,
    denial: &Denial,
    knowingly: &BTreeSet<String>,
) -> Vec<Finding> {
    let kind = match rendered.kind {
        PolicyType::ServiceControlPolicy => "SCP",
        PolicyType::ResourceControlPolicy => "RCP",
    };
    let label = statement
        .sid_name()
        .map_or_else(|| format!("#{}", statement.index + 1), str::to_owned);
    let line = ctx
        .files
        .read(&rendered.file, kmsctl_core::project_files::POLICY)
        .ok()
        .and_then(|text| policy::line_of_pointer(&text, &statement.pointer))
        .unwrap_or(1);
    let at = Location::at_line(rendered.file.clone(), line).with_pointer(&statement.pointer);
    let deployers = denial
        .deployers
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let accounts = denial
        .accounts
        .iter()
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    let (restore, other): (Vec<&str>, Vec<&str>) = denial
        .actions
        .iter()
        .partition(|a| RESTORE_ACTIONS.contains(a) && !knowingly.contains(&a.to_lowercase()));
    let whose = if rendered.kind == PolicyType::ResourceControlPolicy {
        "keys in account"
    } else {
        "account"
    };
    let mut findings = Vec::new();
    if !restore.is_empty() {
        findings.push(Finding::of(
            &ORG_DEPLOYER_DENIED,
            at.clone(),
            format!(
                "{kind} {} statement {label} denies the deployer {deployers} {} ({whose} {accounts}): kmsctl could not restore these controls when they drift",
                rendered.name,
                restore.join(", ")
            ),
            format!(
                "exempt the deployer: add \"{{{{ deployer_role_arn }}}}\" to an \"ArnNotLike\": {{\"aws:PrincipalArn\": [...]}} in the statement's Condition; if the denial is intended, list the actions in organization.toml: deployer_knowingly_denied = [{}]",
                restore.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if !other.is_empty() {
        findings.push(Finding::warning_of(
            &ORG_DEPLOYER_DENIED,
            at,
            format!(
                "{kind} {} statement {label} denies the deployer {deployers} {} ({whose} {accounts}): kmsctl could not apply those changes",
                rendered.name,
                other.join(", ")
            ),
            "exempt the deployer: add \"{{ deployer_role_arn }}\" to an \"ArnNotLike\": {\"aws:PrincipalArn\": [...]} in the statement's Condition, unless kmsctl need never make those changes there",
        ));
    }
    findings
}

/// `deployer_knowingly_denied` must name KMS actions, one by one.
fn knowingly_denied_names(ctx: &Context<'_>) -> Vec<Finding> {
    let catalog = Catalog::get();
    let mut findings = Vec::new();
    for entry in &ctx.org.deployer_knowingly_denied {
        let name = entry.get_ref();
        let at = ctx.file.location(entry.span());
        let (service, action) = name.split_once(':').unwrap_or(("", name));
        let exists = !action.contains(['*', '?'])
            && catalog
                .matching_actions(service, action)
                .is_some_and(|found| !found.is_empty());
        if !exists {
            let nearest = catalog
                .nearest_action(service, action)
                .map(|a| format!(" (did you mean \"{}:{a}\"?)", service.to_lowercase()))
                .unwrap_or_default();
            findings.push(Finding::of(
                &ORG_DEPLOYER_KNOWINGLY_DENIED,
                at,
                format!("deployer_knowingly_denied: {name:?} is not an action{nearest}"),
                "name each action in full, without wildcards: \"kms:CreateKey\"",
            ));
        } else if !KMSCTL_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(name)) {
            findings.push(Finding::warning_of(
                &ORG_DEPLOYER_KNOWINGLY_DENIED,
                at,
                format!("deployer_knowingly_denied: kmsctl never calls {name}"),
                format!("remove it; kmsctl calls {}", KMSCTL_ACTIONS.join(", ")),
            ));
        }
    }
    findings
}

/// The deployer's ARN in `account`: its `*` account replaced.
fn deployer_in(deployer: &str, account: &str) -> String {
    let mut parts: Vec<&str> = deployer.split(':').collect();
    if parts.len() == 6 && parts[4] == "*" {
        parts[4] = account;
    }
    parts.join(":")
}

/// The accounts the policy bears on: the accounts `[tree]` places below each target it is
/// attached to, or a representative account where it places none.
fn places(ctx: &Context<'_>, rendered: &RenderedPolicy) -> BTreeSet<Place> {
    let management = ctx.org.account_id.get_ref();
    let representative = REPRESENTATIVE_ACCOUNTS
        .into_iter()
        .find(|a| a != management)
        .unwrap_or(REPRESENTATIVE_ACCOUNTS[0]);
    let declared: Vec<(String, Vec<String>)> = ctx
        .org
        .tree
        .iter()
        .flat_map(|tree| {
            tree.accounts.keys().filter_map(|account| {
                let account = account.get_ref();
                Some((account.clone(), tree.account_ou(account)?))
            })
        })
        .collect();
    let mut places = BTreeSet::new();
    for (target, names) in ctx.org.attachments(rendered.kind) {
        if !names.iter().any(|n| n.get_ref() == &rendered.name) {
            continue;
        }
        let Ok(target) = Target::parse(target.get_ref()) else {
            continue;
        };
        let under = |ou: &[String]| -> Vec<Place> {
            declared
                .iter()
                .filter(|(account, names)| names.starts_with(ou) && account != management)
                .map(|(account, names)| Place {
                    account: account.clone(),
                    ou: Some(names.clone()),
                })
                .collect()
        };
        let found = match &target {
            Target::Root => under(&[]),
            Target::OuPath(ou) => under(ou),
            Target::OuId(_) => Vec::new(),
            Target::Account(account) => vec![Place {
                account: account.clone(),
                ou: declared
                    .iter()
                    .find(|(a, _)| a == account)
                    .map(|(_, names)| names.clone()),
            }],
        };
        if found.is_empty() {
            places.insert(Place {
                account: representative.to_owned(),
                ou: match target {
                    Target::Root => Some(Vec::new()),
                    Target::OuPath(ou) => Some(ou),
                    _ => None,
                },
            });
        }
        places.extend(found);
    }
    places
}

/// The deployer role in `account`, in the organization, at its place when known.
fn principal_of(ctx: &Context<'_>, arn: &str, account: &str, place: &Place) -> Principal {
    let ou = if account == place.account {
        place.ou.clone()
    } else {
        ctx.org
            .tree
            .as_ref()
            .and_then(|tree| tree.account_ou(account))
    };
    let org_paths = ou
        .and_then(|names| match ctx.tree {
            Some(tree) => tree.org_path(&names).ok(),
            None => (ctx.resolve)(&names).ok(),
        })
        .into_iter()
        .collect();
    Principal {
        arn: arn.to_owned(),
        account: account.to_owned(),
        org_id: Some(ctx.org_id.to_owned()),
        org_paths,
        tags: BTreeMap::new(),
        is_service: false,
    }
}

/// Whether `action` is made on no key: KMS's calls on no key, and every other service's (RCPs,
/// which guard keys here, skip them).
fn on_no_key(action: &str) -> bool {
    matches!(action, "kms:CreateKey" | "kms:ListKeys" | "kms:ListAliases")
        || !action.starts_with("kms:")
}

/// The request kmsctl makes for `action`, on a key in the place's account: what it sends
/// (tags on CreateKey and TagResource, a 30-day window, a 365-day rotation period, the lockout
/// check on) as a role session without MFA.
fn request(ctx: &Context<'_>, principal: &Principal, action: &str, place: &Place) -> Request {
    let region = ctx.org.region.get_ref();
    let partition = kmsctl_core::environment::partition_of(region);
    let environment = place
        .ou
        .as_ref()
        .and_then(|names| names.last().cloned())
        .unwrap_or_else(|| "root".to_owned());
    // What kmsctl sends with CreateKey and TagResource: every tag the floor requires (no
    // environment may require fewer) and its own; values are stand-ins, but for the environment
    // tag: the name of the account's OU.
    let floor = ctx.org.rules.floor();
    let tags: BTreeMap<String, String> = floor
        .required_tags
        .iter()
        .chain(std::iter::once(&floor.environment_tag))
        .map(String::as_str)
        .chain(KMSCTL_TAGS.iter().copied())
        .map(|tag| {
            let value = if tag == floor.environment_tag || tag == "kmsctl:environment" {
                environment.clone()
            } else if tag == "kmsctl:managed" {
                "true".to_owned()
            } else {
                "kmsctl".to_owned()
            };
            (tag.to_owned(), value)
        })
        .collect();
    let mut context: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut set = |key: &str, values: Vec<String>| {
        context.insert(key.to_lowercase(), values);
    };
    set("aws:MultiFactorAuthPresent", vec!["false".into()]);
    set("kms:CallerAccount", vec![principal.account.clone()]);
    set("aws:RequestedRegion", vec![region.clone()]);
    let on_no_key = on_no_key(action);
    match action {
        "kms:CreateKey" | "kms:TagResource" => {
            for (tag, value) in &tags {
                set(&format!("aws:RequestTag/{tag}"), vec![value.clone()]);
            }
            set("aws:TagKeys", tags.keys().cloned().collect());
            if action == "kms:CreateKey" {
                set("kms:KeySpec", vec!["SYMMETRIC_DEFAULT".into()]);
                set("kms:KeyUsage", vec!["ENCRYPT_DECRYPT".into()]);
                set("kms:KeyOrigin", vec!["AWS_KMS".into()]);
                set("kms:MultiRegion", vec!["false".into()]);
                set("kms:BypassPolicyLockoutSafetyCheck", vec!["false".into()]);
            }
        }
        "kms:PutKeyPolicy" => set("kms:BypassPolicyLockoutSafetyCheck", vec!["false".into()]),
        "kms:ScheduleKeyDeletion" => {
            set(
                "kms:ScheduleKeyDeletionPendingWindowInDays",
                vec!["30".into()],
            );
        }
        "kms:EnableKeyRotation" => set("kms:RotationPeriodInDays", vec!["365".into()]),
        _ => {}
    }
    let resource_account = if on_no_key {
        principal.account.clone()
    } else {
        place.account.clone()
    };
    Request {
        principal: principal.clone(),
        action: action.to_owned(),
        resource: if on_no_key {
            "*".to_owned()
        } else {
            format!(
                "arn:{partition}:kms:{region}:{resource_account}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            )
        },
        resource_account,
        resource_tags: if on_no_key { BTreeMap::new() } else { tags },
        context,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use kmsctl_core::Severity;

    use super::*;

    const DEPLOYER: &str = "arn:aws:iam::*:role/kmsctl-deployer";

    /// The findings for one SCP (or RCP) attached as `attach` says, under this organization.toml.
    fn findings_with(toml_extra: &str, kind: PolicyType, statements: &str) -> Vec<Finding> {
        let table = kind.table();
        let text = format!(
            r#"account_id = "123456789012"
region = "us-east-1"
deployer_role_arn = "{DEPLOYER}"
{toml_extra}
[{table}]
"root/prod" = ["guard"]
"#
        );
        let org: OrganizationFile = toml::from_str(&text).expect("valid organization.toml");
        let file = SourceFile::new("organization/organization.toml", text);
        let minified = format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#);
        let rendered = vec![RenderedPolicy {
            kind,
            name: "guard".into(),
            file: format!("policies/org/{}/guard.json", kind.folder()).into(),
            written_size: minified.len(),
            minified,
        }];
        let resolve = |names: &[String]| {
            Ok(format!(
                "o-aaaaaaaaaa/r-aaaa/{}",
                "ou-aaaa-aaaaaaaa/".repeat(names.len())
            ))
        };
        check(&Context {
            files: &kmsctl_core::project_files::ProjectFiles::new(Path::new("/nonexistent")),
            file: &file,
            org: &org,
            rendered: &rendered,
            tree: None,
            org_id: "o-aaaaaaaaaa",
            resolve: &resolve,
        })
    }

    fn scp(statements: &str) -> Vec<Finding> {
        findings_with("", PolicyType::ServiceControlPolicy, statements)
    }

    fn errors(findings: &[Finding]) -> Vec<&Finding> {
        findings.iter().filter(|f| f.is_error()).collect()
    }

    const SPEC_ADMIN: &str = r#"{"Sid":"DenyKeyAdministrationExceptKMSAdmins","Effect":"Deny","Action":["kms:CreateKey","kms:PutKeyPolicy","kms:CancelKeyDeletion","kms:EnableKeyRotation","kms:DisableKeyRotation","kms:TagResource"],"Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":["arn:aws:iam::*:role/prod-kms-admin-role"]}}}"#;

    #[test]
    fn an_unconditioned_deny_of_a_restore_action_is_an_error() {
        let found = scp(
            r#"{"Sid":"NoRotation","Effect":"Deny","Action":"kms:EnableKeyRotation","Resource":"*"}"#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        let error = &found[0];
        assert_eq!(error.rule, "org-deployer-denied");
        assert_eq!(error.severity, Severity::Error);
        assert_eq!(
            error.location,
            Location::at_line("policies/org/service_control_policy/guard.json", 1)
                .with_pointer("/Statement/0")
        );
        assert_eq!(
            error.message,
            "SCP guard statement NoRotation denies the deployer arn:aws:iam::111122223333:role/kmsctl-deployer kms:EnableKeyRotation (account 111122223333): kmsctl could not restore these controls when they drift"
        );
        assert!(
            error
                .fix
                .contains("deployer_knowingly_denied = [\"kms:EnableKeyRotation\"]")
        );
        assert!(error.fix.contains("\"ArnNotLike\""));
    }

    #[test]
    fn a_spec_admin_deny_that_forgets_the_deployer_is_an_error() {
        let found = scp(SPEC_ADMIN);
        let errors = errors(&found);
        assert_eq!(errors.len(), 1, "{found:?}");
        assert!(
            errors[0].message.contains(
                "kms:CancelKeyDeletion, kms:CreateKey, kms:EnableKeyRotation, kms:PutKeyPolicy, kms:TagResource"
            ),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0]
                .message
                .contains("DenyKeyAdministrationExceptKMSAdmins")
        );
        // DisableKeyRotation restores nothing: a warning.
        let warnings: Vec<&Finding> = found.iter().filter(|f| !f.is_error()).collect();
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].message.contains("kms:DisableKeyRotation"));

        let exempted = SPEC_ADMIN.replace(
            r#""arn:aws:iam::*:role/prod-kms-admin-role"]"#,
            r#""arn:aws:iam::*:role/prod-kms-admin-role","arn:aws:iam::*:role/kmsctl-deployer"]"#,
        );
        assert_eq!(scp(&exempted), vec![]);
    }

    #[test]
    fn knowingly_denied_actions_are_only_warned_about() {
        let listed = r#"deployer_knowingly_denied = ["kms:CreateKey", "kms:CancelKeyDeletion", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource"]"#;
        let found = findings_with(listed, PolicyType::ServiceControlPolicy, SPEC_ADMIN);
        assert!(errors(&found).is_empty(), "{found:?}");
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("kms:CreateKey"));

        let partly = r#"deployer_knowingly_denied = ["kms:CreateKey"]"#;
        let found = findings_with(partly, PolicyType::ServiceControlPolicy, SPEC_ADMIN);
        let errors = errors(&found);
        assert_eq!(errors.len(), 1);
        assert!(
            !errors[0].message.contains("kms:CreateKey"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn knowingly_denied_names_must_be_actions() {
        let found = findings_with(
            r#"deployer_knowingly_denied = ["kms:CreateKeyy", "kms:Create*", "kms:Decrypt"]"#,
            PolicyType::ServiceControlPolicy,
            r#"{"Effect":"Deny","Action":"s3:*","Resource":"*"}"#,
        );
        let rules: Vec<(&str, Severity)> = found
            .iter()
            .map(|f| (f.rule.as_str(), f.severity))
            .collect();
        assert_eq!(
            rules,
            vec![
                ("org-deployer-knowingly-denied", Severity::Error),
                ("org-deployer-knowingly-denied", Severity::Error),
                ("org-deployer-knowingly-denied", Severity::Warning),
            ]
        );
        assert!(
            found[0].message.contains("did you mean \"kms:CreateKey\""),
            "{}",
            found[0].message
        );
        assert_eq!(
            found[0].location.file,
            Path::new("organization/organization.toml")
        );
    }

    #[test]
    fn the_seeds_mfa_policy_denies_the_deployer_and_the_shipped_one_does_not() {
        let seed = r#"{"Sid":"RequireMFA","Effect":"Deny","Action":["kms:PutKeyPolicy","kms:CreateKey"],"Resource":"*","Condition":{"BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}}}"#;
        let found = scp(seed);
        assert_eq!(errors(&found).len(), 1);
        assert!(
            found[0].message.contains("kms:CreateKey, kms:PutKeyPolicy"),
            "{}",
            found[0].message
        );
        let exempted = seed.replace(
            r#""BoolIfExists":{"aws:MultiFactorAuthPresent":"false"}"#,
            r#""BoolIfExists":{"aws:MultiFactorAuthPresent":"false"},"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/kmsctl-deployer"}"#,
        );
        assert_eq!(scp(&exempted), vec![]);
    }

    #[test]
    fn conditions_the_deployer_meets_are_not_reported() {
        // kmsctl sends the required tags, a 30-day window and TLS: these denies do not hit it.
        for statement in [
            r#"{"Effect":"Deny","Action":"kms:CreateKey","Resource":"*","Condition":{"Null":{"aws:RequestTag/Project":"true"}}}"#,
            r#"{"Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*","Condition":{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":"30"}}}"#,
            r#"{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}"#,
            r#"{"Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalOrgID":"o-aaaaaaaaaa"}}}"#,
        ] {
            assert_eq!(scp(statement), vec![], "{statement}");
        }
    }

    #[test]
    fn rcps_deny_the_deployer_on_the_keys_of_the_accounts_they_bear_on() {
        let boundary = r#"{"Effect":"Deny","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringNotEqualsIfExists":{"aws:PrincipalOrgID":"o-aaaaaaaaaa"},"BoolIfExists":{"aws:PrincipalIsAWSService":"false"}}}"#;
        assert_eq!(
            findings_with("", PolicyType::ResourceControlPolicy, boundary),
            vec![]
        );
        let admins_only = r#"{"Sid":"AdminsOnly","Effect":"Deny","Principal":"*","Action":["kms:PutKeyPolicy","kms:CreateKey"],"Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/Admin"}}}"#;
        let found = findings_with("", PolicyType::ResourceControlPolicy, admins_only);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            found[0].message,
            "RCP guard statement AdminsOnly denies the deployer arn:aws:iam::111122223333:role/kmsctl-deployer kms:PutKeyPolicy (keys in account 111122223333): kmsctl could not restore these controls when they drift"
        );
    }

    #[test]
    fn denying_the_trail_checks_reads_is_a_warning_and_no_rcp_concern() {
        let found =
            scp(r#"{"Sid":"NoTrails","Effect":"Deny","Action":"cloudtrail:*","Resource":"*"}"#);
        assert!(errors(&found).is_empty(), "{found:?}");
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains(
                "cloudtrail:DescribeTrails, cloudtrail:GetEventSelectors, cloudtrail:GetTrailStatus"
            ),
            "{}",
            found[0].message
        );
        let rcp = r#"{"Effect":"Deny","Principal":"*","Action":"cloudtrail:*","Resource":"*"}"#;
        assert_eq!(
            findings_with("", PolicyType::ResourceControlPolicy, rcp),
            vec![]
        );
    }

    #[test]
    fn the_accounts_of_the_tree_are_asked_and_the_management_account_is_not() {
        let tree = r#"
[tree]
org_id = "o-a1b2c3d4e5"
root_id = "r-ab12"
[tree.ous]
"root/prod" = "ou-ab12-22222222"
[tree.accounts]
"123456789012" = "root/prod"
"222222222222" = "root/prod"
"#;
        let found = findings_with(
            tree,
            PolicyType::ServiceControlPolicy,
            r#"{"Sid":"NoRotation","Effect":"Deny","Action":"kms:EnableKeyRotation","Resource":"*"}"#,
        );
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].message.contains(
                "arn:aws:iam::222222222222:role/kmsctl-deployer kms:EnableKeyRotation (account 222222222222)"
            ),
            "{}",
            found[0].message
        );
    }
}
