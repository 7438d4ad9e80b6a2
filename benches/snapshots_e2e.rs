//! Snapshot retention end to end against the emulator: 10k snapshots, an Audit run, an
//! Enforce run (deleting 1,000: the cap) and a steady-state run. Prints wall time and AWS
//! calls by operation beside the minimum; asserts nothing about time.
//!
//! Run: `cargo bench --bench snapshots_e2e`

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use common::{REGION, TestAccount, control, policy_for};
use frugal_operator::api::validate::validate;
use frugal_operator::engine::{self, CloudConnector};

const COUNT: usize = 10_000;

#[tokio::main]
async fn main() {
    let account = TestAccount::new().await;
    let start = Instant::now();
    control(
        "/_frugal/bulk/snapshots",
        serde_json::json!({"account": account.id, "region": REGION, "count": COUNT, "volume_count": 1000, "start_time_spread_days": 200, "tags": {"env": "prod"}}),
    )
    .await;
    println!("seeded {COUNT} snapshots in {:.1} s", start.elapsed().as_secs_f64());
    println!();
    println!("| run | wall time | AWS calls (measured) | minimum for the data | mutating calls |");
    println!("|---|---:|---|---|---:|");
    let connector = account.connector();
    for (label, mode) in [("Audit", "Audit"), ("Enforce (no grace)", "Enforce"), ("steady state", "Enforce")] {
        let yaml = format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: bench}}\nspec:\n  mode: {mode}\n  aws: {{region: eu-west-1}}\n  snapshotRetention: {{maxAgeDays: 30, keepLatestPerVolume: 2, maxDeletionsPerRun: 10000, gracePeriod: 0s, selector: {{tags: {{env: prod}}}}}}\n"
        );
        let policy = policy_for(&account, &yaml);
        let validated = validate("bench", &policy.spec).expect("valid");
        let cloud = connector.connect(&validated.aws).await.expect("connect");
        account.clear_requests().await;
        let start = Instant::now();
        let planned = engine::observe_and_plan(cloud.as_ref(), validated, k8s_openapi::jiff::Timestamp::now().as_second()).await;
        let applied = engine::act(cloud.as_ref(), planned).await;
        let elapsed = start.elapsed();
        assert!(applied.succeeded(), "{:?}", applied.first_error());
        let mut calls: BTreeMap<String, usize> = BTreeMap::new();
        for request in account.requests().await {
            *calls.entry(request.operation.clone()).or_default() += 1;
        }
        let mutating: usize =
            calls.iter().filter(|(op, _)| !["Describe", "List", "Get"].iter().any(|p| op.starts_with(p))).map(|(_, n)| n).sum();
        let (evaluated, deleted) = match &applied.areas.snapshot_retention {
            Some(engine::AreaOutcome { plan: engine::AreaPlan::Planned(plan), results }) => (
                plan.evaluated as usize,
                results
                    .iter()
                    .filter(|r| {
                        r.outcome.is_ok()
                            && matches!(r.change, frugal_operator::plan::snapshot_retention::SnapshotRetentionChange::Delete { .. })
                    })
                    .count(),
            ),
            _ => (0, 0),
        };
        let minimum = format!(
            "DescribeSnapshots {}, DeleteSnapshot {deleted}, CreateTags {}",
            evaluated.max(1).div_ceil(1000),
            deleted.div_ceil(500)
        );
        let measured: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
        println!(
            "| {label} | {:.1} s | {} | {minimum}; 1 each of DescribeImages, DescribeLaunchTemplates, DescribeLockedSnapshots | {mutating} |",
            elapsed.as_secs_f64(),
            measured.join(", ")
        );
    }
}
