//! The names a question uses: its action and context keys (checked against AWS's catalog), its
//! principal's account, and where an account sits in the organization.

use super::Unanswerable;
use super::world::OrgView;

/// `ou = "outside"`: the principal's account is not in the organization (no SCP applies, no
/// `aws:PrincipalOrgID`, no `aws:PrincipalOrgPaths`).
pub const OUTSIDE: &str = "outside";

pub fn placed(org: &OrgView, account: Option<&str>) -> bool {
    account.is_some_and(|a| org.accounts.contains_key(a))
}

/// The principal's account, or that it is a service principal.
pub fn principal_account(arn: &str) -> Result<Option<String>, Unanswerable> {
    if !arn.starts_with("arn:") && arn.ends_with(".amazonaws.com") {
        return Ok(None);
    }
    let account = arn.split(':').nth(4).unwrap_or_default();
    let iam = arn.split(':').nth(2) == Some("iam") || arn.split(':').nth(2) == Some("sts");
    if !iam || account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(Unanswerable::new(
            format!("principal {arn:?} is neither an IAM ARN nor a service principal"),
            "write a role or user ARN (arn:aws:iam::111111111111:role/app), a role session (arn:aws:sts::111111111111:assumed-role/app/alice), the account's root (arn:aws:iam::111111111111:root) or a service principal (rds.amazonaws.com)",
        ));
    }
    let session = arn.split(':').nth(5).unwrap_or_default();
    if session.starts_with("assumed-role/")
        && kmsctl_core::policy::eval::Session::parse(arn).is_none()
    {
        return Err(Unanswerable::new(
            format!("principal {arn:?} is not a role session's ARN"),
            "write arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, or the role's ARN",
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
    let names = kmsctl_org::target::Target::ou_names(&path).ok_or_else(|| {
        Unanswerable::new(
            format!(
                "{ou:?} is not an OU: write a path by names from the root (root/dev) or an OU id"
            ),
            "ou = \"root/dev\"",
        )
    })?;
    tree.resolve(&names).map_err(|e| {
        Unanswerable::new(
            e.to_string(),
            "declare the OU in organization.toml's [tree.ous]",
        )
    })?;
    Ok(names)
}

/// Where an account sits, by names: `ou` when given, else `[tree.accounts]`.
pub fn account_ou(
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

/// A request names one real action and real condition keys: a typo would not match any
/// statement and give a confident wrong answer.
pub fn check_names(q: &super::Question) -> Result<(), Unanswerable> {
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
