//! kmsctl's developer tasks, as a library.
//!
//! The `xtask` binary (`cargo xtask ...`) is built on top of this library, and the end-to-end test crate
//! (`tests/`) uses [`emulator`] to install and start the local AWS emulator (moto server).
//!
//! This crate has no dependencies outside `std`, so that it builds instantly.

pub mod emulator;
pub mod json;
pub mod validators;
