//! The results: one row per scenario, printed as a table, written as markdown, and checked against the
//! targets.

use std::fmt::Write as _;
use std::time::Duration;

use super::clients::{Boto3Run, Timed};
use super::proxy::Counts;
use super::scenario::Scenario;

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Row {
    pub scenario: Scenario,
    pub keys: usize,
    pub kmsctl: Timed,
    /// What the proxy saw of kmsctl.
    pub kmsctl_counts: Counts,
    pub boto3: Boto3Run,
    pub boto3_counts: Counts,
    pub floor: Duration,
}

impl Row {
    fn requests(&self) -> u64 {
        self.kmsctl_counts.requests()
    }

    pub fn requests_per_key(&self) -> f64 {
        self.requests() as f64 / self.keys.max(1) as f64
    }

    pub fn cpu_ms_per_request(&self) -> f64 {
        self.kmsctl.cpu.as_secs_f64() * 1000.0 / self.requests().max(1) as f64
    }

    pub fn rss_mb(&self) -> f64 {
        self.kmsctl.max_rss_kb as f64 / 1024.0
    }

    pub fn throttled_percent(&self) -> f64 {
        self.kmsctl_counts.throttled() as f64 * 100.0 / self.requests().max(1) as f64
    }

    pub fn vs_boto3(&self) -> f64 {
        ratio(self.kmsctl.wall, self.boto3.timed.wall)
    }

    pub fn vs_floor(&self) -> f64 {
        ratio(self.kmsctl.wall, self.floor)
    }

    fn cells(&self) -> Vec<String> {
        let boto3 = match self.boto3.errors {
            0 => seconds(self.boto3.timed.wall),
            errors => format!("{} ({errors} failed)", seconds(self.boto3.timed.wall)),
        };
        let floor = if self.scenario.has_analytic_floor() {
            format!("{}*", seconds(self.floor))
        } else {
            seconds(self.floor)
        };
        vec![
            self.scenario.name().to_string(),
            seconds(self.kmsctl.wall),
            format!("{:.2}", self.requests_per_key()),
            format!("{:.3}", self.cpu_ms_per_request()),
            format!("{:.1}", self.rss_mb()),
            format!("{:.1}", self.throttled_percent()),
            boto3,
            floor,
            format!("{:.2}", self.vs_boto3()),
            format!("{:.2}", self.vs_floor()),
        ]
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        f64::INFINITY
    } else {
        a.as_secs_f64() / b.as_secs_f64()
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.2} s", duration.as_secs_f64())
}

const HEADER: [&str; 10] = [
    "scenario",
    "kmsctl wall",
    "req/key",
    "CPU ms/req",
    "peak RSS MB",
    "throttled %",
    "boto3 wall",
    "floor wall",
    "kmsctl/boto3",
    "kmsctl/floor",
];

/// What the table's cells need explained.
pub fn footnotes(rows: &[Row], cores: usize) -> Vec<String> {
    let mut notes = Vec::new();
    if rows.iter().any(|row| row.scenario.has_analytic_floor()) {
        notes.push(
            "* quota floor: analytic, max over operations of (kmsctl's requests / quota per second)."
                .to_string(),
        );
    }
    notes.push(format!(
            "The emulator (moto, one Python process), the proxy and the clients share this machine's \
             {cores} cores: at 0 ms all three clients mostly measure moto (about 450 requests/s at best)."
    ));
    notes
}

/// The table, aligned for a terminal.
pub fn text(rows: &[Row]) -> String {
    let body: Vec<Vec<String>> = rows.iter().map(Row::cells).collect();
    aligned(&HEADER, &body, 1)
}

/// The table as markdown.
pub fn markdown(rows: &[Row]) -> String {
    let body: Vec<Vec<String>> = rows.iter().map(Row::cells).collect();
    markdown_table(&HEADER, &body)
}

