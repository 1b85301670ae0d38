//! `{{ name }}` templating of JSON policy files, with a fixed set of variables whose values hold
//! the characters that could break a JSON string (`"`, `\`, control characters, non-ASCII).
//!
//! Properties: rendering never panics; `render` and `render_json_strings` accept and refuse the
//! same texts with the same error; text without `{{` is returned unchanged; and when every
//! placeholder sits inside a JSON string (the text is valid JSON with each placeholder
//! replaced by a harmless word), the escaped rendering is valid JSON too.

#![no_main]

use std::collections::BTreeMap;

use kmsctl_core::template;
use libfuzzer_sys::fuzz_target;

const VARIABLES: &[(&str, &str)] = &[
    ("account_id", "111122223333"),
    ("region", "us-east-1"),
    ("environment", "dev"),
    ("partition", "aws"),
    ("app_role", "dev-app-role"),
    ("quote", "a\"b"),
    ("backslash", "c:\\keys\\"),
    ("control", "line\nbreak\ttab\u{1}\u{7f}"),
    ("unicode", "ключ-🔑-\u{2028}"),
    ("braces", "{{ account_id }}"),
    ("empty", ""),
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let nasty: BTreeMap<String, String> = VARIABLES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let plain: BTreeMap<String, String> =
        nasty.keys().map(|k| (k.clone(), "X".to_owned())).collect();

    let escaped = template::render_json_strings(text, &nasty);
    let verbatim = template::render(text, &plain);
    match (&escaped, &verbatim) {
        (Ok(_), Ok(_)) => {}
        (Err(a), Err(b)) => assert_eq!(a, b, "the two renderers disagree on the error"),
        _ => panic!("one renderer accepts what the other refuses: {escaped:?} vs {verbatim:?}"),
    }
    if let Err(error) = &escaped {
        let _ = error.to_string();
        let _ = error.suggestion();
        return;
    }
    let (Ok(escaped), Ok(verbatim)) = (escaped, verbatim) else {
        return;
    };
    if !text.contains("{{") {
        assert_eq!(escaped, text, "text without placeholders changed");
    }
    if serde_json::from_str::<serde_json::Value>(&verbatim).is_ok() {
        if let Err(e) = serde_json::from_str::<serde_json::Value>(&escaped) {
            panic!(
                "an inserted value broke the JSON: {e}\n--- template\n{text}\n--- rendered\n{escaped}"
            );
        }
    }
});
