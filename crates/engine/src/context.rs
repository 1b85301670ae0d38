//! What every engine call needs: the project and the run's settings.

use std::sync::Arc;
use std::time::Duration;

use crate::project::Project;

/// Called with each line a long wait reports ("waiting: cluster ... is CREATE_IN_PROGRESS").
pub type WaitReport = Arc<dyn Fn(String) + Send + Sync>;

pub struct Context {
    pub project: Project,
    /// Reads in flight at once per target.
    pub parallelism: usize,
    /// Attempts per AWS call (the SDK's retry configuration).
    pub max_attempts: u32,
    /// How long apply waits on CloudHSM and KMS before giving up.
    pub wait_timeout: Duration,
    /// How long AWS is given to make a write visible (`kmsctl_aws::Propagation`).
    pub propagation_timeout: Duration,
    pub on_wait: WaitReport,
}
