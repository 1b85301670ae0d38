//! The plan-file decoder on any bytes (not UTF-8, not JSON, JSON of the wrong shape, a plan of
//! another format version): it never panics, and what it accepts is a plan that encodes again
//! and decodes to the same plan.
//!
//! Written against `plan_file::load` through a temporary file until `plan_file::decode(&[u8])`
//! exists; then `decode` below becomes that function.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use kmsctl_core::plan::Plan;
use kmsctl_core::plan_file::{PlanFileError, load};
use libfuzzer_sys::fuzz_target;

fn decode(bytes: &[u8]) -> Result<Plan, PlanFileError> {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    let path = PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("kmsctl-fuzz-plan-{}.plan.json", std::process::id()))
    });
    std::fs::write(path, bytes).expect("write the temporary plan file");
    load(path)
}

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(plan) => {
            let text = serde_json::to_string_pretty(&plan).expect("a decoded plan encodes");
            let again = decode(text.as_bytes()).expect("an encoded plan decodes");
            assert_eq!(again, plan, "round trip");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
