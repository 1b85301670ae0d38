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

/// Asserts that `text` (what kmsctl printed) holds every one of `parts`: `why` says what it shows.
fn assert_says(text: &str, parts: &[&str], why: &str) {
    for part in parts {
        assert!(text.contains(part), "{why}: {part:?} not in:\n{text}");
    }
}

/// `kmsctl apply env/dev --auto-approve` in `project`, expecting exit `code`.
fn apply_dev(project: &TestProject, code: i32) -> Run {
    project
        .kmsctl(&["apply", "env/dev", "--auto-approve"])
        .expect_code(code)
}

/// `kmsctl apply env/dev --plan-id ID` in `project`, expecting exit `code`.
fn apply_plan(project: &TestProject, id: &str, code: i32) -> Run {
    project
        .kmsctl(&["apply", "env/dev", "--plan-id", id])
        .expect_code(code)
}

/// `a` on a backend whose leases last `lease_seconds`, and a clone of it (another person's
/// checkout); returns the clone, the bucket and an S3 client.
async fn with_clone(
    a: &TestProject,
    lease_seconds: u64,
) -> (TestProject, String, aws_sdk_s3::Client) {
    let bucket = a.with_backend(lease_seconds).await;
    (a.clone_project(), bucket, a.s3().await)
}

/// A project of `keys` keys of `team` (enough that an apply takes a while) on a backend whose
/// leases last `lease_seconds`, and its clone, bucket and S3 client as [`with_clone`] gives them.
async fn many_keys_with_clone(
    keys: usize,
    team: &str,
    lease_seconds: u64,
) -> (TestProject, TestProject, String, aws_sdk_s3::Client) {
    let a = TestProject::dev();
    a.many_keys(keys, team);
    let (b, bucket, s3) = with_clone(&a, lease_seconds).await;
    (a, b, bucket, s3)
}

/// Starts an apply of env/dev in `project` and waits until it holds the lock: the running
/// kmsctl, and the lock it wrote.
async fn holding_apply(
    project: &TestProject,
    s3: &aws_sdk_s3::Client,
    bucket: &str,
) -> (std::process::Child, Vec<u8>) {
    let mut holder = project.spawn_kmsctl(&["apply", "env/dev", "--auto-approve"], &[]);
    let lock = wait_for_object(s3, bucket, LOCK, &mut holder).await;
    (holder, lock)
}

/// An apply of env/dev in `project` is refused because the process `pid` holds the lock, and
/// the refusal names it.
fn apply_refused_naming(project: &TestProject, pid: u32, why: &str) {
    let refused = apply_dev(project, 1);
    assert_says(
        &refused.stderr,
        &["env/dev is locked by", &format!("(pid {pid}")],
        why,
    );
}

/// Asserts that env/dev's lock is gone from `bucket`.
async fn assert_unlocked(s3: &aws_sdk_s3::Client, bucket: &str, why: &str) {
    assert_eq!(object(s3, bucket, LOCK).await, None, "{why}");
}

/// A JSON object the backend stored (a lock, plan or approval record).
fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).expect("JSON")
}

/// Changes env/dev's `Project` tag in `project` from `from` to `to`.
fn retag(project: &TestProject, from: &str, to: &str) {
    project.edit(
        "environments/dev/keys.toml",
        &format!("Project = \"{from}\""),
        &format!("Project = \"{to}\""),
    );
}

/// Makes `action` need an approval (`[approvals] required_for`).
fn require_approval_for(project: &TestProject, action: &str) {
    project.write(
        "organization/organization.toml",
        &format!(
            "account_id = \"{}\"\nregion = \"us-east-1\"\n\n[approvals]\nrequired_for = [\"{action}\"]\n",
            project.account
        ),
    );
}

