//! Teams sharing a backend (`kmsctl.toml`'s `[backend]`), end to end against the emulator's S3:
//! two applies from two clones at once, a holder killed mid-apply, `unlock`, a plan applied on
//! another clone by id, and dual control with three IAM users (planner, approver, applier).
//!
//! Each test has its own account and bucket. The emulator enforces no bucket or IAM policy, so
//! what the README's bucket policy forbids (writing an approval under another's name) is tested
//! in `kmsctl-backend`'s unit tests; here every refusal is kmsctl's own.

use std::time::{Duration, Instant};

use kmsctl_aws::query::{QueryClient, QueryService};
use kmsctl_tests::{Run, TestProject, customer_keys};

/// The lock of env/dev, as the backend names it (no `key_prefix`).
const LOCK: &str = "locks/env/dev";

/// The object at `key` in `bucket`, or `None`.
async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(output) => Some(
            output
                .body
                .collect()
                .await
                .expect("object body")
                .into_bytes()
                .to_vec(),
        ),
        Err(error) => {
            let missing = error
                .as_service_error()
                .is_some_and(aws_sdk_s3::operation::get_object::GetObjectError::is_no_such_key);
            assert!(missing, "s3:GetObject {key}: {error:?}");
            None
        }
    }
}

/// The keys under `prefix` in `bucket`.
async fn keys_under(s3: &aws_sdk_s3::Client, bucket: &str, prefix: &str) -> Vec<String> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("s3:ListObjectsV2");
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

/// Polls until `key` exists (the spawned apply took its lock); panics after `timeout`, naming
/// what the spawned kmsctl said if it ended first.
async fn wait_for_object(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    child: &mut std::process::Child,
) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(body) = object(s3, bucket, key).await {
            return body;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            panic!("the apply ended ({status}) before {key} was seen");
        }
        assert!(Instant::now() < deadline, "{key} never appeared");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Kills a spawned kmsctl with SIGKILL (no cleanup runs) and reaps it.
fn kill(mut child: std::process::Child) {
    child.kill().expect("kill");
    let _ = child.wait();
}

