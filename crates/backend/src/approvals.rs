//! Approvals at `approvals/TARGET/PLAN_ID/APPROVER`, APPROVER being the approver's AWS user id.
//!
//! What makes an approval unforgeable is the bucket policy, not this code: it lets a principal
//! write only `approvals/*/*/${aws:userid}`, so the last segment of a key is who wrote it. An
//! object whose content names someone else than its key is therefore a forgery, and is reported
//! as invalid rather than counted.

use kmsctl_core::Identity;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::store::{Put, Store, StoreError};

/// One person's consent to apply one saved plan to one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    pub target: String,
    /// The whole id (64 hex) of the saved plan.
    pub plan_id: String,
    pub approver: Identity,
    #[serde(with = "time::serde::rfc3339")]
    pub approved_at: OffsetDateTime,
    pub kmsctl_version: String,
}

impl Approval {
    /// `approver` approves `plan_id` for `target`, now.
    pub fn new(target: &str, plan_id: &str, approver: Identity) -> Self {
        Self {
            target: target.to_owned(),
            plan_id: plan_id.to_owned(),
            approver,
            approved_at: OffsetDateTime::now_utc(),
            kmsctl_version: crate::KMSCTL_VERSION.to_owned(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Yes,
    /// This approver had already approved this plan: the first approval stands.
    Already,
}

/// An object found under a plan's approvals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Valid(Approval),
    /// Not counted. `key` is relative to the store (see `Store::location`).
    Invalid {
        key: String,
        why: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("{id:?} is not a whole plan id (64 lowercase hexadecimal characters)")]
    BadPlanId { id: String },
    #[error("cannot record approvals of target {0}")]
    BadTarget(String),
    #[error("{user_id:?} is not an AWS user id (`AIDA...`, or `AROA...:SESSION`)")]
    BadApprover { user_id: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who signs a stored plan: its approvers, and who stored it (the planners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signer {
    /// `approvals/TARGET/PLAN_ID/USER_ID`.
    Approver,
    /// `planners/TARGET/PLAN_ID/USER_ID`: written by `plan` when it stores the plan, under the
    /// same bucket-policy pinning as approvals, so who planned is vouched for by S3 and not by
    /// what the plan file says of itself.
    Planner,
}

impl Signer {
    fn folder(self) -> &'static str {
        match self {
            Self::Approver => "approvals",
            Self::Planner => "planners",
        }
    }
}

/// `approvals/TARGET/PLAN_ID/` or `planners/TARGET/PLAN_ID/`.
fn folder_of(signer: Signer, target: &str, plan_id: &str) -> Result<String, ApprovalError> {
    crate::check_target(target).map_err(ApprovalError::BadTarget)?;
    if plan_id.len() != crate::plans::ID_LEN || !crate::is_lower_hex(plan_id) {
        return Err(ApprovalError::BadPlanId {
            id: plan_id.to_owned(),
        });
    }
    Ok(format!("{}/{target}/{plan_id}/", signer.folder()))
}

/// Records `approval` under its approver's user id.
pub async fn record(store: &Store, approval: &Approval) -> Result<Recorded, ApprovalError> {
    record_as(store, Signer::Approver, approval).await
}

/// Records a signature of `signer`'s kind (`approver` is who signs) under its user id.
pub async fn record_as(
    store: &Store,
    signer: Signer,
    approval: &Approval,
) -> Result<Recorded, ApprovalError> {
    let folder = folder_of(signer, &approval.target, &approval.plan_id)?;
    let user_id = &approval.approver.user_id;
    if user_id.is_empty() || user_id.contains('/') || user_id.chars().any(char::is_control) {
        return Err(ApprovalError::BadApprover {
            user_id: user_id.clone(),
        });
    }
    let mut body = serde_json::to_vec_pretty(approval).unwrap_or_default();
    body.push(b'\n');
    match store.put_new(&format!("{folder}{user_id}"), body).await? {
        Put::Written(_) => Ok(Recorded::Yes),
        Put::Exists | Put::Changed => Ok(Recorded::Already),
    }
}

/// Every object under the approvals of `plan_id` for `target`, each judged valid or not.
pub async fn list(store: &Store, target: &str, plan_id: &str) -> Result<Vec<Found>, ApprovalError> {
    list_as(store, Signer::Approver, target, plan_id).await
}

/// Every signature of `signer`'s kind of `plan_id` for `target`, each judged valid or not.
pub async fn list_as(
    store: &Store,
    signer: Signer,
    target: &str,
    plan_id: &str,
) -> Result<Vec<Found>, ApprovalError> {
    let folder = folder_of(signer, target, plan_id)?;
    let mut found = Vec::new();
    for key in store.list(&folder).await? {
        let approver = key.strip_prefix(&folder).unwrap_or(&key).to_owned();
        let Some(object) = store.get(&key).await? else {
            continue; // deleted since the listing
        };
        let invalid = |why: String| Found::Invalid {
            key: key.clone(),
            why,
        };
        if approver.contains('/') {
            found.push(invalid(format!(
                "{approver:?} is not an approver's user id (it holds `/`)"
            )));
            continue;
        }
        let approval: Approval = match serde_json::from_slice(&object.body) {
            Ok(approval) => approval,
            Err(e) => {
                found.push(invalid(format!("it is not an approval: {e}")));
                continue;
            }
        };
        found.push(if approval.target != target {
            invalid(format!(
                "it approves target {:?}, not {target:?}",
                approval.target
            ))
        } else if approval.plan_id != plan_id {
            invalid(format!(
                "it approves plan {}, not {plan_id}",
                approval.plan_id
            ))
        } else if approval.approver.user_id != approver {
            invalid(format!(
                "it names approver {} ({}) but is stored under user id {approver}: written by someone else in their name",
                approval.approver.arn, approval.approver.user_id
            ))
        } else {
            Found::Valid(approval)
        });
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn carol() -> Identity {
        Identity {
            arn: "arn:aws:sts::111122223333:assumed-role/approver/carol".into(),
            user_id: "AROACAROL:carol".into(),
            account: "111122223333".into(),
        }
    }

    fn dave() -> Identity {
        Identity {
            arn: "arn:aws:iam::111122223333:user/dave".into(),
            user_id: "AIDADAVE".into(),
            account: "111122223333".into(),
        }
    }

    fn plan_id(n: char) -> String {
        n.to_string().repeat(64)
    }

    #[tokio::test]
    async fn approvals_are_recorded_once_and_listed() {
        let store = Store::memory();
        let plan = plan_id('a');
        let approval = Approval::new("env/prod", &plan, carol());
        assert_eq!(
            record(&store, &approval).await.expect("record"),
            Recorded::Yes
        );
        let again = Approval::new("env/prod", &plan, carol());
        assert_eq!(
            record(&store, &again).await.expect("again"),
            Recorded::Already
        );
        record(&store, &Approval::new("env/prod", &plan, dave()))
            .await
            .expect("record");
        assert_eq!(
            store.list("approvals/").await.expect("list"),
            [
                format!("approvals/env/prod/{plan}/AIDADAVE"),
                format!("approvals/env/prod/{plan}/AROACAROL:carol"),
            ]
        );
        let found = list(&store, "env/prod", &plan).await.expect("list");
        let approvers: Vec<&str> = found
            .iter()
            .map(|f| match f {
                Found::Valid(a) => a.approver.user_id.as_str(),
                Found::Invalid { why, .. } => panic!("{why}"),
            })
            .collect();
        assert_eq!(approvers, ["AIDADAVE", "AROACAROL:carol"]);
        assert_eq!(
            found[1],
            Found::Valid(approval),
            "the first approval stands"
        );
        assert!(
            list(&store, "env/prod", &plan_id('b'))
                .await
                .expect("list")
                .is_empty()
        );
    }

    #[tokio::test]
    async fn planners_are_kept_apart_from_approvers() {
        let store = Store::memory();
        let plan = plan_id('c');
        record_as(
            &store,
            Signer::Planner,
            &Approval::new("env/prod", &plan, dave()),
        )
        .await
        .expect("planner");
        assert_eq!(
            store.list("planners/").await.expect("list"),
            [format!("planners/env/prod/{plan}/AIDADAVE")]
        );
        assert!(
            list(&store, "env/prod", &plan)
                .await
                .expect("list")
                .is_empty()
        );
        let planners = list_as(&store, Signer::Planner, "env/prod", &plan)
            .await
            .expect("planners");
        assert!(
            matches!(&planners[..], [Found::Valid(p)] if p.approver == dave()),
            "{planners:?}"
        );
    }

    #[tokio::test]
    async fn an_approval_written_under_someone_elses_name_is_invalid() {
        let store = Store::memory();
        let plan = plan_id('a');
        // Dave's approval, stored under Carol's user id.
        let forged = Approval::new("env/prod", &plan, dave());
        let key = format!("approvals/env/prod/{plan}/AROACAROL:carol");
        store
            .put_new(&key, serde_json::to_vec(&forged).expect("json"))
            .await
            .expect("put");
        let found = list(&store, "env/prod", &plan).await.expect("list");
        let [Found::Invalid { key: at, why }] = found.as_slice() else {
            panic!("{found:?}");
        };
        assert_eq!(at, &key);
        assert!(
            why.contains("written by someone else in their name"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn an_approval_of_another_plan_or_target_is_invalid() {
        let store = Store::memory();
        let plan = plan_id('a');
        let other_plan = Approval::new("env/prod", &plan_id('b'), carol());
        store
            .put_new(
                &format!("approvals/env/prod/{plan}/AROACAROL:carol"),
                serde_json::to_vec(&other_plan).expect("json"),
            )
            .await
            .expect("put");
        let other_target = Approval::new("env/dev", &plan, dave());
        store
            .put_new(
                &format!("approvals/env/prod/{plan}/AIDADAVE"),
                serde_json::to_vec(&other_target).expect("json"),
            )
            .await
            .expect("put");
        store
            .put_new(&format!("approvals/env/prod/{plan}/AIDAX"), b"yes".to_vec())
            .await
            .expect("put");
        let whys: Vec<String> = list(&store, "env/prod", &plan)
            .await
            .expect("list")
            .into_iter()
            .map(|f| match f {
                Found::Invalid { why, .. } => why,
                Found::Valid(a) => panic!("counted {a:?}"),
            })
            .collect();
        assert!(whys[0].contains("approves target \"env/dev\""), "{whys:?}");
        assert!(whys[1].contains("it is not an approval"), "{whys:?}");
        assert!(
            whys[2].contains(&format!("approves plan {}", plan_id('b'))),
            "{whys:?}"
        );
    }

    #[tokio::test]
    async fn plan_ids_are_whole() {
        let store = Store::memory();
        let err = list(&store, "env/prod", "abcdef012345")
            .await
            .expect_err("short");
        assert!(matches!(err, ApprovalError::BadPlanId { .. }), "{err:?}");
        let mut nobody = carol();
        nobody.user_id = "a/b".into();
        let err = record(&store, &Approval::new("env/prod", &plan_id('a'), nobody))
            .await
            .expect_err("bad approver");
        assert!(matches!(err, ApprovalError::BadApprover { .. }), "{err:?}");
    }
}
