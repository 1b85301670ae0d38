//! One apply per target across the team: a lease lock at `locks/TARGET` in the bucket.
//!
//! The lock is an object created with `If-None-Match: *`, so of two runs that start together
//! exactly one creates it. Its holder rewrites it every third of the lease with a later
//! `expires_at` (`If-Match` on the ETag it last wrote); a holder that dies stops renewing, and
//! once `expires_at` has passed the next run takes the lock over (again `If-Match`, so of two
//! runs that find it expired exactly one succeeds) and is told whose lock it took.
//!
//! Expiry is judged with each machine's own clock: machines that share a backend need
//! synchronised clocks (NTP). The lease absorbs a skew smaller than itself; a clock that runs
//! ahead by more than the lease lets its run take over a lock that is still alive.

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use kmsctl_core::Identity;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::store::{Deleted, Put, Store, StoreError};

/// What the lock object holds: who holds the lock, from where, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockRecord {
    /// The target label, as users type it (`env/prod`).
    pub target: String,
    pub holder_arn: String,
    pub host: String,
    pub pid: u32,
    /// The CI run holding the lock (`github:owner/repo#123`), when run in CI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci_run_id: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    pub kmsctl_version: String,
    pub lease_seconds: u64,
}

impl LockRecord {
    fn new(target: &str, holder: &Identity, lease: Duration) -> Self {
        let now = OffsetDateTime::now_utc();
        Self {
            target: target.to_owned(),
            holder_arn: holder.arn.clone(),
            host: hostname(),
            pid: std::process::id(),
            ci_run_id: ci_run_id(|name| std::env::var(name).ok()),
            started_at: now,
            expires_at: now + lease,
            kmsctl_version: crate::KMSCTL_VERSION.to_owned(),
            lease_seconds: lease.as_secs(),
        }
    }

    /// Whether the lease has run out by this machine's clock.
    pub fn expired(&self) -> bool {
        self.expires_at <= OffsetDateTime::now_utc()
    }

    /// `arn:... on HOST (pid 42, CI run github:o/r#7)`.
    pub fn holder(&self) -> String {
        let mut text = format!("{} on {} (pid {}", self.holder_arn, self.host, self.pid);
        if let Some(run) = &self.ci_run_id {
            let _ = write!(text, ", CI run {run}");
        }
        text.push(')');
        text
    }

    /// Whether `other` is this same holding (renewals change only `expires_at`).
    fn same_holding(&self, other: &Self) -> bool {
        self.holder_arn == other.holder_arn
            && self.host == other.host
            && self.pid == other.pid
            && self.started_at == other.started_at
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = serde_json::to_vec_pretty(self).unwrap_or_default();
        body.push(b'\n');
        body
    }
}

fn parse(body: &[u8], target: &str) -> Result<LockRecord, String> {
    let record: LockRecord = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    if record.target != target {
        return Err(format!(
            "it names target {:?}, not {target:?}",
            record.target
        ));
    }
    Ok(record)
}

/// `2026-11-28 20:00:00 UTC`.
fn when(at: OffsetDateTime) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_else(|_| at.to_string())
}

fn held_message(record: &LockRecord) -> String {
    format!(
        "{target} is locked by {holder} since {since}; its lease runs until {until} unless renewed: wait for that run to finish (the lock is freed when it ends, or when its lease runs out if it died), or, if that run is known to be dead, remove the lock with `kmsctl unlock {target}`",
        target = record.target,
        holder = record.holder(),
        since = when(record.started_at),
        until = when(record.expires_at),
    )
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("{}", held_message(record))]
    Held { record: Box<LockRecord> },
    /// Never taken over automatically: nobody can tell whether its writer is still at work.
    #[error(
        "the lock {location} cannot be read ({why}): remove it with `kmsctl unlock {target}` once no run is applying {target}"
    )]
    Unreadable {
        target: String,
        location: String,
        why: String,
    },
    #[error(
        "the lock {location} kept changing while kmsctl tried to take it: another run is starting; try again"
    )]
    Contended { location: String },
    #[error("cannot lock target {0}")]
    BadTarget(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `locks/TARGET`.
fn lock_key(target: &str) -> Result<String, LockError> {
    crate::check_target(target).map_err(LockError::BadTarget)?;
    Ok(format!("locks/{target}"))
}

/// How `release` went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// The lock object was deleted.
    Yes,
    /// The lock was no longer this run's (taken over, or removed by `kmsctl unlock`), so it was
    /// left alone. Worth telling: another run may have changed the target meanwhile.
    Lost(String),
}

