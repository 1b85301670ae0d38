//! Exit codes: the same for every command, because CI reads them.

/// `2` means "changes" to CI, so a usage error is never 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Success; with `--detailed-exitcode`, also "no changes".
    Ok = 0,
    /// Any error: bad input, an AWS failure, a stale plan, a usage error.
    Error = 1,
    /// `plan --detailed-exitcode` found changes; `drift` found drift.
    Changes = 2,
    /// A guard refused the configuration or the plan; `drift` found a violation.
    Refused = 3,
    /// `drift --fail-on-unmanaged` found resources kmsctl does not manage (and nothing worse).
    Unmanaged = 4,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit as u8)
    }
}
