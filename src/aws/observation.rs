//! Shared observation: raw account reads (not plans) cached per account, region and read,
//! for a time-to-live, so policies that share an account and region within a resync window
//! cost one set of describe calls.
//!
//! A failed read is never stored (safety rule 7). Any change this operator makes in an
//! account invalidates all of that account's reads, in every region: IAM is global, and a
//! whole-account invalidation is a superset that costs one re-read after a mutating run.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::engine::CloudError;

/// Account, region (or "global" for IAM) and the read with its server-side filters.
type Key = (String, String, String);
type Slot = Arc<Mutex<Option<Entry>>>;

struct Entry {
    at: Instant,
    generation: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
struct State {
    /// Bumped by every change in the account; entries of an older generation are stale.
    generations: HashMap<String, u64>,
    slots: HashMap<Key, Slot>,
    /// When expired entries were last dropped.
    swept: Option<Instant>,
}

impl State {
    /// Drops the entries older than `ttl`, at most once per `ttl`. Without it a read nobody
    /// repeats soon (a large DescribeSnapshots answer, a deleted policy's selector) would be
    /// held until the next resync instead of for its time-to-live.
    fn sweep(&mut self, ttl: Duration) {
        if self.swept.is_some_and(|at| at.elapsed() < ttl) {
            return;
        }
        self.swept = Some(Instant::now());
        // A slot a reader holds stays (it may be about to fill it: dropping it would make the
        // next reader ask AWS again); one only the map holds goes when it is expired or empty
        // (a failed read leaves it empty).
        self.slots.retain(|_, slot| {
            Arc::strong_count(slot) > 1 || slot.try_lock().is_ok_and(|entry| entry.as_ref().is_some_and(|e| e.at.elapsed() < ttl))
        });
    }
}

pub struct ObservationCache {
    ttl: Duration,
    state: SyncMutex<State>,
}

impl ObservationCache {
    /// A zero `ttl` caches nothing.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, state: SyncMutex::new(State::default()) }
    }

    fn generation(&self, account: &str) -> u64 {
        self.state.lock().map(|s| s.generations.get(account).copied().unwrap_or(0)).unwrap_or(u64::MAX)
    }

    fn slot(&self, key: Key) -> Option<Slot> {
        let mut state = self.state.lock().ok()?;
        state.sweep(self.ttl);
        Some(state.slots.entry(key).or_default().clone())
    }

    #[cfg(test)]
    fn held(&self) -> usize {
        self.state.lock().map(|s| s.slots.len()).unwrap_or(0)
    }

    /// The cached answer of `read` while fresh, else `fetch`'s answer, stored when it
    /// succeeded and no change happened in the account meanwhile. Concurrent readers of one
    /// key wait for the first one's answer instead of asking AWS again.
    pub async fn read<T, F>(&self, account: &str, region: &str, read: String, fetch: F) -> Result<T, CloudError>
    where
        T: Clone + Send + Sync + 'static,
        F: Future<Output = Result<T, CloudError>>,
    {
        if self.ttl.is_zero() {
            return fetch.await;
        }
        let Some(slot) = self.slot((account.to_string(), region.to_string(), read)) else { return fetch.await };
        let mut entry = slot.lock().await;
        let generation = self.generation(account);
        if let Some(cached) = entry.as_ref()
            && cached.generation == generation
            && cached.at.elapsed() < self.ttl
            && let Some(value) = cached.value.downcast_ref::<T>()
        {
            return Ok(value.clone());
        }
        *entry = None;
        let value = fetch.await?;
        if self.generation(account) == generation {
            *entry = Some(Entry { at: Instant::now(), generation, value: Arc::new(value.clone()) });
        }
        Ok(value)
    }

    /// Forgets every read of the account: called after this operator changed something there.
    pub fn invalidate(&self, account: &str) {
        if self.ttl.is_zero() {
            return;
        }
        if let Ok(mut state) = self.state.lock() {
            *state.generations.entry(account.to_string()).or_default() += 1;
            // Memory follows what is fresh: readers in flight keep their slot alive.
            state.slots.retain(|(a, _, _), _| a != account);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    async fn read(cache: &ObservationCache, calls: &AtomicU32, fail: bool) -> Result<u32, CloudError> {
        cache
            .read("111111111111", "eu-west-1", "DescribeThings".to_string(), async {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                if fail { Err(CloudError::new("DescribeThings", ErrorKind::ServerError, "boom")) } else { Ok(n) }
            })
            .await
    }

    #[tokio::test(start_paused = true)]
    async fn reads_are_shared_within_the_ttl_and_expire_after() {
        let cache = ObservationCache::new(Duration::from_secs(30));
        let calls = AtomicU32::new(0);
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(1));
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(1));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(2));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_never_cached_and_changes_invalidate() {
        let cache = ObservationCache::new(Duration::from_secs(30));
        let calls = AtomicU32::new(0);
        assert!(read(&cache, &calls, true).await.is_err());
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(2), "the failure was not served from the cache");
        cache.invalidate("111111111111");
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(3), "our own change is seen on the next read");
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(3));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_reads_are_dropped_even_when_nobody_reads_them_again() {
        let cache = ObservationCache::new(Duration::from_secs(30));
        let calls = AtomicU32::new(0);
        read(&cache, &calls, false).await.ok();
        let other = cache.read("111111111111", "eu-west-1", "DescribeOtherThings".to_string(), async { Ok(7u32) }).await;
        assert_eq!(other.ok(), Some(7));
        assert_eq!(cache.held(), 2);
        tokio::time::advance(Duration::from_secs(31)).await;
        let fresh = cache.read("111111111111", "eu-west-1", "DescribeOtherThings".to_string(), async { Ok(8u32) }).await;
        assert_eq!(fresh.ok(), Some(8));
        assert_eq!(cache.held(), 1, "the expired DescribeThings answer is no longer held");
    }

    #[tokio::test(start_paused = true)]
    async fn the_empty_slot_of_a_failed_read_is_dropped_too() {
        let cache = ObservationCache::new(Duration::from_secs(30));
        let calls = AtomicU32::new(0);
        assert!(read(&cache, &calls, true).await.is_err());
        assert_eq!(cache.held(), 1);
        tokio::time::advance(Duration::from_secs(31)).await;
        let other = cache.read("111111111111", "eu-west-1", "DescribeOtherThings".to_string(), async { Ok(7u32) }).await;
        assert_eq!(other.ok(), Some(7));
        assert_eq!(cache.held(), 1, "only the new read is held");
    }

    #[tokio::test]
    async fn a_zero_ttl_caches_nothing() {
        let cache = ObservationCache::new(Duration::ZERO);
        let calls = AtomicU32::new(0);
        read(&cache, &calls, false).await.ok();
        assert_eq!(read(&cache, &calls, false).await.ok(), Some(2));
    }
}
