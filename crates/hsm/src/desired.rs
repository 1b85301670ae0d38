//! What `hsm.toml` asks for, resolved: the trust anchor read, tags added.

use kmsctl_core::project_files::ProjectFiles;
use std::collections::BTreeMap;
use std::path::Path;

use kmsctl_core::Location;
use kmsctl_core::source::SourceFile;
use toml::Spanned;

use crate::config::HsmDecl;

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredCluster {
    pub name: String,
    pub hsm_type: String,
    pub subnet_ids: Vec<String>,
    pub hsm_count: usize,
    pub source_backup_id: Option<String>,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredStore {
    pub name: String,
    /// As the files name it, for messages.
    pub trust_anchor_file: String,
    /// The PEM text; empty when unreadable (a guard refuses the plan then).
    pub trust_anchor: String,
    /// The variable holding the kmsuser password. The password itself is read at apply only.
    pub password_env: String,
    pub connect: bool,
    pub location: Location,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DesiredHsm {
    pub environment: String,
    pub cluster: DesiredCluster,
    pub store: Option<DesiredStore>,
    pub tags: BTreeMap<String, String>,
}

pub fn build(
    files: &ProjectFiles,
    environment: &str,
    env_dir: &Path,
    file: &SourceFile,
    decl: &Spanned<HsmDecl>,
) -> DesiredHsm {
    let cluster = decl.get_ref().cluster.get_ref();
    let store = decl.get_ref().key_store.as_ref().map(|store| {
        let s = store.get_ref();
        DesiredStore {
            name: s.name.get_ref().clone(),
            trust_anchor_file: s.trust_anchor_certificate.get_ref().clone(),
            trust_anchor: crate::trust_anchor::read(
                files,
                &env_dir.join(s.trust_anchor_certificate.get_ref()),
            )
            .unwrap_or_default(),
            password_env: s.password_env.get_ref().clone(),
            connect: s.connect,
            location: file.location(store.span()),
        }
    });
    DesiredHsm {
        environment: environment.to_owned(),
        cluster: DesiredCluster {
            name: cluster.name.get_ref().clone(),
            hsm_type: cluster.hsm_type.get_ref().clone(),
            subnet_ids: cluster
                .subnet_ids
                .get_ref()
                .iter()
                .map(|s| s.get_ref().clone())
                .collect(),
            hsm_count: usize::try_from(*cluster.hsm_count.get_ref()).unwrap_or(0),
            source_backup_id: cluster
                .source_backup_id
                .as_ref()
                .map(|s| s.get_ref().clone()),
            location: file.location(decl.get_ref().cluster.span()),
        },
        store,
        tags: BTreeMap::from([
            ("Name".to_owned(), cluster.name.get_ref().clone()),
            ("kmsctl:managed".to_owned(), "true".to_owned()),
            ("kmsctl:environment".to_owned(), environment.to_owned()),
        ]),
    }
}
