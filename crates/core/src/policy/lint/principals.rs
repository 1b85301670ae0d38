//! Principals in the forms IAM accepts for each principal type. `*` is a principal only as the
//! whole value: IAM refuses `arn:aws:iam::*:root` and `arn:aws:iam::111122223333:role/*`.

use super::placeholder::{self, is_placeholder};
use super::{NOTPRINCIPAL_ALLOW, PRINCIPAL_FORM, name};
use crate::finding::{Finding, Location};
use crate::policy::grammar::PolicyKind;
use crate::policy::model::{Principals, Statement};

pub(super) fn check(
    st: &Statement,
    kind: PolicyKind,
    at: &impl Fn(usize, &str) -> Location,
    out: &mut Vec<Finding>,
) {
    if st.not_principal.is_some() && st.is_allow() {
        out.push(Finding::of(
            &NOTPRINCIPAL_ALLOW,
            at(st.line_of("NotPrincipal"), &format!("{}/NotPrincipal", st.pointer)),
            format!("{}: Allow with NotPrincipal grants the action to everyone not listed, anonymous callers included", name(st)),
            "name the principals to allow with Principal instead",
        ));
    }
    if kind != PolicyKind::Key {
        return;
    }
    for (field, principals) in [
        ("Principal", &st.principal),
        ("NotPrincipal", &st.not_principal),
    ] {
        let Some(Principals::Map(map)) = principals else {
            continue;
        };
        let location = at(st.line_of(field), &format!("{}/{field}", st.pointer));
        for (principal_type, values) in map {
            for value in values {
                if let Some(why) = invalid(principal_type, value) {
                    // The whole principal or its account (`arn:aws:iam::ACCOUNT_ID:root`).
                    let account = value.split(':').nth(4).unwrap_or_default();
                    if !value.contains('*') && (is_placeholder(value) || is_placeholder(account)) {
                        out.push(placeholder::finding(
                            location.clone(),
                            &name(st),
                            value,
                            "a principal",
                        ));
                        continue;
                    }
                    out.push(Finding::of(
                        &PRINCIPAL_FORM,
                        location.clone(),
                        format!("{}: {principal_type} principal {value:?} {why}", name(st)),
                        fix(principal_type),
                    ));
                }
            }
        }
    }
}

fn fix(principal_type: &str) -> &'static str {
    match principal_type {
        "AWS" => {
            "use \"*\", an account id, or arn:PARTITION:iam::ACCOUNT:root|role/NAME|user/NAME (or an sts assumed-role session ARN); to match many principals use \"*\" with a condition such as ArnLike aws:PrincipalArn"
        }
        "Service" => "use a service principal such as cloudtrail.amazonaws.com",
        "Federated" => {
            "use an identity provider ARN (arn:aws:iam::ACCOUNT:saml-provider/NAME or oidc-provider/HOST) or cognito-identity.amazonaws.com, accounts.google.com, graph.facebook.com, www.amazon.com"
        }
        "CanonicalUser" => "use the 64-hex-digit canonical user id",
        _ => "principal types are AWS, Service, Federated and CanonicalUser (case-sensitive)",
    }
}

/// Why a principal is not one IAM accepts, or `None`.
fn invalid(principal_type: &str, value: &str) -> Option<&'static str> {
    let partial_wildcard = value != "*" && value.contains('*');
    match principal_type {
        "AWS" if value == "*" || is_account(value) => None,
        "AWS" if partial_wildcard => {
            Some("has a wildcard: IAM accepts \"*\" only as the whole principal")
        }
        "AWS" => (!is_principal_arn(value))
            .then_some("is not an account id or an IAM or STS principal ARN"),
        "Service" if partial_wildcard || value == "*" => {
            Some("has a wildcard: service principals are named in full")
        }
        "Service" => (!value.ends_with(".amazonaws.com") && !value.ends_with(".amazonaws.com.cn"))
            .then_some("is not a service principal"),
        "Federated" => (!(is_provider_arn(value)
            || [
                "cognito-identity.amazonaws.com",
                "accounts.google.com",
                "graph.facebook.com",
                "www.amazon.com",
            ]
            .contains(&value)))
        .then_some("is not an identity provider"),
        "CanonicalUser" => (!(value.len() == 64 && value.chars().all(|c| c.is_ascii_hexdigit())))
            .then_some("is not a canonical user id"),
        _ => Some("has a principal type IAM does not know"),
    }
}

fn is_account(value: &str) -> bool {
    value.len() == 12 && value.chars().all(|c| c.is_ascii_digit())
}

/// The parts of `arn:PARTITION:SERVICE::ACCOUNT:RESOURCE` for IAM and STS principals.
fn principal_arn_parts(value: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return None;
    };
    (arn == "arn" && partition.starts_with("aws") && region.is_empty() && is_account(account))
        .then_some((service, resource))
}

/// `arn:PARTITION:iam::ACCOUNT:root|user/...|role/...` or
/// `arn:PARTITION:sts::ACCOUNT:assumed-role/...|federated-user/...` (IAM groups are not
/// principals).
fn is_principal_arn(value: &str) -> bool {
    match principal_arn_parts(value) {
        Some(("iam", resource)) => {
            resource == "root" || resource.starts_with("user/") || resource.starts_with("role/")
        }
        Some(("sts", resource)) => {
            resource.starts_with("assumed-role/") || resource.starts_with("federated-user/")
        }
        _ => false,
    }
}

fn is_provider_arn(value: &str) -> bool {
    matches!(
        principal_arn_parts(value),
        Some(("iam", resource)) if resource.starts_with("saml-provider/") || resource.starts_with("oidc-provider/")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn principal_forms() {
        assert_eq!(invalid("AWS", "*"), None);
        assert_eq!(invalid("AWS", "111122223333"), None);
        assert_eq!(
            invalid("AWS", "arn:aws:iam::111122223333:role/path/App"),
            None
        );
        assert_eq!(
            invalid("AWS", "arn:aws:sts::111122223333:assumed-role/App/s"),
            None
        );
        assert!(invalid("AWS", "arn:aws:iam::*:root").is_some());
        assert!(invalid("AWS", "arn:aws:iam::111122223333:role/*").is_some());
        assert!(invalid("AWS", "arn:aws:iam::111122223333:group/Admins").is_some());
        assert_eq!(invalid("Service", "logs.us-east-1.amazonaws.com"), None);
        assert!(invalid("Service", "*.amazonaws.com").is_some());
        assert_eq!(
            invalid(
                "Federated",
                "arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com"
            ),
            None
        );
        assert!(invalid("Federated", "example.com").is_some());
        assert!(invalid("aws", "111122223333").is_some());
    }
}
