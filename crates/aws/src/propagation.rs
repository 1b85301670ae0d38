//! AWS is eventually consistent: a write is not visible to every read at once, a resource made
//! seconds ago is "not found" by calls that name it, an IAM principal made seconds ago is not yet
//! a valid principal. This is how long kmsctl waits for that, and the two ways it waits: making
//! a call again while AWS answers "not yet", and polling a read until it shows a write.
//!
//! terraform-provider-aws waits the same way (`internal/service/kms/wait.go`:
//! `PropagationTimeout = 2 * time.Minute`, `waitIAMPropagation`; `tfresource.RetryWhen...` and
//! `WaitUntil`); AWS documents the windows in "AWS KMS eventual consistency" (KMS developer guide)
//! and "Changes that I make are not always immediately visible" (IAM user guide).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

// Tokio's clock, so tests with paused time run the waits instantly.
use tokio::time::Instant;

/// Called with each line a long wait reports.
pub type Report = Arc<dyn Fn(String) + Send + Sync>;

/// How long AWS is given to make a write visible.
#[derive(Clone)]
pub struct Propagation {
    /// Longest wait for one call or one read; then the last answer stands.
    pub timeout: Duration,
    /// Where waits longer than [`Propagation::REPORT_AFTER`] say what they wait for.
    pub report: Option<Report>,
}

impl std::fmt::Debug for Propagation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Propagation")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for Propagation {
    fn default() -> Self {
        Self::new(Self::DEFAULT_TIMEOUT)
    }
}

impl Propagation {
    /// terraform-provider-aws's KMS and IAM propagation timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
    /// A wait shorter than this says nothing.
    pub const REPORT_AFTER: Duration = Duration::from_secs(5);

    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            report: None,
        }
    }

    /// Wait before poll or attempt `n + 1` (`n` from 1): 250 ms, doubling to at most 5 s; short
    /// at first because most windows close within seconds.
    pub fn backoff(n: u32) -> Duration {
        Duration::from_millis(250u64 << n.clamp(1, 5)).min(Duration::from_secs(5))
    }

    /// Makes `call` again while it fails with an error `not_yet` accepts, until the timeout; the
    /// last answer stands. `what` names the call in reports ("kms:EnableKeyRotation on 1234...").
    pub async fn retry<T, E, F, Fut>(
        &self,
        what: &str,
        not_yet: impl Fn(&E) -> bool,
        mut call: F,
    ) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut reported = Duration::ZERO;
        loop {
            attempt += 1;
            match call().await {
                Err(error) if not_yet(&error) && started.elapsed() < self.timeout => {
                    tracing::debug!(what, attempt, %error, "not yet: making the call again");
                    self.progress(started, &mut reported, || {
                        format!("{what}: AWS answers \"not yet\" ({error})")
                    });
                    tokio::time::sleep(self.remaining_backoff(started, attempt)).await;
                }
                other => return other,
            }
        }
    }

    /// Polls `read` until it sees what it waits for (`Some`) or the timeout passes (`None`
    /// then). An error of `read` ends the wait.
    pub async fn wait_until<T, E, F, Fut>(&self, what: &str, mut read: F) -> Result<Option<T>, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, E>>,
    {
        let started = Instant::now();
        let mut poll = 0u32;
        let mut reported = Duration::ZERO;
        loop {
            poll += 1;
            if let Some(seen) = read().await? {
                return Ok(Some(seen));
            }
            if started.elapsed() >= self.timeout {
                return Ok(None);
            }
            self.progress(started, &mut reported, || what.to_owned());
            tokio::time::sleep(self.remaining_backoff(started, poll)).await;
        }
    }

    /// The backoff, cut so the last poll falls at the timeout rather than after it.
    fn remaining_backoff(&self, started: Instant, n: u32) -> Duration {
        let left = self.timeout.saturating_sub(started.elapsed());
        Self::backoff(n).min(left.max(Duration::from_millis(50)))
    }

    /// Reports a wait once it has lasted [`Self::REPORT_AFTER`], then every 15 s.
    fn progress(&self, started: Instant, reported: &mut Duration, line: impl FnOnce() -> String) {
        let waited = started.elapsed();
        let due = if reported.is_zero() {
            Self::REPORT_AFTER
        } else {
            *reported + Duration::from_secs(15)
        };
        if waited >= due {
            *reported = waited;
            if let Some(report) = &self.report {
                report(format!(
                    "{} ({}s of at most {}s)",
                    line(),
                    waited.as_secs(),
                    self.timeout.as_secs()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[test]
    fn backoff_starts_short_and_is_capped() {
        assert_eq!(Propagation::backoff(1), Duration::from_millis(500));
        assert_eq!(Propagation::backoff(2), Duration::from_secs(1));
        assert_eq!(Propagation::backoff(30), Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn not_yet_errors_are_repeated_until_the_timeout_and_others_are_final() {
        let propagation = Propagation::new(Duration::from_secs(10));
        let calls = AtomicU32::new(0);
        let result: Result<(), String> = propagation
            .retry(
                "x",
                |e: &String| e == "later",
                || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err("later".to_owned()) }
                },
            )
            .await;
        assert_eq!(result, Err("later".to_owned()));
        let made = calls.load(Ordering::SeqCst);
        assert!((5..=8).contains(&made), "about 10 s of backoff: {made}");

        calls.store(0, Ordering::SeqCst);
        let result: Result<(), String> = propagation
            .retry(
                "x",
                |e: &String| e == "later",
                || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    async { Err("no".to_owned()) }
                },
            )
            .await;
        assert_eq!(result, Err("no".to_owned()));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_when_the_read_shows_the_write_and_reports_when_it_is_long() {
        let lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let sink = Arc::clone(&lines);
        let propagation = Propagation {
            timeout: Duration::from_secs(60),
            report: Some(Arc::new(move |line| {
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(line)
            })),
        };
        let started = Instant::now();
        let polls = AtomicU32::new(0);
        let seen =
            propagation
                .wait_until("the key's policy", || {
                    polls.fetch_add(1, Ordering::SeqCst);
                    async move {
                        Ok::<_, ()>((started.elapsed() >= Duration::from_secs(8)).then_some(()))
                    }
                })
                .await;
        assert_eq!(seen, Ok(Some(())));
        let lines = lines.lock().unwrap_or_else(|e| e.into_inner()).clone();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with("the key's policy ("), "{lines:?}");

        let never = Propagation::new(Duration::from_secs(3))
            .wait_until("x", || async { Ok::<Option<()>, ()>(None) })
            .await;
        assert_eq!(never, Ok(None));
    }
}
