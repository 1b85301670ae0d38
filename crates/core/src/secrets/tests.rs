use super::*;

fn parsed(text: &str) -> toml::Table {
    toml::from_str(text).unwrap_or_else(|e| panic!("still TOML: {e}\n{text}"))
}

fn keys(found: &[SecretAssignment]) -> Vec<(usize, &str)> {
    found.iter().map(|s| (s.line, s.key.as_str())).collect()
}

#[test]
fn secret_values_are_blanked_everywhere_and_lines_kept() {
    let text = "[hsm.key_store]\nname = \"store\" # password = not this\npassword = \"hunter2-secret\"\n\
                creds = { api_secret = 'x-y-z', user = \"u\" }\nkmsuser_password = \"\"\"multi\nline\"\"\"\nafter = 1\n";
    let (redacted, found) = redact(text);
    for secret in ["hunter2-secret", "x-y-z", "multi"] {
        assert!(!redacted.contains(secret), "{redacted}");
    }
    assert_eq!(
        found,
        [
            SecretAssignment {
                line: 3,
                key: "password".into()
            },
            SecretAssignment {
                line: 4,
                key: "api_secret".into()
            },
            SecretAssignment {
                line: 5,
                key: "kmsuser_password".into()
            },
        ]
    );
    assert_eq!(redacted.lines().count(), text.lines().count());
    assert_eq!(redacted.lines().nth(6), Some("after = 1"));
    let parsed = parsed(&redacted);
    let store = &parsed["hsm"]["key_store"];
    assert_eq!(store["password"].as_str(), Some(REDACTED_VALUE));
    assert_eq!(store["kmsuser_password"].as_str(), Some(REDACTED_VALUE));
    assert_eq!(store["creds"]["api_secret"].as_str(), Some(REDACTED_VALUE));
    assert_eq!(store["creds"]["user"].as_str(), Some("u"));
    assert_eq!(store["name"].as_str(), Some("store"));
}

#[test]
fn password_env_is_the_name_of_a_variable_not_a_secret() {
    let (redacted, found) = redact("password_env = \"KMSCTL_HSM_PASSWORD\"\n");
    assert!(found.is_empty());
    assert!(redacted.contains("KMSCTL_HSM_PASSWORD"));
}

#[test]
fn what_counts_as_secret_like() {
    for key in [
        "password",
        "Password",
        "PASSWORD",
        "passwd",
        "pass",
        "pwd",
        "passphrase",
        "secret",
        "token",
        "db_password",
        "db_pass",
        "db-pass",
        "kmsuser-password",
        "dbPassword",
        "DbPass",
        "dbpassword",
        "client_secret",
        "clientSecret",
        "auth_token",
        "GitHubToken",
        "api_key",
        "apiKey",
        "APIKey",
        "apikey",
        "private_key",
        "secret_key",
        "aws_secret_access_key",
        "my password",
        "db.password",
        "mot_de_passe_password",
    ] {
        assert!(is_secret_key(key), "{key} is secret-like");
    }
    // What the shipped files and schemas use, and look-alikes that are not secrets.
    for key in [
        "password_env",
        "token_env",
        "secret_arn",
        "secret_name",
        "topic_key",
        "key",
        "kms_master_key_id",
        "custom_key_store",
        "trust_anchor_certificate",
        "bypass",
        "compass",
        "passes",
        "tokens_per_minute",
        "key_spec",
        "name",
        "Café",
        "",
        "_",
        "日本語",
        "root/secret",
        "root/prod/token",
    ] {
        assert!(!is_secret_key(key), "{key} is not secret-like");
    }
}

#[test]
fn non_ascii_keys_do_not_panic() {
    for text in [
        "\"Café\" = \"x\"\n",
        "Café = \"x\"\n",
        "\"é\" = 1\n\"мой_password\" = \"hunter2\"\n",
        "ключ.password = \"hunter2\"\n",
        "é=",
        "=é",
        "\"é",
        "'é",
        "\"\\é\" = 1",
        "a = \"\\",
        "🔑 = \"x\"\npassword = \"hunter2\"",
    ] {
        let (redacted, _) = redact(text);
        assert_eq!(
            redacted.matches('\n').count(),
            text.matches('\n').count(),
            "{text:?}"
        );
        assert!(!redacted.contains("hunter2"), "{text:?} → {redacted:?}");
    }
    let (redacted, found) = redact("\"Café\" = \"x\"\n");
    assert!(found.is_empty());
    assert_eq!(redacted, "\"Café\" = \"x\"\n");
    let (_, found) = redact("\"мой_password\" = \"hunter2\"\n");
    assert_eq!(keys(&found), [(1, "мой_password")]);
}

