//! The plan-file decoder on any bytes (not UTF-8, not JSON, JSON of the wrong shape, a plan of
//! another format version): `plan_file::decode` never panics, its error displays, and what it
//! accepts is a plan that encodes again and decodes to the same plan.

#![no_main]

use std::path::Path;

use kmsctl_core::plan_file::decode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new(".kmsctl/env-dev.plan.json");
    match decode(path, data) {
        Ok(plan) => {
            let text = serde_json::to_string_pretty(&plan).expect("a decoded plan encodes");
            let again = decode(path, text.as_bytes()).expect("an encoded plan decodes");
            assert_eq!(again, plan, "round trip");
        }
        Err(error) => {
            let _ = error.to_string();
        }
    }
});
