//! The commands, and what they share: the project, the flags, and the loaded target.

pub mod apply;
pub mod drift;
pub mod events;
pub mod lint;
pub mod organization;
pub mod plan;
pub mod prepare;
pub mod rotate;
pub mod simulate;
pub mod validate;

use crate::cli::GlobalArgs;
use crate::project::Project;
use crate::render::style::Style;

/// What every command needs.
pub struct Context {
    pub project: Project,
    pub parallelism: usize,
    pub max_attempts: u32,
    /// `--wait-timeout`.
    pub wait_timeout: std::time::Duration,
    pub verbose: bool,
    /// Colours for stdout.
    pub style: Style,
    /// Colours for stderr.
    pub err_style: Style,
}

impl Context {
    pub fn new(project: Project, global: &GlobalArgs) -> Self {
        use std::io::IsTerminal;
        let color = |tty: bool| Style {
            color: tty && !global.no_color,
        };
        Self {
            project,
            parallelism: usize::from(global.parallelism),
            max_attempts: global.max_attempts,
            wait_timeout: std::time::Duration::from_secs(global.wait_timeout * 60),
            verbose: global.verbose,
            style: color(std::io::stdout().is_terminal()),
            err_style: color(std::io::stderr().is_terminal()),
        }
    }
}
