//! The framework's controls and the PCI DSS v4.0 / NIST requirements they map to, shipped as
//! data (`data/controls.toml`) that a project may override with `compliance/controls.toml`.

use std::path::Path;

use serde::Deserialize;

use super::ControlRef;
use crate::project_files::ProjectFiles;
use crate::rule::Control;

/// A project's own control map, relative to its root.
const FILE: &str = "compliance/controls.toml";

const BUILT_IN: &str = include_str!("../../data/controls.toml");

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlEntry {
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
    pub controls: Vec<ControlEntry>,
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

    /// The framework's control, as this map describes it.
    pub fn of(&self, control: Control) -> ControlRef {
        self.get(control.id())
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
