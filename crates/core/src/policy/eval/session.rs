//! Who the caller is to a policy, as AWS tells it: a role session
//! (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`) is its role to a policy naming the role's
//! ARN (`arn:aws:iam::ACCOUNT:role/ROLE`, with or without the role's path: AWS matches a
//! session to the role by account and role name), and `aws:PrincipalArn` is the role's ARN.
//! `aws:username` and `aws:userid` as AWS sets them, where the ARN tells them.

use super::Principal;

/// The parts of a role session's ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Session<'a> {
    pub partition: &'a str,
    pub account: &'a str,
    pub role: &'a str,
    pub session: &'a str,
}

/// `arn:PARTITION:SERVICE::ACCOUNT:RESOURCE` of a global service (no region): partition,
/// account and resource.
fn global_arn<'a>(arn: &'a str, service: &str) -> Option<(&'a str, &'a str, &'a str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some(named), Some(""), Some(account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (named == service).then_some((partition, account, rest))
}

impl<'a> Session<'a> {
    /// `arn:aws:sts::111111111111:assumed-role/app/alice`; `None` for any other ARN.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let (partition, account, rest) = global_arn(arn, "sts")?;
        let (role, session) = rest.strip_prefix("assumed-role/")?.split_once('/')?;
        (!role.is_empty() && !session.is_empty()).then_some(Self {
            partition,
            account,
            role,
            session,
        })
    }

    /// The role's ARN as far as the session's ARN tells it: without the role's path.
    pub fn role_arn(&self) -> String {
        format!(
            "arn:{}:iam::{}:role/{}",
            self.partition, self.account, self.role
        )
    }

    /// Whether `arn` is the ARN of this session's role (`role/ROLE` or `role/path/ROLE`).
    pub fn is_role(&self, arn: &str) -> bool {
        let Some((partition, account, rest)) = global_arn(arn, "iam") else {
            return false;
        };
        partition == self.partition
            && account == self.account
            && rest
                .strip_prefix("role/")
                .and_then(|path| path.rsplit('/').next())
                == Some(self.role)
    }
}

impl Principal {
    /// The caller's role session, when it is one.
    pub fn session(&self) -> Option<Session<'_>> {
        if self.is_service {
            return None;
        }
        Session::parse(&self.arn)
    }

    /// `aws:PrincipalArn`: the role's ARN for a role session, else the ARN as given.
    pub fn principal_arn(&self) -> String {
        self.session()
            .map_or_else(|| self.arn.clone(), |s| s.role_arn())
    }

    /// Whether a policy's principal element value names this caller (its ARN, or for a role
    /// session its role's ARN).
    pub fn named_by(&self, value: &str) -> bool {
        !self.is_service && (value == self.arn || self.session().is_some_and(|s| s.is_role(value)))
    }

    /// `aws:username`: an IAM user's name; AWS sets it for no other principal.
    pub fn username(&self) -> Option<&str> {
        if self.is_service || self.arn.split(':').nth(2) != Some("iam") {
            return None;
        }
        let path = self.arn.split(':').nth(5)?.strip_prefix("user/")?;
        path.rsplit('/').next().filter(|n| !n.is_empty())
    }

    /// `aws:userid` where the ARN tells it: the account id for the account's root user. (An
    /// IAM user's or a role's unique id, `AIDA…`/`AROA…`, is not in its ARN.)
    pub fn userid(&self) -> Option<&str> {
        let root = !self.is_service
            && self.arn.ends_with(":root")
            && self.arn.split(':').nth(4) == Some(self.account.as_str());
        root.then_some(self.account.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(arn: &str) -> Principal {
        Principal {
            arn: arn.into(),
            account: "111111111111".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_session_is_its_role_with_or_without_the_roles_path() {
        let session = caller("arn:aws:sts::111111111111:assumed-role/app/alice");
        assert_eq!(
            session.principal_arn(),
            "arn:aws:iam::111111111111:role/app"
        );
        assert!(session.named_by("arn:aws:iam::111111111111:role/app"));
        assert!(session.named_by("arn:aws:iam::111111111111:role/teams/payments/app"));
        assert!(session.named_by("arn:aws:sts::111111111111:assumed-role/app/alice"));
        for other in [
            "arn:aws:iam::222222222222:role/app",
            "arn:aws:iam::111111111111:role/app2",
            "arn:aws:iam::111111111111:user/app",
            "arn:aws-cn:iam::111111111111:role/app",
            "arn:aws:sts::111111111111:assumed-role/app/bob",
        ] {
            assert!(!session.named_by(other), "{other}");
        }
        assert_eq!(session.username(), None);
        assert_eq!(session.userid(), None);
    }

    #[test]
    fn usernames_and_userids_as_aws_sets_them() {
        assert_eq!(
            caller("arn:aws:iam::111111111111:user/ops/alice").username(),
            Some("alice")
        );
        assert_eq!(
            caller("arn:aws:iam::111111111111:role/app").username(),
            None
        );
        let root = caller("arn:aws:iam::111111111111:root");
        assert_eq!(root.userid(), Some("111111111111"));
        assert_eq!(root.principal_arn(), root.arn);
        assert_eq!(
            Session::parse("arn:aws:sts::111111111111:federated-user/bob"),
            None
        );
    }
}
