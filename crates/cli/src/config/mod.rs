//! Loading an environment folder: every `*.toml` in it, merged.

mod environment;

pub use environment::{LoadedEnvironment, load_environment};
