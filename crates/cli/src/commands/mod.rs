//! The commands, and what they share: the engine's context plus how this terminal shows things.

pub mod apply;
pub mod drift;
pub mod events;
pub mod import;
pub mod lint;
pub mod plan;
pub mod prompt;
pub mod rotate;
pub mod simulate;
pub mod team;
pub mod validate;

use kmsctl_engine::project::Project;

use crate::cli::GlobalArgs;
use crate::render::style::Style;

/// What every command needs: the engine's context (project and settings) and the terminal's.
pub struct Context {
    pub engine: kmsctl_engine::Context,
    pub verbose: bool,
    /// Colours for stdout.
    pub style: Style,
    /// Colours for stderr.
    pub err_style: Style,
}

impl std::ops::Deref for Context {
    type Target = kmsctl_engine::Context;

    fn deref(&self) -> &Self::Target {
        &self.engine
    }
}

/// How standard error is styled: colour on a terminal, unless `--no-color`/`NO_COLOR`.
pub fn err_style(global: &GlobalArgs) -> Style {
    use std::io::IsTerminal;
    Style {
        color: std::io::stderr().is_terminal() && !global.no_color,
    }
}

impl Context {
    pub fn new(project: Project, global: &GlobalArgs) -> Self {
        use std::io::IsTerminal;
        let color = |tty: bool| Style {
            color: tty && !global.no_color,
        };
        let err_style = err_style(global);
        Self {
            engine: kmsctl_engine::Context {
                project,
                parallelism: usize::from(global.parallelism),
                max_attempts: global.max_attempts,
                wait_timeout: std::time::Duration::from_secs(global.wait_timeout * 60),
                propagation_timeout: std::time::Duration::from_secs(global.propagation_timeout),
                // Apply's long waits (CloudHSM, KMS) print each poll.
                on_wait: std::sync::Arc::new(move |message| {
                    eprintln!("  {} {message}", err_style.cyan("waiting:"));
                }),
            },
            verbose: global.verbose,
            style: color(std::io::stdout().is_terminal()),
            err_style,
        }
    }
}
