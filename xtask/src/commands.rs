//! The `xtask` subcommands, and what they share.

pub mod bench;
pub mod ci;
pub mod demo;
pub mod emulator;
pub mod iam_catalog;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

/// What a subcommand returns: its exit code, or an error message (exit code 1).
pub type Outcome = Result<ExitCode, String>;

/// The cargo that runs this xtask (`$CARGO`), so nested builds use the same toolchain.
pub fn cargo(root: &Path) -> Command {
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    command.current_dir(root);
    command
}

/// The target directory cargo builds into: `$CARGO_TARGET_DIR` (relative to `root`) or `root/target`.
pub fn cargo_target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// `program arg...` as a shell would show it (the program by its file name).
pub fn display(command: &Command) -> String {
    let program = Path::new(command.get_program());
    let program = program.file_name().unwrap_or(program.as_os_str());
    std::iter::once(program)
        .chain(command.get_args())
        .map(quote)
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &OsStr) -> String {
    let arg = arg.to_string_lossy();
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
    if plain {
        arg.into_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// `12.3s`, `2m 05.1s`
pub fn human(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        let minutes = (seconds / 60.0).floor();
        format!("{minutes:.0}m {:04.1}s", seconds - minutes * 60.0)
    }
}

/// `path` relative to `root` when it is inside it.
pub fn relative<'a>(root: &Path, path: &'a Path) -> &'a Path {
    path.strip_prefix(root).unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human(Duration::from_millis(125_100)), "2m 05.1s");
    }

    #[test]
    fn commands_are_shown_quoted() {
        let mut command = Command::new("/usr/bin/cargo");
        command.args(["clippy", "--", "-D", "warnings", "a b", "it's", ""]);
        assert_eq!(
            display(&command),
            r"cargo clippy -- -D warnings 'a b' 'it'\''s' ''"
        );
    }
}
