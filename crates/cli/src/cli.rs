//! The command line: clap types live here, at the binary's edge, and nowhere else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use kmsctl_engine::simulate::expect::Expected;

#[derive(Debug, Parser)]
#[command(
    name = "kmsctl",
    version,
    about = "Plan and apply AWS KMS keys, policies and guardrails from TOML files in git"
)]
#[command(
    after_help = "Exit codes: 0 success (no changes), 1 error, 2 changes (plan --detailed-exitcode), 3 refused by a guard."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the command line; for `drift`, pairs each `--output` with the `--format` just
    /// before it (`--format sarif --output drift.sarif --format markdown --output drift.md`).
    pub fn parse_args<I, T>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Self::command().try_get_matches_from(args)?;
        let mut cli = Self::from_arg_matches(&matches)?;
        if let (Command::Drift(args), Some(sub)) =
            (&mut cli.command, matches.subcommand_matches("drift"))
        {
            let formats: Vec<usize> = sub
                .indices_of("format")
                .map(Iterator::collect)
                .unwrap_or_default();
            let outputs: Vec<usize> = sub
                .indices_of("output")
                .map(Iterator::collect)
                .unwrap_or_default();
            let mut pairs: Vec<(ReportFormat, Option<std::path::PathBuf>)> =
                args.format.iter().map(|f| (*f, None)).collect();
            for (output, at) in args.output.iter().zip(&outputs) {
                // The closest --format before this --output.
                let Some(slot) = formats.iter().rposition(|f| f < at) else {
                    return Err(Self::command().error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("--output {} comes before any --format: write --format FORMAT --output FILE", output.display()),
                    ));
                };
                if pairs[slot].1.replace(output.clone()).is_some() {
                    return Err(Self::command().error(
                        clap::error::ErrorKind::ArgumentConflict,
                        "two --output for one --format: give each --format its own --output",
                    ));
                }
            }
            args.pairs = pairs;
        }
        Ok(cli)
    }
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Project root (default: the nearest folder, from here up, holding kmsctl.toml, environments/ or organization/).
    #[arg(long, global = true, value_name = "DIR", env = "KMSCTL_ROOT")]
    pub root: Option<PathBuf>,
    /// AWS reads in flight at once, and changes apply makes at once (at most 16).
    #[arg(long, global = true, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Attempts per AWS call (throttling and transient errors are retried with backoff).
    #[arg(long, global = true, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
    /// How long apply waits on AWS for a cluster, an HSM or a key store connection, in minutes.
    #[arg(long, global = true, default_value_t = 45, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub wait_timeout: u64,
    /// How long AWS is given to make a write visible (a new key, a changed policy, a role
    /// made seconds ago), in seconds: kmsctl waits this long before it concludes.
    #[arg(long, global = true, default_value_t = 120, env = "KMSCTL_PROPAGATION_TIMEOUT", value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub propagation_timeout: u64,
    /// Show notes that are only details (e.g. values AWS did not report).
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Never colour the output.
    #[arg(long, global = true, env = "NO_COLOR", value_parser = clap::builder::FalseyValueParser::new())]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a target's files and guards offline, without any AWS call.
    Validate {
        /// `env/NAME`, `organization` (organization/organization.toml and the SCPs and RCPs it
        /// attaches), or an environment folder.
        target: String,
    },
    /// Show what apply would change, and save the plan.
    Plan(PlanArgs),
    /// Apply a saved plan (the most recent one by default), or plan and apply a target.
    Apply(ApplyArgs),
    /// Approve a plan stored in the backend, for dual control (organization.toml's
    /// [approvals]): records your approval of that plan id; you must be neither who planned it
    /// nor who applies it.
    Approve(ApproveArgs),
    /// Release a target's lock in the backend by hand, after showing its holder (a run that
    /// died holding it; an expired lease is taken over by the next apply anyway).
    Unlock(UnlockArgs),
    /// Rotate a key AWS cannot rotate (a CloudHSM key store key) by hand: new key, aliases moved,
    /// old key kept for decryption. Shows the change and asks first.
    Rotate(RotateArgs),
    /// Bring existing keys under kmsctl: write `[[key]]` entries with `adopt = true` (and their
    /// non-default key policies) for the account's customer managed keys kmsctl does not manage,
    /// for you to review; then `validate` and `plan` adopt them. Writes new files only.
    Import(ImportArgs),
    /// Check that the live AWS state still matches the files and the controls, for scheduled
    /// CI. Exit 0 clean, 2 drift, 3 violation, 4 unmanaged only (with --fail-on-unmanaged), 1 error.
    Drift(DriftArgs),
    /// Write a compliance report: per control, the resources that satisfy it and those that do
    /// not, with what was observed and when.
    Report(ComplianceArgs),
    /// Lint policy files (key policies, SCPs, RCPs) against AWS's catalog of actions and
    /// condition keys, offline. Exit 0 without errors, 3 with an error, 1 when a file cannot be read.
    Lint(LintArgs),
    /// Answer offline whether a principal may call an action on a key: SCPs along the
    /// principal's account path, RCPs on the key's account, the key policy, identity policies.
    /// Exit 0 with the answer; 3 when --expect is given and not met; 1 when it cannot be answered.
    Simulate(SimulateArgs),
    /// Print a JSON Schema of kmsctl's machine-readable output.
    Schema {
        #[arg(value_enum)]
        which: SchemaKind,
    },
    /// Work with the environment's CloudTrail alerts.
    #[command(subcommand)]
    Events(EventsCommand),
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Policy files (JSON). `{{ ... }}` placeholders are linted with sample values.
    #[arg(required = true)]
    pub files: Vec<std::path::PathBuf>,
    /// The policy type. Default: from the folder (service_control_policy/, resource_control_policy/), else key.
    #[arg(long = "type", value_enum)]
    pub r#type: Option<PolicyTypeArg>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: LintFormat,
}

