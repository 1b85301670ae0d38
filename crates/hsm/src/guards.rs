//! Offline guards on `hsm.toml`: at least two subnets and two HSMs, a readable PEM trust anchor
//! that is a valid CA certificate, a password only ever named by its environment variable.

use kmsctl_core::project_files::ProjectFiles;
use std::collections::BTreeSet;
use std::path::Path;

use kmsctl_core::limits::{MAX_CLUSTER_HSMS, MAX_KEY_STORE_NAME_CHARS, MIN_KEY_STORE_HSMS};
use kmsctl_core::source::SourceFile;
use kmsctl_core::{Control, Finding, Rule};
use toml::Spanned;

use crate::config::HsmDecl;

pub const HSM_SUBNETS: Rule = Rule::error(
    "hsm-subnets",
    Some(Control::Hsm),
    "at least 2 distinct subnet ids, each existing in the account and region",
);
pub const HSM_COUNT: Rule = Rule::error(
    "hsm-count",
    Some(Control::Hsm),
    "hsm_count within what a key store needs and a cluster holds",
);
pub const HSM_TYPE: Rule = Rule::error("hsm-type", Some(Control::Hsm), "a CloudHSM HSM type");
pub const HSM_PASSWORD_ENV: Rule = Rule::error(
    "hsm-password-env",
    Some(Control::Hsm),
    "password_env names an environment variable (the password is never in a file)",
);
pub const HSM_KEY_STORE_NAME: Rule = Rule::error(
    "hsm-key-store-name",
    Some(Control::Hsm),
    "the key store name's length is one AWS accepts",
);
pub const HSM_TRUST_ANCHOR: Rule = Rule::error(
    "hsm-trust-anchor",
    Some(Control::Hsm),
    "the trust anchor is a readable PEM X.509 CA certificate, valid today",
);

const HSM_TYPES: &[&str] = &["hsm1.medium", "hsm2m.medium"];

/// `env_dir` is the environment folder, which `trust_anchor_certificate` is relative to.
pub fn check(
    files: &ProjectFiles,
    file: &SourceFile,
    decl: &Spanned<HsmDecl>,
    env_dir: &Path,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let cluster = decl.get_ref().cluster.get_ref();
    let subnets = cluster.subnet_ids.get_ref();
    let distinct: BTreeSet<&str> = subnets.iter().map(|s| s.get_ref().as_str()).collect();
    if distinct.len() < 2 {
        findings.push(Finding::of(
            &HSM_SUBNETS,
            file.location(cluster.subnet_ids.span()),
            format!(
                "the cluster {} has {} distinct subnet(s): CloudHSM needs private subnets in at least 2 Availability Zones",
                cluster.name.get_ref(),
                distinct.len()
            ),
            "list one private subnet in each of at least 2 Availability Zones",
        ));
    }
    for subnet in subnets {
        let id = subnet.get_ref();
        if !id.starts_with("subnet-") || id.len() < 15 {
            findings.push(Finding::of(
                &HSM_SUBNETS,
                file.location(subnet.span()),
                format!("{id:?} is not a subnet id"),
                "use subnet ids as EC2 shows them: subnet-0123456789abcdef0",
            ));
        }
    }
    let count = *cluster.hsm_count.get_ref();
    if !(MIN_KEY_STORE_HSMS..=MAX_CLUSTER_HSMS).contains(&count) {
        findings.push(Finding::of(
            &HSM_COUNT,
            file.location(cluster.hsm_count.span()),
            format!("hsm_count = {count}: a custom key store needs at least {MIN_KEY_STORE_HSMS} active HSMs in different Availability Zones (and a cluster holds at most {MAX_CLUSTER_HSMS})"),
            format!("set hsm_count between {MIN_KEY_STORE_HSMS} and {MAX_CLUSTER_HSMS}"),
        ));
    }
    if !HSM_TYPES.contains(&cluster.hsm_type.get_ref().as_str()) {
        findings.push(Finding::of(
            &HSM_TYPE,
            file.location(cluster.hsm_type.span()),
            format!(
                "hsm_type = {:?} is not a CloudHSM type",
                cluster.hsm_type.get_ref()
            ),
            format!("use one of: {}", HSM_TYPES.join(", ")),
        ));
    }
    if let Some(store) = &decl.get_ref().key_store {
        let store = store.get_ref();
        // A `password` here was already reported (secret-in-file) and its value blanked out by
        // the loader; it is accepted by the parser only so the report names it, not a typo.
        let variable = store.password_env.get_ref();
        if variable.is_empty()
            || !variable
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || variable.starts_with(|c: char| c.is_ascii_digit())
        {
            findings.push(Finding::of(
                &HSM_PASSWORD_ENV,
                file.location(store.password_env.span()),
                format!("password_env = {variable:?} is not an environment variable name"),
                "name a variable: letters, digits and '_', e.g. KMSCTL_HSM_PASSWORD",
            ));
        }
        let name = store.name.get_ref();
        if name.is_empty() || name.len() > MAX_KEY_STORE_NAME_CHARS {
            findings.push(Finding::of(
                &HSM_KEY_STORE_NAME,
                file.location(store.name.span()),
                format!("key store name {name:?} must be 1–{MAX_KEY_STORE_NAME_CHARS} characters"),
                "choose a shorter name",
            ));
        }
        let relative = store.trust_anchor_certificate.get_ref();
        if let Err(problem) = crate::trust_anchor::read(files, &env_dir.join(relative)) {
            let shown = file
                .path
                .parent()
                .map_or_else(|| relative.into(), |dir| dir.join(relative));
            findings.push(Finding::of(
                &HSM_TRUST_ANCHOR,
                file.location(store.trust_anchor_certificate.span()),
                format!("trust anchor {}: {problem}", shown.display()),
                "point trust_anchor_certificate at the PEM certificate of the CA that signed the cluster's CSR (relative to the environment folder)",
            ));
        }
    }
    findings
}
