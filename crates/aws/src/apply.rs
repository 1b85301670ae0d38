//! The one apply loop: every domain's `apply_change` carries out a planned change through it.

use std::collections::BTreeMap;
use std::future::Future;

use kmsctl_core::{DomainOp, Outputs, ResourceChange, Semantics};

use crate::error::ApplyError;
use crate::propagation::Propagation;

/// What a change's operations produced: `key_id`, `arn`, `policy_id`...
pub type Produced = BTreeMap<String, String>;

/// Carries out one planned change: decodes each operation as the domain's `Op` (refusing one it
/// does not know), resolves its references and runs it, in order. Later operations of a change
/// may use what its earlier ones produced (DisableKey after CreateKey): they see the change's
/// own outputs so far. Returns everything the change produced.
pub async fn apply_operations<Op, F, Fut>(
    change: &ResourceChange,
    outputs: &Outputs,
    propagation: &Propagation,
    mut run: F,
) -> Result<Produced, ApplyError>
where
    Op: DomainOp,
    F: FnMut(Op::Resolved) -> Fut,
    Fut: Future<Output = Result<Produced, ApplyError>>,
{
    let mut known = outputs.clone();
    let mut produced = Produced::new();
    // Every operation decoded before the first call: one this kmsctl does not know changes
    // nothing.
    let planned: Vec<Op> = change
        .operations
        .iter()
        .map(|operation| operation.decode())
        .collect::<Result<_, _>>()
        .map_err(ApplyError::malformed)?;
    for (index, (operation, op)) in change.operations.iter().zip(&planned).enumerate() {
        let resolved: Op::Resolved = operation.resolve(&known).map_err(ApplyError::malformed)?;
        let semantics = op.semantics_after(&planned[..index]);
        let made = call(propagation, op.name(), semantics, || run(resolved.clone())).await?;
        produced.extend(made);
        known.insert(change.address.clone(), produced.clone());
    }
    Ok(produced)
}

/// Makes one call, and makes it again, with backoff, while AWS answers with a code the call's
/// semantics leave to this loop as "not yet", within the propagation window.
async fn call<F, Fut>(
    propagation: &Propagation,
    name: &str,
    semantics: Semantics,
    once: F,
) -> Result<Produced, ApplyError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Produced, ApplyError>>,
{
    let not_yet = |error: &ApplyError| match error {
        ApplyError::Aws(error) => semantics
            .not_yet
            .repeated_by_apply(error.code(), &error.to_string()),
        ApplyError::Malformed(_) => false,
    };
    propagation.retry(name, not_yet, once).await
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    use kmsctl_core::semantics::NotYet;
    use kmsctl_core::{Action, Address, Operation, Ref, Reference};
    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::AwsError;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "op", deny_unknown_fields)]
    enum TestOp<K = Ref<String>> {
        Make,
        Use { id: K },
        Busy,
    }

    impl DomainOp for TestOp {
        type Resolved = TestOp<String>;

        fn name(&self) -> &'static str {
            match self {
                Self::Make => "Make",
                Self::Use { .. } => "Use",
                Self::Busy => "Busy",
            }
        }

        fn semantics(&self) -> Semantics {
            match self {
                Self::Make | Self::Use { .. } => Semantics::REPEAT,
                Self::Busy => Semantics {
                    not_yet: NotYet::RepeatedByApply(&["Busy"]),
                    ..Semantics::REPEAT
                },
            }
        }
    }

    fn window() -> Propagation {
        Propagation::new(Duration::from_secs(20))
    }

    fn thing() -> Address {
        Address::new("thing", "a")
    }

    fn change(operations: &[TestOp]) -> ResourceChange {
        ResourceChange {
            address: thing(),
            action: Action::Create,
            attributes: vec![],
            depends_on: vec![],
            operations: operations.iter().map(Operation::encode).collect(),
            source: None,
        }
    }

    fn busy() -> ApplyError {
        ApplyError::Aws(AwsError::Call {
            operation: "test:Busy".into(),
            code: Some("Busy".into()),
            message: "another write is in progress".into(),
        })
    }

    #[tokio::test]
    async fn later_operations_see_what_earlier_ones_of_the_change_made() {
        let change = change(&[
            TestOp::Make,
            TestOp::Use {
                id: Ref::After(Reference::new(thing(), "id")),
            },
        ]);
        let mut used = Vec::new();
        let produced = apply_operations::<TestOp, _, _>(
            &change,
            &Outputs::new(),
            &window(),
            |op: TestOp<String>| {
                used.push(op.clone());
                async move {
                    Ok(match op {
                        TestOp::Make => Produced::from([("id".into(), "t-1".into())]),
                        _ => Produced::new(),
                    })
                }
            },
        )
        .await
        .expect("applies");
        assert_eq!(used, [TestOp::Make, TestOp::Use { id: "t-1".into() }]);
        assert_eq!(produced, Produced::from([("id".into(), "t-1".into())]));
    }

    #[tokio::test(start_paused = true)]
    async fn not_yet_codes_are_repeated_within_the_propagation_window() {
        let calls = AtomicU32::new(0);
        let applied = apply_operations::<TestOp, _, _>(
            &change(&[TestOp::Busy]),
            &Outputs::new(),
            &window(),
            |_: TestOp<String>| {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(busy())
                    } else {
                        Ok(Produced::new())
                    }
                }
            },
        )
        .await;
        assert!(applied.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        calls.store(0, Ordering::SeqCst);
        let started = tokio::time::Instant::now();
        let always = apply_operations::<TestOp, _, _>(
            &change(&[TestOp::Busy]),
            &Outputs::new(),
            &window(),
            |_: TestOp<String>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<Produced, _>(busy()) }
            },
        )
        .await;
        assert!(always.is_err());
        let waited = started.elapsed();
        assert!(
            waited >= window().timeout && waited < window().timeout + Duration::from_secs(1),
            "gave up at the end of the window: {waited:?}"
        );
        assert!(calls.load(Ordering::SeqCst) > 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_code_the_semantics_do_not_name_is_final() {
        let calls = AtomicU32::new(0);
        let applied = apply_operations::<TestOp, _, _>(
            &change(&[TestOp::Make]),
            &Outputs::new(),
            &window(),
            |_: TestOp<String>| {
                calls.fetch_add(1, Ordering::SeqCst);
                async { Err::<Produced, _>(busy()) }
            },
        )
        .await;
        assert!(applied.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_operation_the_domain_does_not_know_is_refused_before_any_call() {
        let mut change = change(&[TestOp::Make]);
        let forged: Operation =
            serde_json::from_value(serde_json::json!({"op": "Drop", "id": "t-1"})).expect("json");
        change.operations.insert(0, forged);
        let mut calls = 0;
        let applied = apply_operations::<TestOp, _, _>(
            &change,
            &Outputs::new(),
            &window(),
            |_: TestOp<String>| {
                calls += 1;
                async { Ok(Produced::new()) }
            },
        )
        .await;
        assert!(matches!(applied, Err(ApplyError::Malformed(_))));
        assert_eq!(calls, 0);
    }
}
