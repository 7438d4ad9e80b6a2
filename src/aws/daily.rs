//! Answers kept for the rest of the UTC day and shared by every policy of the process (the
//! Price List's prices, Cost Explorer's spend), and failures kept for an hour per account, so
//! that a missing permission costs one call an hour, not one a run.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex as SyncMutex};
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

use crate::engine::CloudError;

/// How long a failed read stands for the account that made it.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(3600);

/// What is known of one key.
struct Known<V> {
    /// The answer and the UTC day it was read.
    answer: Option<(String, V)>,
    /// Failed reads by account: the answer may be global, permissions are not.
    failed: HashMap<String, (Instant, CloudError)>,
}

impl<V> Default for Known<V> {
    fn default() -> Self {
        Self { answer: None, failed: HashMap::new() }
    }
}

/// One read per key and day; a key is read by one caller at a time, so policies that start
/// together share one read.
pub struct DailyBook<K, V> {
    keys: SyncMutex<HashMap<K, Arc<Mutex<Known<V>>>>>,
}

impl<K, V> Default for DailyBook<K, V> {
    fn default() -> Self {
        Self { keys: SyncMutex::new(HashMap::new()) }
    }
}

impl<K: Clone + Eq + Hash, V: Clone> DailyBook<K, V> {
    /// The key's answer read `today`, by `account` with `fetch` when nobody has; the day it was
    /// read comes with it.
    pub async fn read<F>(&self, account: &str, key: &K, today: &str, fetch: F) -> Result<(String, V), CloudError>
    where
        F: std::future::Future<Output = Result<V, CloudError>>,
    {
        let slot = {
            let mut keys = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            keys.entry(key.clone()).or_default().clone()
        };
        let mut known = slot.lock().await;
        if let Some((day, answer)) = &known.answer
            && day == today
        {
            return Ok((day.clone(), answer.clone()));
        }
        if let Some((at, error)) = known.failed.get(account)
            && at.elapsed() < RETRY_FAILED_AFTER
        {
            return Err(error.clone());
        }
        match fetch.await {
            Ok(answer) => {
                known.answer = Some((today.to_string(), answer.clone()));
                known.failed.remove(account);
                Ok((today.to_string(), answer))
            }
            Err(error) => {
                known.failed.insert(account.to_string(), (Instant::now(), error.clone()));
                Err(error)
            }
        }
    }
}

/// Today in UTC, YYYY-MM-DD: the day answers are kept for.
pub fn today() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%d").to_string()
}
