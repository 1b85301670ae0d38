//! `[tree]` in organization.toml: the organization's ids as they stand in AWS, written down so
//! that everything offline (validate, `kmsctl simulate`, `expect.toml`) resolves OU paths by
//! name to the same `o-…/r-…/ou-…/` values AWS puts in `aws:PrincipalOrgPaths`, and knows which
//! OU each account sits in. `plan` checks it against the live organization.

use std::collections::BTreeMap;

use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Rule};
use serde::Deserialize;
use toml::Spanned;

use crate::ou_tree::{OrgTree, Ou};
use crate::target::Target;

pub const ORG_TREE: Rule = Rule::error(
    "org-tree",
    None,
    "[tree] ids are well-formed, every OU's parent is declared, every account sits in a declared OU",
);
pub const ORG_TREE_MISMATCH: Rule = Rule::error(
    "org-tree-mismatch",
    None,
    "[tree] says what AWS Organizations says (plan)",
);

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclaredTree {
    pub org_id: Spanned<String>,
    pub root_id: Spanned<String>,
    /// OU path by names (`root/prod`) → OU id (`ou-ab12-22222222`).
    #[serde(default)]
    pub ous: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Account id → where it sits: `root` or an OU path by names.
    #[serde(default)]
    pub accounts: BTreeMap<Spanned<String>, Spanned<String>>,
}

/// The declared tree as an `OrgTree`, or the errors that keep it from being one.
pub fn build(file: &SourceFile, declared: &DeclaredTree) -> Result<OrgTree, Vec<Finding>> {
    let mut findings = Vec::new();
    let mut error = |span: std::ops::Range<usize>, message: String, fix: &str| {
        findings.push(Finding::of(&ORG_TREE, file.location(span), message, fix));
    };
    if !valid_id(declared.org_id.get_ref(), "o-") {
        error(
            declared.org_id.span(),
            format!(
                "org_id {:?} is not an organization id",
                declared.org_id.get_ref()
            ),
            "write the id `aws organizations describe-organization` shows (o- and 10 to 32 characters)",
        );
    }
    if !valid_id(declared.root_id.get_ref(), "r-") {
        error(
            declared.root_id.span(),
            format!("root_id {:?} is not a root id", declared.root_id.get_ref()),
            "write the id `aws organizations list-roots` shows (r- and 4 to 32 characters)",
        );
    }
    let mut ous = Vec::new();
    for (path, id) in &declared.ous {
        let names = match Target::parse(path.get_ref()) {
            Ok(Target::OuPath(names)) => names,
            _ => {
                error(
                    path.span(),
                    format!("{:?} is not an OU path by names", path.get_ref()),
                    "write the path from the root: \"root/prod\", \"root/prod/payments\"",
                );
                continue;
            }
        };
        if !valid_id(id.get_ref(), "ou-") {
            error(
                id.span(),
                format!("{:?} is not an OU id", id.get_ref()),
                "write the id `aws organizations list-organizational-units-for-parent` shows (ou-…)",
            );
            continue;
        }
        let parent = &names[..names.len() - 1];
        let parent_id = if parent.is_empty() {
            declared.root_id.get_ref().clone()
        } else {
            let parent_path = format!("root/{}", parent.join("/"));
            match declared
                .ous
                .iter()
                .find(|(p, _)| p.get_ref() == &parent_path)
            {
                Some((_, parent_id)) => parent_id.get_ref().clone(),
                None => {
                    error(
                        path.span(),
                        format!(
                            "{:?} is declared, but its parent {parent_path:?} is not",
                            path.get_ref()
                        ),
                        &format!("declare \"{parent_path}\" = \"ou-…\" in [tree.ous] too"),
                    );
                    continue;
                }
            }
        };
        ous.push(Ou {
            id: id.get_ref().clone(),
            name: names[names.len() - 1].clone(),
            parent_id,
        });
    }
    for (account, place) in &declared.accounts {
        let account_ok =
            account.get_ref().len() == 12 && account.get_ref().chars().all(|c| c.is_ascii_digit());
        if !account_ok {
            error(
                account.span(),
                format!("{:?} is not a 12-digit account id", account.get_ref()),
                "write the account id, then where it sits: \"111111111111\" = \"root/dev\"",
            );
        }
        let known = place.get_ref() == "root"
            || declared.ous.keys().any(|p| p.get_ref() == place.get_ref());
        if !known {
            error(
                place.span(),
                format!(
                    "account {} sits in {:?}, which [tree.ous] does not declare",
                    account.get_ref(),
                    place.get_ref()
                ),
                "write \"root\" or an OU path declared in [tree.ous]",
            );
        }
    }
    let tree = OrgTree {
        org_id: declared.org_id.get_ref().clone(),
        root_id: declared.root_id.get_ref().clone(),
        ous,
    };
    if let Err(duplicate) = tree.check_unique() {
        error(
            declared.root_id.span(),
            duplicate.to_string(),
            "declare each OU once",
        );
    }
    if findings.is_empty() {
        Ok(tree)
    } else {
        Err(findings)
    }
}

