//! Guard findings, as a compiler prints diagnostics: rule, message, location, fix.

use std::fmt::Write;

use kmsctl_core::{Finding, Severity};

use super::style::Style;

pub fn render(findings: &[Finding], style: Style) -> String {
    let mut out = String::new();
    for finding in findings {
        let head = match finding.severity {
            Severity::Error => style.red(&format!("error[{}]", finding.rule)),
            Severity::Warning => style.yellow(&format!("warning[{}]", finding.rule)),
        };
        let _ = writeln!(out, "{head}: {}", finding.message);
        let _ = writeln!(out, "  --> {}", finding.location);
        if let Some(key) = &finding.key {
            let _ = writeln!(out, "  = key: {}", key.label(&key.key_id));
        }
        let _ = writeln!(out, "  = fix: {}", finding.fix);
        if let Some(control) = finding.control {
            let control = controls().of(control);
            let _ = writeln!(
                out,
                "  = control {} {} ({})",
                control.id,
                control.name,
                crate::render::drift::requirements(&control)
            );
        }
        out.push('\n');
    }
    out
}

fn controls() -> &'static kmsctl_core::drift::ControlMap {
    static MAP: std::sync::OnceLock<kmsctl_core::drift::ControlMap> = std::sync::OnceLock::new();
    MAP.get_or_init(kmsctl_core::drift::ControlMap::built_in)
}

pub fn count(findings: &[Finding], severity: Severity) -> usize {
    findings.iter().filter(|f| f.severity == severity).count()
}

#[cfg(test)]
mod tests {
    use kmsctl_core::Location;

    use super::*;

    #[test]
    fn finding_names_rule_file_line_and_fix() {
        let finding = Finding::of(
            &kmsctl_keys::guards::DELETION_WINDOW,
            Location::at_line("environments/dev/keys.toml", 12),
            "key dev/db/payments/encryption: deletion_window_in_days = 7 is below the environment's minimum of 30 days (control 3.4.1)",
            "set deletion_window_in_days to at least 30 (or remove it: the default is 30)",
        );
        insta::assert_snapshot!(render(&[finding], Style { color: false }));
    }
}
