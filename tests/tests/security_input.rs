//! Files anyone may have written (a pull request's) are untrusted input: every attack here is
//! refused with a clear message (exit 1 or 3), never a panic (exit 101), never by echoing a
//! secret, and an oversized policy is refused by its size before it is parsed. All offline.

use std::time::{Duration, Instant};

use kmsctl_tests::{Run, TestProject};

/// Nothing listens here: a command that tried to reach AWS would fail with exit 1.
const NO_AWS: &str = "http://127.0.0.1:9";
const ENV: &str = "environments/dev/environment.toml";
const KEYS: &str = "environments/dev/keys.toml";
const ORG: &str = "organization/organization.toml";
const HSM: &str = "environments/prod-hsm/hsm.toml";
const SECRET: &str = "hunter2-S3cret-value-42";

fn validate(project: &TestProject, target: &str) -> Run {
    project.kmsctl_at(NO_AWS, &["validate", target])
}

fn assert_no_panic(run: &Run, what: &str) {
    assert_ne!(run.code, 101, "{what} panicked:\n{}", run.stderr);
    assert!(
        !run.stderr.contains("panicked"),
        "{what} panicked:\n{}",
        run.stderr
    );
}

fn assert_not_echoed(run: &Run, secret: &str, what: &str) {
    assert!(
        !run.stderr.contains(secret) && !run.stdout.contains(secret),
        "{what} echoes the secret:\n{}\n{}",
        run.stdout,
        run.stderr
    );
}

/// Prepends `line` to a file, so a key lands at the top level (not in its last table).
fn prepend(project: &TestProject, file: &str, line: &str) {
    let text = project.read(file);
    project.write(file, &format!("{line}\n{text}"));
}

#[test]
fn non_ascii_keys_never_panic() {
    for (file, line) in [
        (ENV, "\"Café\" = \"x\""),
        (ENV, "Café = \"x\""),
        (ENV, "\"ключ\" = \"значение\""),
        (ENV, "\"🔑\" = { \"é\" = 1 }"),
        (ENV, "\"é\" = \"\"\"multi\nligne\"\"\""),
        (ENV, "é="),
        (ENV, "\"é"),
        (KEYS, "[[key]]\n\"Café\" = \"x\""),
        (ORG, "\"Café\" = \"x\""),
    ] {
        let project = if file == ORG {
            TestProject::shipped()
        } else {
            TestProject::dev()
        };
        prepend(&project, file, line);
        let target = if file == ORG {
            "organization"
        } else {
            "env/dev"
        };
        let run = validate(&project, target);
        assert_no_panic(&run, line);
        assert_eq!(run.code, 1, "{line}:\n{}", run.stderr);
        assert!(
            run.stderr.contains(file),
            "{line}: names {file}\n{}",
            run.stderr
        );
    }
    // Valid non-ASCII where the files allow any name: a tag value, accepted.
    let project = TestProject::dev();
    project.edit(
        KEYS,
        "Project = \"Payment System\"",
        "Project = \"Payment System\"\nNotes = \"Café ☕ — 支払い\"",
    );
    let run = validate(&project, "env/dev");
    assert_no_panic(&run, "a non-ASCII tag value");
    assert_eq!(run.code, 0, "{}", run.stderr);
}

