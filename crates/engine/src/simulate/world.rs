//! What the answers are computed from: the organization (its rendered SCPs and RCPs, its
//! declared tree) and the environments' keys, loaded once and only when a question needs them.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use kmsctl_core::source::SourceFile;
use kmsctl_keys::DesiredKey;
use kmsctl_keys::desired;
use kmsctl_org::config::OrganizationFile;
use kmsctl_org::guards::RenderedPolicy;
use kmsctl_org::ou_tree::OrgTree;
use kmsctl_org::target::Target;

use super::Unanswerable;
use crate::Context;
use crate::config::load_environment;
use crate::error::Error;

/// The organization as its files declare it.
pub struct OrgView {
    pub file: SourceFile,
    pub org: OrganizationFile,
    pub rendered: Vec<RenderedPolicy>,
    /// From `[tree]` (or read from AWS with `--live`); `None` when there is none.
    pub tree: Option<OrgTree>,
    /// Account id → the OU path by names it sits in (empty: directly under the root).
    pub accounts: BTreeMap<String, Vec<String>>,
    /// Where the ids and places come from, for messages.
    pub source: &'static str,
    /// Errors in the content of policies that rendered: the answers evaluate them as written
    /// (see [`super::as_written`]).
    pub lint_errors: Vec<kmsctl_core::Finding>,
}

/// An environment's place and keys.
pub struct EnvView {
    pub name: String,
    pub account: String,
    pub region: String,
    pub keys: Vec<DesiredKey>,
}

pub struct World<'a> {
    ctx: &'a Context,
    /// Loaded on first use; an organization that cannot be loaded fails every question.
    org: Option<Result<Option<Rc<OrgView>>, Unanswerable>>,
    envs: RefCell<BTreeMap<String, Rc<EnvView>>>,
    /// The environment being checked (its expectations' default).
    pub home: Option<String>,
    /// Answer even when policies have lint errors, evaluating them as written (`kmsctl
    /// simulate`); otherwise an organization with errors answers nothing (boundary tests).
    evaluate_as_written: bool,
}

impl<'a> World<'a> {
    pub fn new(ctx: &'a Context) -> Self {
        Self {
            ctx,
            org: None,
            envs: RefCell::new(BTreeMap::new()),
            home: None,
            evaluate_as_written: false,
        }
    }

    /// Answering for the files as written, their lint errors shown beside each answer.
    pub fn as_written(mut self) -> Self {
        self.evaluate_as_written = true;
        self
    }

    /// With an environment already loaded (the one being validated or planned).
    pub fn with_environment(mut self, view: EnvView) -> Self {
        self.home = Some(view.name.clone());
        self.envs
            .borrow_mut()
            .insert(view.name.clone(), Rc::new(view));
        self
    }

    /// With the organization already loaded and rendered (the target being validated).
    pub fn with_organization(mut self, view: OrgView) -> Self {
        self.org = Some(Ok(Some(Rc::new(view))));
        self
    }

    /// The organization, `None` when the project has no organization.toml.
    pub fn organization(&mut self) -> Result<Option<Rc<OrgView>>, Unanswerable> {
        let org = self
            .org
            .get_or_insert_with(|| load_organization(self.ctx))
            .clone()?;
        match org.as_ref().and_then(|o| o.lint_errors.first()) {
            Some(error) if !self.evaluate_as_written => Err(super::as_written::refusal(error)),
            _ => Ok(org),
        }
    }

    /// Every environment folder's name.
    pub fn environment_names(&self) -> Vec<String> {
        self.ctx.project.environment_names()
    }

    pub fn environment(&self, name: &str) -> Result<Rc<EnvView>, Unanswerable> {
        if let Some(view) = self.envs.borrow().get(name) {
            return Ok(Rc::clone(view));
        }
        let view = Rc::new(self.load_environment(name)?);
        self.envs
            .borrow_mut()
            .insert(name.to_owned(), Rc::clone(&view));
        Ok(view)
    }

    fn load_environment(&self, name: &str) -> Result<EnvView, Unanswerable> {
        let fail = |e: crate::error::Error| {
            Unanswerable::new(
                format!("env/{name}: {}", e.message),
                format!("run `kmsctl validate env/{name}` and fix what it reports"),
            )
            .in_environment(name)
        };
        let dir = self
            .ctx
            .project
            .environment_dir(&format!("env/{name}"))
            .map_err(fail)?;
        let env = load_environment(&self.ctx.project, &dir).map_err(fail)?;
        let keys = desired::build(&self.ctx.project.files, &env.settings, &env.declared_keys())
            .map_err(|e| fail(Error::from(e)))?;
        Ok(EnvView {
            name: env.settings.name.clone(),
            account: env.settings.account_id.clone(),
            region: env.settings.region.clone(),
            keys,
        })
    }
}

/// organization.toml with its policies rendered, `None` when the project has none.
fn load_organization(ctx: &Context) -> Result<Option<Rc<OrgView>>, Unanswerable> {
    if !ctx.project.has_organization() {
        return Ok(None);
    }
    let (file, org) = crate::config::organization::load(ctx)
        .map_err(|e| Unanswerable::new(e.message, "fix organization/organization.toml first"))?;
    let (rendered, findings) = crate::organization::offline_check(ctx, &file, &org);
    let lint_errors = super::as_written::organization_errors(&findings, &rendered)?;
    Ok(Some(Rc::new(
        OrgView::new(file, org, rendered).with_lint_errors(lint_errors),
    )))
}

impl OrgView {
    /// The ids and places organization.toml's `[tree]` declares.
    pub fn new(file: SourceFile, org: OrganizationFile, rendered: Vec<RenderedPolicy>) -> Self {
        let tree = org
            .tree
            .as_ref()
            .and_then(|declared| kmsctl_org::declared_tree::build(&file, declared).ok());
        let accounts = org
            .tree
            .iter()
            .flat_map(|declared| {
                declared.accounts.keys().filter_map(|account| {
                    let account = account.get_ref();
                    Some((account.clone(), declared.account_ou(account)?))
                })
            })
            .collect();
        Self {
            file,
            org,
            rendered,
            tree,
            accounts,
            source: crate::organization::DECLARED_TREE,
            lint_errors: Vec::new(),
        }
    }

    /// With the errors found in its policies' content (evaluated as written).
    pub fn with_lint_errors(mut self, errors: Vec<kmsctl_core::Finding>) -> Self {
        self.lint_errors = errors;
        self
    }

    /// The ids and places read from AWS Organizations (`rendered` with the same tree).
    pub fn live(
        file: SourceFile,
        org: OrganizationFile,
        rendered: Vec<RenderedPolicy>,
        tree: OrgTree,
        places: &BTreeMap<String, String>,
    ) -> Self {
        let accounts = places
            .iter()
            .map(|(account, parent)| {
                let names = Target::ou_names(&tree.path_of(parent)).unwrap_or_default();
                (account.clone(), names)
            })
            .collect();
        Self {
            file,
            org,
            rendered,
            tree: Some(tree),
            accounts,
            source: "AWS Organizations",
            lint_errors: Vec::new(),
        }
    }
}

impl World<'_> {
    /// The project's files, read through its checks.
    pub fn files(&self) -> &kmsctl_core::project_files::ProjectFiles {
        &self.ctx.project.files
    }
}