#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Who calls: an IAM ARN (arn:aws:iam::111111111111:role/app), a role session
    /// (arn:aws:sts::111111111111:assumed-role/app/alice: policies naming the role name it) or a
    /// service principal (rds.amazonaws.com).
    #[arg(long)]
    pub principal: String,
    /// The OU the principal's account sits in (root/dev or ou-…). Default: where
    /// organization.toml's [tree.accounts] places it.
    #[arg(long)]
    pub ou: Option<String>,
    /// A principal tag (aws:PrincipalTag/KEY), repeatable.
    #[arg(long = "principal-tag", value_name = "KEY=VALUE")]
    pub principal_tags: Vec<String>,
    /// The call is made with MFA (aws:MultiFactorAuthPresent = true).
    #[arg(long)]
    pub mfa: bool,
    /// aws:SourceIp.
    #[arg(long)]
    pub source_ip: Option<String>,
    /// The action, e.g. kms:Decrypt.
    #[arg(long)]
    pub action: String,
    /// The key, by an alias an environment gives it. Omit for actions on no key (kms:CreateKey).
    #[arg(long)]
    pub key: Option<String>,
    /// The environment of the key (or of a keyless call). Default: the one with that alias.
    #[arg(long)]
    pub environment: Option<String>,
    /// A further context key and its values; repeat it for each key: --context
    /// aws:RequestTag/BU=Finance --context aws:RequestTag/Project=Ledger. Several values of one
    /// key are separated by commas (aws:PrincipalOrgPaths=V1,V2); a second KEY= after a comma is
    /// refused, not guessed.
    #[arg(long = "context", value_name = "KEY=VALUE[,VALUE]")]
    pub context: Vec<String>,
    /// An identity policy file of the principal, repeatable. Without one, a policy allowing
    /// the action is assumed (does anything beyond IAM stop it?).
    #[arg(long = "identity-policy", value_name = "FILE")]
    pub identity_policies: Vec<std::path::PathBuf>,
    /// The principal has no identity policy at all.
    #[arg(long, conflicts_with = "identity_policies")]
    pub no_identity_policy: bool,
    /// Exit 3 unless the answer is this.
    #[arg(long, value_enum)]
    pub expect: Option<ExpectArg>,
    #[arg(long, value_enum, default_value = "human")]
    pub format: SimulateFormat,
    /// Read the OU tree and where each account sits from AWS Organizations (with
    /// organization.toml's account_id and assume_role_arn) instead of its [tree].
    #[arg(long)]
    pub live: bool,
    /// With --format json: add what the answer was computed from (the request's context keys,
    /// every policy by level), in the shape policy simulators take.
    #[arg(long, requires = "format")]
    pub show_inputs: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SimulateFormat {
    Human,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PolicyTypeArg {
    /// A KMS key policy.
    Key,
    /// A service control policy.
    Scp,
    /// A resource control policy.
    Rcp,
    /// An IAM identity policy (user, group or role; no Principal, Resource required).
    Identity,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LintFormat {
    Human,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
pub struct DriftArgs {
    /// `organization`, `env/NAME` or environment folders. Default: the organization and every
    /// folder in environments/.
    pub targets: Vec<String>,
    /// Output format; repeat it, each with its own --output, for several in one run.
    #[arg(long, value_enum)]
    pub format: Vec<ReportFormat>,
    /// Write the --format at the same position to this file (default: standard output).
    #[arg(long)]
    pub output: Vec<std::path::PathBuf>,
    /// Exit 4 when the only findings are unmanaged resources.
    #[arg(long)]
    pub fail_on_unmanaged: bool,
    /// Each --format with the --output that follows it on the command line (see [`Cli::parse_args`]).
    #[arg(skip)]
    pub pairs: Vec<(ReportFormat, Option<std::path::PathBuf>)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Human,
    /// The versioned report (`kmsctl schema drift-report`).
    Json,
    /// SARIF 2.1.0, for code-scanning UIs.
    Sarif,
    /// JUnit XML: one test case per resource.
    Junit,
    /// A summary table for a pull-request comment.
    Markdown,
}

#[derive(Debug, Args)]
pub struct ComplianceArgs {
    /// As for `drift`. Default: the organization and every environment.
    pub targets: Vec<String>,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: ComplianceFormat,
    /// Write the report here (default: standard output).
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ComplianceFormat {
    Markdown,
    Html,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SchemaKind {
    /// The JSON form of `kmsctl drift --format json`.
    DriftReport,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// `env/NAME` (or an environment folder): its account's keys; or `organization`: the SCPs
    /// and RCPs made by hand.
    pub target: String,
    /// Only this key: an alias (`alias/x` or `x`), a key id or a key ARN. Repeatable; default:
    /// every customer managed key kmsctl does not manage.
    #[arg(long = "key", value_name = "ALIAS|KEY_ID")]
    pub keys: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// `env/NAME` or an environment folder.
    pub target: String,
    /// The key's alias (`alias/...`, or without the prefix).
    pub alias: String,
    /// Rotate without asking.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Say which alert rule (and severity) a CloudTrail event would fire, offline.
    Test {
        /// `env/NAME` or an environment folder.
        target: String,
        /// A CloudTrail event as EventBridge delivers it, a CloudTrail record, or a CloudTrail
        /// log file (`{"Records": [...]}`), as JSON.
        event: std::path::PathBuf,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// `env/NAME`, `organization`, or an environment folder.
    pub target: String,
    /// Where to save the plan (default: .kmsctl/env-NAME.plan.json, or
    /// .kmsctl/organization.plan.json, in the project root).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are (1 error, 3 refused).
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A target (`env/NAME`, `organization`, an environment folder) to plan and apply, or a saved
    /// plan: a path to an existing `.json` file. `env/NAME` and `organization` always mean the
    /// target, whatever files exist. Default: the most recently saved plan.
    pub plan_or_target: Option<String>,
    /// Apply this saved plan (whatever its name).
    #[arg(long, value_name = "FILE", conflicts_with = "plan_or_target")]
    pub plan: Option<PathBuf>,
    /// Apply the plan stored in the backend under this id (what `plan` printed; 12 or more of
    /// its first characters suffice), from any clone: the argument is then its target.
    #[arg(
        long,
        value_name = "ID",
        conflicts_with = "plan",
        requires = "plan_or_target"
    )]
    pub plan_id: Option<String>,
    /// Apply a freshly made plan without asking.
    #[arg(long)]
    pub auto_approve: bool,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The plan's target: `env/NAME` or `organization`.
    pub target: String,
    /// The id `plan` printed (12 or more of its first characters suffice).
    #[arg(long, value_name = "ID")]
    pub plan_id: String,
    /// Approve without asking (after reading the plan shown).
    #[arg(long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The target whose lock to release: `env/NAME` or `organization`.
    pub target: String,
    /// Release it without asking.
    #[arg(long)]
    pub force: bool,
}

/// `--expect`: the engine's decisions, named and explained as `expect.toml` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectArg(pub Expected);

impl clap::ValueEnum for ExpectArg {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [ExpectArg; 4] = [
            ExpectArg(Expected::ALL[0]),
            ExpectArg(Expected::ALL[1]),
            ExpectArg(Expected::ALL[2]),
            ExpectArg(Expected::ALL[3]),
        ];
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        let value = clap::builder::PossibleValue::new(self.0.name());
        Some(match self.0.meaning() {
            Some(meaning) => value.help(meaning),
            None => value,
        })
    }
}
