//! The organization's SCPs and RCPs under the engine's contract (`kmsctl_core::domain::Domain`).

use std::collections::BTreeMap;

use kmsctl_aws::{ApplyError, AwsError};
use kmsctl_core::domain::{self, Checked, Domain, DriftRule, Unmanaged, Violation};
use kmsctl_core::fingerprint::fingerprint;
use kmsctl_core::project_files::ProjectFiles;
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Address, Outputs, ResourceChange};

use crate::Clients;
use crate::config::OrganizationFile;
use crate::observe::ObservedOrg;
use crate::ou_tree::OuError;

/// The organization. The lifetime is that of the files it borrows.
pub struct Organization<'a>(std::marker::PhantomData<&'a ()>);

/// organization.toml and the reader of the policy files it names: the policies are rendered
/// again with the live OU ids before the diff.
#[derive(Clone, Copy)]
pub struct DesiredOrganization<'a> {
    pub files: &'a ProjectFiles,
    pub file: &'a SourceFile,
    pub org: &'a OrganizationFile,
}

#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// Paths by OU names need unique names.
    #[error(transparent)]
    Tree(#[from] OuError),
}

/// The organization is read whole: nothing to scope.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Whole;

impl<'a> Domain for Organization<'a> {
    const NAME: &'static str = "organizations";
    const KINDS: &'static [kmsctl_core::ResourceKind] = &crate::kinds::KINDS;
    const RULES: &'static [&'static kmsctl_core::Rule] = crate::RULES;

    type Clients = Clients;
    type Desired = DesiredOrganization<'a>;
    type Scope = Whole;
    type Observed = ObservedOrg;
    type Diff = domain::Diff;
    type Op = crate::ops::OrgOp;
    type ObserveError = ObserveError;
    type ApplyError = ApplyError;

    fn scope(_desired: &Self::Desired) -> Whole {
        Whole
    }

    async fn observe(
        client: &Clients,
        _scope: &Whole,
        parallelism: usize,
    ) -> Result<ObservedOrg, ObserveError> {
        let observed = crate::observe::observe(client, parallelism).await?;
        observed.tree.check_unique()?;
        Ok(observed)
    }

    /// The policies rendered with the live OU ids and checked again (the offline answers are
    /// only as true as `[tree]`), the declared tree compared with the live one, then the diff.
    fn diff(desired: &Self::Desired, observed: &ObservedOrg) -> domain::Diff {
        let DesiredOrganization { files, file, org } = *desired;
        let (rendered, mut findings) = crate::guards::check(files, file, org, Some(&observed.tree));
        if let Some(declared) = &org.tree {
            findings.extend(crate::declared_tree::compare(
                file,
                declared,
                &observed.tree,
            ));
        }
        let diff = crate::diff::diff(file, org, &rendered, observed);
        findings.extend(diff.findings);
        // What drift reports as unmanaged, the plan says too: "No changes" is not "nothing else".
        let notes = crate::drift::unmanaged(file, org, observed)
            .into_iter()
            .map(|u| {
                kmsctl_core::Note::new(
                    kmsctl_core::NoteLevel::Info,
                    None,
                    format!(
                        "{}; it only restricts, and kmsctl leaves it alone",
                        u.message
                    ),
                )
            })
            .collect();
        domain::Diff {
            changes: diff.changes,
            notes,
            findings,
        }
    }

    /// Every change depends on the whole organization as observed (a policy attached elsewhere
    /// changes what an attachment means).
    fn fingerprints(
        _scope: &Whole,
        observed: &ObservedOrg,
        changes: &[ResourceChange],
    ) -> BTreeMap<Address, Option<String>> {
        let print = fingerprint(&observed.snapshot());
        changes
            .iter()
            .map(|c| (c.address.clone(), Some(print.clone())))
            .collect()
    }

    async fn apply_change(
        client: &Clients,
        change: &ResourceChange,
        outputs: &Outputs,
    ) -> Result<BTreeMap<String, String>, ApplyError> {
        crate::ops::apply_change(client, change, outputs).await
    }

    fn violations(desired: &Self::Desired, observed: &ObservedOrg) -> Vec<Violation> {
        crate::weakened::violations(desired, observed)
    }

    fn checked(desired: &Self::Desired, observed: &ObservedOrg) -> Vec<Checked> {
        crate::drift::checked(desired.file, desired.org, observed)
    }

    fn sensitive(
        _desired: &Self::Desired,
        observed: &ObservedOrg,
        change: &ResourceChange,
    ) -> Vec<kmsctl_core::approval::Sensitive> {
        crate::weakened::sensitive(observed, change)
    }

    fn drift_rule(desired: &Self::Desired, change: &ResourceChange) -> DriftRule {
        crate::drift::drift_rule(desired.file, desired.org, change)
    }

    async fn unmanaged(
        _client: &Clients,
        desired: &Self::Desired,
        observed: &ObservedOrg,
        _parallelism: usize,
    ) -> Result<Vec<Unmanaged>, ObserveError> {
        Ok(crate::drift::unmanaged(desired.file, desired.org, observed))
    }
}
