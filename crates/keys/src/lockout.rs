//! When kmsctl cannot read a key it declares, which statements of the key's declared policy
//! could be what blocks it: Deny statements naming the reads kmsctl makes. The declared policy
//! passed the lockout guard as kmsctl evaluates it (a role session without MFA over TLS), so the
//! live policy may differ, or a condition may decide otherwise for the real caller (its source
//! IP, VPC endpoint, tags): the message names the candidates and says so.

use kmsctl_core::policy;

/// What kmsctl calls to read a key it plans (observe.rs `describe`).
const READS: [&str; 4] = [
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:ListResourceTags",
    "kms:GetKeyRotationStatus",
];

use crate::DesiredKey;

/// A sentence naming the Deny statements of the declared policy that cover what the deployer
/// needs, with their lines; empty when there is none.
pub fn blocking(key: &DesiredKey) -> String {
    let Ok(document) = policy::parse(&key.policy.text) else {
        return String::new();
    };
    let file = key.policy.file.as_ref().map_or_else(
        || "the default key policy".to_owned(),
        |f| f.display().to_string(),
    );
    let named: Vec<String> = document
        .statements
        .iter()
        .filter(|st| st.is_deny())
        .filter(|st| {
            let covers = |list: &std::collections::BTreeSet<String>| {
                READS
                    .iter()
                    .any(|needed| list.iter().any(|p| policy::action_matches(p, needed)))
            };
            match (&st.action, &st.not_action) {
                (Some(actions), _) => covers(actions),
                (None, Some(not_actions)) => !READS.iter().all(|needed| {
                    not_actions
                        .iter()
                        .any(|p| policy::action_matches(p, needed))
                }),
                (None, None) => false,
            }
        })
        .map(|st| {
            let name = st
                .sid_name()
                .map_or_else(|| st.pointer.clone(), |sid| format!("\"{sid}\""));
            format!("{name} ({file}:{})", st.line)
        })
        .collect();
    if named.is_empty() {
        return String::new();
    }
    format!(
        " The declared policy denies reads kmsctl makes ({}) in {}: if that policy is applied, a condition there may hold for the deployer's real requests (source IP, VPC endpoint, MFA, tags) although kmsctl's lockout guard, which evaluates a role session without MFA over TLS, let it pass; or the live policy was changed by hand.",
        READS.join(", "),
        named.join(", ")
    )
}