fn valid_id(id: &str, prefix: &str) -> bool {
    id.strip_prefix(prefix).is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    })
}

impl DeclaredTree {
    /// Where an account sits, as OU names under the root (empty: directly under the root).
    pub fn account_ou(&self, account: &str) -> Option<Vec<String>> {
        let (_, place) = self.accounts.iter().find(|(a, _)| a.get_ref() == account)?;
        // `build` refuses a place that is neither the root nor a declared OU path.
        Some(Target::ou_names(place.get_ref()).unwrap_or_default())
    }
}

/// Every way the declared tree differs from the organization in AWS: an id that is not
/// AWS's makes every offline answer (and every `{{ ou_path }}` checked offline) wrong.
pub fn compare(file: &SourceFile, declared: &DeclaredTree, live: &OrgTree) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut differ = |span: std::ops::Range<usize>, what: String, fix: String| {
        findings.push(Finding::of(
            &ORG_TREE_MISMATCH,
            file.location(span),
            what,
            fix,
        ));
    };
    for (field, declared, live) in [
        ("org_id", &declared.org_id, &live.org_id),
        ("root_id", &declared.root_id, &live.root_id),
    ] {
        if declared.get_ref() != live {
            differ(
                declared.span(),
                format!(
                    "[tree] {field} is {:?}, AWS says {live:?}",
                    declared.get_ref()
                ),
                format!("write {field} = {live:?}"),
            );
        }
    }
    for (path, id) in &declared.ous {
        let Ok(Target::OuPath(names)) = Target::parse(path.get_ref()) else {
            continue;
        };
        match live.id_of(&names) {
            Ok(live_id) if &live_id == id.get_ref() => {}
            Ok(live_id) => differ(
                id.span(),
                format!(
                    "[tree.ous] {:?} is {:?}, AWS says {live_id:?}",
                    path.get_ref(),
                    id.get_ref()
                ),
                format!("write \"{}\" = {live_id:?}", path.get_ref()),
            ),
            Err(error) => differ(
                path.span(),
                format!("[tree.ous] {:?}: {error}", path.get_ref()),
                "remove it or fix the path".to_owned(),
            ),
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> (SourceFile, DeclaredTree) {
        #[derive(Deserialize)]
        struct File {
            tree: DeclaredTree,
        }
        let file: File = toml::from_str(text).expect("valid");
        (
            SourceFile::new("organization.toml", text.to_owned()),
            file.tree,
        )
    }

    const TREE: &str = r#"
[tree]
org_id = "o-a1b2c3d4e5"
root_id = "r-ab12"
[tree.ous]
"root/prod" = "ou-ab12-22222222"
"root/prod/payments" = "ou-ab12-33333333"
[tree.accounts]
"222222222222" = "root/prod/payments"
"123456789012" = "root"
"#;

    #[test]
    fn declared_ids_resolve_paths_by_name() {
        let (file, declared) = parse(TREE);
        let tree = build(&file, &declared).expect("valid");
        assert_eq!(
            tree.org_path(&["prod".into(), "payments".into()])
                .expect("valid"),
            "o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/ou-ab12-33333333/"
        );
        assert_eq!(
            declared.account_ou("222222222222"),
            Some(vec!["prod".to_owned(), "payments".to_owned()])
        );
        assert_eq!(declared.account_ou("123456789012"), Some(vec![]));
        assert_eq!(declared.account_ou("999999999999"), None);
    }

    #[test]
    fn an_ou_without_its_parent_or_an_unknown_place_is_refused() {
        let text = TREE
            .replace("\"root/prod\" = \"ou-ab12-22222222\"\n", "")
            .replace("= \"root\"", "= \"root/dev\"");
        let (file, declared) = parse(&text);
        let findings = build(&file, &declared).expect_err("refused");
        let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
        assert!(
            messages
                .iter()
                .any(|m| m.contains("its parent \"root/prod\" is not")),
            "{messages:?}"
        );
        assert!(
            messages.iter().any(|m| m.contains("sits in \"root/dev\"")),
            "{messages:?}"
        );
    }

    #[test]
    fn differences_from_the_live_tree_are_named() {
        let (file, declared) = parse(TREE);
        let mut live = build(&file, &declared).expect("valid");
        assert!(compare(&file, &declared, &live).is_empty());
        live.ous[1].id = "ou-ab12-99999999".into();
        let findings = compare(&file, &declared, &live);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0]
                .message
                .contains("AWS says \"ou-ab12-99999999\"")
        );
    }
}
