//! Per-object exponential backoff with jitter for failed reconciles.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;

const BASE: Duration = Duration::from_secs(5);
const MAX: Duration = Duration::from_secs(600);

#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    /// Records a failure of `key` and returns how long to wait before the next attempt.
    pub fn next_delay(&self, key: &str) -> Duration {
        let attempt = {
            let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let count = failures.entry(key.to_string()).or_insert(0);
            *count = count.saturating_add(1);
            *count
        };
        let exponential = BASE.saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(16))).min(MAX);
        jitter(exponential, 0.2)
    }

    /// Forgets the failures of `key` after a success.
    pub fn reset(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
    }
}

/// `base` ± `fraction`, so that many objects failing together do not retry together.
pub fn jitter(base: Duration, fraction: f64) -> Duration {
    let factor = 1.0 + rand::rng().random_range(-fraction..=fraction);
    base.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_per_object_and_reset_after_success() {
        let backoff = Backoff::default();
        let first = backoff.next_delay("a");
        let second = backoff.next_delay("a");
        let third = backoff.next_delay("a");
        assert!(first >= Duration::from_secs(4) && first <= Duration::from_secs(6), "{first:?}");
        assert!(second >= Duration::from_secs(8) && third >= Duration::from_secs(16), "{second:?} {third:?}");
        assert!(backoff.next_delay("b") <= Duration::from_secs(6), "other objects are independent");
        backoff.reset("a");
        assert!(backoff.next_delay("a") <= Duration::from_secs(6));
        for _ in 0..40 {
            assert!(backoff.next_delay("c") <= MAX.mul_f64(1.2));
        }
    }
}
