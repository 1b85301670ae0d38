//! Policy documents: any text either fails to parse with a line and column, or parses into a
//! document that the guards can check and whose canonical form parses back to the same
//! meaning (and an empty diff).

#![no_main]

use std::path::Path;

use kmsctl_core::policy;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let doc = match policy::parse(text) {
        Ok(doc) => doc,
        Err(error) => {
            assert!(error.line >= 1 && error.column >= 1, "{error:?}");
            return;
        }
    };
    for finding in policy::check_key_policy(&doc, text.len(), Path::new("p.json")) {
        if let Some(pointer) = &finding.location.pointer {
            let _ = policy::line_of_pointer(text, pointer);
        }
    }

    let canonical = doc.canonical();
    let rendered = serde_json::to_string_pretty(&canonical).expect("the canonical form serializes");
    let reparsed = policy::parse(&rendered)
        .unwrap_or_else(|e| panic!("the canonical form does not parse: {e}\n{rendered}"));
    assert!(
        policy::semantically_equal(&doc, &reparsed),
        "the canonical form changes the meaning\n--- input\n{text}\n--- canonical\n{rendered}\n--- canonical of the reparse\n{}",
        reparsed.canonical()
    );
    assert_eq!(
        reparsed.canonical(),
        canonical,
        "the canonical form is not a fixed point"
    );
    // Equal documents diff to nothing, duplicate Sids included (an identical statement is
    // matched before another of the same Sid).
    let changes = policy::diff(&doc, &reparsed);
    assert!(
        changes.is_empty(),
        "equal documents diff: {}\n--- input\n{text}",
        policy::render_diff(&changes)
    );
});
