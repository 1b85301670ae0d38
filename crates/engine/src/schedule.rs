//! The order apply makes a plan's changes in: each after the changes it depends on (declared,
//! or whose outputs its operations reference), independent ones side by side up to a limit.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kmsctl_core::plan::OrderError;
use kmsctl_core::{Outputs, Plan, ResourceChange};

/// What one change produced (`key_id`, `arn`...).
pub type Produced = BTreeMap<String, String>;

/// What applying a plan's changes did, by index into `plan.changes`.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// In the order they completed.
    pub done: Vec<usize>,
    /// Changes that failed, with the error.
    pub failed: Vec<(usize, String)>,
    /// Changes never started: after the first failure nothing more starts.
    pub not_started: Vec<usize>,
}

/// Reports what starts and what ends, as it happens.
pub trait Progress {
    fn started(&self, change: &ResourceChange);
    fn done(&self, change: &ResourceChange, took: Duration, produced: &Produced);
}

/// Applies the plan's changes with `apply`, at most `limit` at a time. A change starts once the
/// changes it waits for are done; it is given the outputs of the changes its operations
/// reference. At the first failure nothing more starts; the changes in flight finish.
pub async fn apply_changes<'p, F, Fut>(
    plan: &'p Plan,
    limit: usize,
    progress: &impl Progress,
    apply: F,
) -> Result<Applied, OrderError>
where
    F: Fn(&'p ResourceChange, Outputs) -> Fut,
    Fut: Future<Output = Result<Produced, String>>,
{
    let mut not_started = plan.apply_order()?;
    let waiting_on = plan.dependencies()?;
    let mut finished = vec![false; plan.changes.len()];
    let mut outputs = Outputs::new();
    let mut applied = Applied::default();
    let mut running = FuturesUnordered::new();
    loop {
        while applied.failed.is_empty() && running.len() < limit.max(1) {
            let Some(position) = not_started
                .iter()
                .position(|&i| waiting_on[i].iter().all(|&d| finished[d]))
            else {
                break;
            };
            let index = not_started.remove(position);
            let change = &plan.changes[index];
            progress.started(change);
            let known: Outputs = change
                .referenced()
                .into_iter()
                .filter_map(|a| outputs.get(&a).map(|o| (a, o.clone())))
                .collect();
            let call = apply(change, known);
            running.push(async move {
                let started = Instant::now();
                (index, call.await, started.elapsed())
            });
        }
        let Some((index, result, took)) = running.next().await else {
            break;
        };
        let change = &plan.changes[index];
        match result {
            Ok(produced) => {
                progress.done(change, took, &produced);
                outputs.insert(change.address.clone(), produced);
                finished[index] = true;
                applied.done.push(index);
            }
            Err(error) => applied.failed.push((index, error)),
        }
    }
    applied.not_started = not_started;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use kmsctl_core::{Action, Address, Operation, Reference, Target};
    use serde_json::json;

    use super::*;

    fn change(name: &str, depends_on: &[&str], uses: Option<&str>) -> ResourceChange {
        let operation = match uses {
            Some(other) => {
                json!({"op": "Use", "id": Reference::new(Address::new("thing", other), "id").to_value()})
            }
            None => json!({"op": "Make"}),
        };
        ResourceChange {
            address: Address::new("thing", name),
            action: Action::Create,
            attributes: vec![],
            depends_on: depends_on
                .iter()
                .map(|d| Address::new("thing", *d))
                .collect(),
            operations: vec![serde_json::from_value::<Operation>(operation).expect("op")],
            source: None,
        }
    }

    fn plan(changes: Vec<ResourceChange>) -> Plan {
        let target = Target {
            kind: "environment".into(),
            name: "dev".into(),
            path: "environments/dev".into(),
            account_id: "111111111111".into(),
            region: "us-east-1".into(),
            assume_role_arn: None,
        };
        crate::target::new_plan(target, changes)
    }

    #[derive(Default)]
    struct Log(Mutex<Vec<String>>);

    impl Progress for Log {
        fn started(&self, change: &ResourceChange) {
            self.0
                .lock()
                .expect("log")
                .push(format!("start {}", change.address.name));
        }
        fn done(&self, change: &ResourceChange, _: Duration, _: &Produced) {
            self.0
                .lock()
                .expect("log")
                .push(format!("done {}", change.address.name));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn dependents_start_after_what_they_wait_for_and_get_its_outputs() {
        let plan = plan(vec![
            change("key", &[], None),
            change("alias", &[], Some("key")),
            change("policy", &["key"], None),
            change("other", &[], None),
        ]);
        let log = Log::default();
        let in_flight = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        let seen = Mutex::new(BTreeMap::new());
        let applied = apply_changes(&plan, 2, &log, |change, known| {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            seen.lock()
                .expect("seen")
                .insert(change.address.name.clone(), known.len());
            let name = change.address.name.clone();
            let in_flight = &in_flight;
            async move {
                tokio::time::sleep(Duration::from_millis(if name == "key" { 50 } else { 10 }))
                    .await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(Produced::from([("id".to_owned(), format!("{name}-1"))]))
            }
        })
        .await
        .expect("ordered");
        assert_eq!(applied.done.len(), 4);
        assert!(applied.failed.is_empty() && applied.not_started.is_empty());
        assert_eq!(most.load(Ordering::SeqCst), 2, "at most the limit at once");
        let log = log.0.lock().expect("log").clone();
        let at = |line: &str| log.iter().position(|l| l == line).expect(line);
        assert!(at("start alias") > at("done key"), "{log:?}");
        assert!(at("start policy") > at("done key"), "{log:?}");
        assert!(
            at("start other") < at("done key"),
            "independent: side by side {log:?}"
        );
        let seen = seen.lock().expect("seen");
        assert_eq!(seen["alias"], 1, "the referenced change's outputs");
        assert_eq!(seen["policy"], 0, "nothing it does not reference");
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_failure_nothing_starts_and_what_is_in_flight_finishes() {
        let plan = plan(vec![
            change("slow", &[], None),
            change("bad", &[], None),
            change("later", &[], None),
            change("after-slow", &["slow"], None),
        ]);
        let log = Log::default();
        let applied = apply_changes(&plan, 2, &log, |change, _| {
            let name = change.address.name.clone();
            async move {
                if name == "bad" {
                    return Err("AccessDeniedException".to_owned());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(Produced::new())
            }
        })
        .await
        .expect("ordered");
        assert_eq!(applied.done, [0], "the change in flight finished");
        assert_eq!(applied.failed, [(1, "AccessDeniedException".to_owned())]);
        assert_eq!(applied.not_started, [2, 3]);
    }

    #[tokio::test]
    async fn a_cycle_is_refused_before_anything_starts() {
        let plan = plan(vec![change("a", &["b"], None), change("b", &["a"], None)]);
        let log = Log::default();
        let result = apply_changes(&plan, 4, &log, |_, _| async { Ok(Produced::new()) }).await;
        assert!(result.is_err());
        assert!(log.0.lock().expect("log").is_empty());
    }
}
