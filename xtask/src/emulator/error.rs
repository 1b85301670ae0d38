use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why installing, starting, stopping or calling the emulator failed.
#[derive(Debug)]
pub enum EmulatorError {
    /// A file or process operation failed.
    Io { context: String, source: io::Error },
    /// An installation command (`python3 -m venv`, `pip install`) failed.
    Command {
        command: String,
        status: String,
        output_tail: String,
        hint: Option<&'static str>,
    },
    /// `moto_server` is not where [`super::ensure_installed`] puts it.
    NotInstalled { moto_server: PathBuf },
    /// The emulator process exited or did not answer in time.
    Startup {
        reason: String,
        log: PathBuf,
        log_tail: String,
    },
    /// An HTTP call to the emulator failed or answered an unexpected status.
    Http { endpoint: String, message: String },
    /// The state file of a detached emulator is unreadable.
    State { path: PathBuf, message: String },
}

impl EmulatorError {
    pub(crate) fn io(context: impl Into<String>, source: io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}

impl fmt::Display for EmulatorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::Command {
                command,
                status,
                output_tail,
                hint,
            } => {
                write!(f, "`{command}` failed ({status})")?;
                if let Some(hint) = hint {
                    write!(f, "; {hint}")?;
                }
                if !output_tail.trim().is_empty() {
                    write!(
                        f,
                        "\n--- last lines of its output ---\n{}",
                        output_tail.trim_end()
                    )?;
                }
                Ok(())
            }
            Self::NotInstalled { moto_server } => write!(
                f,
                "{} does not exist: install the emulator first (xtask::emulator::ensure_installed)",
                moto_server.display()
            ),
            Self::Startup {
                reason,
                log,
                log_tail,
            } => {
                write!(f, "moto_server {reason} (log: {})", log.display())?;
                if !log_tail.trim().is_empty() {
                    write!(
                        f,
                        "\n--- last lines of its log ---\n{}",
                        log_tail.trim_end()
                    )?;
                }
                Ok(())
            }
            Self::Http { endpoint, message } => write!(f, "emulator at {endpoint}: {message}"),
            Self::State { path, message } => write!(f, "{}: {message}", path.display()),
        }
    }
}

impl std::error::Error for EmulatorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The last `lines` lines of `text`.
pub(crate) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc\n", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
        assert_eq!(tail("", 5), "");
    }

    #[test]
    fn command_errors_show_the_output_tail_and_hint() {
        let error = EmulatorError::Command {
            command: "pip install x".into(),
            status: "exit status: 1".into(),
            output_tail: "ERROR: no such package\n".into(),
            hint: Some("check the network"),
        };
        assert_eq!(
            error.to_string(),
            "`pip install x` failed (exit status: 1); check the network\n\
             --- last lines of its output ---\nERROR: no such package"
        );
    }
}
