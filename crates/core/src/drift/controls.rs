//! The framework's controls and the PCI DSS v4.0 / NIST requirements they map to, shipped as
//! data (`data/controls.toml`) that a project may override with `compliance/controls.toml`.

use std::path::Path;

use serde::Deserialize;

use super::ControlRef;
use crate::project_files::ProjectFiles;

/// A project's own control map, relative to its root.
const FILE: &str = "compliance/controls.toml";

const BUILT_IN: &str = include_str!("../../data/controls.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub name: String,
    pub checks: String,
    #[serde(default)]
    pub pci_dss_v4: Vec<String>,
    #[serde(default)]
    pub nist_800_53_r5: Vec<String>,
    #[serde(default)]
    pub nist_800_57_pt1: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlMap {
    #[serde(rename = "control")]
    pub controls: Vec<Control>,
}

#[derive(Debug, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ControlMapError {
    pub file: String,
    pub message: String,
}

impl ControlMap {
    pub fn built_in() -> Self {
        toml::from_str(BUILT_IN).unwrap_or(Self { controls: vec![] })
    }

    /// The project's `compliance/controls.toml` if it has one, else the built-in map.
    pub fn for_project(files: &ProjectFiles) -> Result<Self, ControlMapError> {
        let text = match files.read(Path::new(FILE), crate::project_files::CONFIG) {
            Ok(text) => text,
            Err(crate::project_files::FileError::Missing { .. }) => return Ok(Self::built_in()),
            Err(error) => {
                return Err(ControlMapError {
                    file: FILE.into(),
                    message: error.to_string(),
                });
            }
        };
        toml::from_str(&text).map_err(|e| ControlMapError {
            file: FILE.into(),
            message: e.to_string(),
        })
    }

    /// The control by id; an id the map lacks still names itself.
    pub fn get(&self, id: &str) -> ControlRef {
        match self.controls.iter().find(|c| c.id == id) {
            Some(c) => ControlRef {
                id: c.id.clone(),
                name: c.name.clone(),
                pci_dss_v4: c.pci_dss_v4.clone(),
                nist_800_53_r5: c.nist_800_53_r5.clone(),
                nist_800_57_pt1: c.nist_800_57_pt1.clone(),
            },
            None => ControlRef {
                id: id.to_owned(),
                name: format!("control {id} (not in the control map)"),
                pci_dss_v4: vec![],
                nist_800_53_r5: vec![],
                nist_800_57_pt1: vec![],
            },
        }
    }
}

/// The control a guard enforces, for the guards that enforce one of the framework's controls.
pub fn control_of_guard(rule: &str) -> Option<&'static str> {
    Some(match rule {
        r if r.starts_with("rotation-") => "3.3.1",
        "deletion-window" | "key-pending-deletion" => "3.4.1",
        "required-tags" | "environment-tag" | "tag-limits" | "tag-reserved" => "3.1.1",
        "policy-public-principal" | "orgpaths-value" => "3.2.2",
        r if r.starts_with("config-") || r.starts_with("alerts-") => "MON",
        r if r.starts_with("hsm-") || r.starts_with("custom-key-store-") => "HSM",
        _ => return None,
    })
}

/// The control a rule or a resource kind enforces.
pub fn control_of(rule_or_kind: &str) -> &'static str {
    match rule_or_kind {
        "rotation-required" | "rotation-period" | "rotation-unsupported" | "kms_key_rotation" => {
            "3.3.1"
        }
        "deletion-window" | "key-pending-deletion" | "drift-key-state" => "3.4.1",
        "required-tags" | "environment-tag" | "tag-limits" | "tag-reserved" | "drift-tags"
        | "unmanaged-key" => "3.1.1",
        "policy-mfa" => "3.2.4",
        "policy-admin" => "3.2.3",
        kind if kind.starts_with("hsm")
            || kind.starts_with("kms_custom_key_store")
            || kind.starts_with("custom-key-store") =>
        {
            "HSM"
        }
        kind if ["config_", "sns_", "events_", "config-", "alerts-"]
            .iter()
            .any(|p| kind.starts_with(p)) =>
        {
            "MON"
        }
        _ => "3.2.2",
    }
}
