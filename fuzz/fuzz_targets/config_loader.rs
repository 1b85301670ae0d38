//! An environment file: any text either loads or gives an error that renders (as the binary
//! renders it, with miette pointing into the source). What loads is resolved into keys and
//! checked by the guards, with a project root that does not exist (so no policy file is ever
//! read: a key naming one gets an error).

#![no_main]
#![allow(clippy::result_large_err)]

use std::path::Path;

use kmsctl_core::source::SourceFile;
use kmsctl_keys::desired;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let files = vec![SourceFile::new("environments/dev/keys.toml", text)];
    let env = match kmsctl_engine::config::from_sources("dev", Path::new("environments/dev"), files) {
        Ok(env) => env,
        Err(error) => {
            let _ = format!("{:?}", miette::Report::new(kmsctl::error::UserError::from(error)));
            return;
        }
    };
    let declared = env.declared_keys();
    let root = Path::new("/nonexistent/kmsctl-fuzz-root");
    match desired::build(root, &env.settings, &declared) {
        Ok(keys) => {
            let _ = kmsctl_keys::guards::check(&env.settings.name, &env.settings.rules, &keys);
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
