//! Answers for the files as written: a policy with lint errors (`/root/prod/*` in
//! `aws:PrincipalOrgPaths`, an unknown condition key...) still means something to AWS, and
//! `kmsctl simulate` answers what AWS would decide with it, the errors shown beside the answer.
//! Only what leaves nothing to evaluate refuses the question: a policy that is missing, does not
//! render or does not parse, a `[tree]` that does not hold together.

use kmsctl_core::Finding;
use kmsctl_core::policy::eval::{NamedPolicy, Policies, Request};
use kmsctl_org::guards::RenderedPolicy;

use super::Unanswerable;
use super::world::OrgView;

/// The organization's error findings that are about the content of a policy that rendered
/// (which the answer can evaluate as written); `Err` with the first error that is not.
pub fn organization_errors(
    findings: &[Finding],
    rendered: &[RenderedPolicy],
) -> Result<Vec<Finding>, Unanswerable> {
    let mut content = Vec::new();
    for error in findings.iter().filter(|f| f.is_error()) {
        if rendered.iter().any(|p| p.file == error.location.file) {
            content.push(error.clone());
        } else {
            return Err(refusal(error));
        }
    }
    Ok(content)
}

/// The question cannot be answered while the organization has this error.
pub fn refusal(error: &Finding) -> Unanswerable {
    Unanswerable::new(
        format!(
            "organization/organization.toml does not validate: {}: {}",
            error.location, error.message
        ),
        "run `kmsctl validate organization` and fix what it reports",
    )
}

/// The lint errors of the files an answer was computed from: the SCPs and RCPs on its paths
/// and the key's policy, their `orgpaths-value` fixes written from the organization's tree.
pub fn answer_errors(
    org: Option<&OrgView>,
    policies: &Policies,
    request: &Request,
    key_policy_findings: &[Finding],
) -> Vec<Finding> {
    let scps: &[(String, Vec<NamedPolicy>)] =
        if request.scps_apply(policies.management_account.as_deref()) {
            &policies.scps
        } else {
            &[]
        };
    let read: Vec<&str> = scps
        .iter()
        .chain(&policies.rcps)
        .flat_map(|(_, list)| list.iter().map(|p| p.name.as_str()))
        .collect();
    let mut errors: Vec<Finding> = org
        .into_iter()
        .flat_map(|o| &o.lint_errors)
        .filter(|f| read.contains(&f.location.file.display().to_string().as_str()))
        .chain(key_policy_findings.iter().filter(|f| f.is_error()))
        .cloned()
        .collect();
    if let Some(org) = org
        && let Some(tree) = &org.tree
    {
        crate::org_path_hint::rewrite(&mut errors, tree, org.source);
    }
    errors
}
