//! Which SCPs or RCPs bear on an account: those attached to the root, to each OU on the way down
//! to it, and to the account itself, level by level. A policy attached anywhere else restricts
//! nobody in that account (an SCP attached to the prod OU never restricts a dev principal).

use crate::config::{OrganizationFile, PolicyType};
use crate::guards::RenderedPolicy;
use crate::ou_tree::{OrgTree, OuError};
use crate::target::Target;

/// One level of the path: its name (`root`, `root/prod`, `account 222222222222`) and the
/// policies attached there, in the file's order.
#[derive(Debug, Clone)]
pub struct Level<'a> {
    pub name: String,
    pub policies: Vec<&'a RenderedPolicy>,
}

/// The policies of one type along an account's path, and the attachments elsewhere.
#[derive(Debug, Clone, Default)]
pub struct Placement<'a> {
    /// Root first, then each OU down to the account's, then the account.
    pub on_path: Vec<Level<'a>>,
    /// (target, policy) attached off the path: they do not apply.
    pub off_path: Vec<(String, &'a RenderedPolicy)>,
}

/// `ou`: the OU path by names the account sits in (empty: directly under the root).
pub fn placement<'a>(
    org: &OrganizationFile,
    rendered: &'a [RenderedPolicy],
    kind: PolicyType,
    tree: &OrgTree,
    account: &str,
    ou: &[String],
) -> Result<Placement<'a>, OuError> {
    let path = tree.org_path(ou)?;
    // o-…/r-…/ou-…/ou-…/: the root's id, then each OU's.
    let ids: Vec<&str> = path.split('/').skip(1).filter(|s| !s.is_empty()).collect();
    let mut levels: Vec<(String, Target, &str)> = vec![("root".into(), Target::Root, ids[0])];
    for depth in 1..=ou.len() {
        let names = ou[..depth].to_vec();
        let target = Target::OuPath(names);
        levels.push((target.to_string(), target, ids[depth]));
    }
    levels.push((
        format!("account {account}"),
        Target::Account(account.to_owned()),
        account,
    ));
    let find = |name: &str| rendered.iter().find(|p| p.kind == kind && p.name == name);
    let mut placement = Placement {
        on_path: levels
            .iter()
            .map(|(name, _, _)| Level {
                name: name.clone(),
                policies: Vec::new(),
            })
            .collect(),
        off_path: Vec::new(),
    };
    for (target_text, names) in org.attachments(kind) {
        let Ok(target) = Target::parse(target_text.get_ref()) else {
            continue;
        };
        let at = levels.iter().position(|(_, level, id)| match &target {
            Target::OuId(ou_id) => ou_id == id,
            other => other == level,
        });
        for name in names {
            let Some(policy) = find(name.get_ref()) else {
                continue;
            };
            match at {
                Some(index) => placement.on_path[index].policies.push(policy),
                None => placement
                    .off_path
                    .push((target_text.get_ref().clone(), policy)),
            }
        }
    }
    Ok(placement)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ou_tree::Ou;

    fn rendered(name: &str) -> RenderedPolicy {
        RenderedPolicy {
            kind: PolicyType::ServiceControlPolicy,
            name: name.into(),
            file: format!("policies/org/service_control_policy/{name}.json").into(),
            minified: "{}".into(),
            written_size: 2,
        }
    }

    #[test]
    fn policies_attach_along_the_path_only() {
        let org: OrganizationFile = toml::from_str(
            r#"
account_id = "123456789012"
region = "us-east-1"
[service_control_policies]
root = ["everyone"]
"root/dev" = ["dev_only"]
"root/prod" = ["prod_only"]
"ou-ab12-33333333" = ["payments_by_id"]
"222222222222" = ["this_account"]
"#,
        )
        .expect("valid");
        let all: Vec<RenderedPolicy> = [
            "everyone",
            "dev_only",
            "prod_only",
            "payments_by_id",
            "this_account",
        ]
        .into_iter()
        .map(rendered)
        .collect();
        let tree = OrgTree {
            org_id: "o-a1b2c3d4e5".into(),
            root_id: "r-ab12".into(),
            ous: vec![
                Ou {
                    id: "ou-ab12-11111111".into(),
                    name: "dev".into(),
                    parent_id: "r-ab12".into(),
                },
                Ou {
                    id: "ou-ab12-22222222".into(),
                    name: "prod".into(),
                    parent_id: "r-ab12".into(),
                },
                Ou {
                    id: "ou-ab12-33333333".into(),
                    name: "payments".into(),
                    parent_id: "ou-ab12-22222222".into(),
                },
            ],
        };
        let placement = placement(
            &org,
            &all,
            PolicyType::ServiceControlPolicy,
            &tree,
            "222222222222",
            &["prod".into(), "payments".into()],
        )
        .expect("valid");
        let levels: Vec<(String, Vec<&str>)> = placement
            .on_path
            .iter()
            .map(|l| {
                (
                    l.name.clone(),
                    l.policies.iter().map(|p| p.name.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            levels,
            vec![
                ("root".to_owned(), vec!["everyone"]),
                ("root/prod".to_owned(), vec!["prod_only"]),
                ("root/prod/payments".to_owned(), vec!["payments_by_id"]),
                ("account 222222222222".to_owned(), vec!["this_account"]),
            ]
        );
        let off: Vec<(&str, &str)> = placement
            .off_path
            .iter()
            .map(|(t, p)| (t.as_str(), p.name.as_str()))
            .collect();
        assert_eq!(off, vec![("root/dev", "dev_only")]);
    }
}
