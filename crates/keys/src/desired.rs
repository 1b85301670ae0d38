//! The desired state of an environment's keys: `[[key]]` entries resolved against the
//! environment (defaults, merged tags, templated and parsed policies).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use aws_sdk_kms::types::{KeySpec, OriginType};
use kmsctl_core::environment::EnvironmentSettings;
use kmsctl_core::limits::MIN_ROTATION_PERIOD_DAYS;
use kmsctl_core::policy::{self, PolicyDocument};
use kmsctl_core::project_files::{FileError, POLICY, ProjectFiles};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Finding, Location, Ref, template};
use toml::Spanned;

use crate::config::{DeclaredState, KeyDecl};
use crate::spec;

/// Tags kmsctl writes on every key it creates or adopts.
pub const TAG_MANAGED: &str = "kmsctl:managed";
pub const TAG_ENVIRONMENT: &str = "kmsctl:environment";
pub const TAG_ID: &str = "kmsctl:id";
pub const DEFAULT_DELETION_WINDOW_DAYS: i64 = 30;
pub const DEFAULT_ROTATION_PERIOD_DAYS: i64 = 365;

/// A key policy after templating, with the file it came from. The parsed document is not kept:
/// a thousand keys' documents weigh tens of megabytes, and a plan needs only their canonical form
/// (and the document again, re-parsed, for the rare policy that differs).
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPolicy {
    /// The policy file, relative to the project root; `None` for AWS's default key policy.
    pub file: Option<PathBuf>,
    pub text: String,
    pub statements: usize,
    /// `PolicyDocument::canonical`, serialised: equal for documents equal in meaning.
    pub canonical: String,
    /// What the key-policy guards found in it.
    pub findings: Vec<Finding>,
}

impl DesiredPolicy {
    pub fn new(file: Option<PathBuf>, text: String, document: &PolicyDocument) -> Self {
        Self::applied_by(file, text, document, None)
    }

    /// A policy kmsctl applies as `deployer` (`None`: not known): the lockout guard checks that
    /// the deployer keeps what it needs on the key.
    pub fn applied_by(
        file: Option<PathBuf>,
        text: String,
        document: &PolicyDocument,
        deployer: Option<&policy::Deployer>,
    ) -> Self {
        let shown = file
            .clone()
            .unwrap_or_else(|| "(default key policy)".into());
        Self {
            // The guards and the catalog-backed lint (unknown actions and keys, operator types...).
            findings: policy::lint::lint_for(
                document,
                &text,
                policy::lint::PolicyKind::Key,
                &shown,
                deployer,
            ),
            statements: document.statements.len(),
            canonical: document.canonical().to_string(),
            file,
            text,
        }
    }

    /// The document, parsed again from the text it was first parsed from.
    pub fn document(&self) -> PolicyDocument {
        policy::parse(&self.text).expect("the text parsed when the policy was loaded")
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredRotation {
    pub enabled: bool,
    pub period_days: i64,
}

/// Where each guarded field of a key is declared.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyLocations {
    pub key: Location,
    pub deletion_window: Option<Location>,
    pub rotation: Option<Location>,
    pub rotation_period: Option<Location>,
    pub spec: Option<Location>,
    pub usage: Option<Location>,
    pub custom_key_store: Option<Location>,
    pub manual_rotation: Option<Location>,
    pub tags: BTreeMap<String, Location>,
    pub aliases: BTreeMap<String, Location>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredKey {
    /// `{environment}/{function}/{team}/{purpose}`: the `kmsctl:id` tag.
    pub id: String,
    /// `{function}-{team}-{purpose}`: the name in resource addresses.
    pub name: String,
    pub alias: String,
    pub extra_aliases: Vec<String>,
    pub description: String,
    pub spec: String,
    pub usage: String,
    /// `AWS_CLOUDHSM` for a key in a key store, else `AWS_KMS`: kmsctl decides it, not a file.
    pub origin: OriginType,
    pub multi_region: bool,
    /// The custom key store's name, for keys created in one.
    pub custom_key_store: Option<String>,
    /// The store's id for CreateKey: a string, or a reference to the change that connects the
    /// store. Set by the caller from the CloudHSM domain's plan; `None` holds the key back.
    pub custom_key_store_id: Option<Ref<String>>,
    /// For keys AWS cannot rotate: how often the operator rotates them.
    pub manual_rotation_days: Option<i64>,
    pub policy: DesiredPolicy,
    /// `None` for keys AWS cannot rotate automatically.
    pub rotation: Option<DesiredRotation>,
    /// Rotation was asked for on a key that cannot rotate (a guard reports it).
    pub rotation_unsupported: bool,
    pub deletion_window_days: i64,
    pub state: DeclaredState,
    pub adopt: bool,
    /// The existing key to adopt by id (`key_id`, with `adopt = true`).
    pub adopt_key_id: Option<String>,
    /// Environment tags, the key's own tags and kmsctl's tags.
    pub tags: BTreeMap<String, String>,
    /// The tags as the files declare them (environment and key), before kmsctl adds its own.
    pub declared_tags: BTreeMap<String, String>,
    pub locations: KeyLocations,
}

impl DesiredKey {
    pub fn all_aliases(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.alias).chain(&self.extra_aliases)
    }
}

/// A configuration error: the file and line, what is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct DesiredError {
    pub location: Location,
    pub message: String,
    pub help: String,
}

