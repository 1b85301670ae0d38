//! Loading an environment folder: every `*.toml` in it, merged.

mod environment;

pub use environment::{LoadedEnvironment, from_sources, load_environment};
