//! The environment that points an AWS SDK (and the `kmsctl` binary) at the emulator.

use std::process::Command;

/// Variables to remove from the environment of anything pointed at the emulator, because they would send
/// requests elsewhere, fail them, or mix real credentials in:
///
/// - `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`: a profile's settings (or a missing profile) would apply;
/// - `AWS_SESSION_TOKEN`, `AWS_SECURITY_TOKEN`: would be sent along with the dummy keys;
/// - `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`: would make the SDK ignore `AWS_ENDPOINT_URL`;
/// - `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`: conflict with a custom endpoint.
///
/// [`env_vars_to_remove`] adds the per-service `AWS_ENDPOINT_URL_<SERVICE>` variables that are set, since they
/// override `AWS_ENDPOINT_URL`.
pub const ENV_VARS_TO_REMOVE: &[&str] = &[
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_USE_FIPS_ENDPOINT",
    "AWS_USE_DUALSTACK_ENDPOINT",
];

/// The variables to set: the endpoint, dummy credentials (`testing`), region `us-east-1`, and no EC2
/// instance metadata lookups. Remove [`env_vars_to_remove`] as well (or use [`configure_command`]).
pub fn env_vars(endpoint: &str) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// [`ENV_VARS_TO_REMOVE`] plus every `AWS_ENDPOINT_URL_<SERVICE>` variable set in this process.
pub fn env_vars_to_remove() -> Vec<String> {
    let mut names: Vec<String> = ENV_VARS_TO_REMOVE.iter().map(|s| s.to_string()).collect();
    names.extend(
        std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .filter(|name| name.starts_with("AWS_ENDPOINT_URL_")),
    );
    names
}

/// Points `command` at the emulator: removes [`env_vars_to_remove`] and sets [`env_vars`].
/// (A `tokio::process::Command` can be made `From` the result.)
pub fn configure_command<'a>(command: &'a mut Command, endpoint: &str) -> &'a mut Command {
    for name in env_vars_to_remove() {
        command.env_remove(name);
    }
    command.envs(env_vars(endpoint))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables() {
        let vars = env_vars("http://127.0.0.1:1");
        let get = |name: &str| {
            vars.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("AWS_ENDPOINT_URL"), Some("http://127.0.0.1:1"));
        assert_eq!(get("AWS_ACCESS_KEY_ID"), Some("testing"));
        assert_eq!(get("AWS_SECRET_ACCESS_KEY"), Some("testing"));
        assert_eq!(get("AWS_REGION"), Some("us-east-1"));
        assert_eq!(get("AWS_EC2_METADATA_DISABLED"), Some("true"));
        assert_eq!(get("AWS_MAX_ATTEMPTS"), None);
        assert!(env_vars_to_remove().iter().any(|n| n == "AWS_PROFILE"));
    }

    #[test]
    fn configured_command() {
        let mut command = Command::new("env");
        configure_command(&mut command, "http://127.0.0.1:1");
        let envs: Vec<_> = command.get_envs().collect();
        assert!(envs.contains(&("AWS_PROFILE".as_ref(), None)));
        assert!(envs.contains(&(
            "AWS_ENDPOINT_URL".as_ref(),
            Some("http://127.0.0.1:1".as_ref())
        )));
    }
}
