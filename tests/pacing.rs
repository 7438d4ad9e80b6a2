//! Pacing at the limit: the operator deletes 1,000 snapshots through a proxy that enforces
//! EC2's token buckets (time compressed 5x, the operator's pacing scaled alike) and is
//! never throttled. The elapsed time is printed for docs/BENCHMARKS.md, never asserted.

mod common;

use std::time::{Duration, Instant};

use common::fault_proxy::{FaultConfig, FaultKind, FaultProxy, RateLimits};
use common::{REGION, TestAccount, base_credentials, control, emulator, policy_for};
use frugal_operator::api::validate::validate;
use frugal_operator::aws::{AwsConnector, PacingConfig, SdkLimits};
use frugal_operator::engine::{self, CloudConnector};
use frugal_operator::metrics::Metrics;
use k8s_openapi::jiff::Timestamp;

/// AWS's refill rates are 5 times faster in the proxy and in the operator's pacing. More
/// compression turns network jitter into throttling that AWS itself would not see: a request
/// that reaches the proxy d ms sooner than the first one did finds rate × d fewer tokens.
const TIME_SCALE: f64 = 5.0;
const SNAPSHOTS: usize = 1000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_deletions_at_ec2s_limit_are_never_throttled() {
    let account = TestAccount::new().await;
    let seeded = control(
        "/_frugal/bulk/snapshots",
        serde_json::json!({"account": account.id, "region": REGION, "count": SNAPSHOTS, "volume_count": 1}),
    )
    .await;
    let ids: Vec<String> =
        seeded["snapshot_ids"].as_array().expect("snapshot ids").iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    assert_eq!(ids.len(), SNAPSHOTS);
    account.age_snapshots(&ids, 40).await;

    let proxy = FaultProxy::start(&emulator().url, 1, FaultConfig::rate_limited(TIME_SCALE)).await;
    let mut pacing = PacingConfig::default();
    for (_, rate) in pacing.rates.values_mut() {
        *rate *= TIME_SCALE;
    }
    // One attempt: a throttled request fails the run instead of hiding behind a retry.
    let limits = SdkLimits { max_attempts: 1, ..SdkLimits::default() };
    let connector =
        AwsConnector::new(Metrics::new(), pacing).with_overrides(Some(proxy.url.clone()), Some(base_credentials())).with_sdk_limits(limits);
    let policy = policy_for(
        &account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: pacing}}\nspec:\n  mode: Enforce\n  aws: {{region: eu-west-1}}\n  \
             snapshotRetention: {{maxAgeDays: 30, maxDeletionsPerRun: {SNAPSHOTS}, gracePeriod: 0s}}\n"
        ),
    );
    let validated = validate("pacing", &policy.spec).expect("valid policy");
    let cloud = connector.connect(&validated.aws).await.expect("connect");

    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    // The deletions alone: the observation before them is not what the buckets limit.
    let start = Instant::now();
    let applied = engine::act(cloud.as_ref(), planned).await;
    let elapsed = start.elapsed();

    let throttled = proxy.injected().get(&FaultKind::Throttle).copied().unwrap_or(0);
    let throttled_operations: Vec<String> =
        proxy.seen().iter().filter(|s| s.fault == Some(FaultKind::Throttle)).map(|s| s.operation.clone()).collect();
    assert_eq!(throttled, 0, "the proxy answered RequestLimitExceeded {throttled} times: {throttled_operations:?}");
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    assert!(account.snapshot_ids().await.is_empty(), "every expired snapshot is deleted");

    let (_, burst, rate) = RateLimits::bucket("DeleteSnapshot");
    let minimum = Duration::from_secs_f64((SNAPSHOTS as f64 - burst) / (rate * TIME_SCALE));
    let deletes = proxy.seen().iter().filter(|s| s.operation == "DeleteSnapshot").count();
    println!(
        "pacing at the limit: {deletes} DeleteSnapshot in {:.1} s, theoretical minimum {:.1} s ((N - burst) / rate at {TIME_SCALE}x), ratio {:.2}, throttled {throttled}",
        elapsed.as_secs_f64(),
        minimum.as_secs_f64(),
        elapsed.as_secs_f64() / minimum.as_secs_f64()
    );
}