/// The renewal task's and the holder's common view.
#[derive(Debug)]
struct Shared {
    record: LockRecord,
    etag: String,
    /// When the lease last written runs out, by the monotonic clock.
    expires: Instant,
    lost: Option<String>,
}

fn guard(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A held lock, renewed in the background until [`RemoteLock::release`].
///
/// Dropped without `release` (a panic, an early return), it stops renewing and leaves the
/// object: the lease then runs out on its own and the next run takes the lock over.
#[derive(Debug)]
pub struct RemoteLock {
    store: Store,
    key: String,
    shared: Arc<Mutex<Shared>>,
    stop: Option<oneshot::Sender<()>>,
    renewal: Option<JoinHandle<()>>,
    /// The holder whose lease had run out when this run took the lock over, for a note.
    pub taken_over: Option<LockRecord>,
}

impl Drop for RemoteLock {
    fn drop(&mut self) {
        if let Some(task) = self.renewal.take() {
            task.abort();
        }
    }
}

/// Takes the lock of `target` for `holder`, or says who holds it.
pub async fn acquire(
    store: &Store,
    target: &str,
    holder: &Identity,
    lease: Duration,
) -> Result<RemoteLock, LockError> {
    let key = lock_key(target)?;
    let unreadable = |why: String| LockError::Unreadable {
        target: target.to_owned(),
        location: store.location(&key),
        why,
    };
    // A few rounds: between two steps, the lock can be released or removed by others.
    for _ in 0..3 {
        let record = LockRecord::new(target, holder, lease);
        let body = record.encode();
        if let Put::Written(etag) = store.put_new(&key, body.clone()).await? {
            return Ok(RemoteLock::start(store, key, record, etag, lease, None));
        }
        let Some(found) = store.get(&key).await? else {
            continue; // released in between: try to create it again
        };
        if found.body == body {
            // Our own write, answered 412 when the SDK retried a call whose answer was lost.
            return Ok(RemoteLock::start(
                store, key, record, found.etag, lease, None,
            ));
        }
        let current = parse(&found.body, target).map_err(unreadable)?;
        if !current.expired() {
            return Err(LockError::Held {
                record: Box::new(current),
            });
        }
        let record = LockRecord::new(target, holder, lease);
        let body = record.encode();
        match store.put_replacing(&key, body.clone(), &found.etag).await? {
            Put::Written(etag) => {
                tracing::info!(
                    "took over the lock of {target}: the lease of {} ran out at {}",
                    current.holder(),
                    when(current.expires_at)
                );
                return Ok(RemoteLock::start(
                    store,
                    key,
                    record,
                    etag,
                    lease,
                    Some(current),
                ));
            }
            Put::Exists | Put::Changed => {
                // Another run took the expired lock first: it holds it now.
                match store.get(&key).await? {
                    Some(now) if now.body == body => {
                        return Ok(RemoteLock::start(
                            store,
                            key,
                            record,
                            now.etag,
                            lease,
                            Some(current),
                        ));
                    }
                    Some(now) => {
                        let winner = parse(&now.body, target).map_err(unreadable)?;
                        return Err(LockError::Held {
                            record: Box::new(winner),
                        });
                    }
                    None => continue,
                }
            }
        }
    }
    Err(LockError::Contended {
        location: store.location(&key),
    })
}

/// Who holds the lock at `key` now, for "lost" messages.
async fn new_holder(store: &Store, key: &str, target: &str) -> String {
    match store.get(key).await {
        Ok(Some(object)) => match parse(&object.body, target) {
            Ok(record) => format!(
                "the lock was taken over by {} at {}",
                record.holder(),
                when(record.started_at)
            ),
            Err(why) => format!("the lock was replaced by an object that cannot be read ({why})"),
        },
        Ok(None) => "the lock was removed (`kmsctl unlock`?)".to_owned(),
        Err(e) => {
            format!("the lock was changed by someone else (who holds it now cannot be read: {e})")
        }
    }
}

impl RemoteLock {
    fn start(
        store: &Store,
        key: String,
        record: LockRecord,
        etag: String,
        lease: Duration,
        taken_over: Option<LockRecord>,
    ) -> Self {
        let shared = Arc::new(Mutex::new(Shared {
            record,
            etag,
            expires: Instant::now() + lease,
            lost: None,
        }));
        let (stop, stopped) = oneshot::channel();
        let renewal = tokio::spawn(renew(
            store.clone(),
            key.clone(),
            Arc::clone(&shared),
            lease,
            stopped,
        ));
        Self {
            store: store.clone(),
            key,
            shared,
            stop: Some(stop),
            renewal: Some(renewal),
            taken_over,
        }
    }

    /// The record as last written.
    pub fn record(&self) -> LockRecord {
        guard(&self.shared).record.clone()
    }

    /// Why this run no longer holds the lock, if it does not: taken over after its lease ran
    /// out, removed by hand, or not renewed in time. Check it between changes: a run that lost
    /// its lock must stop changing the target.
    pub fn lost(&self) -> Option<String> {
        let shared = guard(&self.shared);
        if let Some(why) = &shared.lost {
            return Some(why.clone());
        }
        // The renewal may be stuck in a slow call, or the machine slept (the monotonic clock
        // stops then, the wall clock others judge the lease by does not): the lease runs out all
        // the same.
        let wall = shared.record.expires_at <= OffsetDateTime::now_utc();
        (Instant::now() >= shared.expires || wall).then(|| {
            format!(
                "its lease ran out at {} before it was renewed (the machine slept, or AWS did not answer the renewal in time)",
                when(shared.record.expires_at)
            )
        })
    }

    /// Stops renewing and deletes the lock if it is still this run's.
    pub async fn release(mut self) -> Result<Released, LockError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Let a renewal in flight finish, so the ETag below is the last one written.
        if let Some(task) = self.renewal.take() {
            let _ = task.await;
        }
        let (etag, ours, lost) = {
            let shared = guard(&self.shared);
            (
                shared.etag.clone(),
                shared.record.clone(),
                shared.lost.clone(),
            )
        };
        match self.store.delete_matching(&self.key, &etag).await? {
            Deleted::Yes => Ok(Released::Yes),
            Deleted::Gone => Ok(Released::Lost(lost.unwrap_or_else(|| {
                "the lock was removed meanwhile (`kmsctl unlock`?)".to_owned()
            }))),
            Deleted::Changed => {
                if let Some(why) = lost {
                    return Ok(Released::Lost(why));
                }
                // Still ours under another ETag (a renewal whose answer was lost): delete that.
                if let Some(object) = self.store.get(&self.key).await?
                    && parse(&object.body, &ours.target).is_ok_and(|r| r.same_holding(&ours))
                    && self.store.delete_matching(&self.key, &object.etag).await? == Deleted::Yes
                {
                    return Ok(Released::Yes);
                }
                Ok(Released::Lost(
                    new_holder(&self.store, &self.key, &ours.target).await,
                ))
            }
        }
    }
}