#[test]
fn escaped_key_names_are_decoded_before_the_check() {
    let text =
        "name = \"x\"\n\"db_pass\\u0077ord\" = \"hunter2\"\n\"pass\\u0077ord_env\" = \"VAR\"\n";
    let (redacted, found) = redact(text);
    assert_eq!(keys(&found), [(2, "db_password")]);
    assert!(!redacted.contains("hunter2"), "{redacted}");
    assert!(redacted.contains("VAR"), "{redacted}");
    assert_eq!(
        parsed(&redacted)["db_password"].as_str(),
        Some(REDACTED_VALUE)
    );
}

#[test]
fn dotted_quoted_and_nested_keys() {
    let text = "a.b.password = \"one\"\na.\"c\".'secret' = 'two'\n[x.\"y z\"]\napi_key = 3\nnested = { deeper = { token = \"four\" }, list = [{ passwd = \"five\" }] }\n";
    let (redacted, found) = redact(text);
    for secret in ["one", "two", "four", "five"] {
        assert!(!redacted.contains(secret), "{secret}: {redacted}");
    }
    assert_eq!(
        keys(&found),
        [
            (1, "password"),
            (2, "secret"),
            (4, "api_key"),
            (5, "token"),
            (5, "passwd")
        ]
    );
    let doc = parsed(&redacted);
    assert_eq!(doc["x"]["y z"]["api_key"].as_str(), Some(REDACTED_VALUE));
}

#[test]
fn arrays_of_tables_and_secret_tables() {
    let text = "[[key]]\nname = \"a\"\npassword = \"one\"\n[[key]]\nname = \"b\"\n[key.creds]\nsecret = \"two\"\n\
                [password]\nvalue = \"three\"\nlist = [\"four\", 5]\n[[tokens.token]]\nx = \"six\"\n";
    let (redacted, found) = redact(text);
    for secret in ["one", "two", "three", "four", "5", "six"] {
        assert!(!redacted.contains(secret), "{secret}: {redacted}");
    }
    assert_eq!(
        keys(&found),
        [
            (3, "password"),
            (7, "secret"),
            (8, "password"),
            (11, "token")
        ]
    );
    let doc = parsed(&redacted);
    assert_eq!(doc["key"][0]["name"].as_str(), Some("a"));
    assert_eq!(doc["password"]["list"][1].as_str(), Some(REDACTED_VALUE));
}

#[test]
fn multi_line_values_keep_their_lines_and_still_parse() {
    let text = "password = \"\"\"\nline one\nline two\n\"\"\"\nafter = 1\ncreds = { token = '''a\nb''', user = \"u\" }\nlast = 2\n";
    let (redacted, found) = redact(text);
    assert_eq!(keys(&found), [(1, "password"), (6, "token")]);
    assert_eq!(redacted.lines().count(), text.lines().count());
    assert_eq!(redacted.lines().nth(4), Some("after = 1"));
    assert_eq!(redacted.lines().nth(7), Some("last = 2"));
    assert!(!redacted.contains("line one"), "{redacted}");
    let doc = parsed(&redacted);
    assert_eq!(doc["password"].as_str(), Some(REDACTED_VALUE));
    assert_eq!(doc["creds"]["token"].as_str(), Some(REDACTED_VALUE));
    assert_eq!(doc["after"].as_integer(), Some(1));
}

#[test]
fn text_that_does_not_parse_is_still_redacted() {
    for text in [
        "[hsm.key_store]\nsecret = \"kmsuser-S3cret\" oops\n",
        "password = \"kmsuser-S3cret\"\n[[[\n",
        "\"db_pass\\u0077ord\" = \"kmsuser-S3cret\"\nbroken =\n",
        "x = { password = \"kmsuser-S3cret\", \n",
        "password = kmsuser-S3cret\n",
        "pass = 'kmsuser-S3cret\n",
        "token = \"\"\"kmsuser-S3cret\n",
    ] {
        let (redacted, found) = redact(text);
        assert!(!redacted.contains("S3cret"), "{text:?} → {redacted:?}");
        assert!(!found.is_empty(), "{text:?}");
        assert_eq!(
            redacted.matches('\n').count(),
            text.matches('\n').count(),
            "{text:?}"
        );
    }
}

#[test]
fn values_that_look_like_assignments_are_not_keys() {
    let text = "description = \"password = hunter\"\nnotes = '''\ntoken = x\n'''\n# secret = y\n";
    let (redacted, found) = redact(text);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(redacted, text);
}
