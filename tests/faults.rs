//! Faults from AWS: hundreds of reconciles of a messy account through a fault-injecting
//! proxy (throttling, 5xx, resets, timeouts, slow and truncated answers, access denied),
//! checking every safety rule after every run, then convergence once the faults stop.
//!
//! `cargo test --test faults -- --nocapture` prints the figures of docs/RELIABILITY.md.
//! `FRUGAL_SOAK_RUNS` and `FRUGAL_SOAK_SEED` change the number of runs and the seed.

mod common;

use std::time::{Duration, Instant};

use common::fault_proxy::{FaultConfig, FaultKind, FaultProxy, is_mutating_operation};
use common::messy::{assert_endpoints_converged, assert_no_duplicates, policy, rules, seed, snapshot_tags};
use common::{TestAccount, emulator};
use frugal_operator::api::CostPolicyStatus;
use frugal_operator::api::conditions::reason;
use frugal_operator::api::validate::validate;
use frugal_operator::engine::{self, AppliedRun, AreaPlan, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const HOUR: i64 = 3600;
const FAULT_RATE: f64 = 0.2;
/// Verbs that begin the name of every AWS operation the operator calls.
const OPERATION_VERBS: [&str; 16] = [
    "Describe",
    "List",
    "Get",
    "Create",
    "Modify",
    "Delete",
    "Update",
    "Put",
    "Authorize",
    "Revoke",
    "Associate",
    "Replace",
    "AssumeRole",
    "Start",
    "Tag",
    "Untag",
];

fn fault_config() -> FaultConfig {
    let mut config = FaultConfig::uniform(FAULT_RATE);
    // Access denied applies only to the chosen operations: weigh it up so it shows.
    config.weights.insert(FaultKind::AccessDenied, 4);
    // Held past the 300 ms attempt timeout; slow stays under it.
    config.hold = Duration::from_millis(450);
    config.delay = Duration::from_millis(100);
    config.denied_operations = [
        "DescribeLockedSnapshots",
        "DescribeSecurityGroupRules",
        "DescribeInstanceInformation",
        "DeleteSnapshot",
        "ModifyVpcEndpoint",
        "AuthorizeSecurityGroupIngress",
        "AssumeRole",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    config
}

fn seed_from_env() -> u64 {
    std::env::var("FRUGAL_SOAK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20_240_909)
}

fn runs_from_env(default: usize) -> usize {
    std::env::var("FRUGAL_SOAK_RUNS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn time_at(unix: i64) -> Time {
    Time(Timestamp::from_second(unix).expect("valid time"))
}

/// True when `message` names an AWS operation the way `CloudError` does ("DescribeSnapshots failed (...").
fn names_an_operation(message: &str) -> bool {
    message.match_indices(" failed (").any(|(at, _)| {
        let word = message[..at].rsplit(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or_default();
        OPERATION_VERBS.iter().any(|verb| word.starts_with(verb)) && word.len() > 4
    })
}

/// Safety rule 7 on the run itself: an area whose observation failed executed nothing.
fn failed_reads_acted_on_nothing(applied: &AppliedRun) -> usize {
    let mut failed = 0;
    macro_rules! check {
        ($area:expr, $name:literal) => {
            if let Some(outcome) = &$area {
                if let AreaPlan::ObservationFailed(error) = &outcome.plan {
                    assert!(outcome.results.is_empty(), "{}: observation failed ({error}) yet changes ran: {:?}", $name, outcome.results);
                    failed += 1;
                }
            }
        };
    }
    check!(applied.areas.gateway_endpoints, "gatewayEndpoints");
    check!(applied.areas.snapshot_retention, "snapshotRetention");
    check!(applied.areas.ssm_access, "ssmAccess");
    check!(applied.areas.backup, "backup");
    failed
}

/// Status tells the truth during faults: every failing area condition names the operation.
fn failing_conditions_name_the_operation(status: &CostPolicyStatus, run: usize) -> usize {
    let mut failing = 0;
    for condition in &status.conditions {
        if condition.reason == reason::OBSERVATION_FAILED || condition.reason == reason::ACTION_FAILED {
            failing += 1;
            assert!(
                names_an_operation(&condition.message),
                "run {run}: {} {} does not name an AWS operation: {}",
                condition.type_,
                condition.reason,
                condition.message
            );
            assert!(!condition.message.to_ascii_lowercase().contains("unknown error"), "run {run}: {}", condition.message);
        }
    }
    failing
}

#[derive(Default, Debug)]
#[allow(dead_code)] // read through Debug, printed for docs/RELIABILITY.md
struct Figures {
    runs: usize,
    runs_fully_succeeded: usize,
    areas_observation_failed: usize,
    failing_conditions: usize,
    snapshots_deleted: usize,
    convergence_runs: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enforce_soak_under_faults_keeps_every_safety_rule_and_converges_when_faults_stop() {
    let started = Instant::now();
    let m = seed().await;
    let proxy = FaultProxy::start(&emulator().url, seed_from_env(), fault_config()).await;
    let connector = proxy.connector();
    let spec = policy(&m.account, "Enforce").spec;
    let runs = runs_from_env(200);
    let start = Timestamp::now().as_second();
    let mut previous: Option<CostPolicyStatus> = None;
    let mut figures = Figures { runs, ..Figures::default() };
    let mut snapshots = snapshot_tags(&m.account).await;

    for run in 0..runs {
        // Virtual time moves an hour per run, so grace periods run out during the soak.
        let now = start + run as i64 * HOUR;
        let validated = validate("soak", &spec).expect("valid policy");
        let cloud = match connector.connect(&validated.aws).await {
            Ok(cloud) => cloud,
            Err(error) => panic!("connect never calls AWS with a role ARN: {error}"),
        };
        let planned = engine::observe_and_plan(cloud.as_ref(), validated, now).await;
        let applied = engine::act(cloud.as_ref(), planned).await;
        figures.areas_observation_failed += failed_reads_acted_on_nothing(&applied);
        figures.runs_fully_succeeded += usize::from(applied.succeeded());
        let status = report::status(&applied, previous.as_ref(), Some(1), &time_at(now));
        figures.failing_conditions += failing_conditions_name_the_operation(&status, run);

        // Snapshots: only expired, unprotected ones vanish, and only after their grace period.
        let after = snapshot_tags(&m.account).await;
        for (id, expires) in &snapshots {
            if after.contains_key(id) {
                continue;
            }
            assert!(m.expired.contains(id), "run {run}: {id} was deleted but the plan protects it");
            let due = expires.unwrap_or_else(|| panic!("run {run}: {id} was deleted without being tagged first"));
            assert!(due <= now, "run {run}: {id} was deleted at {now}, before its grace period ended at {due}");
            figures.snapshots_deleted += 1;
        }
        snapshots = after;
        if run % 10 == 0 {
            assert_no_duplicates(&m, run).await;
        }
        previous = Some(status);
        if run % 10 == 0 {
            println!("run {run}: {:.1} s, {} requests, {figures:?}", started.elapsed().as_secs_f64(), proxy.requests());
        }
    }

    // Faults stop: one or two clean runs converge.
    proxy.set_rate(0.0);
    let mut now = start + runs as i64 * HOUR;
    let mut converged = None;
    for clean in 0..3 {
        let validated = validate("soak", &spec).expect("valid policy");
        let cloud = connector.connect(&validated.aws).await.expect("connect");
        let planned = engine::observe_and_plan(cloud.as_ref(), validated, now).await;
        println!("clean run {clean}: drift {}", planned.drift_count());
        if planned.drift_count() == 0 {
            converged = Some(clean);
            break;
        }
        let applied = engine::act(cloud.as_ref(), planned).await;
        assert!(applied.succeeded(), "clean run {clean} failed: {:?}", applied.first_error());
        now += 25 * HOUR;
    }
    figures.convergence_runs = converged.expect("the account converges within two clean runs once faults stop");
    assert!(figures.convergence_runs <= 2);

    // The converged account: exactly the desired state, nothing else touched.
    assert_no_duplicates(&m, runs).await;
    assert_endpoints_converged(&m).await;
    let left = snapshot_tags(&m.account).await;
    assert!(m.expired.iter().all(|id| !left.contains_key(id)), "every expired snapshot is deleted: {left:?}");
    assert!(m.protected.iter().all(|id| left.contains_key(id)), "every protected snapshot survives: {left:?}");
    assert_eq!(
        rules(&m.account, &m.sg_ssh).await,
        [("tcp".to_string(), 22, 22, "10.0.0.0/8".to_string()), ("tcp".to_string(), 443, 443, "0.0.0.0/0".to_string())]
    );
    assert_eq!(
        rules(&m.account, &m.sg_wide).await,
        [("tcp".to_string(), 0, 21, "0.0.0.0/0".to_string()), ("tcp".to_string(), 23, 65535, "0.0.0.0/0".to_string())]
    );

    let injected = proxy.injected();
    let total: u64 = injected.values().sum();
    println!("enforce soak: {figures:?}");
    println!(
        "enforce soak: {} requests, {total} faulted ({:.1}%): {injected:?}",
        proxy.requests(),
        100.0 * total as f64 / proxy.requests() as f64
    );
    println!("enforce soak: {:.1} s", started.elapsed().as_secs_f64());
    for kind in FaultKind::ALL {
        assert!(injected.get(&kind).copied().unwrap_or(0) > 0, "the soak injected no {kind:?}");
    }
    assert!(figures.areas_observation_failed > 0 && figures.failing_conditions > 0, "faults must reach status: {figures:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_soak_under_faults_makes_no_mutating_call() {
    let m = seed().await;
    m.account.clear_requests().await;
    let proxy = FaultProxy::start(&emulator().url, seed_from_env() + 1, fault_config()).await;
    let connector = proxy.connector();
    let spec = policy(&m.account, "Audit").spec;
    let runs = runs_from_env(200) / 2;
    let start = Timestamp::now().as_second();
    let mut previous = None;
    for run in 0..runs {
        let now = start + run as i64 * HOUR;
        let validated = validate("soak", &spec).expect("valid policy");
        let cloud = connector.connect(&validated.aws).await.expect("connect");
        let planned = engine::observe_and_plan(cloud.as_ref(), validated, now).await;
        let applied = engine::act(cloud.as_ref(), planned).await;
        failed_reads_acted_on_nothing(&applied);
        let status = report::status(&applied, previous.as_ref(), Some(1), &time_at(now));
        failing_conditions_name_the_operation(&status, run);
        previous = Some(status);
    }
    // Through the proxy (including requests it faulted and never forwarded) and at the emulator.
    let seen = proxy.seen();
    let mutating: Vec<_> = seen.iter().filter(|s| is_mutating_operation(&s.operation)).collect();
    assert!(mutating.is_empty(), "Audit mode sent mutating requests: {mutating:?}");
    let recorded = m.account.mutating_requests().await;
    assert!(recorded.is_empty(), "Audit mode reached AWS with mutating requests: {recorded:?}");
    println!("audit soak: {runs} runs, {} requests, injected {:?}, 0 mutating", seen.len(), proxy.injected());
}

#[test]
fn condition_messages_are_checked_for_an_operation_name() {
    assert!(names_an_operation(
        "DescribeSnapshots failed (throttled): RequestLimitExceeded: Request limit exceeded.; no snapshot was deleted"
    ));
    assert!(names_an_operation("1 of 2 changes failed: create endpoint: CreateVpcEndpoint failed (network): io error"));
    assert!(!names_an_operation("unknown error"));
    assert!(!names_an_operation("something failed (network)"));
}

#[tokio::test]
async fn the_proxy_is_deterministic_and_stops_faulting_at_rate_zero() {
    let account = TestAccount::new().await;
    // Credentials first (AssumeRole goes straight to the emulator), so only DescribeVpcs is timed.
    account.ec2.describe_vpcs().send().await.expect("DescribeVpcs");
    let mut decisions = Vec::new();
    for _ in 0..2 {
        let proxy =
            FaultProxy::start(&emulator().url, 7, FaultConfig { hold: Duration::from_millis(900), ..FaultConfig::uniform(0.5) }).await;
        let client = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(&account.config)
                .endpoint_url(&proxy.url)
                .retry_config(aws_config::retry::RetryConfig::disabled())
                .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_attempt_timeout(Duration::from_millis(600)).build())
                .build(),
        );
        let mut outcomes = Vec::new();
        for _ in 0..30 {
            outcomes.push(client.describe_vpcs().send().await.is_ok());
        }
        let faults: Vec<_> = proxy.seen().iter().filter(|s| s.operation == "DescribeVpcs").map(|s| s.fault).collect();
        assert!(faults.iter().any(Option::is_some) && faults.iter().any(Option::is_none), "{faults:?}");
        proxy.set_rate(0.0);
        for _ in 0..10 {
            client.describe_vpcs().send().await.expect("no fault at rate 0");
        }
        decisions.push((faults, outcomes));
    }
    assert_eq!(decisions[0], decisions[1], "the same seed makes the same decisions");
    // Each proxy faulted only what it decided to; the emulator saw only what was forwarded.
    let forwarded = decisions[0].0.iter().filter(|f| f.is_none_or(FaultKind::forwards)).count() * 2 + 20 + 1;
    let recorded = account.requests().await.iter().filter(|r| r.operation == "DescribeVpcs").count();
    assert_eq!(recorded, forwarded, "faulted requests never reach the emulator");
}
