//! The realistic measurement (`--scenarios realistic`): what AWS's eventual consistency costs an apply of N
//! keys, and the plan right after it.
//!
//! Each run ([`Mode`]) applies the bench project, its account swapped for one of its own, into an empty
//! emulator started for it ([`Scratch`]; the seeded account of the other scenarios is not touched), through
//! a fault proxy of its own: `kmsctl apply env/bench --auto-approve`, then `kmsctl plan env/bench
//! --detailed-exitcode`, which must find nothing to do. [`Mode::Realistic`] sets the proxy's realistic-AWS
//! rules with the window and loses the first `kms:CreateKey` answer; [`Mode::NoFaults`] sets none. After
//! the apply, a `kms:ListKeys` straight at the emulator must find exactly N keys: the lost answer made no
//! duplicate.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::cache::Scratch;
use super::clients::{self, PlanFailure, Timed};
use super::floor;
use super::project;
use super::proxy::{Counts, Proxy, Rule};
use super::scenario::{lost_create_key, realistic_rules};

/// One of the two runs of the measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No faults: the emulator's own speed.
    NoFaults,
    /// The realistic-AWS rules with a window of `window_ms`, and the first CreateKey answer lost.
    Realistic { window_ms: u64 },
}

impl Mode {
    /// `no faults`, `realistic 3000 ms`.
    pub fn name(self) -> String {
        match self {
            Self::NoFaults => "no faults".to_string(),
            Self::Realistic { window_ms } => format!("realistic {window_ms} ms"),
        }
    }

    /// The name of its project folder and logs.
    fn slug(self) -> &'static str {
        match self {
            Self::NoFaults => "apply-no-faults",
            Self::Realistic { .. } => "apply-realistic",
        }
    }

    /// The account it applies into (each run has an emulator of its own: the account is always empty).
    pub fn account(self) -> &'static str {
        match self {
            Self::NoFaults => "777777777777",
            Self::Realistic { .. } => "666666666666",
        }
    }

    pub fn rules(self) -> Vec<Rule> {
        match self {
            Self::NoFaults => Vec::new(),
            Self::Realistic { window_ms } => {
                let mut rules = realistic_rules(window_ms);
                rules.push(lost_create_key());
                rules
            }
        }
    }
}

/// One measured command: its cost, and what the proxy saw of it.
#[derive(Debug, Clone)]
pub struct Step {
    pub timed: Timed,
    pub counts: Counts,
}

impl Step {
    pub fn requests_per_key(&self, keys: usize) -> f64 {
        self.counts.requests() as f64 / keys.max(1) as f64
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RealisticRow {
    pub mode: Mode,
    pub keys: usize,
    pub apply: Step,
    pub plan: Step,
    /// The keys of the account after the apply (`kms:ListKeys` straight at the emulator).
    pub keys_after: usize,
}

impl RealisticRow {
    fn cells(&self) -> [Vec<String>; 2] {
        [("apply", &self.apply), ("plan", &self.plan)].map(|(command, step)| {
            let counts = &step.counts;
            vec![
                self.mode.name(),
                command.to_string(),
                seconds(step.timed.wall),
                format!("{:.2}", step.requests_per_key(self.keys)),
                format!("{:.1}", step.timed.cpu.as_secs_f64()),
                format!("{:.1}", step.timed.max_rss_kb as f64 / 1024.0),
                counts.total(|c| c.unseen).to_string(),
                counts.total(|c| c.stale).to_string(),
                counts.total(|c| c.lagged).to_string(),
                counts.total(|c| c.dropped).to_string(),
            ]
        })
    }
}

const HEADER: [&str; 10] = [
    "run",
    "command",
    "wall",
    "req/key",
    "CPU s",
    "peak RSS MB",
    "unseen",
    "stale",
    "lagged",
    "lost answers",
];

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "-".to_string()
    } else {
        format!("{:.2}x", a / b)
    }
}

