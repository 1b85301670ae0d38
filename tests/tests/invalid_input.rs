//! Every case under `tests/fixtures/invalid/`: bad input must give a clear error naming the file
//! (exit 1) or a guard refusal (exit 3), never a panic, and never an AWS call.
//!
//! A case is a folder `NNN-short-name/` holding files overlaid onto a copy of the shipped dev
//! project (same relative paths: `environments/dev/extra.toml`, `policies/kms/case.json`, ...)
//! and a `case.toml`:
//!
//! ```toml
//! description = "what is wrong"        # required
//! expect_exit = 1                      # 1 (bad input) or 3 (guard refusal)
//! command = ["validate", "env/dev"]    # optional; the default
//! delete = ["policies/kms/x.json"]     # optional; files removed after the overlay
//! generate = "deep_json:100000"        # optional; see `generate` below
//! names_file = false                   # optional; when no file can be named
//! expect_stderr = ["environment.toml"] # optional; substrings stderr must contain
//! ```
//!
//! `111111111111` (the shipped dev account) in an overlaid file becomes the project's own account,
//! as `TestProject::dev` does for the shipped files. Each `validate` command is run again as
//! `plan` with the same arguments (and `--max-attempts 1`): plan must refuse the same way, with
//! the same diagnostics, before any AWS call.
//!
//! stderr is snapshotted per case (`snapshots/invalid_input__NNN-short-name.snap`), with the
//! temporary folder and the account id redacted. Review changes with `cargo insta review`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kmsctl_tests::{Run, TestProject};

/// Nothing listens here: a command that tried to reach AWS would fail with exit 1.
const NO_AWS: &str = "http://127.0.0.1:9";
const SHIPPED_ACCOUNT: &str = "111111111111";
const MIN_CASES: usize = 50;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/invalid")
}

/// A value of the small TOML subset `case.toml` uses.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    List(Vec<String>),
}

/// Parses `key = value` lines: basic strings, integers, booleans and one-line arrays of
/// strings. (The tests crate has no TOML dependency; this is all `case.toml` needs.)
fn parse_case_toml(text: &str) -> Result<BTreeMap<String, Value>, String> {
    let mut out = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {}: expected key = value", index + 1))?;
        let value = parse_value(value.trim()).map_err(|e| format!("line {}: {e}", index + 1))?;
        if out.insert(key.trim().to_owned(), value).is_some() {
            return Err(format!("line {}: {} set twice", index + 1, key.trim()));
        }
    }
    Ok(out)
}

fn parse_value(text: &str) -> Result<Value, String> {
    if let Some(inner) = text.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or("an array must close on its line")?;
        let mut items = Vec::new();
        let mut rest = inner.trim();
        while !rest.is_empty() {
            let (item, after) = parse_string(rest)?;
            items.push(item);
            rest = after.trim_start();
            rest = rest.strip_prefix(',').unwrap_or(rest).trim_start();
        }
        return Ok(Value::List(items));
    }
    if text.starts_with('"') {
        let (s, rest) = parse_string(text)?;
        if !rest.trim().is_empty() && !rest.trim().starts_with('#') {
            return Err(format!("unexpected {rest:?} after the string"));
        }
        return Ok(Value::Str(s));
    }
    match text {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        _ => {}
    }
    text.parse()
        .map(Value::Int)
        .map_err(|_| format!("cannot read the value {text:?}"))
}

/// A basic string at the start of `text`, and what follows it.
fn parse_string(text: &str) -> Result<(String, &str), String> {
    let body = text.strip_prefix('"').ok_or("expected a string")?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((out, &body[i + 1..])),
            '\\' => match chars.next().map(|(_, e)| e) {
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                other => return Err(format!("unsupported escape \\{other:?}")),
            },
            c => out.push(c),
        }
    }
    Err("unterminated string".into())
}

/// One case folder.
#[derive(Debug)]
struct Case {
    name: String,
    dir: PathBuf,
    description: String,
    expect_exit: i32,
    command: Vec<String>,
    delete: Vec<String>,
    generate: Option<String>,
    names_file: bool,
    expect_stderr: Vec<String>,
}

