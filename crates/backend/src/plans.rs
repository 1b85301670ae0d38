//! Saved plans at `plans/TARGET/DIGEST.json`, named by the SHA-256 of their exact bytes.
//!
//! The name is the content's digest, so a plan id someone reviewed names those bytes and no
//! others: a plan changed after it was saved no longer matches its name and is refused.

use crate::store::{Put, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PlanStoreError {
    #[error(
        "{id:?} is not a plan id: a plan id is 12 to 64 lowercase hexadecimal characters, as `kmsctl plan` printed it"
    )]
    BadId { id: String },
    #[error("cannot store plans of target {0}")]
    BadTarget(String),
    #[error("no saved plan of {target} has the id {id} (looked in {location})")]
    NotFound {
        target: String,
        id: String,
        location: String,
    },
    #[error(
        "the plan id {id} is ambiguous for {target}: it starts {}; give more characters", candidates.join(", ")
    )]
    Ambiguous {
        target: String,
        id: String,
        candidates: Vec<String>,
    },
    #[error(
        "the stored plan's content does not match its id {id} ({location}): someone changed it after it was saved; nothing was changed"
    )]
    Tampered { id: String, location: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The shortest prefix of a plan id `load` accepts: long enough that a collision among one
/// target's plans is not a practical worry.
pub const MIN_ID_LEN: usize = 12;
/// A whole id: the hex of a SHA-256.
pub const ID_LEN: usize = 64;

fn folder(target: &str) -> Result<String, PlanStoreError> {
    crate::check_target(target).map_err(PlanStoreError::BadTarget)?;
    Ok(format!("plans/{target}/"))
}

/// Saves `bytes` as a plan of `target`; returns its id (the SHA-256 of `bytes`). Saving the same
/// bytes twice is harmless: same content, same name.
pub async fn save(store: &Store, target: &str, bytes: &[u8]) -> Result<String, PlanStoreError> {
    let id = crate::sha256_hex(bytes);
    let key = format!("{}{id}.json", folder(target)?);
    match store.put_new(&key, bytes.to_vec()).await? {
        Put::Written(_) | Put::Exists | Put::Changed => Ok(id),
    }
}

/// The bytes of the plan of `target` whose id is `id` or starts with `id`, checked against
/// that id.
pub async fn load(store: &Store, target: &str, id: &str) -> Result<Vec<u8>, PlanStoreError> {
    if !(MIN_ID_LEN..=ID_LEN).contains(&id.len()) || !crate::is_lower_hex(id) {
        return Err(PlanStoreError::BadId { id: id.to_owned() });
    }
    let folder = folder(target)?;
    let not_found = || PlanStoreError::NotFound {
        target: target.to_owned(),
        id: id.to_owned(),
        location: store.location(&folder),
    };
    let full = if id.len() == ID_LEN {
        id.to_owned()
    } else {
        let mut candidates: Vec<String> = store
            .list(&format!("{folder}{id}"))
            .await?
            .iter()
            .filter_map(|key| key.strip_prefix(&folder)?.strip_suffix(".json"))
            .filter(|name| name.len() == ID_LEN && crate::is_lower_hex(name))
            .map(str::to_owned)
            .collect();
        match candidates.len() {
            0 => return Err(not_found()),
            1 => candidates.remove(0),
            _ => {
                return Err(PlanStoreError::Ambiguous {
                    target: target.to_owned(),
                    id: id.to_owned(),
                    candidates,
                });
            }
        }
    };
    let key = format!("{folder}{full}.json");
    let object = store.get(&key).await?.ok_or_else(not_found)?;
    if crate::sha256_hex(&object.body) != full {
        return Err(PlanStoreError::Tampered {
            id: full,
            location: store.location(&key),
        });
    }
    Ok(object.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn saved_plans_load_by_id_or_prefix() {
        let store = Store::memory();
        let plan = br#"{"format_version": 2, "changes": []}"#;
        let id = save(&store, "env/prod", plan).await.expect("save");
        assert_eq!(id, crate::sha256_hex(plan));
        assert_eq!(save(&store, "env/prod", plan).await.expect("again"), id);
        assert_eq!(
            store.list("plans/").await.expect("list"),
            [format!("plans/env/prod/{id}.json")]
        );
        assert_eq!(load(&store, "env/prod", &id).await.expect("full"), plan);
        assert_eq!(
            load(&store, "env/prod", &id[..12]).await.expect("prefix"),
            plan
        );
        let err = load(&store, "env/dev", &id)
            .await
            .expect_err("other target");
        assert!(matches!(err, PlanStoreError::NotFound { .. }), "{err:?}");
        let err = load(&store, "env/prod", "000000000000")
            .await
            .expect_err("absent");
        assert!(matches!(err, PlanStoreError::NotFound { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn an_ambiguous_prefix_names_the_candidates() {
        let store = Store::memory();
        // Two ids that share a 12-character prefix: put under forged names, since finding a
        // real collision is not an option. The check of content against id comes after.
        let a = format!("{}{}", "abcdef012345", "0".repeat(52));
        let b = format!("{}{}", "abcdef012345", "1".repeat(52));
        for id in [&a, &b] {
            store
                .put_new(&format!("plans/env/prod/{id}.json"), b"{}".to_vec())
                .await
                .expect("put");
        }
        let err = load(&store, "env/prod", "abcdef012345")
            .await
            .expect_err("ambiguous");
        let PlanStoreError::Ambiguous { candidates, .. } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(candidates, &[a.clone(), b]);
        assert!(err.to_string().contains(&a), "{err}");
        // One more character settles it, and the forged content is caught.
        let err = load(&store, "env/prod", "abcdef0123450")
            .await
            .expect_err("tampered");
        assert!(matches!(err, PlanStoreError::Tampered { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_plan_changed_after_it_was_saved_is_refused() {
        let store = Store::memory();
        let id = save(&store, "env/prod", b"{\"changes\": []}")
            .await
            .expect("save");
        let key = format!("plans/env/prod/{id}.json");
        let etag = store.get(&key).await.expect("get").expect("present").etag;
        store
            .put_replacing(&key, b"{\"changes\": [\"evil\"]}".to_vec(), &etag)
            .await
            .expect("tamper");
        let err = load(&store, "env/prod", &id).await.expect_err("tampered");
        assert_eq!(
            err.to_string(),
            format!(
                "the stored plan's content does not match its id {id} (memory://{key}): someone changed it after it was saved; nothing was changed"
            )
        );
    }

    #[tokio::test]
    async fn ids_are_hex_and_never_paths() {
        let store = Store::memory();
        for bad in [
            "abc",
            "../../locks/x",
            "ABCDEF0123456",
            "abcdef01234g",
            &"a".repeat(65),
        ] {
            let err = load(&store, "env/prod", bad).await.expect_err("bad id");
            assert!(
                matches!(err, PlanStoreError::BadId { .. }),
                "{bad}: {err:?}"
            );
        }
    }
}