/// Rewrites the record every third of the lease with a later `expires_at`, until stopped or
/// until the lock is found lost.
async fn renew(
    store: Store,
    key: String,
    shared: Arc<Mutex<Shared>>,
    lease: Duration,
    mut stopped: oneshot::Receiver<()>,
) {
    let period = lease / 3;
    let mut last_error: Option<String> = None;
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            () = tokio::time::sleep(period) => {}
        }
        let (mut record, etag, expires) = {
            let shared = guard(&shared);
            (shared.record.clone(), shared.etag.clone(), shared.expires)
        };
        let started = Instant::now();
        if started >= expires {
            guard(&shared).lost = Some(format!(
                "could not renew the lease before it expired: {}",
                last_error.as_deref().unwrap_or("the renewal came too late")
            ));
            return;
        }
        record.expires_at = OffsetDateTime::now_utc() + lease;
        let body = record.encode();
        match store.put_replacing(&key, body.clone(), &etag).await {
            Ok(Put::Written(etag)) => {
                let mut shared = guard(&shared);
                shared.record = record;
                shared.etag = etag;
                shared.expires = started + lease;
                last_error = None;
            }
            Ok(Put::Exists | Put::Changed) => {
                match store.get(&key).await {
                    // Our own write, answered 412 when the SDK retried a call whose answer was lost.
                    Ok(Some(object)) if object.body == body => {
                        let mut shared = guard(&shared);
                        shared.record = record;
                        shared.etag = object.etag;
                        shared.expires = started + lease;
                        last_error = None;
                        continue;
                    }
                    _ => {}
                }
                let why = new_holder(&store, &key, &record.target).await;
                tracing::warn!("lost the lock of {}: {why}", record.target);
                guard(&shared).lost = Some(why);
                return;
            }
            Err(e) => {
                tracing::warn!(
                    "could not renew the lock of {} (retrying in {} ms): {e}",
                    record.target,
                    period.as_millis()
                );
                last_error = Some(e.to_string());
            }
        }
    }
}

