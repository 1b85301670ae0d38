//! `kmsctl import env/NAME [--key ALIAS|KEY_ID]...`: the account's customer managed keys that
//! kmsctl does not manage, written as `[[key]]` entries with `adopt = true` into a new file of
//! the environment, and their non-default key policies into new files under `policies/kms/`.
//! Nothing in AWS changes and no existing file is overwritten: the user reviews the files,
//! `kmsctl validate` shows what the keys still lack against the guards, and `kmsctl plan`
//! shows only the adoption.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use kmsctl_engine::plan::target_of;
use kmsctl_engine::prepare::prepare;
use kmsctl_engine::target::connect;

use super::Context;
use crate::cli::ImportArgs;
use crate::error::{Result, UserError};
use crate::exit::Exit;

pub async fn run(ctx: &Context, args: &ImportArgs) -> Result<Exit> {
    if args.target == kmsctl_engine::project::ORGANIZATION_TARGET {
        return organization(ctx, args).await;
    }
    let prepared = prepare(ctx, &args.target)?;
    let target = target_of(&prepared);
    let session = connect(ctx, &target).await?;
    let clients = kmsctl_keys::clients(&session);
    let found = kmsctl_keys::import::unmanaged(&clients, &args.keys, ctx.parallelism)
        .await
        .map_err(|e| UserError::new(format!("reading the account's keys: {e}")))?;
    let declared: BTreeSet<String> = prepared
        .keys
        .iter()
        .flat_map(|k| k.all_aliases().cloned().chain(k.adopt_key_id.clone()))
        .collect();
    let policies_dir = ctx.project.root.join("policies/kms");
    let free = |name: &str| !policies_dir.join(name).exists();
    let imported =
        kmsctl_keys::import::entries(&prepared.env.settings, &found.keys, &declared, &free);
    let err = &ctx.err_style;
    for note in &imported.notes {
        eprintln!("{} {note}", err.cyan("note:"));
    }
    for (key_id, reason) in &found.unreadable {
        eprintln!(
            "{} key {key_id} could not be read, so it is not imported: {reason}",
            err.yellow("warning:")
        );
    }
    if imported.imported == 0 {
        println!(
            "No key to import: {} has no customer managed key that kmsctl does not manage{}.",
            target.label(),
            if args.keys.is_empty() {
                ""
            } else {
                " among those named"
            }
        );
        return Ok(Exit::Ok);
    }
    for wanted in &args.keys {
        let named = |k: &kmsctl_keys::observe::ObservedKey| {
            k.key_id == *wanted
                || k.arn == *wanted
                || k.aliases
                    .iter()
                    .any(|a| a == wanted || a.strip_prefix("alias/") == Some(wanted))
        };
        if !found.keys.iter().any(named) {
            eprintln!(
                "{} --key {wanted}: no unmanaged customer managed key by that name (managed already, AWS managed, or not in the account)",
                err.yellow("warning:")
            );
        }
    }
    refuse_symlinks(
        ctx,
        &[ctx.project.root.join("policies"), policies_dir.clone()],
    )?;
    std::fs::create_dir_all(&policies_dir)
        .map_err(|e| UserError::new(format!("cannot create {}: {e}", policies_dir.display())))?;
    let mut written = Vec::new();
    for (name, text) in &imported.policies {
        let path = policies_dir.join(name);
        create_new(&path, text)?;
        written.push(ctx.project.display(&path));
    }
    let env_dir = ctx.project.root.join(&prepared.env.path);
    let keys_file = new_name(&env_dir, "imported", "toml");
    create_new(&keys_file, &imported.toml)?;
    written.insert(0, ctx.project.display(&keys_file));
    println!(
        "Imported {} key(s) of {} into new files:",
        imported.imported,
        target.label()
    );
    for path in &written {
        println!("  {}", path.display());
    }
    println!(
        "Review them (names marked TODO(import) are yours to choose), then run `kmsctl validate {0}` \
         for what the keys still lack against the guards, and `kmsctl plan {0}`: it adopts the keys \
         and creates none.",
        args.target
    );
    Ok(Exit::Ok)
}

/// `kmsctl import organization`: SCPs and RCPs made by hand, written as policy files and the
/// organization.toml lines that attach and adopt them (in a file of their own to merge: kmsctl
/// reads only organization.toml).
async fn organization(ctx: &Context, args: &ImportArgs) -> Result<Exit> {
    if !args.keys.is_empty() {
        return Err(UserError::new(
            "--key selects keys of an environment; `import organization` takes no --key",
        )
        .help("run kmsctl import organization without --key"));
    }
    let (_, org) = kmsctl_engine::config::organization::load(ctx)?;
    let target = kmsctl_engine::organization::target(&org);
    let session = connect(ctx, &target).await?;
    let client = kmsctl_org::client(&session);
    let observed = kmsctl_org::observe::observe(&client, ctx.parallelism)
        .await
        .map_err(|e| UserError::new(format!("reading the organization: {e}")))?;
    let root = &ctx.project.root;
    let imported = kmsctl_org::import::entries(&observed, &org, &|p: &Path| !root.join(p).exists());
    let err = &ctx.err_style;
    for note in &imported.notes {
        eprintln!("{} {note}", err.cyan("note:"));
    }
    if imported.imported == 0 {
        println!(
            "No policy to import: every SCP and RCP of the organization is declared, kmsctl's, or AWS's."
        );
        return Ok(Exit::Ok);
    }
    refuse_symlinks(
        ctx,
        &[
            root.join("policies"),
            root.join("policies/org"),
            root.join("organization"),
        ],
    )?;
    let mut written = Vec::new();
    for (relative, text) in &imported.policies {
        let path = root.join(relative);
        if let Some(parent) = path.parent() {
            refuse_symlinks(ctx, &[parent.to_owned()])?;
            std::fs::create_dir_all(parent)
                .map_err(|e| UserError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        create_new(&path, text)?;
        written.push(ctx.project.display(&path));
    }
    let fragment = new_name(&root.join("organization"), "organization.imported", "toml");
    create_new(&fragment, &imported.fragment)?;
    written.insert(0, ctx.project.display(&fragment));
    println!("Imported {} policy(ies) into new files:", imported.imported);
    for path in &written {
        println!("  {}", path.display());
    }
    println!(
        "Merge {} into organization/organization.toml (kmsctl reads only that file), review the policies, \
         then run `kmsctl validate organization` and `kmsctl plan organization`: it adopts them.",
        ctx.project.display(&fragment).display()
    );
    Ok(Exit::Ok)
}

/// `dir/STEM.EXT`, or `STEM-2.EXT`, ... : the first name not taken.
fn new_name(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    (1..)
        .map(|n| {
            dir.join(if n == 1 {
                format!("{stem}.{ext}")
            } else {
                format!("{stem}-{n}.{ext}")
            })
        })
        .find(|p| !p.exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.{ext}")))
}

/// Written only inside the project: a symlinked folder could point anywhere.
fn refuse_symlinks(ctx: &Context, dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs {
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(UserError::new(format!(
                "{} is a symlink: kmsctl writes only into real folders of the project",
                ctx.project.display(dir).display()
            ))
            .help("replace the symlink with a folder"));
        }
    }
    Ok(())
}

/// Writes a new file; never replaces one (a file made meanwhile is an error, not overwritten).
fn create_new(path: &Path, text: &str) -> Result<()> {
    let shown: PathBuf = path.to_owned();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| UserError::new(format!("cannot create {}: {e}", shown.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|e| UserError::new(format!("cannot write {}: {e}", shown.display())))?;
    Ok(())
}
