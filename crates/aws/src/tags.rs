//! Tag lists for SDK requests.

use std::collections::BTreeMap;

use crate::ApplyError;

/// The SDK `Tag` list for tag pairs. Each service has its own `Tag` type; `build` is its builder
/// (`|k, v| Tag::builder().key(k).value(v).build()`), whose `build` fails alike in every SDK.
pub fn sdk_tags<T, E: std::fmt::Display>(
    tags: &BTreeMap<String, String>,
    build: impl Fn(&str, &str) -> Result<T, E>,
) -> Result<Vec<T>, ApplyError> {
    tags.iter()
        .map(|(k, v)| build(k, v).map_err(|e| ApplyError::Malformed(e.to_string())))
        .collect()
}
