//! Planner throughput: snapshot retention over generated inventories of 100k and 1M
//! snapshots. Prints figures for docs/BENCHMARKS.md; asserts nothing about time.
//!
//! Run: `cargo bench --bench plan_snapshots`

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use frugal_operator::api::validate::SnapshotRetentionDesired;
use frugal_operator::plan::snapshot_retention::{Snapshot, SnapshotRetentionInventory, plan};

const NOW: i64 = 1_800_000_000;

fn inventory(count: usize) -> SnapshotRetentionInventory {
    let volumes = count / 10;
    let snapshots: Vec<Snapshot> = (0..count)
        .map(|i| {
            let mut tags = BTreeMap::from([("env".to_string(), if i % 3 == 0 { "dev" } else { "prod" }.to_string())]);
            if i % 97 == 0 {
                tags.insert("frugal.dev/keep".into(), "true".into());
            }
            Snapshot {
                id: format!("snap-{i:017x}"),
                volume_id: Some(format!("vol-{:017x}", i % volumes.max(1))),
                volume_size_gib: 8 + (i % 500) as u32,
                start_time: NOW - (i as i64 % 720) * 86_400,
                state: if i % 1000 == 0 { "pending" } else { "completed" }.into(),
                description: String::new(),
                tags,
            }
        })
        .collect();
    let ami_snapshots = (0..count).step_by(211).map(|i| format!("snap-{i:017x}")).collect();
    SnapshotRetentionInventory { snapshots: snapshots.into(), ami_snapshots, ..Default::default() }
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

fn main() {
    let desired = SnapshotRetentionDesired {
        max_age_days: Some(90),
        keep_latest_per_volume: Some(3),
        selector: BTreeMap::from([("env".into(), "prod".into())]),
        exclude: BTreeMap::from([("frugal.dev/keep".into(), "true".into())]),
        max_deletions_per_run: 1000,
        grace_period: Duration::from_secs(86_400),
    };
    println!("| snapshots | in scope | expired | plan time (median of 5) | peak RSS |");
    println!("|---:|---:|---:|---:|---:|");
    for count in [100_000usize, 1_000_000] {
        let inv = inventory(count);
        let mut times = Vec::new();
        let mut result = None;
        for _ in 0..5 {
            let start = Instant::now();
            let p = plan(&desired, &inv, NOW, true);
            times.push(start.elapsed());
            result = Some(p);
        }
        times.sort();
        let p = result.expect("planned");
        println!(
            "| {count} | {} | {} | {:.0} ms | {:.0} MiB |",
            p.evaluated,
            p.findings() + p.protected.values().sum::<u32>(),
            times[2].as_secs_f64() * 1000.0,
            peak_rss_mib()
        );
    }
}
