//! The OU tree, and OU paths by name resolved to what AWS puts in `aws:PrincipalOrgPaths`:
//! `o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/` (ids, not names). A condition written with names
//! (`/root/prod/*`) never matches anything; kmsctl lets users write names and resolves them.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ou {
    pub id: String,
    pub name: String,
    pub parent_id: String,
}

/// The organization as observed: its id, its root and every OU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgTree {
    pub org_id: String,
    pub root_id: String,
    pub ous: Vec<Ou>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OuError {
    #[error("no OU {name:?} under {parent}: its children are {}", list(children))]
    NotFound {
        parent: String,
        name: String,
        children: Vec<String>,
    },
    #[error(
        "two OUs are named {name:?} under {parent} ({}): a path by names would be ambiguous; rename one in AWS Organizations",
        ids.join(", ")
    )]
    Duplicate {
        parent: String,
        name: String,
        ids: Vec<String>,
    },
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

impl OrgTree {
    fn children<'a>(&'a self, parent_id: &'a str) -> impl Iterator<Item = &'a Ou> + 'a {
        self.ous.iter().filter(move |ou| ou.parent_id == parent_id)
    }

    /// Refuses a tree where two OUs under one parent share a name.
    pub fn check_unique(&self) -> Result<(), OuError> {
        for parent in
            std::iter::once(self.root_id.as_str()).chain(self.ous.iter().map(|o| o.id.as_str()))
        {
            let mut seen: Vec<&Ou> = Vec::new();
            for child in self.children(parent) {
                if let Some(first) = seen.iter().find(|s| s.name == child.name) {
                    return Err(OuError::Duplicate {
                        parent: self.path_of(parent),
                        name: child.name.clone(),
                        ids: vec![first.id.clone(), child.id.clone()],
                    });
                }
                seen.push(child);
            }
        }
        Ok(())
    }

    /// The path by names of a root or OU id (`root/prod`).
    pub fn path_of(&self, id: &str) -> String {
        let mut names = Vec::new();
        let mut current = id;
        while let Some(ou) = self.ous.iter().find(|o| o.id == current) {
            names.push(ou.name.as_str());
            current = &ou.parent_id;
        }
        names.push("root");
        names.reverse();
        names.join("/")
    }

    /// The OUs from the root down along `names`.
    pub fn resolve(&self, names: &[String]) -> Result<Vec<&Ou>, OuError> {
        let mut chain = Vec::new();
        let mut parent = self.root_id.as_str();
        let mut path = "root".to_owned();
        for name in names {
            let matches: Vec<&Ou> = self
                .children(parent)
                .filter(|ou| &ou.name == name)
                .collect();
            match matches.as_slice() {
                [ou] => {
                    chain.push(*ou);
                    parent = &ou.id;
                    path = format!("{path}/{name}");
                }
                [] => {
                    return Err(OuError::NotFound {
                        parent: path,
                        name: name.clone(),
                        children: self.children(parent).map(|ou| ou.name.clone()).collect(),
                    });
                }
                several => {
                    return Err(OuError::Duplicate {
                        parent: path,
                        name: name.clone(),
                        ids: several.iter().map(|ou| ou.id.clone()).collect(),
                    });
                }
            }
        }
        Ok(chain)
    }

    /// The `aws:PrincipalOrgPaths` value of an OU path by names: `o-…/r-…/ou-…/…/`.
    pub fn org_path(&self, names: &[String]) -> Result<String, OuError> {
        let chain = self.resolve(names)?;
        let mut path = format!("{}/{}/", self.org_id, self.root_id);
        for ou in chain {
            path.push_str(&ou.id);
            path.push('/');
        }
        Ok(path)
    }

    /// The id an OU path by names points to (the root's id for an empty path).
    pub fn id_of(&self, names: &[String]) -> Result<String, OuError> {
        Ok(self
            .resolve(names)?
            .last()
            .map_or_else(|| self.root_id.clone(), |ou| ou.id.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ou(id: &str, name: &str, parent: &str) -> Ou {
        Ou {
            id: id.into(),
            name: name.into(),
            parent_id: parent.into(),
        }
    }

    fn tree() -> OrgTree {
        OrgTree {
            org_id: "o-a1b2c3d4e5".into(),
            root_id: "r-ab12".into(),
            ous: vec![
                ou("ou-ab12-11111111", "dev", "r-ab12"),
                ou("ou-ab12-22222222", "prod", "r-ab12"),
                ou("ou-ab12-33333333", "payments", "ou-ab12-22222222"),
                ou("ou-ab12-44444444", "payments", "ou-ab12-11111111"),
            ],
        }
    }

    fn names(path: &str) -> Vec<String> {
        path.split('/').map(str::to_owned).collect()
    }

    #[test]
    fn paths_by_name_resolve_to_id_paths() {
        let tree = tree();
        assert_eq!(
            tree.org_path(&names("prod")).as_deref(),
            Ok("o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/")
        );
        assert_eq!(
            tree.org_path(&names("prod/payments")).as_deref(),
            Ok("o-a1b2c3d4e5/r-ab12/ou-ab12-22222222/ou-ab12-33333333/")
        );
        assert_eq!(tree.org_path(&[]).as_deref(), Ok("o-a1b2c3d4e5/r-ab12/"));
        assert_eq!(
            tree.id_of(&names("dev/payments")).as_deref(),
            Ok("ou-ab12-44444444")
        );
        assert_eq!(
            tree.check_unique(),
            Ok(()),
            "the same name under different parents is fine"
        );
    }

    #[test]
    fn an_unknown_name_lists_the_children() {
        let err = tree().org_path(&names("prod/paymnets")).expect_err("typo");
        assert_eq!(
            err.to_string(),
            "no OU \"paymnets\" under root/prod: its children are payments"
        );
    }

    #[test]
    fn duplicate_names_under_one_parent_are_refused() {
        let mut tree = tree();
        tree.ous.push(ou("ou-ab12-55555555", "prod", "r-ab12"));
        let err = tree.check_unique().expect_err("two prod OUs");
        assert!(
            matches!(&err, OuError::Duplicate { parent, name, .. } if parent == "root" && name == "prod"),
            "{err}"
        );
        assert!(matches!(
            tree.org_path(&names("prod")),
            Err(OuError::Duplicate { .. })
        ));
    }
}
