//! Figures many people poll at once (a campaign's live page in every open tab), computed at most once per
//! `max_age` for each key however many ask: the others wait for that computation and share its result. The cost
//! of a figure is then bounded by time, not by the number of viewers.

use std::{
    convert::Infallible,
    hash::Hash,
    sync::Arc,
    time::{Duration, Instant},
};

type Slot<V> = Arc<tokio::sync::Mutex<Option<(Instant, V)>>>;

pub struct Fresh<K, V> {
    slots: quick_cache::sync::Cache<K, Slot<V>>,
    max_age: Duration,
}

impl<K: Eq + Hash + Clone, V: Clone> Fresh<K, V> {
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            slots: quick_cache::sync::Cache::new(capacity),
            max_age,
        }
    }

    /// The value for `key`, computed by `compute` only when the last one is older than `max_age`.
    pub async fn get<E, Fut>(&self, key: K, compute: impl FnOnce() -> Fut) -> Result<V, E>
    where
        Fut: std::future::Future<Output = Result<V, E>>,
    {
        let slot = match self
            .slots
            .get_or_insert_with(&key, || Ok::<_, Infallible>(Slot::default()))
        {
            Ok(slot) => slot,
            Err(never) => match never {},
        };
        let mut held = slot.lock().await;
        if let Some((at, value)) = held.as_ref() {
            if at.elapsed() < self.max_age {
                return Ok(value.clone());
            }
        }
        let value = compute().await?;
        *held = Some((Instant::now(), value.clone()));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn many_viewers_at_once_share_one_computation_until_it_is_stale() {
        let fresh = Fresh::<u32, u32>::new(16, Duration::from_millis(200));
        let computed = AtomicU32::new(0);
        let compute = || async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, ()>(computed.fetch_add(1, Ordering::SeqCst) + 1)
        };
        let viewers = futures::future::join_all((0..50).map(|_| fresh.get(7, compute))).await;
        assert!(viewers.iter().all(|seen| *seen == Ok(1)));
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert_eq!(
            fresh.get(8, compute).await,
            Ok(2),
            "another key has its own value"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(
            fresh.get(7, compute).await,
            Ok(3),
            "a stale value is computed again"
        );
    }

    #[tokio::test]
    async fn a_failed_computation_is_not_kept() {
        let fresh = Fresh::<u32, u32>::new(4, Duration::from_secs(60));
        assert_eq!(
            fresh.get(1, || async { Err::<u32, _>("down") }).await,
            Err("down")
        );
        assert_eq!(fresh.get(1, || async { Ok::<_, &str>(5) }).await, Ok(5));
    }
}
