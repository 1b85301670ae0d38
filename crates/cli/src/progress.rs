//! Apply progress: an indicatif bar on a terminal, plain log lines otherwise (CI logs).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use kmsctl_core::{Action, ResourceChange};

pub struct Progress {
    bar: Option<ProgressBar>,
}

fn verbs(action: Action) -> (&'static str, &'static str) {
    match action {
        Action::Create => ("Creating", "Creation complete"),
        Action::Update => ("Modifying", "Modifications complete"),
        Action::Adopt => ("Adopting", "Adoption complete"),
        Action::Delete => ("Destroying", "Destruction complete"),
        Action::ScheduleDeletion => ("Scheduling deletion", "Deletion scheduled"),
        Action::CancelDeletion => ("Cancelling deletion", "Deletion cancelled"),
    }
}

impl Progress {
    pub fn new(total: usize) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total as u64);
            let style =
                ProgressStyle::with_template("{spinner} [{pos}/{len}] {wide_msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self { bar }
    }

    fn line(&self, text: String) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    pub fn start(&self, change: &ResourceChange) {
        let (doing, _) = verbs(change.action);
        match &self.bar {
            Some(bar) => bar.set_message(format!("{}: {doing}...", change.address)),
            None => println!("{}: {doing}...", change.address),
        }
    }

    pub fn done(
        &self,
        change: &ResourceChange,
        elapsed: Duration,
        outputs: &BTreeMap<String, String>,
    ) {
        let (_, done) = verbs(change.action);
        let id = outputs
            .get("key_id")
            .or_else(|| outputs.get("alias_name"))
            .map(|id| format!(" [id={id}]"))
            .unwrap_or_default();
        self.line(format!(
            "{}: {done} after {:.1}s{id}",
            change.address,
            elapsed.as_secs_f64()
        ));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl kmsctl_engine::schedule::Progress for Progress {
    fn started(&self, change: &ResourceChange) {
        self.start(change);
    }

    fn done(&self, change: &ResourceChange, took: Duration, produced: &BTreeMap<String, String>) {
        Progress::done(self, change, took, produced);
    }
}