/// The lock record's `expires_at`.
fn expires_at(body: &[u8]) -> time::OffsetDateTime {
    let record: serde_json::Value = serde_json::from_slice(body).expect("lock JSON");
    let text = record["expires_at"].as_str().expect("expires_at");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// The whole plan id a `plan` printed (`--plan-id ID`).
fn plan_id(stdout: &str) -> String {
    let at = stdout
        .find("--plan-id ")
        .unwrap_or_else(|| panic!("no plan id printed:\n{stdout}"));
    let id: String = stdout[at + "--plan-id ".len()..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect();
    assert_eq!(id.len(), 64, "a whole SHA-256: {stdout}");
    assert!(
        stdout.contains(&format!("as plan {id}")),
        "the id is named as the plan's: {stdout}"
    );
    id
}

/// How many keys the account holds (customer keys and any the emulator made itself).
async fn key_count(kms: &aws_sdk_kms::Client) -> usize {
    kms.list_keys().send().await.expect("ListKeys").keys().len()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_from_two_clones_never_interleave() {
    const KEYS: usize = 50;
    let a = TestProject::dev();
    a.many_keys(KEYS, "team");
    let bucket = a.with_backend(120).await;
    let b = a.clone_project();
    let s3 = a.s3().await;

    let mut first = a.spawn_kmsctl(&["apply", "env/dev", "--auto-approve"], &[]);
    let pid = first.id();
    let lock = wait_for_object(&s3, &bucket, LOCK, &mut first).await;
    let record: serde_json::Value = serde_json::from_slice(&lock).expect("lock JSON");
    assert_eq!(record["pid"], pid, "the lock names A's process: {record}");
    assert_eq!(record["target"], "env/dev");

    let refused = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    assert!(
        refused.stderr.contains("env/dev is locked by")
            && refused.stderr.contains(&format!("(pid {pid}")),
        "B is told who holds the lock: {}",
        refused.stderr
    );
    assert!(
        first.try_wait().expect("try_wait").is_none(),
        "A was still applying when B was refused"
    );

    let first = Run::wait(first).expect_code(0);
    assert!(first.stdout.contains("Apply complete!"), "{}", first.stdout);
    assert_eq!(
        object(&s3, &bucket, LOCK).await,
        None,
        "A released its lock"
    );

    let second = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        second.stdout.contains("No changes"),
        "B finds A's work done: {}",
        second.stdout
    );
    let keys = customer_keys(&a.kms().await).await;
    assert_eq!(keys.len(), KEYS, "one key per declared key, never two");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_mid_apply_keeps_the_lock_until_its_lease_runs_out() {
    const KEYS: usize = 40;
    let a = TestProject::dev();
    a.many_keys(KEYS, "killed");
    let bucket = a.with_backend(15).await;
    let b = a.clone_project();
    let s3 = a.s3().await;
    let kms = a.kms().await;
    let before = key_count(&kms).await;

    let mut holder = a.spawn_kmsctl(&["apply", "env/dev", "--auto-approve"], &[]);
    let pid = holder.id();
    wait_for_object(&s3, &bucket, LOCK, &mut holder).await;
    // Mid-apply: some keys made, not all.
    let deadline = Instant::now() + Duration::from_secs(20);
    while key_count(&kms).await == before {
        assert!(
            holder.try_wait().expect("try_wait").is_none(),
            "the apply ended before it made a key"
        );
        assert!(Instant::now() < deadline, "the apply made no key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    kill(holder);
    let made = key_count(&kms).await - before;
    assert!(made < KEYS, "killed mid-apply: {made} of {KEYS} keys made");

    let refused = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    assert!(
        refused.stderr.contains("env/dev is locked by")
            && refused.stderr.contains(&format!("(pid {pid}")),
        "the dead holder's lease still runs: {}",
        refused.stderr
    );

    let lock = object(&s3, &bucket, LOCK)
        .await
        .expect("the killed holder left its lock");
    let expires = expires_at(&lock);
    while time::OffsetDateTime::now_utc() <= expires + Duration::from_millis(100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let resumed = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        resumed
            .stderr
            .contains("ended without releasing its lock: its changes may be half done")
            && resumed.stderr.contains(&format!("(pid {pid}")),
        "B says whose lock it took over: {}",
        resumed.stderr
    );
    assert_eq!(object(&s3, &bucket, LOCK).await, None, "B released it");
    b.plan_dev(0);
    assert_eq!(customer_keys(&kms).await.len(), KEYS, "no duplicate key");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_releases_a_dead_holders_lock_only_when_told_to() {
    let a = TestProject::dev();
    a.many_keys(30, "unlock");
    let bucket = a.with_backend(3600).await;
    let b = a.clone_project();
    let s3 = a.s3().await;

    let mut holder = a.spawn_kmsctl(&["apply", "env/dev", "--auto-approve"], &[]);
    let pid = holder.id();
    wait_for_object(&s3, &bucket, LOCK, &mut holder).await;
    kill(holder);

    let asked = b.kmsctl(&["unlock", "env/dev"]).expect_code(1);
    assert!(
        asked.stdout.contains("The lock of env/dev is held by")
            && asked.stdout.contains(&format!("(pid {pid}")),
        "unlock shows the holder: {}",
        asked.stdout
    );
    assert!(
        asked.stderr.contains("standard input is not a terminal")
            && asked.stderr.contains("--force"),
        "{}",
        asked.stderr
    );
    assert!(
        object(&s3, &bucket, LOCK).await.is_some(),
        "unanswered, the lock is kept"
    );
    let refused = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(1);
    assert!(
        refused.stderr.contains("is locked by"),
        "{}",
        refused.stderr
    );

    let released = b.kmsctl(&["unlock", "env/dev", "--force"]).expect_code(0);
    assert!(
        released.stdout.contains("Released the lock of env/dev"),
        "{}",
        released.stdout
    );
    assert_eq!(object(&s3, &bucket, LOCK).await, None, "the lock is gone");
    let again = b.kmsctl(&["unlock", "env/dev"]).expect_code(0);
    assert!(
        again.stdout.contains("env/dev is not locked"),
        "{}",
        again.stdout
    );

    let applied = b
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    assert!(
        !applied.stderr.contains("ended without releasing"),
        "a lock released by hand is not taken over: {}",
        applied.stderr
    );
    b.plan_dev(0);

    // Without a backend, a lock is the checkout's own and ends with its process.
    std::fs::remove_file(b.file("kmsctl.toml")).expect("remove kmsctl.toml");
    let local = b.kmsctl(&["unlock", "env/dev"]).expect_code(1);
    assert!(
        local.stderr.contains("no lock to release by hand"),
        "{}",
        local.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_stored_by_one_clone_is_applied_by_another_only_as_stored() {
    let a = TestProject::dev();
    let bucket = a.with_backend(120).await;
    let b = a.clone_project();
    let s3 = a.s3().await;
    let kms = a.kms().await;

    let planned = a.kmsctl(&["plan", "env/dev"]).expect_code(0);
    let id = plan_id(&planned.stdout);
    let stored = object(&s3, &bucket, &format!("plans/env/dev/{id}.json"))
        .await
        .expect("the plan is stored under its id");
    assert_eq!(
        sha256_hex(&stored),
        id,
        "the id is the SHA-256 of the stored plan"
    );

    let applied = b
        .kmsctl(&["apply", "env/dev", "--plan-id", &id[..12]])
        .expect_code(0);
    assert!(
        applied.stdout.contains(&format!("Checking plan {id}")),
        "{}",
        applied.stdout
    );
    assert_eq!(customer_keys(&kms).await.len(), 2, "both declared keys");
    b.plan_dev(0);

    // Two plans of one tag change (each its own id: a plan records when it was made).
    a.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment System\"",
        "Project = \"Payment Platform\"",
    );
    let altered = plan_id(&a.kmsctl(&["plan", "env/dev"]).expect_code(0).stdout);
    let intact = plan_id(&a.kmsctl(&["plan", "env/dev"]).expect_code(0).stdout);
    assert_ne!(altered, intact);
    b.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment System\"",
        "Project = \"Payment Platform\"",
    );

    // One byte of a stored plan changed, under the same key.
    let key = format!("plans/env/dev/{altered}.json");
    let mut body = object(&s3, &bucket, &key).await.expect("stored");
    let at = body
        .windows(b"Payment Platform".len())
        .position(|w| w == b"Payment Platform")
        .expect("the plan holds the new tag");
    body[at] = b'Q';
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into())
        .send()
        .await
        .expect("re-put");
    let tampered = b
        .kmsctl(&["apply", "env/dev", "--plan-id", &altered])
        .expect_code(1);
    assert!(
        tampered.stderr.contains("does not match its id"),
        "{}",
        tampered.stderr
    );

    let missing = b
        .kmsctl(&["apply", "env/dev", "--plan-id", "0123456789ab"])
        .expect_code(1);
    assert!(
        missing
            .stderr
            .contains("no saved plan of env/dev has the id 0123456789ab"),
        "{}",
        missing.stderr
    );

    // B's files differ from those the plan was made from.
    b.edit(
        "environments/dev/keys.toml",
        "Project = \"Payment Platform\"",
        "Project = \"Payments\"",
    );
    let differs = b
        .kmsctl(&["apply", "env/dev", "--plan-id", &intact])
        .expect_code(1);
    assert!(
        differs
            .stderr
            .contains("the files changed since this plan was made")
            && differs.stderr.contains("keys.toml"),
        "{}",
        differs.stderr
    );
    assert_eq!(
        object(&s3, &bucket, LOCK).await,
        None,
        "a refused plan leaves the target unlocked"
    );
    let db = kmsctl_tests::key_of_alias(&kms, "alias/dev-db-payments-encryption")
        .await
        .expect("db key");
    assert_eq!(
        kmsctl_tests::tags_of(&kms, &db).await["Project"],
        "Payment System",
        "no refused plan changed a tag"
    );

    // With A's files, the intact plan applies.
    b.edit(
        "environments/dev/keys.toml",
        "Project = \"Payments\"",
        "Project = \"Payment Platform\"",
    );
    b.kmsctl(&["apply", "env/dev", "--plan-id", &intact])
        .expect_code(0);
    assert_eq!(
        kmsctl_tests::tags_of(&kms, &db).await["Project"],
        "Payment Platform"
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// IAM: an AWS Query service the emulator serves.
const IAM: QueryService = QueryService {
    service_id: "IAM",
    signing_name: "iam",
    version: "2010-05-08",
    gov_fips_is_regional: false,
};

/// An IAM user of the project's account with an access key: one person of the team.
struct Person {
    arn: String,
    user_id: String,
    access_key: String,
    secret_key: String,
}

impl Person {
    /// The environment that makes kmsctl run as this person.
    fn env(&self) -> [(&str, &str); 2] {
        [
            ("AWS_ACCESS_KEY_ID", self.access_key.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret_key.as_str()),
        ]
    }
}

/// The text of the first `<tag>` element of `xml`.
fn xml_text(xml: &str, tag: &str) -> String {
    let open = format!("<{tag}>");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("no <{tag}> in {xml}"))
        + open.len();
    let end = xml[start..]
        .find(&format!("</{tag}>"))
        .unwrap_or_else(|| panic!("no </{tag}> in {xml}"));
    xml[start..start + end].to_owned()
}

/// Makes the IAM user `name` in the project's account, with an access key, and checks that
/// requests signed with it land in that account as that user (`sts:GetCallerIdentity`).
async fn person(project: &TestProject, name: &str) -> Person {
    let iam = QueryClient::new(&project.sdk_config().await, IAM);
    let user_name = vec![("UserName".to_owned(), name.to_owned())];
    let created = iam
        .send("CreateUser", &user_name)
        .await
        .expect("CreateUser");
    let key = iam
        .send("CreateAccessKey", &user_name)
        .await
        .expect("CreateAccessKey");
    let person = Person {
        arn: xml_text(&created, "Arn"),
        user_id: xml_text(&created, "UserId"),
        access_key: xml_text(&key, "AccessKeyId"),
        secret_key: xml_text(&key, "SecretAccessKey"),
    };
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(kmsctl_tests::endpoint())
        .credentials_provider(aws_sdk_sts::config::Credentials::new(
            &person.access_key,
            &person.secret_key,
            None,
            None,
            "tests",
        ))
        .load()
        .await;
    let me = aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(me.account(), Some(project.account.as_str()));
    assert_eq!(me.arn(), Some(person.arn.as_str()));
    assert_eq!(me.user_id(), Some(person.user_id.as_str()));
    // The backend's calls are made with these credentials: the bucket is reached with them.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    s3.head_bucket()
        .bucket(format!("kmsctl-team-{}", project.account))
        .send()
        .await
        .expect("the backend bucket is reached with the person's credentials");
    person
}

#[tokio::test(flavor = "multi_thread")]
async fn dual_control_needs_a_third_persons_approval_of_that_very_plan() {
    let project = TestProject::dev();
    let bucket = project.with_backend(120).await;
    project.write(
        "organization/organization.toml",
        &format!(
            "account_id = \"{}\"\nregion = \"us-east-1\"\n\n[approvals]\nrequired_for = [\"disable_key\"]\n",
            project.account
        ),
    );
    project.kmsctl(&["validate", "env/dev"]).expect_code(0);
    let s3 = project.s3().await;
    let kms = project.kms().await;
    let alice = person(&project, "alice").await;
    let bob = person(&project, "bob").await;
    let carol = person(&project, "carol").await;
    let run =
        |who: &Person, args: &[&str]| project.kmsctl_with(project.endpoint(), args, &who.env());

    // Creating keys needs no approval: planned by alice, applied by carol by id.
    let created = plan_id(&run(&alice, &["plan", "env/dev"]).expect_code(0).stdout);
    run(&carol, &["apply", "env/dev", "--plan-id", &created]).expect_code(0);
    let db = kmsctl_tests::key_of_alias(&kms, "alias/dev-db-payments-encryption")
        .await
        .expect("db key");

    project.add_to_db_key("state = \"disabled\"");
    let planned = run(&alice, &["plan", "env/dev"]).expect_code(0);
    assert!(
        planned.stdout.contains("Needs an approval") && planned.stdout.contains("disable_key"),
        "{}",
        planned.stdout
    );
    let id = plan_id(&planned.stdout);
    let stored: serde_json::Value = serde_json::from_slice(
        &object(&s3, &bucket, &format!("plans/env/dev/{id}.json"))
            .await
            .expect("stored"),
    )
    .expect("plan JSON");
    assert_eq!(
        stored["planned_by"]["arn"], alice.arn,
        "the plan records who made it"
    );
    // Who stored it is vouched for by S3, under alice's own user id: the gate reads that.
    let planners = keys_under(&s3, &bucket, &format!("planners/env/dev/{id}/")).await;
    assert_eq!(
        planners,
        [format!("planners/env/dev/{id}/{}", alice.user_id)],
        "alice is on record as its planner"
    );
    let approvals = format!("approvals/env/dev/{id}/");
    let enabled = || async {
        kms.describe_key()
            .key_id(&db)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata()
            .expect("metadata")
            .enabled()
    };

    let unapproved = run(&carol, &["apply", "env/dev", "--plan-id", &id]).expect_code(3);
    assert!(
        unapproved.stderr.contains("no approval is recorded"),
        "{}",
        unapproved.stderr
    );
    let not_by_id = run(&carol, &["apply", "env/dev", "--auto-approve"]).expect_code(3);
    assert!(
        not_by_id.stderr.contains("needs an approval"),
        "{}",
        not_by_id.stderr
    );

    let own = run(&alice, &["approve", "env/dev", "--plan-id", &id, "--yes"]).expect_code(3);
    assert!(own.stderr.contains("self-approval"), "{}", own.stderr);
    assert!(
        keys_under(&s3, &bucket, &approvals).await.is_empty(),
        "nothing recorded"
    );

    // Bob approves another plan: it does not count for this one.
    run(
        &bob,
        &["approve", "env/dev", "--plan-id", &created, "--yes"],
    )
    .expect_code(0);
    let elsewhere = run(&carol, &["apply", "env/dev", "--plan-id", &id]).expect_code(3);
    assert!(
        elsewhere.stderr.contains("no approval is recorded"),
        "{}",
        elsewhere.stderr
    );

    // The applier's own approval does not count.
    run(&carol, &["approve", "env/dev", "--plan-id", &id, "--yes"]).expect_code(0);
    let self_applied = run(&carol, &["apply", "env/dev", "--plan-id", &id]).expect_code(3);
    assert!(
        self_applied.stderr.contains("is who applies it"),
        "{}",
        self_applied.stderr
    );
    assert_eq!(
        object(&s3, &bucket, LOCK).await,
        None,
        "a refused apply releases its lock"
    );
    assert!(enabled().await, "nothing refused changed the key");

    let approved = run(&bob, &["approve", "env/dev", "--plan-id", &id, "--yes"]).expect_code(0);
    assert!(approved.stdout.contains("Approved"), "{}", approved.stdout);
    let record = object(&s3, &bucket, &format!("{approvals}{}", bob.user_id))
        .await
        .expect("bob's approval is recorded under his user id");
    let record: serde_json::Value = serde_json::from_slice(&record).expect("approval JSON");
    assert_eq!(record["approver"]["arn"], bob.arn);
    assert_eq!(record["plan_id"], id);

    let applied = run(&carol, &["apply", "env/dev", "--plan-id", &id]).expect_code(0);
    assert!(
        applied
            .stdout
            .contains(&format!("Approved by {} (dual control)", bob.arn)),
        "{}",
        applied.stdout
    );
    assert!(!enabled().await, "the key is disabled");
    let state = kms
        .describe_key()
        .key_id(&db)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .and_then(|m| m.key_state().cloned());
    assert_eq!(state, Some(aws_sdk_kms::types::KeyState::Disabled));

    // Without a backend, nothing records approvals: validate warns, apply refuses.
    std::fs::remove_file(project.file("kmsctl.toml")).expect("remove kmsctl.toml");
    let validated = project.kmsctl(&["validate", "organization"]).expect_code(0);
    assert!(
        validated.stderr.contains("warning[approvals-backend]")
            && validated.stderr.contains("disable_key"),
        "{}",
        validated.stderr
    );
    project.edit(
        "environments/dev/keys.toml",
        "aliases = [\"alias/dev-platform-logs\"]",
        "aliases = [\"alias/dev-platform-logs\"]\nstate = \"disabled\"",
    );
    let no_backend = run(&carol, &["apply", "env/dev", "--auto-approve"]).expect_code(3);
    assert!(
        no_backend.stderr.contains("sets no backend"),
        "{}",
        no_backend.stderr
    );
    let logs = kmsctl_tests::key_of_alias(&kms, "alias/dev-s3-platform-logs")
        .await
        .expect("logs key");
    let logs_state = kms
        .describe_key()
        .key_id(&logs)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata()
        .and_then(|m| m.key_state().cloned());
    assert_eq!(logs_state, Some(aws_sdk_kms::types::KeyState::Enabled));
}

/// `key_policy_widening` end to end: the evaluation engine's judgement reaches the plan and the
/// gate; a narrowing needs nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_that_widens_access_is_held_for_approval_and_a_narrowing_is_not() {
    let project = TestProject::dev();
    project.write(
        "organization/organization.toml",
        &format!(
            "account_id = \"{}\"\nregion = \"us-east-1\"\n\n[approvals]\nrequired_for = [\"key_policy_widening\"]\n",
            project.account
        ),
    );
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
    let policy = "policies/kms/dev-logs-policy.json";
    let condition = r#",
      "Condition": {
        "StringEquals": { "aws:SourceAccount": "{{ account_id }}" }
      }"#;
    // S3 of any account may now use the key: it gains what it had only for this account.
    let scoped = project.read(policy);
    assert!(scoped.contains(condition), "the shipped policy changed");
    project.write(policy, &scoped.replace(condition, ""));
    let planned = project.plan_dev(2);
    assert!(
        planned.stdout.contains("Needs an approval")
            && planned.stdout.contains("key_policy_widening")
            && planned.stdout.contains("s3.amazonaws.com gains"),
        "{}",
        planned.stdout
    );
    let refused = project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(3);
    assert!(
        refused.stderr.contains("key_policy_widening")
            && refused.stderr.contains("sets no backend"),
        "{}",
        refused.stderr
    );

    // Taking an action away from S3 narrows: applied without an approval.
    project.write(
        policy,
        &scoped.replace(
            r#"["kms:GenerateDataKey*", "kms:Decrypt"]"#,
            r#"["kms:GenerateDataKey*"]"#,
        ),
    );
    let narrowed = project.plan_dev(2);
    assert!(
        narrowed.stdout.contains("kms_key_policy")
            && !narrowed.stdout.contains("Needs an approval"),
        "{}",
        narrowed.stdout
    );
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(0);
}
