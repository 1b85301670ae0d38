//! Where a policy is attached: the root, an OU by path of names or by id, or an account.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    Root,
    /// `root/prod/payments`: OU names from the root down.
    OuPath(Vec<String>),
    /// `ou-ab12-11111111`.
    OuId(String),
    /// A 12-digit account id.
    Account(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a target: use root, an OU path by names (root/prod/payments), an OU id (ou-...) or a 12-digit account id"
)]
pub struct TargetError(pub String);

impl Target {
    /// The OU names under the root that `root` or an OU path by names (`root/prod/payments`)
    /// stands for; `None` for any other text.
    pub fn ou_names(text: &str) -> Option<Vec<String>> {
        match Self::parse(text) {
            Ok(Self::Root) => Some(Vec::new()),
            Ok(Self::OuPath(names)) => Some(names),
            _ => None,
        }
    }

    pub fn parse(text: &str) -> Result<Self, TargetError> {
        let error = || TargetError(text.to_owned());
        if text == "root" {
            return Ok(Self::Root);
        }
        if let Some(rest) = text.strip_prefix("root/") {
            let names: Vec<String> = rest.split('/').map(str::to_owned).collect();
            if names.iter().any(|n| n.is_empty()) {
                return Err(error());
            }
            return Ok(Self::OuPath(names));
        }
        if text.starts_with("ou-")
            && text.len() > 3
            && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            return Ok(Self::OuId(text.to_owned()));
        }
        if text.len() == 12 && text.chars().all(|c| c.is_ascii_digit()) {
            return Ok(Self::Account(text.to_owned()));
        }
        Err(error())
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Root => write!(f, "root"),
            Self::OuPath(names) => write!(f, "root/{}", names.join("/")),
            Self::OuId(id) | Self::Account(id) => write!(f, "{id}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_target() {
        assert_eq!(Target::parse("root"), Ok(Target::Root));
        assert_eq!(
            Target::parse("root/prod/payments"),
            Ok(Target::OuPath(vec!["prod".into(), "payments".into()]))
        );
        assert_eq!(
            Target::parse("ou-ab12-11111111"),
            Ok(Target::OuId("ou-ab12-11111111".into()))
        );
        assert_eq!(
            Target::parse("222222222222"),
            Ok(Target::Account("222222222222".into()))
        );
        for bad in [
            "",
            "prod",
            "root/",
            "root//x",
            "ou-",
            "22222222222",
            "/root/prod",
        ] {
            assert!(Target::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Target::parse("root/prod").map(|t| t.to_string()),
            Ok("root/prod".into())
        );
    }
}
