//! Bounded concurrency for reads: many keys, a fixed number of calls in flight.

use std::future::Future;

use futures::stream::{self, StreamExt, TryStreamExt};

/// Runs `f` over `items` with at most `limit` futures in flight; results keep the input order.
/// Stops at the first error.
pub async fn map_bounded<T, R, E, F, Fut>(items: Vec<T>, limit: usize, f: F) -> Result<Vec<R>, E>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    stream::iter(items.into_iter().map(f))
        .buffered(limit.max(1))
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn keeps_order_and_bounds_concurrency() {
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let result: Result<Vec<u64>, ()> = map_bounded((0..20u64).collect(), 3, |i| {
            let in_flight = in_flight.clone();
            let peak = peak.clone();
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20 - i)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                Ok(i * 2)
            }
        })
        .await;
        assert_eq!(result, Ok((0..20).map(|i| i * 2).collect()));
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn first_error_wins() {
        let result: Result<Vec<u32>, String> = map_bounded(vec![1, 2, 3], 2, |i| async move {
            if i == 2 {
                Err(format!("bad {i}"))
            } else {
                Ok(i)
            }
        })
        .await;
        assert_eq!(result, Err("bad 2".into()));
    }
}