/// The table, aligned for a terminal: two lines per run (apply, plan).
pub fn text(rows: &[RealisticRow]) -> String {
    let body: Vec<Vec<String>> = rows.iter().flat_map(RealisticRow::cells).collect();
    super::table::aligned(&HEADER, &body, 2)
}

/// The table as markdown.
pub fn markdown(rows: &[RealisticRow]) -> String {
    let body: Vec<Vec<String>> = rows.iter().flat_map(RealisticRow::cells).collect();
    super::table::markdown_table(&HEADER, &body)
}

/// What the table needs said: the keys after each apply, and realistic against no faults.
pub fn notes(rows: &[RealisticRow]) -> Vec<String> {
    let mut notes = Vec::new();
    let keys: Vec<String> = rows
        .iter()
        .map(|row| {
            let creates = row.apply.counts.of("kms:CreateKey");
            format!(
                "{} ({}: {} kms:CreateKey received, {} answer(s) lost)",
                row.keys_after,
                row.mode.name(),
                creates.received,
                creates.dropped
            )
        })
        .collect();
    if !keys.is_empty() {
        notes.push(format!(
            "Keys in the account after the apply (kms:ListKeys straight at the emulator): {}.",
            keys.join("; ")
        ));
    }
    let baseline = rows.iter().find(|row| row.mode == Mode::NoFaults);
    for row in rows.iter().filter(|row| row.mode != Mode::NoFaults) {
        let Some(baseline) = baseline else { break };
        let compare = |step: &Step, base: &Step| {
            format!(
                "{} the time, {} the requests",
                ratio(step.timed.wall.as_secs_f64(), base.timed.wall.as_secs_f64()),
                ratio(step.counts.requests() as f64, base.counts.requests() as f64)
            )
        };
        notes.push(format!(
            "{} against no faults: apply {}; plan {}.",
            row.mode.name(),
            compare(&row.apply, &baseline.apply),
            compare(&row.plan, &baseline.plan)
        ));
    }
    notes.push(
        "unseen: not-found answers and lists leaving out what was just created; stale: reads answered \
         as before a write; lagged: tagging:GetResources answers with older tags; lost answers: \
         CreateKey answers the proxy did not pass on."
            .to_string(),
    );
    notes
}

/// Each run's requests by operation, per command.
pub fn request_mix(rows: &[RealisticRow]) -> String {
    let mut out = String::new();
    for row in rows {
        for (command, step) in [("apply", &row.apply), ("plan", &row.plan)] {
            let _ = writeln!(
                out,
                "- {} {command} ({} requests): {}",
                row.mode.name(),
                step.counts.requests(),
                step.counts.summary()
            );
        }
    }
    out
}

/// What a run needs.
pub struct Setup<'a> {
    pub root: &'a Path,
    /// `target/bench`: the projects go to `apply-*/` in it.
    pub dir: &'a Path,
    pub log_dir: &'a Path,
    pub kmsctl: &'a Path,
    pub proxy_binary: &'a Path,
    pub keys: usize,
    /// kmsctl's `--propagation-timeout`, in seconds.
    pub propagation_timeout: u64,
}

