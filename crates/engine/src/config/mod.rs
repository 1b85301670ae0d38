//! The project's files as declarations: an environment folder (every `*.toml` in it, merged),
//! the organization file, and `[[expect]]` boundary tests.

mod environment;
pub mod expect;
pub mod organization;

pub use environment::{LoadedEnvironment, from_sources, load_environment};