/// The lock of `target` as it is now, with the ETag `unlock` needs: `Err` holds why the object
/// cannot be read as a lock record.
pub async fn current(
    store: &Store,
    target: &str,
) -> Result<Option<(Result<LockRecord, String>, String)>, LockError> {
    let key = lock_key(target)?;
    Ok(store
        .get(&key)
        .await?
        .map(|object| (parse(&object.body, target), object.etag)))
}

/// Removes the lock of `target` if it is still the object `current` showed (its `etag`), for a
/// holder known to be dead. A live holder notices at its next renewal and stops.
pub async fn unlock(store: &Store, target: &str, etag: &str) -> Result<Deleted, LockError> {
    let key = lock_key(target)?;
    Ok(store.delete_matching(&key, etag).await?)
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into())
}

/// The CI run this process belongs to, from the variables common CI systems set, named by
/// system so a person can find it: `github:owner/repo#123`, `gitlab:group/project#456`, ...
fn ci_run_id(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    if let Some(run) = get("GITHUB_RUN_ID") {
        let repo = get("GITHUB_REPOSITORY").unwrap_or_default();
        return Some(match get("GITHUB_RUN_ATTEMPT").filter(|a| a != "1") {
            Some(attempt) => format!("github:{repo}#{run} (attempt {attempt})"),
            None => format!("github:{repo}#{run}"),
        });
    }
    if let Some(job) = get("CI_JOB_ID") {
        let project = get("CI_PROJECT_PATH").unwrap_or_default();
        return Some(format!("gitlab:{project}#{job}"));
    }
    if let Some(build) = get("BUILDKITE_BUILD_ID") {
        return Some(
            match (
                get("BUILDKITE_PIPELINE_SLUG"),
                get("BUILDKITE_BUILD_NUMBER"),
            ) {
                (Some(pipeline), Some(number)) => format!("buildkite:{pipeline}#{number}"),
                _ => format!("buildkite:{build}"),
            },
        );
    }
    if let Some(build) = get("CIRCLE_BUILD_NUM") {
        let project = get("CIRCLE_PROJECT_REPONAME").unwrap_or_default();
        return Some(format!("circleci:{project}#{build}"));
    }
    if let Some(build) = get("CODEBUILD_BUILD_ID") {
        return Some(format!("codebuild:{build}"));
    }
    if let Some(build) = get("BUILD_BUILDID") {
        let project = get("SYSTEM_TEAMPROJECT").unwrap_or_default();
        return Some(format!("azure:{project}#{build}"));
    }
    if get("JENKINS_URL").is_some()
        && let Some(tag) = get("BUILD_TAG")
    {
        return Some(format!("jenkins:{tag}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Identity {
        Identity {
            arn: "arn:aws:iam::111122223333:user/alice".into(),
            user_id: "AIDAALICE".into(),
            account: "111122223333".into(),
        }
    }

    fn bob() -> Identity {
        Identity {
            arn: "arn:aws:sts::111122223333:assumed-role/ci/bob".into(),
            user_id: "AROABOB:bob".into(),
            account: "111122223333".into(),
        }
    }

    const LONG: Duration = Duration::from_secs(60);

    /// A lock left by a run whose lease ran out a minute ago.
    async fn expired_lock(store: &Store, target: &str) -> LockRecord {
        let mut record = LockRecord::new(target, &bob(), LONG);
        record.host = "dead-runner".into();
        record.pid = 999_999;
        record.started_at -= Duration::from_secs(600);
        record.expires_at = OffsetDateTime::now_utc() - Duration::from_secs(60);
        store
            .put_new(&format!("locks/{target}"), record.encode())
            .await
            .expect("put");
        record
    }

    async fn record_of(store: &Store, target: &str) -> (LockRecord, String) {
        let (record, etag) = current(store, target)
            .await
            .expect("read")
            .expect("present");
        (record.expect("parses"), etag)
    }

    /// `who`'s lock of `target`, which must be free or expired.
    async fn taken(store: &Store, target: &str, who: &Identity, lease: Duration) -> RemoteLock {
        acquire(store, target, who, lease)
            .await
            .unwrap_or_else(|err| panic!("{} takes {target}: {err:?}", who.arn))
    }

    /// Why `who` may not take the lock of `target`.
    async fn refused(store: &Store, target: &str, who: &Identity) -> LockError {
        acquire(store, target, who, LONG)
            .await
            .expect_err("refused")
    }

    /// Another run overwrites the lock of `target` (as if it had judged the lease expired):
    /// bob's record, put in place of the one read.
    async fn overwritten_by_bob(store: &Store, target: &str) -> LockRecord {
        let (_, etag) = record_of(store, target).await;
        let theirs = LockRecord::new(target, &bob(), LONG);
        store
            .put_replacing(&format!("locks/{target}"), theirs.encode(), &etag)
            .await
            .expect("overwrite");
        theirs
    }

    /// Why a holder lost its lock names bob as the one who took it.
    fn assert_taken_over_by_bob(why: &str) {
        assert!(
            why.contains("taken over by arn:aws:sts::111122223333:assumed-role/ci/bob"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn a_second_acquire_is_refused_naming_the_holder() {
        let store = Store::memory();
        let lock = taken(&store, "env/prod", &alice(), LONG).await;
        assert_eq!(lock.taken_over, None);
        assert_eq!(lock.lost(), None);
        let err = refused(&store, "env/prod", &bob()).await;
        let LockError::Held { record } = &err else {
            panic!("{err:?}");
        };
        assert_eq!(record.holder_arn, alice().arn);
        let message = err.to_string();
        for part in [
            "env/prod is locked by arn:aws:iam::111122223333:user/alice on ",
            &format!("(pid {}", std::process::id()),
            " UTC; its lease runs until ",
            "`kmsctl unlock env/prod`",
        ] {
            assert!(message.contains(part), "{part:?} not in {message}");
        }
        // Another target is independent.
        let other = taken(&store, "env/dev", &bob(), LONG).await;
        assert_eq!(other.release().await.expect("release"), Released::Yes);
        assert_eq!(lock.release().await.expect("release"), Released::Yes);
        assert!(current(&store, "env/prod").await.expect("read").is_none());
        let again = taken(&store, "env/prod", &bob(), LONG).await;
        drop(again);
    }

    #[tokio::test]
    async fn an_expired_lease_is_taken_over_and_reported() {
        let store = Store::memory();
        let dead = expired_lock(&store, "env/prod").await;
        let lock = taken(&store, "env/prod", &alice(), LONG).await;
        assert_eq!(lock.taken_over.as_ref(), Some(&dead));
        let (record, _) = record_of(&store, "env/prod").await;
        assert_eq!(record.holder_arn, alice().arn);
        assert!(!record.expired());
    }

    #[tokio::test]
    async fn of_two_runs_taking_over_an_expired_lock_exactly_one_wins() {
        let store = Store::memory();
        expired_lock(&store, "env/prod").await;
        let (alice, bob) = (alice(), bob());
        let (a, b) = tokio::join!(
            acquire(&store, "env/prod", &alice, LONG),
            acquire(&store, "env/prod", &bob, LONG),
        );
        let (winner, loser) = match (a, b) {
            (Ok(lock), Err(err)) | (Err(err), Ok(lock)) => (lock, err),
            (a, b) => panic!("exactly one must win: {a:?} {b:?}"),
        };
        assert!(winner.taken_over.is_some());
        let LockError::Held { record } = loser else {
            panic!("{loser:?}");
        };
        assert_eq!(*record, winner.record(), "the loser names the winner");
    }

    /// Waits up to five seconds for `done`: timers run late on a loaded machine.
    async fn eventually(mut done: impl AsyncFnMut() -> bool) -> bool {
        for _ in 0..100 {
            if done().await {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    #[tokio::test]
    async fn renewal_extends_the_lease() {
        let store = Store::memory();
        let lease = Duration::from_millis(900);
        let lock = taken(&store, "env/prod", &alice(), lease).await;
        let (first, first_etag) = record_of(&store, "env/prod").await;
        assert!(
            eventually(async || record_of(&store, "env/prod").await.1 != first_etag).await,
            "never renewed"
        );
        let (renewed, _) = record_of(&store, "env/prod").await;
        assert!(renewed.expires_at > first.expires_at);
        assert_eq!(renewed.started_at, first.started_at);
        // Past the first lease: only renewals keep it alive.
        tokio::time::sleep(lease + Duration::from_millis(300)).await;
        let (renewed, _) = record_of(&store, "env/prod").await;
        assert!(renewed.expires_at > first.expires_at + lease);
        assert!(!renewed.expired());
        assert_eq!(lock.lost(), None);
        // Someone else cannot take it while it is renewed.
        assert!(matches!(
            acquire(&store, "env/prod", &bob(), lease).await,
            Err(LockError::Held { .. })
        ));
        assert_eq!(lock.release().await.expect("release"), Released::Yes);
    }

    #[tokio::test]
    async fn renewal_notices_a_takeover() {
        let store = Store::memory();
        let lease = Duration::from_millis(300);
        let lock = taken(&store, "env/prod", &alice(), lease).await;
        let theirs = overwritten_by_bob(&store, "env/prod").await;
        assert!(eventually(async || lock.lost().is_some()).await);
        let why = lock.lost().expect("lost");
        assert_taken_over_by_bob(&why);
        // Releasing leaves the other run's lock alone.
        assert!(matches!(lock.release().await, Ok(Released::Lost(_))));
        assert_eq!(record_of(&store, "env/prod").await.0, theirs);
    }

    #[tokio::test]
    async fn release_after_a_takeover_leaves_the_new_holders_lock() {
        let store = Store::memory();
        let lock = taken(&store, "env/prod", &alice(), LONG).await;
        let theirs = overwritten_by_bob(&store, "env/prod").await;
        let Released::Lost(why) = lock.release().await.expect("release") else {
            panic!("must not report a clean release");
        };
        assert_taken_over_by_bob(&why);
        assert_eq!(record_of(&store, "env/prod").await.0, theirs);
    }

    #[tokio::test]
    async fn unlock_removes_the_lock_and_its_holder_is_told() {
        let store = Store::memory();
        let lock = taken(&store, "organization", &alice(), LONG).await;
        let (_, etag) = record_of(&store, "organization").await;
        assert_eq!(
            unlock(&store, "organization", "\"stale\"")
                .await
                .expect("unlock"),
            Deleted::Changed
        );
        assert_eq!(
            unlock(&store, "organization", &etag).await.expect("unlock"),
            Deleted::Yes
        );
        assert_eq!(
            lock.release().await.expect("release"),
            Released::Lost("the lock was removed meanwhile (`kmsctl unlock`?)".into())
        );
    }

    #[tokio::test]
    async fn an_unreadable_lock_is_never_taken_over() {
        let store = Store::memory();
        store
            .put_new("locks/env/prod", b"not json".to_vec())
            .await
            .expect("put");
        let err = refused(&store, "env/prod", &alice()).await;
        assert!(matches!(err, LockError::Unreadable { .. }), "{err:?}");
        assert!(err.to_string().contains("kmsctl unlock env/prod"), "{err}");
        let (record, etag) = current(&store, "env/prod")
            .await
            .expect("read")
            .expect("present");
        assert!(record.is_err());
        assert_eq!(
            unlock(&store, "env/prod", &etag).await.expect("unlock"),
            Deleted::Yes
        );
        taken(&store, "env/prod", &alice(), LONG).await;
    }

    #[tokio::test]
    async fn dropping_the_lock_stops_renewal_and_leaves_the_object() {
        let store = Store::memory();
        let lease = Duration::from_millis(300);
        let lock = taken(&store, "env/prod", &alice(), lease).await;
        drop(lock);
        tokio::time::sleep(Duration::from_millis(400)).await;
        let (record, _) = record_of(&store, "env/prod").await;
        assert!(record.expired(), "no renewal after drop");
        let next = taken(&store, "env/prod", &bob(), lease).await;
        assert_eq!(
            next.taken_over.as_ref().map(|r| r.holder_arn.as_str()),
            Some(alice().arn.as_str())
        );
    }

    #[tokio::test]
    async fn bad_targets_are_refused() {
        let store = Store::memory();
        let err = refused(&store, "../x", &alice()).await;
        assert!(matches!(err, LockError::BadTarget(_)), "{err:?}");
    }

    #[test]
    fn ci_runs_are_named_by_system() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert_eq!(
            ci_run_id(env(&[
                ("GITHUB_RUN_ID", "123"),
                ("GITHUB_REPOSITORY", "o/r")
            ])),
            Some("github:o/r#123".into())
        );
        assert_eq!(
            ci_run_id(env(&[("CI_JOB_ID", "456"), ("CI_PROJECT_PATH", "g/p")])),
            Some("gitlab:g/p#456".into())
        );
        assert_eq!(
            ci_run_id(env(&[
                ("BUILDKITE_BUILD_ID", "uuid"),
                ("BUILDKITE_PIPELINE_SLUG", "deploy"),
                ("BUILDKITE_BUILD_NUMBER", "9"),
            ])),
            Some("buildkite:deploy#9".into())
        );
        assert_eq!(ci_run_id(env(&[("BUILD_TAG", "x")])), None);
        assert_eq!(ci_run_id(env(&[])), None);
    }

    #[test]
    fn records_round_trip_as_rfc3339() {
        let record = LockRecord::new("env/prod", &alice(), LONG);
        let text = String::from_utf8(record.encode()).expect("utf8");
        assert!(text.contains("\"started_at\": \""), "{text}");
        assert_eq!(parse(text.as_bytes(), "env/prod"), Ok(record));
        assert!(parse(text.as_bytes(), "env/dev").is_err());
    }
}
