//! kmsctl as a library: what the `kmsctl` binary is made of. The binary only parses arguments,
//! sets up logging and maps the outcome to an exit code; tests and fuzz targets use the rest.

// `UserError` carries the source text for miette; it travels once per run, on the way out.
#![allow(clippy::result_large_err)]

pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod exit;
pub mod lock;
pub mod progress;
pub mod project;
pub mod render;
pub mod rules;
pub mod simulate;