/// One `[[key]]` entry with the file it was read from.
pub struct DeclaredKey<'a> {
    pub file: &'a SourceFile,
    pub decl: &'a Spanned<KeyDecl>,
}

/// Resolves every declared key; policies are read from the project's `policies/kms/`.
pub fn build(
    files: &ProjectFiles,
    env: &EnvironmentSettings,
    declared: &[DeclaredKey<'_>],
) -> Result<Vec<DesiredKey>, DesiredError> {
    let variables = env.template_variables();
    declared
        .iter()
        .map(|d| build_key(files, env, &variables, d.file, d.decl))
        .collect()
}

fn build_key(
    files: &ProjectFiles,
    env: &EnvironmentSettings,
    variables: &BTreeMap<String, String>,
    file: &SourceFile,
    spanned: &Spanned<KeyDecl>,
) -> Result<DesiredKey, DesiredError> {
    let decl = spanned.get_ref();
    let at = |span: std::ops::Range<usize>| file.location(span);
    let (function, team, purpose) = (
        decl.function.get_ref(),
        decl.team.get_ref(),
        decl.purpose.get_ref(),
    );
    for part in [&decl.function, &decl.team, &decl.purpose] {
        let valid = !part.get_ref().is_empty()
            && part
                .get_ref()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid {
            return Err(DesiredError {
                location: at(part.span()),
                message: format!("{:?} is not a valid name part", part.get_ref()),
                help: "function, team and purpose name the key's alias and address: use letters, digits, '_' and '-'".into(),
            });
        }
    }
    if let Some(key_id) = &decl.key_id
        && !decl.adopt
    {
        return Err(DesiredError {
            location: at(key_id.span()),
            message: "key_id names an existing key to take over, but adopt is not set".into(),
            help: "add adopt = true to this [[key]], or remove key_id to create a new key".into(),
        });
    }
    let id = format!("{}/{function}/{team}/{purpose}", env.name);
    let name = format!("{function}-{team}-{purpose}");
    let spec = decl
        .spec
        .as_ref()
        .map_or(spec::DEFAULT_SPEC.to_owned(), |s| s.get_ref().clone());
    let usage = match &decl.usage {
        Some(usage) => usage.get_ref().clone(),
        None => spec::default_usage(&spec)
            .unwrap_or("ENCRYPT_DECRYPT")
            .to_owned(),
    };
    let origin = if decl.custom_key_store.is_some() {
        OriginType::AwsCloudhsm
    } else {
        OriginType::AwsKms
    };
    let rotatable = spec::rotatable(&KeySpec::from(spec.as_str()), &origin);
    let asked_rotation = decl.enable_key_rotation.as_ref().map(|r| *r.get_ref());
    let default_period = DEFAULT_ROTATION_PERIOD_DAYS.min(
        env.rules
            .max_rotation_period_days
            .max(MIN_ROTATION_PERIOD_DAYS),
    );
    let rotation = rotatable.then(|| DesiredRotation {
        enabled: asked_rotation.unwrap_or(true),
        period_days: decl
            .rotation_period_in_days
            .as_ref()
            .map_or(default_period, |p| *p.get_ref()),
    });

    let mut tags = env.tags.clone();
    let mut tag_locations = BTreeMap::new();
    for (key, value) in &decl.tags {
        tags.insert(key.get_ref().clone(), value.get_ref().clone());
        tag_locations.insert(key.get_ref().clone(), at(key.span()));
    }
    let declared_tags = tags.clone();
    tags.insert(TAG_MANAGED.into(), "true".into());
    tags.insert(TAG_ENVIRONMENT.into(), env.name.clone());
    tags.insert(TAG_ID.into(), id.clone());

    let alias = decl
        .alias
        .as_ref()
        .map_or(format!("alias/{}-{name}", env.name), |a| {
            a.get_ref().clone()
        });
    let mut alias_locations = BTreeMap::new();
    alias_locations.insert(
        alias.clone(),
        decl.alias
            .as_ref()
            .map_or_else(|| at(spanned.span()), |a| at(a.span())),
    );
    for extra in &decl.aliases {
        alias_locations.insert(extra.get_ref().clone(), at(extra.span()));
    }

    let deployer = env.deployer(&tags);
    let policy = match &decl.policy {
        Some(name) => load_policy(
            files,
            variables,
            env.organization.as_ref().map(|o| &o.ou_paths),
            file,
            name,
            &deployer,
        )?,
        None => default_policy(env, &deployer),
    };

    Ok(DesiredKey {
        id,
        name,
        alias,
        extra_aliases: decl.aliases.iter().map(|a| a.get_ref().clone()).collect(),
        description: decl
            .description
            .clone()
            .unwrap_or_else(|| format!("{purpose} key for {team} {function} ({})", env.name)),
        spec,
        usage,
        origin,
        multi_region: decl.multi_region.as_ref().is_some_and(|m| *m.get_ref()),
        custom_key_store: decl.custom_key_store.as_ref().map(|s| s.get_ref().clone()),
        custom_key_store_id: None,
        manual_rotation_days: decl.manual_rotation_days.as_ref().map(|d| *d.get_ref()),
        policy,
        rotation,
        rotation_unsupported: !rotatable && asked_rotation == Some(true),
        deletion_window_days: decl
            .deletion_window_in_days
            .as_ref()
            .map_or(DEFAULT_DELETION_WINDOW_DAYS, |d| *d.get_ref()),
        state: decl
            .state
            .as_ref()
            .map_or(DeclaredState::Enabled, |s| *s.get_ref()),
        adopt: decl.adopt,
        adopt_key_id: decl.key_id.as_ref().map(|k| k.get_ref().clone()),
        tags,
        declared_tags,
        locations: KeyLocations {
            key: at(spanned.span()),
            deletion_window: decl.deletion_window_in_days.as_ref().map(|d| at(d.span())),
            rotation: decl.enable_key_rotation.as_ref().map(|r| at(r.span())),
            rotation_period: decl.rotation_period_in_days.as_ref().map(|p| at(p.span())),
            spec: decl.spec.as_ref().map(|s| at(s.span())),
            usage: decl.usage.as_ref().map(|u| at(u.span())),
            custom_key_store: decl.custom_key_store.as_ref().map(|s| at(s.span())),
            manual_rotation: decl.manual_rotation_days.as_ref().map(|d| at(d.span())),
            tags: tag_locations,
            aliases: alias_locations,
        },
    })
}

/// Reads `policies/kms/NAME`, refusing paths that leave the project root, then templates and
/// parses it. Errors point into the policy file where they can.
fn load_policy(
    files: &ProjectFiles,
    variables: &BTreeMap<String, String>,
    ou_paths: Option<&BTreeMap<String, String>>,
    file: &SourceFile,
    name: &Spanned<String>,
    deployer: &policy::Deployer,
) -> Result<DesiredPolicy, DesiredError> {
    let declared_at = file.location(name.span());
    let relative = Path::new("policies/kms").join(name.get_ref());
    let fail = |location: Location, message: String, help: &str| DesiredError {
        location,
        message,
        help: help.to_owned(),
    };
    if escapes(name.get_ref()) {
        return Err(fail(
            declared_at,
            format!("policy path {:?} leaves the project root", name.get_ref()),
            "name a file under policies/kms/ without '..' or an absolute path",
        ));
    }
    let raw = files.read(&relative, POLICY).map_err(|e| {
        let help = match e {
            FileError::Missing { .. } => {
                "`policy` names a JSON file under policies/kms/ in the project root: create it or fix the name"
            }
            _ => e.help(),
        };
        fail(declared_at.clone(), format!("policy file {e}"), help)
    })?;
    let raw = crate::ou_path::render(&raw, ou_paths).map_err(|(line, message, help)| {
        fail(Location::at_line(relative.clone(), line), message, &help)
    })?;
    let text = template::render_json_strings(&raw, variables).map_err(|e| {
        let (line, help) = match &e {
            template::TemplateError::Unknown { line, .. } => (
                *line,
                "declare the variable under [variables] in environment.toml, or use a built-in: account_id, region, environment, partition, deployer_role_arn",
            ),
            template::TemplateError::Unterminated { line, .. } => {
                (*line, "close the variable with }} on the same line: {{ name }}")
            }
            template::TemplateError::InvalidName { line, .. } => (
                *line,
                "a variable name is letters, digits, '_', '-' and '.': {{ db_admin_role }}",
            ),
        };
        fail(Location::at_line(relative.clone(), line), e.to_string(), help)
    })?;
    if text.len() > policy::MAX_POLICY_TEXT_BYTES {
        // Refused on its length, before parsing; up to this size, the policy-size guard reports it.
        return Err(fail(
            Location::at_line(relative.clone(), 1),
            format!(
                "policy file {} is {} bytes after templating; AWS KMS accepts at most {} bytes (32 KB), and kmsctl does not parse more than {}",
                relative.display(),
                text.len(),
                kmsctl_core::limits::MAX_KEY_POLICY_BYTES,
                policy::MAX_POLICY_TEXT_BYTES
            ),
            "shrink the policy: merge statements that share a principal and condition, list principals once, or grant through IAM policies or grants instead",
        ));
    }
    let document = policy::parse(&text).map_err(|e| {
        fail(
            Location::at_line(relative.clone(), e.line),
            format!("invalid policy JSON: {e}"),
            "a key policy is a JSON object with Version and Statement",
        )
    })?;
    Ok(DesiredPolicy::applied_by(
        Some(relative),
        text,
        &document,
        Some(deployer),
    ))
}

fn escapes(name: &str) -> bool {
    Path::new(name).is_absolute()
        || Path::new(name)
            .components()
            .any(|c| matches!(c, std::path::Component::ParentDir))
}

/// AWS's default key policy: the account's principals get whatever their IAM policies allow.
fn default_policy(env: &EnvironmentSettings, deployer: &policy::Deployer) -> DesiredPolicy {
    let text = default_policy_text(env);
    // The text is valid by construction; a parse failure would be a bug in this function.
    let document = policy::parse(&text).expect("the default key policy is valid JSON");
    DesiredPolicy::applied_by(None, text, &document, Some(deployer))
}

/// AWS's default key policy for the environment's account: what a key declared without
/// `policy` gets.
pub fn default_policy_text(env: &EnvironmentSettings) -> String {
    let partition = kmsctl_core::environment::partition_of(&env.region);
    format!(
        r#"{{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {{
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {{ "AWS": "arn:{partition}:iam::{}:root" }},
      "Action": "kms:*",
      "Resource": "*"
    }}
  ]
}}
"#,
        env.account_id
    )
}