/// `header` and `body` as columns for a terminal: the first `left` columns aligned left (names),
/// the others right (numbers), two spaces apart.
pub fn aligned(header: &[&str], body: &[Vec<String>], left: usize) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            body.iter()
                .map(|cells| cells[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[&str]| {
        cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (cell, width))| {
                if i < left {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header);
    out.push('\n');
    for cells in body {
        let cells: Vec<&str> = cells.iter().map(String::as_str).collect();
        out.push_str(&line(&cells));
        out.push('\n');
    }
    out
}

/// `header` and `body` as a markdown table.
pub fn markdown_table(header: &[&str], body: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n", header.join(" | "));
    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
    for cells in body {
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// One target checked on one scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub target: &'static str,
    pub scenario: &'static str,
    pub value: String,
    pub pass: bool,
}

impl Check {
    pub fn line(&self) -> String {
        format!(
            "{}  {:<28} {:<6} {}",
            if self.pass { "PASS" } else { "MISS" },
            self.target,
            self.scenario,
            self.value
        )
    }
}

/// Every target that applies to the rows.
pub fn checks(rows: &[Row]) -> Vec<Check> {
    let mut checks = Vec::new();
    for row in rows {
        let scenario = row.scenario.name();
        let mut check = |target, value: f64, shown: String, pass: fn(f64) -> bool| {
            checks.push(Check {
                target,
                scenario,
                value: shown,
                pass: pass(value),
            });
        };
        let per_key = row.requests_per_key();
        check("req/key <= 3.05", per_key, format!("{per_key:.2}"), |v| {
            v <= 3.05
        });
        match row.scenario {
            Scenario::Latency25 => {
                let floor = row.vs_floor();
                check("kmsctl <= 1.2x floor", floor, format!("{floor:.2}x"), |v| {
                    v <= 1.2
                });
                let boto3 = row.vs_boto3();
                check("kmsctl <= 0.6x boto3", boto3, format!("{boto3:.2}x"), |v| {
                    v <= 0.6
                });
            }
            Scenario::Quota => {
                let floor = row.vs_floor();
                check(
                    "kmsctl <= 1.3x quota floor",
                    floor,
                    format!("{floor:.2}x"),
                    |v| v <= 1.3,
                );
                let throttled = row.throttled_percent();
                check(
                    "throttled < 5%",
                    throttled,
                    format!("{throttled:.1}%"),
                    |v| v < 5.0,
                );
            }
            Scenario::NoFaults => {}
        }
        let cpu = row.cpu_ms_per_request();
        check("CPU <= 0.2 ms/request", cpu, format!("{cpu:.3} ms"), |v| {
            v <= 0.2
        });
        let rss = row.rss_mb();
        check("peak RSS <= 40 MB", rss, format!("{rss:.1} MB"), |v| {
            v <= 40.0
        });
    }
    checks
}

/// How each client's requests split by operation, one line per scenario and client.
pub fn request_mix(rows: &[Row]) -> String {
    let mut out = String::new();
    for row in rows {
        let _ = writeln!(
            out,
            "- {} kmsctl ({} requests): {}",
            row.scenario.name(),
            row.kmsctl_counts.requests(),
            row.kmsctl_counts.summary()
        );
        let _ = writeln!(
            out,
            "- {} boto3 ({} requests): {}",
            row.scenario.name(),
            row.boto3_counts.requests(),
            row.boto3_counts.summary()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::proxy::OpCounts;

    fn row(scenario: Scenario) -> Row {
        let counts = Counts(
            [
                (
                    "kms:DescribeKey".to_string(),
                    OpCounts {
                        received: 2000,
                        forwarded: 1990,
                        throttled: 10,
                        ..OpCounts::default()
                    },
                ),
                (
                    "kms:GetKeyPolicy".to_string(),
                    OpCounts {
                        received: 1000,
                        forwarded: 1000,
                        throttled: 0,
                        ..OpCounts::default()
                    },
                ),
            ]
            .into(),
        );
        Row {
            scenario,
            keys: 1000,
            kmsctl: Timed {
                wall: Duration::from_secs(6),
                cpu: Duration::from_millis(300),
                max_rss_kb: 30 * 1024,
            },
            kmsctl_counts: counts.clone(),
            boto3: Boto3Run {
                timed: Timed {
                    wall: Duration::from_secs(12),
                    cpu: Duration::from_secs(5),
                    max_rss_kb: 60 * 1024,
                },
                keys: 1000,
                errors: 0,
                first_error: None,
            },
            boto3_counts: counts,
            floor: Duration::from_secs(5),
        }
    }

    #[test]
    fn metrics() {
        let row = row(Scenario::Latency25);
        assert_eq!(row.requests_per_key(), 3.0);
        assert_eq!(row.cpu_ms_per_request(), 0.1);
        assert_eq!(row.rss_mb(), 30.0);
        assert!((row.throttled_percent() - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(row.vs_boto3(), 0.5);
        assert_eq!(row.vs_floor(), 1.2);
    }

    #[test]
    fn tables_and_checks() {
        let rows = [row(Scenario::NoFaults), row(Scenario::Quota)];
        let text = text(&rows);
        assert!(text.starts_with("scenario  kmsctl wall  req/key"), "{text}");
        assert!(text.contains("5.00 s*"), "{text}");
        let markdown = markdown(&rows);
        assert_eq!(markdown.lines().count(), 4);
        assert!(
            markdown.lines().all(|l| l.matches('|').count() == 11),
            "{markdown}"
        );
        let checks = checks(&rows);
        assert_eq!(checks.len(), 3 + 5);
        let quota_floor = checks
            .iter()
            .find(|c| c.target == "kmsctl <= 1.3x quota floor")
            .expect("quota check");
        assert!(quota_floor.pass);
        assert_eq!(quota_floor.value, "1.20x");
        assert!(
            checks
                .iter()
                .any(|c| c.target == "CPU <= 0.2 ms/request" && c.pass)
        );
        assert!(
            checks
                .iter()
                .filter(|c| c.target == "req/key <= 3.05")
                .all(|c| c.pass)
        );
    }
}
