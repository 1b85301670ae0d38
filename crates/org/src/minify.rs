//! The form kmsctl uploads: the policy JSON without whitespace, members in the file's order. AWS
//! counts the 5,120-character limit on exactly what is sent (the console strips whitespace, the
//! API does not), so kmsctl sends and measures this form, the same for the same file every time.

/// The minified policy, or the JSON error with its line and column.
pub fn minify(text: &str) -> Result<String, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_str(text)?;
    serde_json::to_string(&value)
}

/// Characters, as AWS counts the limit (not bytes).
pub fn size(text: &str) -> usize {
    text.chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_goes_and_member_order_stays() {
        let text = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [ { \"Sid\": \"A\", \"Effect\": \"Deny\" } ]\n}\n";
        let minified = minify(text).expect("valid");
        assert_eq!(
            minified,
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny"}]}"#
        );
        assert_eq!(
            minify(&minified).expect("valid"),
            minified,
            "minifying is idempotent"
        );
    }

    #[test]
    fn strings_keep_their_spaces_and_sizes_count_characters() {
        let minified = minify(r#"{ "Sid" : "a b", "é" : 1 }"#).expect("valid");
        assert_eq!(minified, r#"{"Sid":"a b","é":1}"#);
        assert_eq!(size(&minified), 19);
        assert!(minify("{ \"a\": ").is_err());
    }
}
