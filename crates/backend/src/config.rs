//! The `[backend]` table: which bucket the team shares, under which prefix, reached how.

use std::time::Duration;

use serde::Deserialize;

/// Where the team's shared state lives. Checked by [`BackendConfig::validate`] before any call:
/// a bad bucket name or role ARN is a typo to point at, not an AWS error to decode.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendConfig {
    pub s3_bucket: String,
    /// Prepended to every key (`kmsctl/`), so one bucket can hold several projects.
    #[serde(default)]
    pub key_prefix: Option<String>,
    /// The bucket's region; the target's region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// A role to assume for the bucket only (a central state account).
    #[serde(default)]
    pub assume_role_arn: Option<String>,
    /// How long a lock outlives a holder that stopped renewing it (a killed CI job).
    #[serde(default)]
    pub lease_seconds: Option<u64>,
}

impl BackendConfig {
    pub const DEFAULT_LEASE: Duration = Duration::from_secs(120);
    /// Shorter leaves too little time to renew across a slow call; longer keeps a team waiting
    /// too long behind a crashed run.
    pub const LEASE_SECONDS: std::ops::RangeInclusive<u64> = 5..=3600;

    pub fn new(s3_bucket: impl Into<String>) -> Self {
        Self {
            s3_bucket: s3_bucket.into(),
            key_prefix: None,
            region: None,
            assume_role_arn: None,
            lease_seconds: None,
        }
    }

    /// The lock lease: `lease_seconds`, or two minutes.
    pub fn lease(&self) -> Duration {
        self.lease_seconds
            .map_or(Self::DEFAULT_LEASE, Duration::from_secs)
    }

    /// The key prefix as keys are built from it: empty, or ending with exactly one `/` more than
    /// was written when it had none (`kmsctl` and `kmsctl/` are the same prefix).
    pub fn prefix(&self) -> String {
        match self.key_prefix.as_deref() {
            None | Some("") => String::new(),
            Some(p) if p.ends_with('/') => p.to_owned(),
            Some(p) => format!("{p}/"),
        }
    }

    /// The first problem found, worded for the person who wrote the configuration.
    pub fn validate(&self) -> Result<(), String> {
        check_bucket(&self.s3_bucket)?;
        if let Some(prefix) = &self.key_prefix {
            check_prefix(prefix)?;
        }
        if let Some(region) = &self.region {
            let ok = !region.is_empty()
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !ok {
                return Err(format!(
                    "backend region {region:?} is not a region name (like `eu-west-1`)"
                ));
            }
        }
        if let Some(arn) = &self.assume_role_arn {
            check_role_arn(arn)?;
        }
        if let Some(seconds) = self.lease_seconds
            && !Self::LEASE_SECONDS.contains(&seconds)
        {
            return Err(format!(
                "backend lease_seconds = {seconds} is out of range: it must be between {} and {}",
                Self::LEASE_SECONDS.start(),
                Self::LEASE_SECONDS.end()
            ));
        }
        Ok(())
    }
}

/// S3's rules for general purpose bucket names.
fn check_bucket(name: &str) -> Result<(), String> {
    let why = if !(3..=63).contains(&name.len()) {
        Some("it must be 3 to 63 characters long")
    } else if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    {
        Some("it may hold only lowercase letters, digits, dots and hyphens")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric())
        || !name.ends_with(|c: char| c.is_ascii_alphanumeric())
    {
        Some("it must start and end with a letter or a digit")
    } else if name.contains("..") {
        Some("it must not hold two dots in a row")
    } else if name.split('.').count() == 4
        && name
            .split('.')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
    {
        Some("it must not look like an IP address")
    } else {
        None
    };
    match why {
        Some(why) => Err(format!(
            "backend s3_bucket {name:?} is not a valid S3 bucket name: {why}"
        )),
        None => Ok(()),
    }
}

fn check_prefix(prefix: &str) -> Result<(), String> {
    if prefix.starts_with('/') {
        return Err(format!(
            "backend key_prefix {prefix:?} must not start with `/`: S3 keys are not absolute paths (write {:?})",
            prefix.trim_start_matches('/')
        ));
    }
    let body = prefix.strip_suffix('/').unwrap_or(prefix);
    if !body.is_empty()
        && body
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..")
    {
        return Err(format!(
            "backend key_prefix {prefix:?} has an empty, `.` or `..` segment"
        ));
    }
    if prefix.chars().any(char::is_control) {
        return Err(format!(
            "backend key_prefix {prefix:?} holds a control character"
        ));
    }
    Ok(())
}

/// `arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`.
fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = matches!(
        parts.as_slice(),
        ["arn", partition, "iam", "", account, resource]
            if !partition.is_empty()
                && partition.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
                && account.len() == 12
                && account.bytes().all(|b| b.is_ascii_digit())
                && resource.strip_prefix("role/").is_some_and(|name| !name.is_empty())
    );
    if ok {
        Ok(())
    } else {
        Err(format!(
            "backend assume_role_arn {arn:?} is not a role ARN (like `arn:aws:iam::111122223333:role/kmsctl-state`)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<BackendConfig, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_normalised_prefix() {
        let config = parse(r#"{"s3_bucket": "team-state"}"#).expect("parse");
        assert_eq!(config.lease(), Duration::from_secs(120));
        assert_eq!(config.prefix(), "");
        assert_eq!(config.validate(), Ok(()));
        let config = BackendConfig {
            key_prefix: Some("kmsctl".into()),
            lease_seconds: Some(30),
            ..BackendConfig::new("team-state")
        };
        assert_eq!(config.prefix(), "kmsctl/");
        assert_eq!(config.lease(), Duration::from_secs(30));
        let config = BackendConfig {
            key_prefix: Some("a/b/".into()),
            ..BackendConfig::new("team-state")
        };
        assert_eq!(config.prefix(), "a/b/");
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = parse(r#"{"s3_bucket": "b-1", "bucket": "x"}"#).expect_err("unknown");
        assert!(err.contains("unknown field `bucket`"), "{err}");
    }

    #[test]
    fn bucket_names_follow_s3() {
        for good in ["abc", "my.bucket-1", "0123", &"a".repeat(63)] {
            assert_eq!(check_bucket(good), Ok(()), "{good}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "bucket_1",
            "-bucket",
            "bucket.",
            "a..b",
            "192.168.1.1",
        ] {
            assert!(check_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_relative_and_plain() {
        for bad in ["/kmsctl", "a/../b", "..", "a//b", "./a"] {
            let config = BackendConfig {
                key_prefix: Some(bad.into()),
                ..BackendConfig::new("team-state")
            };
            assert!(config.validate().is_err(), "{bad}");
        }
    }

    #[test]
    fn role_arns_and_leases_are_checked() {
        let mut config = BackendConfig {
            assume_role_arn: Some("arn:aws-us-gov:iam::111122223333:role/ops/kmsctl".into()),
            ..BackendConfig::new("team-state")
        };
        assert_eq!(config.validate(), Ok(()));
        for bad in [
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::1111:role/x",
            "arn:aws:sts::111122223333:role/x",
            "arn:aws:iam::111122223333:role/",
            "kmsctl-state",
        ] {
            config.assume_role_arn = Some(bad.into());
            assert!(config.validate().is_err(), "{bad}");
        }
        config.assume_role_arn = None;
        for (seconds, ok) in [(4, false), (5, true), (3600, true), (3601, false)] {
            config.lease_seconds = Some(seconds);
            assert_eq!(config.validate().is_ok(), ok, "{seconds}");
        }
    }
}
