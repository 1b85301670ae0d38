//! kmsctl's engine, between the binary and the domain crates: project discovery, targets (an
//! environment, the organization) and their loading, the typed links between domains (key store
//! id from hsm to keys, topic key from keys to monitor, organization floors to environments),
//! boundary tests after loading, and the drivers for plan, apply and drift. The binary parses
//! arguments, calls the engine, renders and maps outcomes to exit codes.

// An `Error` carries a snippet of the offending file; it travels once per run, on the way out.
#![allow(clippy::result_large_err)]

pub mod apply;
pub mod config;
pub mod context;
pub mod drift;
pub mod error;
pub mod links;
pub mod lint_render;
pub mod lock;
pub mod org_path_hint;
pub mod organization;
pub mod parts;
pub mod plan;
pub mod prepare;
pub mod project;
pub mod rules;
pub mod schedule;
pub mod simulate;
pub mod target;
pub mod team;

pub use context::Context;
pub use error::{Error, Result};
