//! kmsctl's developer tasks, as a library.
//!
//! The `xtask` binary (`cargo xtask ...`) is built on top of this library, and the end-to-end test crate
//! (`tests/`) uses [`emulator`] to install and start the local AWS emulator (moto server). The emulator code
//! and the bench talk HTTP through [`http`], one minimal HTTP/1.1 client.
//!
//! Its only dependencies are `serde` and `serde_json` (nothing async, no TLS), so that it builds in seconds.

pub mod emulator;
pub mod http;
pub mod validators;