/// The metadata of the key `key_id`.
async fn key_metadata(kms: &aws_sdk_kms::Client, key_id: &str) -> aws_sdk_kms::types::KeyMetadata {
    kms.describe_key()
        .key_id(key_id)
        .send()
        .await
        .expect("DescribeKey")
        .key_metadata
        .expect("metadata")
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_from_two_clones_never_interleave() {
    const KEYS: usize = 50;
    let (a, b, bucket, s3) = many_keys_with_clone(KEYS, "team", 120).await;

    let (mut first, lock) = holding_apply(&a, &s3, &bucket).await;
    let pid = first.id();
    let record = json(&lock);
    assert_eq!(record["pid"], pid, "the lock names A's process: {record}");
    assert_eq!(record["target"], "env/dev");

    apply_refused_naming(&b, pid, "B is told who holds the lock");
    assert!(
        first.try_wait().expect("try_wait").is_none(),
        "A was still applying when B was refused"
    );

    let first = Run::wait(first).expect_code(0);
    assert_says(&first.stdout, &["Apply complete!"], "A's apply");
    assert_unlocked(&s3, &bucket, "A released its lock").await;

    let second = apply_dev(&b, 0);
    assert_says(&second.stdout, &["No changes"], "B finds A's work done");
    let keys = customer_keys(&a.kms().await).await;
    assert_eq!(keys.len(), KEYS, "one key per declared key, never two");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_holder_killed_mid_apply_keeps_the_lock_until_its_lease_runs_out() {
    const KEYS: usize = 40;
    let (a, b, bucket, s3) = many_keys_with_clone(KEYS, "killed", 15).await;
    let kms = a.kms().await;
    let before = key_count(&kms).await;

    let (mut holder, _) = holding_apply(&a, &s3, &bucket).await;
    let pid = holder.id();
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

    apply_refused_naming(&b, pid, "the dead holder's lease still runs");

    let lock = object(&s3, &bucket, LOCK)
        .await
        .expect("the killed holder left its lock");
    let expires = expires_at(&lock);
    while time::OffsetDateTime::now_utc() <= expires + Duration::from_millis(100) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let resumed = apply_dev(&b, 0);
    assert_says(
        &resumed.stderr,
        &[
            "ended without releasing its lock: its changes may be half done",
            &format!("(pid {pid}"),
        ],
        "B says whose lock it took over",
    );
    assert_unlocked(&s3, &bucket, "B released it").await;
    b.plan_dev(0);
    assert_eq!(customer_keys(&kms).await.len(), KEYS, "no duplicate key");
}

#[tokio::test(flavor = "multi_thread")]
async fn unlock_releases_a_dead_holders_lock_only_when_told_to() {
    let (a, b, bucket, s3) = many_keys_with_clone(30, "unlock", 3600).await;

    let (holder, _) = holding_apply(&a, &s3, &bucket).await;
    let pid = holder.id();
    kill(holder);

    let asked = b.kmsctl(&["unlock", "env/dev"]).expect_code(1);
    assert_says(
        &asked.stdout,
        &["The lock of env/dev is held by", &format!("(pid {pid}")],
        "unlock shows the holder",
    );
    assert_says(
        &asked.stderr,
        &["standard input is not a terminal", "--force"],
        "unlock asks, and there is no one to answer",
    );
    assert!(
        object(&s3, &bucket, LOCK).await.is_some(),
        "unanswered, the lock is kept"
    );
    apply_refused_naming(&b, pid, "the kept lock still refuses");

    let released = b.kmsctl(&["unlock", "env/dev", "--force"]).expect_code(0);
    assert_says(
        &released.stdout,
        &["Released the lock of env/dev"],
        "unlock --force",
    );
    assert_unlocked(&s3, &bucket, "the lock is gone").await;
    let again = b.kmsctl(&["unlock", "env/dev"]).expect_code(0);
    assert_says(&again.stdout, &["env/dev is not locked"], "unlock again");

    let applied = apply_dev(&b, 0);
    assert!(
        !applied.stderr.contains("ended without releasing"),
        "a lock released by hand is not taken over: {}",
        applied.stderr
    );
    b.plan_dev(0);

    // Without a backend, a lock is the checkout's own and ends with its process.
    std::fs::remove_file(b.file("kmsctl.toml")).expect("remove kmsctl.toml");
    let local = b.kmsctl(&["unlock", "env/dev"]).expect_code(1);
    assert_says(
        &local.stderr,
        &["no lock to release by hand"],
        "unlock without a backend",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_stored_by_one_clone_is_applied_by_another_only_as_stored() {
    let a = TestProject::dev();
    let (b, bucket, s3) = with_clone(&a, 120).await;
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

    let applied = apply_plan(&b, &id[..12], 0);
    assert_says(
        &applied.stdout,
        &[&format!("Checking plan {id}")],
        "applied by a prefix of its id",
    );
    assert_eq!(customer_keys(&kms).await.len(), 2, "both declared keys");
    b.plan_dev(0);

    // Two plans of one tag change (each its own id: a plan records when it was made).
    retag(&a, "Payment System", "Payment Platform");
    let altered = plan_id(&a.kmsctl(&["plan", "env/dev"]).expect_code(0).stdout);
    let intact = plan_id(&a.kmsctl(&["plan", "env/dev"]).expect_code(0).stdout);
    assert_ne!(altered, intact);
    retag(&b, "Payment System", "Payment Platform");

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
    let tampered = apply_plan(&b, &altered, 1);
    assert_says(
        &tampered.stderr,
        &["does not match its id"],
        "a tampered plan is refused",
    );

    let missing = apply_plan(&b, "0123456789ab", 1);
    assert_says(
        &missing.stderr,
        &["no saved plan of env/dev has the id 0123456789ab"],
        "an unknown id is refused",
    );

    // B's files differ from those the plan was made from.
    retag(&b, "Payment Platform", "Payments");
    let differs = apply_plan(&b, &intact, 1);
    assert_says(
        &differs.stderr,
        &["the files changed since this plan was made", "keys.toml"],
        "a plan of other files is refused",
    );
    assert_unlocked(&s3, &bucket, "a refused plan leaves the target unlocked").await;
    let db = kmsctl_tests::key_of_alias(&kms, "alias/dev-db-payments-encryption")
        .await
        .expect("db key");
    assert_eq!(
        kmsctl_tests::tags_of(&kms, &db).await["Project"],
        "Payment System",
        "no refused plan changed a tag"
    );

    // With A's files, the intact plan applies.
    retag(&b, "Payments", "Payment Platform");
    apply_plan(&b, &intact, 0);
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
    require_approval_for(&project, "disable_key");
    project.kmsctl(&["validate", "env/dev"]).expect_code(0);
    let s3 = project.s3().await;
    let kms = project.kms().await;
    let alice = person(&project, "alice").await;
    let bob = person(&project, "bob").await;
    let carol = person(&project, "carol").await;
    let run =
        |who: &Person, args: &[&str]| project.kmsctl_with(project.endpoint(), args, &who.env());
    let carol_applies =
        |id: &str, code: i32| run(&carol, &["apply", "env/dev", "--plan-id", id]).expect_code(code);
    // Carol's apply of the plan `id` is refused, saying `says`.
    let carol_is_refused = |id: &str, says: &str, why: &str| {
        assert_says(&carol_applies(id, 3).stderr, &[says], why);
    };
    let approves = |who: &Person, id: &str, code: i32| {
        run(who, &["approve", "env/dev", "--plan-id", id, "--yes"]).expect_code(code)
    };

    // Creating keys needs no approval: planned by alice, applied by carol by id.
    let created = plan_id(&run(&alice, &["plan", "env/dev"]).expect_code(0).stdout);
    carol_applies(&created, 0);
    let db = kmsctl_tests::key_of_alias(&kms, "alias/dev-db-payments-encryption")
        .await
        .expect("db key");

    project.add_to_db_key("state = \"disabled\"");
    let planned = run(&alice, &["plan", "env/dev"]).expect_code(0);
    assert_says(
        &planned.stdout,
        &["Needs an approval", "disable_key"],
        "the plan says it needs an approval",
    );
    let id = plan_id(&planned.stdout);
    let stored = json(
        &object(&s3, &bucket, &format!("plans/env/dev/{id}.json"))
            .await
            .expect("stored"),
    );
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
    let enabled = || async { key_metadata(&kms, &db).await.enabled() };

    carol_is_refused(&id, "no approval is recorded", "unapproved");
    let not_by_id = run(&carol, &["apply", "env/dev", "--auto-approve"]).expect_code(3);
    assert_says(
        &not_by_id.stderr,
        &["needs an approval"],
        "only a plan applied by id can be approved",
    );

    let own = approves(&alice, &id, 3);
    assert_says(&own.stderr, &["self-approval"], "the planner approves");
    assert!(
        keys_under(&s3, &bucket, &approvals).await.is_empty(),
        "nothing recorded"
    );

    // Bob approves another plan: it does not count for this one.
    approves(&bob, &created, 0);
    carol_is_refused(&id, "no approval is recorded", "approved another plan");

    // The applier's own approval does not count.
    approves(&carol, &id, 0);
    carol_is_refused(&id, "is who applies it", "approved by the applier");
    assert_unlocked(&s3, &bucket, "a refused apply releases its lock").await;
    assert!(enabled().await, "nothing refused changed the key");

    let approved = approves(&bob, &id, 0);
    assert_says(&approved.stdout, &["Approved"], "bob approves");
    let record = object(&s3, &bucket, &format!("{approvals}{}", bob.user_id))
        .await
        .expect("bob's approval is recorded under his user id");
    let record = json(&record);
    assert_eq!(record["approver"]["arn"], bob.arn);
    assert_eq!(record["plan_id"], id);

    let applied = carol_applies(&id, 0);
    assert_says(
        &applied.stdout,
        &[&format!("Approved by {} (dual control)", bob.arn)],
        "approved by a third person",
    );
    assert!(!enabled().await, "the key is disabled");
    let state = key_metadata(&kms, &db).await.key_state;
    assert_eq!(state, Some(aws_sdk_kms::types::KeyState::Disabled));

    // Without a backend, nothing records approvals: validate warns, apply refuses.
    std::fs::remove_file(project.file("kmsctl.toml")).expect("remove kmsctl.toml");
    let validated = project.kmsctl(&["validate", "organization"]).expect_code(0);
    assert_says(
        &validated.stderr,
        &["warning[approvals-backend]", "disable_key"],
        "validate without a backend",
    );
    project.edit(
        "environments/dev/keys.toml",
        "aliases = [\"alias/dev-platform-logs\"]",
        "aliases = [\"alias/dev-platform-logs\"]\nstate = \"disabled\"",
    );
    let no_backend = run(&carol, &["apply", "env/dev", "--auto-approve"]).expect_code(3);
    assert_says(
        &no_backend.stderr,
        &["sets no backend"],
        "apply without a backend",
    );
    let logs = kmsctl_tests::key_of_alias(&kms, "alias/dev-s3-platform-logs")
        .await
        .expect("logs key");
    let logs_state = key_metadata(&kms, &logs).await.key_state;
    assert_eq!(logs_state, Some(aws_sdk_kms::types::KeyState::Enabled));
}

/// `key_policy_widening` end to end: the evaluation engine's judgement reaches the plan and the
/// gate; a narrowing needs nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_policy_that_widens_access_is_held_for_approval_and_a_narrowing_is_not() {
    let project = TestProject::dev();
    require_approval_for(&project, "key_policy_widening");
    apply_dev(&project, 0);
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
    assert_says(
        &planned.stdout,
        &[
            "Needs an approval",
            "key_policy_widening",
            "s3.amazonaws.com gains",
        ],
        "a widening needs an approval",
    );
    let refused = apply_dev(&project, 3);
    assert_says(
        &refused.stderr,
        &["key_policy_widening", "sets no backend"],
        "no backend records approvals",
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
    apply_dev(&project, 0);
}