impl Case {
    fn load(dir: &Path) -> Result<Self, String> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or("a case folder name must be UTF-8")?
            .to_owned();
        let text = std::fs::read_to_string(dir.join("case.toml"))
            .map_err(|e| format!("{name}/case.toml: {e}"))?;
        let mut fields = parse_case_toml(&text).map_err(|e| format!("{name}/case.toml: {e}"))?;
        let mut take = |key: &str| fields.remove(key);
        let description = match take("description") {
            Some(Value::Str(s)) if !s.trim().is_empty() => s,
            other => {
                return Err(format!(
                    "{name}: description must be a string, got {other:?}"
                ));
            }
        };
        let expect_exit = match take("expect_exit") {
            Some(Value::Int(code @ (1 | 3))) => code as i32,
            other => return Err(format!("{name}: expect_exit must be 1 or 3, got {other:?}")),
        };
        let list = |value: Option<Value>, default: Vec<String>| match value {
            None => Ok(default),
            Some(Value::List(items)) => Ok(items),
            Some(other) => Err(format!(
                "{name}: expected an array of strings, got {other:?}"
            )),
        };
        let command = list(take("command"), vec!["validate".into(), "env/dev".into()])?;
        let delete = list(take("delete"), vec![])?;
        let expect_stderr = list(take("expect_stderr"), vec![])?;
        let generate = match take("generate") {
            None => None,
            Some(Value::Str(s)) => Some(s),
            Some(other) => return Err(format!("{name}: generate must be a string, got {other:?}")),
        };
        let names_file = match take("names_file") {
            None => true,
            Some(Value::Bool(b)) => b,
            Some(other) => {
                return Err(format!(
                    "{name}: names_file must be a boolean, got {other:?}"
                ));
            }
        };
        if let Some(unknown) = fields.keys().next() {
            return Err(format!("{name}/case.toml: unknown field {unknown}"));
        }
        Ok(Self {
            name,
            dir: dir.to_owned(),
            description,
            expect_exit,
            command,
            delete,
            generate,
            names_file,
            expect_stderr,
        })
    }
}

fn all_cases() -> Vec<Case> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/invalid exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|dir| Case::load(dir).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// Every file under `dir`, relative to it, `case.toml` excepted.
fn overlay_files(dir: &Path, base: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read case folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            overlay_files(&path, base, out);
        } else if path != base.join("case.toml") {
            out.push(path.strip_prefix(base).expect("inside").to_owned());
        }
    }
}

/// A project for one case, and what must outlive the runs.
struct Built {
    project: TestProject,
    /// A folder outside the project (for `escape_symlink`).
    outside: Option<tempfile::TempDir>,
}

fn build(case: &Case) -> Built {
    let project = TestProject::dev();
    let mut files = Vec::new();
    overlay_files(&case.dir, &case.dir, &mut files);
    for relative in files {
        let bytes = std::fs::read(case.dir.join(&relative)).expect("read fixture");
        let target = project.path().join(&relative);
        std::fs::create_dir_all(target.parent().expect("parent")).expect("mkdir");
        let bytes = match String::from_utf8(bytes) {
            Ok(text) => text.replace(SHIPPED_ACCOUNT, &project.account).into_bytes(),
            Err(e) => e.into_bytes(),
        };
        std::fs::write(&target, bytes).expect("write overlay");
    }
    for relative in &case.delete {
        let path = project.path().join(relative);
        std::fs::remove_file(&path)
            .unwrap_or_else(|e| panic!("{}: cannot delete {relative}: {e}", case.name));
    }
    let outside = case
        .generate
        .as_deref()
        .and_then(|instruction| generate(&project, &case.name, instruction));
    Built { project, outside }
}

/// Writes the huge, deep or non-UTF-8 inputs the repository does not hold as files.
///
/// - `deep_json:N`: `policies/kms/generated.json`, a policy whose condition value is an array
///   nested N levels deep.
/// - `big_policy:N`: `policies/kms/generated.json`, a valid policy longer than N bytes.
/// - `deep_toml:N`: `environments/dev/generated.toml`, an array nested N levels deep.
/// - `non_utf8:PATH:NEEDLE`: appends the Latin-1 byte 0xE9 (`é`) to the first `NEEDLE` in the
///   project file `PATH` (at the end of the file without a needle).
/// - `escape_symlink`: `policies/kms/generated.json`, a symlink to a valid policy outside the
///   project root.
fn generate(project: &TestProject, case: &str, instruction: &str) -> Option<tempfile::TempDir> {
    const GENERATED_POLICY: &str = "policies/kms/generated.json";
    let (kind, arg) = instruction.split_once(':').unwrap_or((instruction, ""));
    let count = || -> usize {
        arg.parse()
            .unwrap_or_else(|_| panic!("{case}: {instruction}: expected a number"))
    };
    match kind {
        "deep_json" => {
            let n = count();
            let text = format!(
                r#"{{"Version": "2012-10-17", "Statement": [{{"Sid": "Deep", "Effect": "Allow",
  "Principal": {{"AWS": "arn:aws:iam::{{{{ account_id }}}}:root"}}, "Action": "kms:*", "Resource": "*",
  "Condition": {{"StringEquals": {{"aws:PrincipalTag/team": {}{}}}}}}}]}}
