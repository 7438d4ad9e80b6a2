//! Client-side token buckets that mirror EC2's throttling classes, shared by every policy
//! that targets the same account and region, so the operator paces instead of being
//! throttled.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

/// EC2 throttling classes the operator paces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PaceClass {
    /// Describe*, List*, Get*.
    NonMutating,
    /// Create/Modify/DeleteVpcEndpoint(s).
    VpcEndpointMutation,
    /// DeleteSnapshot.
    DeleteSnapshot,
    /// CreateTags.
    CreateTags,
    /// Other mutating calls (e.g. DeleteTags).
    Mutating,
    /// Authorize/RevokeSecurityGroupIngress.
    SecurityGroupIngress,
    /// AssociateIamInstanceProfile.
    AssociateIamInstanceProfile,
}

/// Burst and refill rate per class.
#[derive(Clone, Debug)]
pub struct PacingConfig {
    pub rates: HashMap<PaceClass, (f64, f64)>,
}

impl Default for PacingConfig {
    /// EC2's documented buckets (Amazon EC2 API Reference, "Request throttling").
    fn default() -> Self {
        Self {
            rates: HashMap::from([
                (PaceClass::NonMutating, (100.0, 20.0)),
                (PaceClass::VpcEndpointMutation, (4.0, 0.3)),
                (PaceClass::DeleteSnapshot, (100.0, 5.0)),
                (PaceClass::CreateTags, (100.0, 10.0)),
                (PaceClass::Mutating, (50.0, 5.0)),
                (PaceClass::SecurityGroupIngress, (50.0, 5.0)),
                (PaceClass::AssociateIamInstanceProfile, (100.0, 5.0)),
            ]),
        }
    }
}

/// Tokens of AWS's bucket the operator leaves unused. AWS's bucket starts counting when the
/// first request arrives, ours when it leaves; a later request that travels faster than the
/// first one would otherwise find AWS's bucket a fraction of a token short. One token covers
/// 1/refill seconds of jitter (200 ms at DeleteSnapshot's 5/s) and costs only the last token
/// of the burst.
const JITTER_RESERVE: f64 = 1.0;

/// A token bucket: `burst` tokens at most, refilled at `refill_per_second`.
#[derive(Debug)]
pub struct TokenBucket {
    burst: f64,
    refill_per_second: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    pub fn new(burst: f64, refill_per_second: f64) -> Self {
        let burst = burst.max(1.0);
        Self { burst, refill_per_second: refill_per_second.max(1e-6), state: Mutex::new((burst, Instant::now())) }
    }

    /// Takes one token, waiting for the refill when the bucket is empty.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().await;
                let now = Instant::now();
                let (tokens, last) = *state;
                let tokens = (tokens + now.duration_since(last).as_secs_f64() * self.refill_per_second).min(self.burst);
                if tokens >= 1.0 {
                    *state = (tokens - 1.0, now);
                    return;
                }
                *state = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / self.refill_per_second)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Buckets per account, region and class.
pub struct Pacer {
    config: PacingConfig,
    buckets: Mutex<HashMap<(String, String, PaceClass), Arc<TokenBucket>>>,
}

impl Pacer {
    pub fn new(config: PacingConfig) -> Self {
        Self { config, buckets: Mutex::new(HashMap::new()) }
    }

    pub async fn bucket(&self, account: &str, region: &str, class: PaceClass) -> Arc<TokenBucket> {
        let mut buckets = self.buckets.lock().await;
        buckets
            .entry((account.to_string(), region.to_string(), class))
            .or_insert_with(|| {
                let (burst, rate) = self.config.rates.get(&class).copied().unwrap_or((50.0, 5.0));
                Arc::new(TokenBucket::new(burst - JITTER_RESERVE, rate))
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bucket_allows_the_burst_then_the_refill_rate() {
        let bucket = TokenBucket::new(4.0, 0.5);
        let start = Instant::now();
        for _ in 0..4 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(10));
        for _ in 0..3 {
            bucket.acquire().await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((5.9..6.2).contains(&elapsed), "three tokens at 0.5/s take 6 s, took {elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn the_pacer_keeps_one_token_of_the_burst_in_reserve() {
        let mut config = PacingConfig::default();
        config.rates.insert(PaceClass::DeleteSnapshot, (5.0, 1.0));
        let bucket = Pacer::new(config).bucket("111111111111", "eu-west-1", PaceClass::DeleteSnapshot).await;
        let start = Instant::now();
        for _ in 0..4 {
            bucket.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(10), "four at once");
        bucket.acquire().await;
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.9..1.1).contains(&elapsed), "the fifth waits for the refill, took {elapsed}");
    }

    #[tokio::test]
    async fn policies_of_one_account_share_a_bucket() {
        let pacer = Pacer::new(PacingConfig::default());
        let a = pacer.bucket("111111111111", "eu-west-1", PaceClass::VpcEndpointMutation).await;
        let b = pacer.bucket("111111111111", "eu-west-1", PaceClass::VpcEndpointMutation).await;
        let c = pacer.bucket("222222222222", "eu-west-1", PaceClass::VpcEndpointMutation).await;
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
