//! Crashes: `frugal apply` on the messy account is killed with SIGKILL at random points, 50
//! times, and started again each time (between runs part of its work is undone, so that
//! every run has multi-step work to be killed in). After every kill the account holds no duplicate
//! (idempotency tokens), no snapshot was deleted before its grace period (the expiry tag is
//! the only memory of the grace period, and it survives), no rule or snapshot changed that
//! the plan does not change; a final apply that runs to the end converges.
//!
//! `cargo test --test crash -- --nocapture` prints the figures of docs/RELIABILITY.md.
//! `FRUGAL_CRASH_RUNS` and `FRUGAL_CRASH_SEED` change the number of kills and the seed.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::messy::{Messy, assert_endpoints_converged, assert_no_duplicates, policy_yaml, rules, seed, snapshot_tags};
use k8s_openapi::jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Slow enough that a kill lands inside the apply, not before or after it: EC2's own
/// endpoint bucket (4 burst, 0.3/s) would take minutes, so a compressed version of it.
const PACING_FLAGS: [&str; 6] = [
    "--vpc-endpoint-pacing=1/1",
    "--security-group-ingress-pacing=1/1",
    "--mutating-pacing=1/2",
    "--create-tags-pacing=1/2",
    "--delete-snapshot-pacing=1/2",
    "--describe-pacing=1000/1000",
];

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// `frugal apply -f <policy>` as the operator's binary, pointed at the emulator.
fn apply_command(policy: &Path) -> Command {
    let mut command = common::frugal_command();
    command.args(["apply", "-f"]).arg(policy).args(PACING_FLAGS).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    command
}

#[derive(Debug, Default)]
#[allow(dead_code)] // read through Debug, printed for docs/RELIABILITY.md
struct Figures {
    kills: usize,
    /// Killed after the apply had changed something and before it finished.
    interrupted_after_changes: usize,
    finished_before_the_kill: usize,
    longest_apply_ms: u128,
    snapshots_tagged: usize,
}

/// What must hold after every kill: no duplicates, no snapshot deleted (the grace period is
/// 24 hours and the test takes minutes), an expiry tag once set never moves, and the
/// security groups only ever hold their original rules or the planned result.
async fn check_invariants(m: &Messy, run: usize, first_tags: &mut BTreeMap<String, i64>) {
    assert_no_duplicates(m, run).await;
    let snapshots = snapshot_tags(&m.account).await;
    for id in m.expired.iter().chain(&m.protected) {
        assert!(snapshots.contains_key(id), "kill {run}: {id} was deleted before its grace period ended");
    }
    for (id, expires) in &snapshots {
        let Some(expires) = expires else { continue };
        assert!(m.expired.contains(id), "kill {run}: {id} is tagged expiring but the plan protects it");
        let first = *first_tags.entry(id.clone()).or_insert(*expires);
        assert_eq!(first, *expires, "kill {run}: the expiry tag of {id} moved: the grace period restarted");
    }
    let ssh = rules(&m.account, &m.sg_ssh).await;
    let tcp = |from: i32, to: i32, cidr: &str| ("tcp".to_string(), from, to, cidr.to_string());
    let ssh_before = vec![tcp(22, 22, "0.0.0.0/0"), tcp(22, 22, "10.0.0.0/8"), tcp(443, 443, "0.0.0.0/0")];
    let ssh_after = vec![tcp(22, 22, "10.0.0.0/8"), tcp(443, 443, "0.0.0.0/0")];
    assert!(ssh == ssh_before || ssh == ssh_after, "kill {run}: ssh-open holds {ssh:?}");
    // The split authorizes the remainder before it revokes the wide rule: at every instant
    // every port but 22 stays open to the world.
    let wide = rules(&m.account, &m.sg_wide).await;
    let open = |port: i32| wide.iter().any(|(p, from, to, cidr)| p == "tcp" && *from <= port && port <= *to && cidr == "0.0.0.0/0");
    for port in [0, 1, 21, 23, 443, 65535] {
        assert!(open(port), "kill {run}: port {port} of wide-open lost its world access: {wide:?}");
    }
}

