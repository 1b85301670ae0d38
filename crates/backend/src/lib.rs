//! kmsctl's team backend: what several people and CI runs share through one S3 bucket.
//!
//! A lease lock per target (so two applies never interleave), saved plans (so what was reviewed
//! is what gets applied) and approvals (so a second person's consent is on record, under a name
//! a bucket policy lets only that person write). Every write is an S3 conditional write: the
//! bucket is the only arbiter, no other service is needed.

pub mod approvals;
pub mod config;
pub mod lock;
pub mod plans;
pub mod store;

pub use approvals::{Approval, ApprovalError, Found, Recorded, Signer};
pub use config::BackendConfig;
pub use lock::{LockError, LockRecord, Released, RemoteLock};
pub use plans::PlanStoreError;
pub use store::{Deleted, Object, Put, Store, StoreError};

/// Written into every record, so a record left by another version can be told apart.
pub const KMSCTL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Checks a target label (`env/prod`, `organization`) before it becomes part of an object key:
/// a label with empty, `.` or `..` segments would name a key that is not the target's.
pub fn check_target(target: &str) -> Result<(), String> {
    if target.is_empty() {
        return Err("the target label is empty".into());
    }
    if target.chars().any(char::is_control) {
        return Err(format!(
            "the target label {target:?} holds a control character"
        ));
    }
    if target
        .split('/')
        .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "the target label {target:?} has an empty, `.` or `..` segment"
        ));
    }
    Ok(())
}

/// Lowercase hex of the SHA-256 of `bytes`: the id of a saved plan.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `s` is only lowercase hexadecimal digits.
fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_labels_with_odd_segments_are_refused() {
        assert!(check_target("env/prod").is_ok());
        assert!(check_target("organization").is_ok());
        for bad in [
            "",
            "/env",
            "env/",
            "env//prod",
            "env/../prod",
            "./env",
            "env\nprod",
        ] {
            assert!(check_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn sha256_is_lowercase_hex() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