/// Applies N keys into an empty account under `mode`, then plans; see the module's documentation.
pub fn measure(setup: &Setup, mode: Mode) -> Result<RealisticRow, String> {
    let name = mode.name();
    let slug = mode.slug();
    let project_dir: PathBuf = setup.dir.join(slug);
    if project_dir.exists() {
        fs::remove_dir_all(&project_dir)
            .map_err(|e| format!("cannot remove {}: {e}", project_dir.display()))?;
    }
    project::write_in(&project_dir, setup.keys, mode.account())?;

    let emulator = Scratch::start(
        setup.root,
        setup.dir,
        &setup.log_dir.join(format!("{slug}-emulator.log")),
    )?;
    let proxy = Proxy::start(
        setup.proxy_binary,
        &emulator.endpoint,
        &setup.log_dir.join(format!("{slug}-fault-proxy.log")),
    )?;
    eprintln!(
        "\n[{name}] empty emulator at {} (pid {}), fault-proxy at {}; account {}, {} rule(s)",
        emulator.endpoint,
        emulator.pid(),
        proxy.endpoint,
        mode.account(),
        mode.rules().len()
    );
    let credentials = floor::assume_role(&emulator.endpoint, &project::role_arn(mode.account()))?;
    let before = floor::list_key_ids(&emulator.endpoint, &credentials)?.len();
    if before != 0 {
        return Err(format!(
            "[{name}] the account of a new emulator holds {before} keys"
        ));
    }
    proxy.set_rules(&mode.rules())?;

    proxy.reset_counts()?;
    let apply = clients::kmsctl_apply(
        setup.kmsctl,
        &project_dir,
        &proxy.endpoint,
        setup.log_dir,
        &format!("{slug}-apply"),
        setup.propagation_timeout,
    )
    .map_err(|e| format!("[{name}] {e}"))?;
    let apply = Step {
        timed: apply,
        counts: proxy.counts()?,
    };
    report_step(&name, "apply", &apply, setup.keys);

    proxy.reset_counts()?;
    let plan_name = format!("{slug}-plan");
    let plan = clients::kmsctl_plan(
        setup.kmsctl,
        &project_dir,
        &proxy.endpoint,
        setup.log_dir,
        &plan_name,
    )
    .map_err(|failure| match failure {
        PlanFailure::Changes(_) => format!(
            "[{name}] `kmsctl plan {} --detailed-exitcode` right after the apply found changes (exit \
             code 2): the apply did not leave AWS as the files say; see {}",
            project::TARGET,
            setup.log_dir.join(format!("{plan_name}.stdout")).display()
        ),
        PlanFailure::Failed(message) => format!("[{name}] {message}"),
    })?;
    let plan = Step {
        timed: plan,
        counts: proxy.counts()?,
    };
    report_step(&name, "plan", &plan, setup.keys);

    let keys_after = floor::list_key_ids(&emulator.endpoint, &credentials)?.len();
    eprintln!(
        "[{name}] keys in the account: {keys_after} (kms:CreateKey: {})",
        apply.counts.of("kms:CreateKey").received
    );
    if keys_after != setup.keys {
        return Err(format!(
            "[{name}] the account holds {keys_after} keys after applying {}: {}",
            setup.keys,
            if keys_after > setup.keys {
                "a lost CreateKey answer made a duplicate"
            } else {
                "keys are missing"
            }
        ));
    }
    Ok(RealisticRow {
        mode,
        keys: setup.keys,
        apply,
        plan,
        keys_after,
    })
}