"#,
                "[".repeat(n),
                "]".repeat(n)
            );
            project.write(GENERATED_POLICY, &text);
            None
        }
        "big_policy" => {
            let n = count();
            project.write(GENERATED_POLICY, &big_policy(n));
            None
        }
        "deep_toml" => {
            let n = count();
            let text = format!("deep = {}{}\n", "[".repeat(n), "]".repeat(n));
            project.write("environments/dev/generated.toml", &text);
            None
        }
        "non_utf8" => {
            let (path, needle) = arg.split_once(':').unwrap_or((arg, ""));
            let file = project.file(path);
            let mut bytes = std::fs::read(&file)
                .unwrap_or_else(|e| panic!("{case}: {instruction}: cannot read {path}: {e}"));
            let at = if needle.is_empty() {
                bytes.len()
            } else {
                bytes
                    .windows(needle.len())
                    .position(|w| w == needle.as_bytes())
                    .unwrap_or_else(|| panic!("{case}: {path} does not contain {needle:?}"))
                    + needle.len()
            };
            bytes.insert(at, 0xE9);
            std::fs::write(&file, bytes).expect("write");
            None
        }
        "escape_symlink" => {
            let outside = tempfile::tempdir().expect("tempdir");
            let target = outside.path().join("policy.json");
            std::fs::write(&target, big_policy(0)).expect("write");
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, project.file(GENERATED_POLICY)).expect("symlink");
            Some(outside)
        }
        _ => panic!("{case}: unknown generate instruction {instruction:?}"),
    }
}

/// A valid key policy (the account root may administer the key) longer than `min_len` bytes.
fn big_policy(min_len: usize) -> String {
    let root = r#"    {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::{{ account_id }}:root"}, "Action": "kms:*", "Resource": "*"}"#;
    let mut readers: Vec<String> = Vec::new();
    loop {
        let principals = readers.join(",\n");
        let text = format!(
            "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n{root},\n    {{\"Sid\": \"Readers\", \"Effect\": \"Allow\", \
             \"Action\": \"kms:DescribeKey\", \"Resource\": \"*\",\n     \"Principal\": {{\"AWS\": [\n{principals}\n     ]}}}}\n  ]\n}}\n"
        );
        if text.len() > min_len && !readers.is_empty() {
            return text;
        }
        readers.push(format!(
            "       \"arn:aws:iam::{{{{ account_id }}}}:role/reader-{:05}\"",
            readers.len()
        ));
    }
}

/// stderr without what changes from run to run: the temporary folders and the account id.
fn redact(text: &str, built: &Built) -> String {
    let mut folders = vec![(built.project.path().to_owned(), "[PROJECT]")];
    if let Some(outside) = &built.outside {
        folders.push((outside.path().to_owned(), "[OUTSIDE]"));
    }
    let mut out = text.to_owned();
    for (folder, label) in folders {
        let mut forms = vec![folder.display().to_string()];
        if let Ok(canonical) = folder.canonicalize() {
            forms.push(canonical.display().to_string());
        }
        forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
        for form in forms {
            out = out.replace(&form, label);
        }
    }
    out.replace(&built.project.account, "[ACCOUNT]")
}

/// What proves a command tried to reach AWS.
fn aws_was_called(stderr: &str) -> Option<&'static str> {
    let lower = stderr.to_lowercase();
    [
        "127.0.0.1",
        "dispatch failure",
        "connection",
        "connect error",
        "check the aws credentials",
    ]
    .into_iter()
    .find(|needle| lower.contains(needle))
}

