//! Carrying out one planned change: resolve references, then make each call in order.

use std::collections::BTreeMap;

use kmsctl_aws::KmsClients;
use kmsctl_core::{Outputs, ResourceChange};

use crate::ops::{self, ApplyError, KeyOp};

/// Runs the change's operations; returns its outputs (`key_id`, `arn` for a key).
pub async fn apply_change(
    clients: &KmsClients,
    change: &ResourceChange,
    outputs: &Outputs,
) -> Result<BTreeMap<String, String>, ApplyError> {
    // Later operations of a change may use what its first one made (DisableKey after CreateKey).
    let mut known = outputs.clone();
    let mut produced = BTreeMap::new();
    for operation in &change.operations {
        let op: KeyOp = ApplyError::decode(operation, &known)?;
        let result = ops::run(clients, op).await?;
        produced.extend(result);
        known.insert(change.address.clone(), produced.clone());
    }
    Ok(produced)
}
