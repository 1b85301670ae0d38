//! `orgpaths-value` in a project: the lint sees one policy and can only suggest AWS's example
//! ids; a project has its own organization `[tree]`, so the fix names the OU the written value
//! means (`/root/prod/*` → `{{ ou_path 'root/prod' }}*`) with the ids the tree gives it.

use kmsctl_core::Finding;
use kmsctl_org::ou_tree::OrgTree;

const RULE: &str = "orgpaths-value";

/// Rewrites the fix of every `orgpaths-value` finding from `tree` (`source`: where its ids come
/// from, for the text: "organization.toml's [tree]").
pub fn rewrite(findings: &mut [Finding], tree: &OrgTree, source: &str) {
    for finding in findings.iter_mut().filter(|f| f.rule == RULE) {
        let Some(written) = written_value(&finding.message) else {
            continue;
        };
        finding.fix = fix(tree, source, &written);
    }
}

/// The value the finding's message quotes: `… value "/root/prod/*" is not an organization path`.
/// (The lint's finding carries it only in its message.)
fn written_value(message: &str) -> Option<String> {
    let start = message.find(" value \"")? + " value ".len();
    let end = message.rfind(" is not an organization path")?;
    let quoted = message.get(start..end)?;
    serde_json::from_str(quoted).ok()
}

/// Key policies render `ou_path` through the same `[tree]` as organization policies, so the
/// advice is the same for both.
fn fix(tree: &OrgTree, source: &str, written: &str) -> String {
    let star = if written.ends_with('*') { "*" } else { "" };
    let below = if star.is_empty() {
        ""
    } else {
        "; the trailing * includes the OUs below"
    };
    let Some((path, ids)) = meant(tree, written) else {
        let known: Vec<String> = ous(tree)
            .into_iter()
            .map(|(path, ids)| format!("{path} = {ids}"))
            .collect();
        return format!(
            "org paths are ids, not OU names; {source} has {}: {}",
            known.join(", "),
            "write {{ ou_path 'root/NAME' }} for one of them (organization and key policies alike)"
        );
    };
    format!(
        "org paths are ids, not OU names: write {{{{ ou_path '{path}' }}}}{star} ({source} renders it {ids}{star}){below}"
    )
}

/// Every OU path by names and its org path, the root's first.
fn ous(tree: &OrgTree) -> Vec<(String, String)> {
    std::iter::once(tree.root_id.as_str())
        .chain(tree.ous.iter().map(|ou| ou.id.as_str()))
        .filter_map(|id| {
            let path = tree.path_of(id);
            let ids = tree.org_path(&names(&path)).ok()?;
            Some((path, ids))
        })
        .collect()
}

fn names(path: &str) -> Vec<String> {
    path.split('/').skip(1).map(str::to_owned).collect()
}

/// The OU (path by names, org path) a value written with names means: `/root/prod/*`,
/// `root/prod`, `o-…/r-…/prod/*`, or `/prod/*` when one OU of the tree has that name.
fn meant(tree: &OrgTree, written: &str) -> Option<(String, String)> {
    let mut parts: Vec<&str> = written
        .trim_end_matches('*')
        .split('/')
        .filter(|p| !p.is_empty())
        .skip_while(|p| p.starts_with("o-") || p.starts_with("r-"))
        .collect();
    let from_root = parts
        .first()
        .is_some_and(|p| p.eq_ignore_ascii_case("root"));
    if from_root {
        parts.remove(0);
    }
    let wanted: Vec<String> = parts.iter().map(|p| (*p).to_owned()).collect();
    let resolved = tree
        .org_path(&wanted)
        .ok()
        .filter(|_| from_root || !wanted.is_empty());
    if let Some(ids) = resolved {
        let path = std::iter::once("root".to_owned())
            .chain(wanted)
            .collect::<Vec<_>>();
        return Some((path.join("/"), ids));
    }
    // A name of the tree, written from below the root or in another case.
    let last = parts.last()?;
    let named: Vec<_> = ous(tree)
        .into_iter()
        .filter(|(path, _)| path.rsplit('/').next() == Some(*last))
        .collect();
    let named = if named.is_empty() {
        ous(tree)
            .into_iter()
            .filter(|(path, _)| {
                path.rsplit('/')
                    .next()
                    .is_some_and(|n| n.eq_ignore_ascii_case(last))
            })
            .collect()
    } else {
        named
    };
    match <[_; 1]>::try_from(named) {
        Ok([one]) => Some(one),
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmsctl_core::policy::lint::ORGPATHS_VALUE;
    use kmsctl_org::ou_tree::Ou;

    fn tree() -> OrgTree {
        let ou = |id: &str, name: &str| Ou {
            id: id.into(),
            name: name.into(),
            parent_id: "r-ab12".into(),
        };
        OrgTree {
            org_id: "o-a1b2c3d4e5".into(),
            root_id: "r-ab12".into(),
            ous: vec![
                ou("ou-ab12-11111111", "dev"),
                ou("ou-ab12-22222222", "prod"),
            ],
        }
    }

    /// The finding the lint itself makes for `value` (not a copy of its wording: the hint
    /// reads the value out of that wording).
    fn finding(file: &str, value: &str) -> Finding {
        let text = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "B",
            "Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"ForAnyValue:StringNotLike": {"aws:PrincipalOrgPaths": value}}}]})
        .to_string();
        kmsctl_core::policy::lint::lint_text(
            &text,
            kmsctl_core::policy::lint::PolicyKind::Scp,
            std::path::Path::new(file),
        )
        .into_iter()
        .find(|f| f.rule == ORGPATHS_VALUE.id)
        .expect("the lint flags the value")
    }

    fn fixed(file: &str, value: &str) -> String {
        let mut findings = vec![finding(file, value)];
        rewrite(&mut findings, &tree(), "organization.toml's [tree]");
        findings.remove(0).fix
    }

    #[test]
    fn the_fix_names_the_ou_written_with_the_projects_ids() {
        let scp = "policies/org/service_control_policy/boundaries.json";
        assert_eq!(
            fixed(scp, "/root/prod/*"),
            "org paths are ids, not OU names: write {{ ou_path 'root/prod' }}* (organization.toml's [tree] renders it o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/*); the trailing * includes the OUs below"
        );
        for same in [
            "root/prod",
            "/prod/*",
            "o-a1b2c3d4e5/r-ab12/prod/",
            "/root/Prod/",
        ] {
            assert!(fixed(scp, same).contains("ou_path 'root/prod'"), "{same}");
        }
        assert_eq!(
            fixed("policies/kms/dev.json", "/root/dev/*"),
            "org paths are ids, not OU names: write {{ ou_path 'root/dev' }}* (organization.toml's [tree] renders it o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*); the trailing * includes the OUs below",
            "a key policy gets the same advice: ou_path renders there too"
        );
    }

    #[test]
    fn a_name_the_tree_lacks_gets_the_trees_paths() {
        assert_eq!(
            fixed(
                "policies/org/service_control_policy/b.json",
                "/root/staging/*"
            ),
            "org paths are ids, not OU names; organization.toml's [tree] has root = o-a1b2c3d4e5/r-ab12/, root/dev = o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/, root/prod = o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/: write {{ ou_path 'root/NAME' }} for one of them (organization and key policies alike)"
        );
    }
}
