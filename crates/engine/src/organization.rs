//! The `organization` target: `organization/organization.toml` and the SCPs and RCPs it attaches.

use std::path::Path;

use kmsctl_core::domain::Domain;
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Target};
use kmsctl_org::config::OrganizationFile;
use kmsctl_org::{DesiredOrganization, Organization};

use crate::Context;
use crate::config::organization::without_secrets;
use crate::error::{Error, Result};
use crate::parts::{Evidence, Parts};
use crate::project::ORGANIZATION_EXPECT_FILE as EXPECT_FILE;
pub use crate::project::ORGANIZATION_TARGET as TARGET;
use crate::target::{Planned, connect};

/// `organization/expect.toml`'s boundary tests, answered from the files; nothing when the file
/// does not exist.
pub fn check_expectations(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
    rendered: &[kmsctl_org::guards::RenderedPolicy],
) -> Result<crate::simulate::expect::Checked> {
    use crate::simulate::expect::{self, ExpectFile};
    use crate::simulate::world::OrgView;
    let relative = Path::new(EXPECT_FILE);
    let text = match ctx
        .project
        .files
        .read(relative, kmsctl_core::project_files::CONFIG)
    {
        Ok(text) => text,
        Err(kmsctl_core::project_files::FileError::Missing { .. }) => {
            return Ok(expect::Checked::default());
        }
        Err(error) => return Err(crate::project::file_error(&error)),
    };
    let text = without_secrets(relative, &text)?;
    let parsed: ExpectFile = toml::from_str(&text).map_err(|e| {
        Error::in_toml(relative, &text, &e).help("see \"Boundary tests\" in README.md")
    })?;
    let view = OrgView::new(file.clone(), org.clone(), rendered.to_vec());
    let mut world = crate::simulate::World::new(ctx).with_organization(view);
    let decls: Vec<_> = parsed.expect.iter().collect();
    Ok(expect::check(
        &mut world,
        &SourceFile::new(relative, text),
        &decls,
    ))
}

/// Where the offline answers' ids come from, for messages.
pub const DECLARED_TREE: &str = "organization.toml's [tree]";

/// The organization's offline guards (`kmsctl_org::guards::check` without AWS), with the fixes
/// of `orgpaths-value` findings written from the project's own `[tree]`.
pub fn offline_check(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
) -> (Vec<kmsctl_org::guards::RenderedPolicy>, Vec<Finding>) {
    let (rendered, mut findings) = kmsctl_org::guards::check(&ctx.project.files, file, org, None);
    if let Some(tree) = declared_tree(file, org) {
        crate::org_path_hint::rewrite(&mut findings, &tree, DECLARED_TREE);
    }
    findings.extend(approvals_without_backend(ctx, file, org));
    (rendered, findings)
}

/// Dual control records approvals in the backend: `[approvals]` without one would refuse every
/// change it covers.
pub const APPROVALS_BACKEND: kmsctl_core::Rule = kmsctl_core::Rule::warning(
    "approvals-backend",
    None,
    "[approvals] requires approvals and kmsctl.toml sets a [backend] to record them",
);

fn approvals_without_backend(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
) -> Option<Finding> {
    let first = org.approvals.required_for.first()?;
    // A kmsctl.toml that does not parse is reported by the commands that read it.
    let has_backend = crate::team::project_file(ctx).map_or(true, |p| p.backend.is_some());
    if has_backend {
        return None;
    }
    Some(Finding::of(
        &APPROVALS_BACKEND,
        file.location(first.span()),
        format!(
            "[approvals] requires an approval for {}, and there is no [backend] in {} to record approvals: apply refuses every such change",
            org.approvals
                .kinds()
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", "),
            crate::team::PROJECT_FILE
        ),
        format!(
            "add `[backend]` with `s3_bucket = \"BUCKET\"` to {} in the project root (README \"Teams\"), or remove [approvals]",
            crate::team::PROJECT_FILE
        ),
    ))
}

/// The tree organization.toml's `[tree]` declares, when it has one that holds together.
pub fn declared_tree(
    file: &SourceFile,
    org: &OrganizationFile,
) -> Option<kmsctl_org::ou_tree::OrgTree> {
    let declared = org.tree.as_ref()?;
    kmsctl_org::declared_tree::build(file, declared).ok()
}

pub fn target(org: &OrganizationFile) -> Target {
    Target {
        kind: TARGET.into(),
        name: TARGET.into(),
        path: "organization".into(),
        account_id: org.account_id.get_ref().clone(),
        region: org.region.get_ref().clone(),
        assume_role_arn: org.assume_role_arn.as_ref().map(|r| r.get_ref().clone()),
    }
}

/// Offline guards, then observe, render with the real OU ids, check again, and diff.
pub async fn make(ctx: &Context, file: &SourceFile, org: &OrganizationFile) -> Result<Planned> {
    Ok(make_with_evidence(ctx, file, org, None).await?.0)
}

/// The plan and, with `drift`, the organization's drift evidence (`None` without `drift`, or when
/// the offline guards refuse the files). `drift` names the environments the same run reports on:
/// a boundary test that cannot be answered only because one of them does not load is that
/// environment's error, not the organization's.
pub async fn make_with_evidence(
    ctx: &Context,
    file: &SourceFile,
    org: &OrganizationFile,
    drift: Option<&std::collections::BTreeSet<String>>,
) -> Result<(Planned, Option<Evidence>)> {
    let (offline_rendered, mut offline) = offline_check(ctx, file, org);
    if !offline.iter().any(Finding::is_error) {
        let checked = check_expectations(ctx, file, org, &offline_rendered)?;
        let none = std::collections::BTreeSet::new();
        offline.extend(checked.findings_besides(drift.unwrap_or(&none)));
    }
    if offline.iter().any(Finding::is_error) {
        return Ok((Planned::Refused(offline), None));
    }
    let target = target(org);
    let session = connect(ctx, &target).await?;
    let client = kmsctl_org::client(&session);
    let desired = DesiredOrganization {
        files: &ctx.project.files,
        file,
        org,
    };
    let part = Organization::plan(&client, &desired, ctx.parallelism)
        .await
        .map_err(|e| match e {
            kmsctl_org::domain::ObserveError::Aws(e) => {
                Error::new(format!("reading the organization failed: {e}"))
            }
            tree => Error::new(tree.to_string()),
        })?;
    let required = match drift {
        Some(_) => Default::default(),
        None => crate::team::required(ctx)?,
    };
    let mut parts = Parts::new(Vec::new())
        .with_evidence(drift.is_some())
        .judging(required);
    parts.add::<Organization>(&desired, &part.scope, &part.observed, part.diff)?;
    parts
        .add_unmanaged::<Organization>(&client, &desired, &part.observed, ctx.parallelism)
        .await
        .map_err(|e| Error::new(format!("reading the organization failed: {e}")))?;
    let evidence = parts.take_evidence();
    Ok((parts.into_planned(target), evidence))
}