#[test]
fn an_escaped_secret_key_is_refused_and_not_echoed() {
    // `"pass\u0077ord"` is `password`: refused as the plain key is, by line, value not shown.
    let project = TestProject::example("prod-hsm", "222222222222");
    project.edit(
        HSM,
        "password_env = \"KMSCTL_HSM_PASSWORD\"",
        &format!("password_env = \"KMSCTL_HSM_PASSWORD\"\n\"pass\\u0077ord\" = \"{SECRET}\""),
    );
    let run = validate(&project, "env/prod-hsm").expect_code(3);
    assert!(
        run.stderr.contains("error[secret-in-file]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!("--> {HSM}:15")),
        "{}",
        run.stderr
    );
    assert_not_echoed(&run, SECRET, "an escaped password");

    // Where no field takes it: an unknown field, named as decoded, the secret still not shown.
    let project = TestProject::dev();
    prepend(
        &project,
        ENV,
        &format!("\"db_pass\\u0077ord\" = \"{SECRET}\""),
    );
    let run = validate(&project, "env/dev").expect_code(1);
    assert!(
        run.stderr.contains("unknown field `db_password`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("secret-like value"), "{}", run.stderr);
    assert_not_echoed(&run, SECRET, "an escaped db_password");
}

#[test]
fn an_unknown_secret_like_field_is_not_echoed() {
    for key in [
        "db_pass",
        "pass",
        "passphrase",
        "api_key",
        "apiToken",
        "private_key",
        "clientSecret",
        "\"my password\"",
    ] {
        for (file, prefix) in [(ENV, ""), (KEYS, "[[key]]\nfunction = \"x\"\n")] {
            let project = TestProject::dev();
            prepend(&project, file, &format!("{prefix}{key} = \"{SECRET}\""));
            let run = validate(&project, "env/dev");
            assert_no_panic(&run, key);
            assert_eq!(run.code, 1, "{key} in {file}:\n{}", run.stderr);
            assert!(run.stderr.contains("unknown field"), "{}", run.stderr);
            assert_not_echoed(&run, SECRET, key);
        }
    }
    // Malformed on the secret's own line: the syntax error's snippet does not show it either.
    let project = TestProject::dev();
    prepend(&project, ENV, &format!("db_pass = \"{SECRET}\" oops"));
    let run = validate(&project, "env/dev").expect_code(1);
    assert_not_echoed(&run, SECRET, "a malformed secret line");

    // The organization's files hold no secret either.
    let project = TestProject::shipped();
    prepend(&project, ORG, &format!("kms_token = \"{SECRET}\""));
    let run = validate(&project, "organization").expect_code(1);
    assert!(run.stderr.contains("`kms_token`"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("{ORG}:1")), "{}", run.stderr);
    assert_not_echoed(&run, SECRET, "organization.toml");
}

/// A valid-looking policy of about 18 MB: thousands of statements, and a syntax error at the
/// very end, which only a parser reaching it would report (so a size error proves it was not
/// parsed).
fn huge_policy() -> String {
    let statement = r#"{"Sid": "S", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}"#;
    let mut text = String::from("{\"Version\": \"2012-10-17\", \"Statement\": [\n");
    while text.len() < 18 * 1024 * 1024 {
        text.push_str(statement);
        text.push_str(",\n");
    }
    text.push_str(statement);
    text.push_str(",\n]}\n");
    text
}

fn assert_refused_for_size(run: &Run, file: &str, size: usize, started: Instant) {
    assert_no_panic(run, file);
    assert!(matches!(run.code, 1 | 3), "{file}: {}", run.stderr);
    assert!(run.stderr.contains(file), "names {file}:\n{}", run.stderr);
    assert!(
        run.stderr.contains(&size.to_string()) && run.stderr.contains("bytes"),
        "names the size {size}:\n{}",
        run.stderr
    );
    for parse_error in ["JSON", "trailing comma", "line 2", "not a policy document"] {
        assert!(
            !run.stderr.contains(parse_error),
            "{file} was parsed:\n{}",
            run.stderr
        );
    }
    // Parsing it took seconds and hundreds of megabytes; refusing it by its length takes well
    // under a second (the bound is loose: tests run in parallel on small machines).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{file} took {:?}",
        started.elapsed()
    );
}

#[test]
fn an_18_mb_policy_is_refused_by_its_size_before_parsing() {
    let policy = huge_policy();

    let project = TestProject::dev();
    let file = "policies/kms/dev-payment-policy.json";
    project.write(file, &policy);
    let started = Instant::now();
    let run = validate(&project, "env/dev");
    assert_refused_for_size(&run, file, policy.len(), started);

    let started = Instant::now();
    let run = project.kmsctl_at(NO_AWS, &["lint", file]);
    assert_refused_for_size(&run, file, policy.len(), started);
    let started = Instant::now();
    let run = project.kmsctl_at(NO_AWS, &["lint", "--type", "scp", file]);
    assert_refused_for_size(&run, file, policy.len(), started);

    let project = TestProject::shipped();
    let file = "policies/org/service_control_policy/tag_enforcement.json";
    project.write(file, &policy);
    let started = Instant::now();
    let run = validate(&project, "organization");
    assert_refused_for_size(&run, file, policy.len(), started);
}