/// The checks every run of a case must pass; problems are appended to `problems`.
fn check_run(case: &Case, label: &str, run: &Run, problems: &mut Vec<String>) {
    let mut fail = |what: String| {
        problems.push(format!(
            "{} ({label}): {what}\n--- stdout\n{}\n--- stderr\n{}",
            case.name, run.stdout, run.stderr
        ));
    };
    if run.code == 101 || run.code < 0 || run.stderr.contains("panicked") {
        fail(format!(
            "crashed (exit {}): a panic, a stack overflow or a signal",
            run.code
        ));
        return;
    }
    if run.code != case.expect_exit {
        fail(format!("exit {}, expected {}", run.code, case.expect_exit));
    }
    if let Some(needle) = aws_was_called(&run.stderr) {
        fail(format!(
            "stderr mentions {needle:?}: the command reached for AWS"
        ));
    }
    if run.stderr.trim().is_empty() {
        fail("stderr is empty".into());
    }
    let names_file = run.stderr.contains("environments/") || run.stderr.contains("policies/");
    if case.names_file && !names_file {
        fail("stderr names no file (environments/... or policies/...)".into());
    }
    for needle in &case.expect_stderr {
        if !run.stderr.contains(needle.as_str()) {
            fail(format!("stderr does not contain {needle:?}"));
        }
    }
}

/// The guard findings and errors of a run, less the closing summary line (validate and plan
/// word it differently).
fn diagnostics(stderr: &str) -> String {
    stderr
        .lines()
        .filter(|line| !line.starts_with("Refused."))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_invalid_input_is_refused_clearly_and_offline() {
    let cases = all_cases();
    assert!(
        cases.len() >= MIN_CASES,
        "expected at least {MIN_CASES} cases under {}, found {}",
        fixtures_dir().display(),
        cases.len()
    );
    let mut problems = Vec::new();
    for case in &cases {
        let built = build(case);
        let args: Vec<&str> = case.command.iter().map(String::as_str).collect();
        let run = built.project.kmsctl_at(NO_AWS, &args);
        check_run(case, &case.command.join(" "), &run, &mut problems);

        let stderr = redact(&run.stderr, &built);
        let snapshot = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            insta::with_settings!({
                description => format!("{} (expect exit {})", case.description, case.expect_exit),
                omit_expression => true,
            }, {
                insta::assert_snapshot!(case.name.as_str(), stderr);
            });
        }));
        if snapshot.is_err() {
            problems.push(format!(
                "{}: stderr differs from its snapshot (cargo insta review)",
                case.name
            ));
        }

        // The same command as `plan`: refused the same way, before any AWS call. One attempt
        // per AWS call, so that a plan that does reach for AWS fails at once instead of after
        // the default 8 attempts with backoff (about 50 s a case).
        if args.first() == Some(&"validate") {
            let mut plan_args = vec!["--max-attempts", "1", "plan"];
            plan_args.extend(&args[1..]);
            let plan = built.project.kmsctl_at(NO_AWS, &plan_args);
            let label = plan_args.join(" ");
            check_run(case, &label, &plan, &mut problems);
            if plan.code == run.code && diagnostics(&plan.stderr) != diagnostics(&run.stderr) {
                problems.push(format!(
                    "{} ({label}): the diagnostics differ from validate's\n--- plan\n{}\n--- validate\n{}",
                    case.name, plan.stderr, run.stderr
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in {} case(s):\n\n{}",
        problems.len(),
        cases.len(),
        problems.join("\n\n")
    );
}

#[test]
fn case_toml_subset_parses() {
    let parsed = parse_case_toml(
        "# comment\ndescription = \"a \\\"quoted\\\" word\"\nexpect_exit = 3\n\
         command = [\"plan\", \"env/dev\"]\nnames_file = false\n",
    )
    .expect("parses");
    assert_eq!(
        parsed["description"],
        Value::Str("a \"quoted\" word".into())
    );
    assert_eq!(parsed["expect_exit"], Value::Int(3));
    assert_eq!(
        parsed["command"],
        Value::List(vec!["plan".into(), "env/dev".into()])
    );
    assert_eq!(parsed["names_file"], Value::Bool(false));
    assert!(parse_case_toml("x = \"open").is_err());
}

#[test]
fn generated_big_policy_is_over_the_limit_and_valid_json() {
    let text = big_policy(40_000);
    assert!(text.len() > 40_000);
    let rendered = text.replace("{{ account_id }}", "123456789012");
    let value: serde_json::Value = serde_json::from_str(&rendered).expect("valid JSON");
    assert_eq!(value["Version"], "2012-10-17");
}