fn report_step(name: &str, command: &str, step: &Step, keys: usize) {
    let counts = &step.counts;
    eprintln!(
        "[{name}] kmsctl {command}: {}, {} requests ({:.2}/key), unseen {}, stale {}, lagged {}, lost \
         answers {}",
        seconds(step.timed.wall),
        counts.requests(),
        step.requests_per_key(keys),
        counts.total(|c| c.unseen),
        counts.total(|c| c.stale),
        counts.total(|c| c.lagged),
        counts.total(|c| c.dropped)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proxy::{Fault, OpCounts};

    fn step(wall_s: u64, ops: &[(&str, OpCounts)]) -> Step {
        Step {
            timed: Timed {
                wall: Duration::from_secs(wall_s),
                cpu: Duration::from_millis(2500),
                max_rss_kb: 40 * 1024,
            },
            counts: Counts(
                ops.iter()
                    .map(|(op, counts)| (op.to_string(), *counts))
                    .collect(),
            ),
        }
    }

    fn received(received: u64) -> OpCounts {
        OpCounts {
            received,
            forwarded: received,
            ..OpCounts::default()
        }
    }

    fn rows() -> Vec<RealisticRow> {
        let baseline = RealisticRow {
            mode: Mode::NoFaults,
            keys: 100,
            apply: step(
                10,
                &[
                    ("kms:CreateKey", received(100)),
                    ("kms:DescribeKey", received(300)),
                ],
            ),
            plan: step(2, &[("kms:DescribeKey", received(300))]),
            keys_after: 100,
        };
        let realistic = RealisticRow {
            mode: Mode::Realistic { window_ms: 3000 },
            keys: 100,
            apply: step(
                25,
                &[
                    (
                        "kms:CreateKey",
                        OpCounts {
                            dropped: 1,
                            ..received(101)
                        },
                    ),
                    (
                        "kms:DescribeKey",
                        OpCounts {
                            unseen: 120,
                            stale: 7,
                            ..received(499)
                        },
                    ),
                    (
                        "tagging:GetResources",
                        OpCounts {
                            lagged: 4,
                            ..received(4)
                        },
                    ),
                ],
            ),
            plan: step(2, &[("kms:DescribeKey", received(300))]),
            keys_after: 100,
        };
        vec![baseline, realistic]
    }

    #[test]
    fn modes() {
        assert!(Mode::NoFaults.rules().is_empty());
        let realistic = Mode::Realistic { window_ms: 2000 };
        assert_eq!(realistic.name(), "realistic 2000 ms");
        let rules = realistic.rules();
        assert_eq!(rules.len(), 6);
        assert!(rules.contains(&Rule::always("*", Fault::Unseen { ms: 2000 })));
        assert!(rules.contains(&Rule::times("kms:CreateKey", Fault::DropResponse, 1)));
        assert_ne!(Mode::NoFaults.account(), realistic.account());
        assert_ne!(Mode::NoFaults.account(), project::ACCOUNT_ID);
        assert_ne!(realistic.account(), project::ACCOUNT_ID);
    }

    #[test]
    fn tables() {
        let rows = rows();
        let text = text(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 5, "{text}");
        assert!(
            lines[0].starts_with("run                command  "),
            "{text}"
        );
        assert!(
            lines[3].starts_with("realistic 3000 ms  apply    25.00 s     6.04"),
            "{text}"
        );
        assert!(
            lines[3].ends_with("120      7       4             1"),
            "{text}"
        );
        assert!(lines[2].starts_with("no faults          plan      2.00 s     3.00"));
        let markdown = markdown(&rows);
        assert_eq!(markdown.lines().count(), 6);
        assert!(
            markdown.lines().all(|l| l.matches('|').count() == 11),
            "{markdown}"
        );
        assert!(markdown.contains(
            "| realistic 3000 ms | apply | 25.00 s | 6.04 | 2.5 | 40.0 | 120 | 7 | 4 | 1 |"
        ));
    }

    #[test]
    fn notes_compare_with_no_faults() {
        let all = notes(&rows());
        assert_eq!(
            all[0],
            "Keys in the account after the apply (kms:ListKeys straight at the emulator): 100 (no \
             faults: 100 kms:CreateKey received, 0 answer(s) lost); 100 (realistic 3000 ms: 101 \
             kms:CreateKey received, 1 answer(s) lost)."
        );
        assert_eq!(
            all[1],
            "realistic 3000 ms against no faults: apply 2.50x the time, 1.51x the requests; plan \
             1.00x the time, 1.00x the requests."
        );
        assert_eq!(all.len(), 3);
        let alone = notes(&rows()[1..]);
        assert_eq!(alone.len(), 2, "no comparison without the no-faults run");
        let mix = request_mix(&rows());
        assert_eq!(mix.lines().count(), 4);
        assert!(mix.contains(
            "- realistic 3000 ms apply (604 requests): kms:DescribeKey 499 (120 unseen, 7 stale), \
             kms:CreateKey 101 (1 dropped), tagging:GetResources 4 (4 lagged)"
        ));
    }
}