/// Someone undoes part of the operator's work between runs, as a console user would, so
/// that every run has multi-step work to be killed in: tcp/22 opened to the world again, the
/// split range widened back to 0-65535 (widened before the parts go, so no port closes), and
/// a route table taken off one of the policy's endpoints.
async fn undo_some_of_the_work(m: &Messy) {
    let world = |from: i32, to: i32| ("tcp".to_string(), from, to, "0.0.0.0/0".to_string());
    if !rules(&m.account, &m.sg_ssh).await.contains(&world(22, 22)) {
        m.account.allow_tcp(&m.sg_ssh, 22, 22, "0.0.0.0/0", None).await;
    }
    let wide = rules(&m.account, &m.sg_wide).await;
    if !wide.contains(&world(0, 65535)) {
        m.account.allow_tcp(&m.sg_wide, 0, 65535, "0.0.0.0/0", None).await;
        for (from, to) in [(0, 21), (23, 65535)] {
            if wide.contains(&world(from, to)) {
                let permission = common::messy::tcp(from, to, "0.0.0.0/0");
                m.account.ec2.revoke_security_group_ingress().group_id(&m.sg_wide).ip_permissions(permission).send().await.expect("Revoke");
            }
        }
    }
    for endpoint in m.account.endpoints(&m.prod_vpcs[0].vpc_id).await {
        let id = endpoint.vpc_endpoint_id().expect("id");
        if let Some(table) = endpoint.route_table_ids().first() {
            m.account.ec2.modify_vpc_endpoint().vpc_endpoint_id(id).remove_route_table_ids(table).send().await.expect("ModifyVpcEndpoint");
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_applies_never_duplicate_never_delete_early_and_converge() {
    let started = Instant::now();
    let m = seed().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let policy = dir.path().join("policy.yaml");
    std::fs::write(&policy, policy_yaml(&m.account, "Enforce")).expect("write the policy");
    let kills = env_or("FRUGAL_CRASH_RUNS", 50usize);
    let mut rng = StdRng::seed_from_u64(env_or("FRUGAL_CRASH_SEED", 20_261_130u64));
    let mut figures = Figures { kills, ..Figures::default() };
    let mut first_tags = BTreeMap::new();
    // Kill points spread over the length of a whole apply, which the runs learn.
    let mut window = Duration::from_secs(6);

    for run in 0..kills {
        undo_some_of_the_work(&m).await;
        let changes_before = m.account.mutating_requests().await.len();
        let mut child = apply_command(&policy).spawn().expect("start frugal apply");
        let spawned = Instant::now();
        // Even runs die at a random time; odd runs right after their first change reaches AWS
        // (plus up to 300 ms), which lands between the steps of a multi-step change.
        let after_change = run % 2 == 1;
        let deadline = window.mul_f64(rng.random_range(0.0..1.0));
        let grace = Duration::from_millis(rng.random_range(0..300));
        let mut changed_at = None;
        let finished = loop {
            if let Some(status) = child.try_wait().expect("poll frugal apply") {
                break Some(status);
            }
            if after_change && changed_at.is_none() && m.account.mutating_requests().await.len() > changes_before {
                changed_at = Some(Instant::now());
            }
            let due = match changed_at {
                Some(at) => at.elapsed() >= grace,
                None => !after_change && spawned.elapsed() >= deadline,
            };
            if due {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        match finished {
            Some(status) => {
                figures.finished_before_the_kill += 1;
                let took = spawned.elapsed();
                figures.longest_apply_ms = figures.longest_apply_ms.max(took.as_millis());
                window = window.max(took);
                assert!(status.code().is_some(), "kill {run}: frugal apply died of a signal it was not sent: {status}");
            }
            None => {
                child.kill().expect("SIGKILL frugal apply");
                child.wait().expect("reap frugal apply");
                let changes = m.account.mutating_requests().await.len() - changes_before;
                figures.interrupted_after_changes += usize::from(changes > 0);
            }
        }
        check_invariants(&m, run, &mut first_tags).await;
        if run % 10 == 0 {
            println!("kill {run}: {:.1} s; {figures:?}", started.elapsed().as_secs_f64());
        }
    }

    // Run to the end: the account converges (the snapshots wait for their grace period).
    let finished = apply_command(&policy).status().expect("run frugal apply");
    assert!(finished.success(), "the apply that runs to the end succeeds: {finished}");
    check_invariants(&m, kills, &mut first_tags).await;
    assert_endpoints_converged(&m).await;
    let tcp = |from: i32, to: i32| ("tcp".to_string(), from, to, "0.0.0.0/0".to_string());
    assert_eq!(rules(&m.account, &m.sg_wide).await, [tcp(0, 21), tcp(23, 65535)]);
    let tags = snapshot_tags(&m.account).await;
    let tagged: Vec<&String> = tags.iter().filter(|(_, t)| t.is_some()).map(|(id, _)| id).collect();
    assert_eq!(tagged.len(), m.expired.len(), "every expired snapshot carries its expiry tag: {tags:?}");
    let now = Timestamp::now().as_second();
    assert!(first_tags.values().all(|due| *due > now), "no grace period ended during the test");
    figures.snapshots_tagged = tagged.len();
    assert!(m.account.live_backup_plan("soak-daily").await.is_some(), "the backup plan exists");
    println!("crash: {figures:?}");
    // Half the kills wait for a change to reach AWS: the test really interrupts applies.
    assert!(figures.interrupted_after_changes >= kills / 5, "too few kills landed inside an apply: {figures:?}");
    println!("crash: {:.1} s", started.elapsed().as_secs_f64());
}
