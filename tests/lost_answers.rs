//! A retry after a lost answer is not a failure. A proxy forwards the first call of each
//! mutating operation to the emulator, where it takes effect, and loses the answer (a 500 or
//! a reset); the SDK's retry then meets what the first try made (a duplicate rule, an
//! existing association or vault, a snapshot already gone). Such a run must report success
//! and leave the account as planned. Where what exists is not what was asked (someone else
//! acted between plan and act), the error must still be reported.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::fault_proxy::{FaultConfig, FaultKind, FaultProxy, LostAs};
use common::{REGION, RuleRow, TestAccount, emulator, policy_for, rule_row};
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::validate::validate;
use frugal_operator::aws::SdkLimits;
use frugal_operator::engine::{self, AppliedRun, Cloud, CloudConnector, CloudError, PlannedRun, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const SPLIT: &str = "  ssmAccess: {revokeWorldSsh: true}\n";
const ATTACH: &str = "  ssmAccess: {instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}}\n";
const RETENTION: &str = "  snapshotRetention: {maxAgeDays: 30, maxDeletionsPerRun: 10, gracePeriod: 0s}\n";
const BACKUP: &str = "  backup:
    vault: {name: lost-vault, create: true}
    plan:
      name: lost-daily
      rules:
        - {name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}
    selection: {iamRoleArn: 'arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole', tags: {backup: daily}}
";

fn policy_yaml(account: &TestAccount, areas: &[&str]) -> String {
    format!(
        "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: lost}}\nspec:\n  mode: Enforce\n  aws: {{region: {REGION}, roleArn: '{}'}}\n{}",
        account.role_arn,
        areas.concat()
    )
}

async fn proxy(lost: LostAs) -> FaultProxy {
    FaultProxy::start(&emulator().url, 1, FaultConfig::losing_first_answers(lost)).await
}

/// Observes and plans through the proxy; the caller acts (after changing the account, to
/// play someone who acts between plan and act).
async fn plan_via(proxy: &FaultProxy, account: &TestAccount, areas: &[&str]) -> (Arc<dyn Cloud>, PlannedRun) {
    let policy = policy_for(account, &policy_yaml(account, areas));
    let validated = validate("lost", &policy.spec).expect("valid policy");
    // No timeout is injected: a slow first call of the emulator must not look like one.
    let limits = SdkLimits { initial_backoff: Duration::from_millis(20), max_attempts: 3, ..SdkLimits::default() };
    let cloud = proxy.connector_with(limits).connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    (cloud, planned)
}

async fn run_via(proxy: &FaultProxy, account: &TestAccount, areas: &[&str]) -> AppliedRun {
    let (cloud, planned) = plan_via(proxy, account, areas).await;
    engine::act(cloud.as_ref(), planned).await
}

/// Every change of the run with its outcome, described.
fn outcomes(applied: &AppliedRun) -> Vec<(String, Result<Option<String>, CloudError>)> {
    let mut all = Vec::new();
    macro_rules! collect {
        ($area:expr) => {
            if let Some(area) = &$area {
                all.extend(area.results.iter().map(|r| (r.change.describe(), r.outcome.clone())));
            }
        };
    }
    collect!(applied.areas.gateway_endpoints);
    collect!(applied.areas.snapshot_retention);
    collect!(applied.areas.ssm_access);
    collect!(applied.areas.backup);
    all
}

/// The run succeeded, every change it made is done (none failed or skipped), and the proxy
/// did lose the first answer of each of `operations`.
fn assert_all_done(applied: &AppliedRun, proxy: &FaultProxy, operations: &[&str]) {
    let outcomes = outcomes(applied);
    assert!(applied.succeeded(), "{:?}\n{outcomes:#?}", applied.first_error());
    assert!(!outcomes.is_empty() && outcomes.iter().all(|(_, o)| o.is_ok()), "{outcomes:#?}");
    let lost: BTreeSet<String> = proxy.seen().into_iter().filter(|s| s.fault == Some(FaultKind::LostAnswer)).map(|s| s.operation).collect();
    for operation in operations {
        assert!(lost.contains(*operation), "the answer of {operation} was not lost: {lost:?}");
    }
}

/// The only failed change of the run, as "description: error".
fn only_failure(applied: &AppliedRun) -> String {
    let failures: Vec<String> = outcomes(applied).into_iter().filter_map(|(what, o)| o.err().map(|e| format!("{what}: {e}"))).collect();
    assert_eq!(failures.len(), 1, "{failures:#?}");
    assert!(!applied.succeeded());
    failures[0].clone()
}

async fn next_run_finds_nothing_to_do(proxy: &FaultProxy, account: &TestAccount, areas: &[&str]) {
    let (_, planned) = plan_via(proxy, account, areas).await;
    assert_eq!(planned.drift_count(), 0, "the next run has drift");
}

fn world(protocol: &str, from: i32, to: i32, description: &str) -> RuleRow {
    rule_row(protocol, from, to, "0.0.0.0/0", description)
}

/// A group open to the world on every tcp port (the split's case) and one open on tcp/22.
async fn open_groups(account: &TestAccount) -> (String, String) {
    let wide = account.security_group("wide-open").await;
    account.allow_tcp(&wide, 0, 65535, "0.0.0.0/0", Some("legacy")).await;
    let ssh = account.security_group("ssh-open").await;
    account.allow_tcp(&ssh, 22, 22, "0.0.0.0/0", None).await;
    (wide, ssh)
}

/// `count` snapshots of 10 GiB, 40 days old: expired under RETENTION.
async fn expired_snapshots(account: &TestAccount, count: usize) -> Vec<String> {
    let (_, ids) = account.snapshots_of_new_volume(count, 10).await;
    account.age_snapshots(&ids, 40).await;
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_split_whose_answers_were_lost_is_done() {
    let account = TestAccount::new().await;
    let (wide, ssh) = open_groups(&account).await;
    let proxy = proxy(LostAs::ServerError).await;

    let applied = run_via(&proxy, &account, &[SPLIT]).await;

    assert_all_done(&applied, &proxy, &["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"]);
    assert_eq!(
        account.ingress_rules(&wide).await,
        [world("tcp", 0, 21, "legacy (split by frugal)"), world("tcp", 23, 65535, "legacy (split by frugal)")],
        "the remainder once, the wide rule revoked"
    );
    assert!(account.ingress_rules(&ssh).await.is_empty());
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let ssm = status.ssm_access.as_ref().expect("status.ssmAccess");
    assert_eq!((ssm.world_ssh_revoked, ssm.world_ssh_split), (1, 1));
    next_run_finds_nothing_to_do(&proxy, &account, &[SPLIT]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_duplicate_that_is_not_all_that_was_asked_is_still_an_error() {
    let account = TestAccount::new().await;
    let (wide, _) = open_groups(&account).await;
    let proxy = proxy(LostAs::ServerError).await;
    let (cloud, planned) = plan_via(&proxy, &account, &[SPLIT]).await;
    // Someone opens 0-21 meanwhile: AWS says Duplicate, but 23-65535 is not there.
    account.allow_tcp(&wide, 0, 21, "0.0.0.0/0", Some("someone")).await;

    let applied = engine::act(cloud.as_ref(), planned).await;

    let failure = only_failure(&applied);
    assert!(failure.contains("AuthorizeSecurityGroupIngress failed (invalid_request): InvalidPermission.Duplicate"), "{failure}");
    assert_eq!(
        account.ingress_rules(&wide).await,
        [world("tcp", 0, 21, "someone"), world("tcp", 0, 65535, "legacy")],
        "the wide rule stays, so no access is lost"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_association_whose_answer_was_lost_is_done() {
    let account = TestAccount::new().await;
    let group = account.security_group("app").await;
    let instance = account.launch_instance(&[&group], None).await;
    let proxy = proxy(LostAs::Reset).await;

    let applied = run_via(&proxy, &account, &[ATTACH]).await;

    assert_all_done(
        &applied,
        &proxy,
        &["CreateRole", "AttachRolePolicy", "CreateInstanceProfile", "AddRoleToInstanceProfile", "AssociateIamInstanceProfile"],
    );
    assert_eq!(account.instance_profile_name(&instance).await.as_deref(), Some("frugal-ssm"));
    let iam = aws_sdk_iam::Client::new(&account.config);
    let profile = iam.get_instance_profile().instance_profile_name("frugal-ssm").send().await.expect("GetInstanceProfile");
    let roles: Vec<&str> = profile.instance_profile().map(|p| p.roles().iter().map(|r| r.role_name()).collect()).unwrap_or_default();
    assert_eq!(roles, ["frugal-ssm"]);
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    assert_eq!(status.ssm_access.as_ref().map(|s| s.instances.attached_last_run), Some(1));
    next_run_finds_nothing_to_do(&proxy, &account, &[ATTACH]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_association_is_still_an_error() {
    let account = TestAccount::new().await;
    let group = account.security_group("app").await;
    let instance = account.launch_instance(&[&group], None).await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    iam.create_instance_profile().instance_profile_name("theirs").send().await.expect("CreateInstanceProfile");
    let proxy = proxy(LostAs::Reset).await;
    let (cloud, planned) = plan_via(&proxy, &account, &[ATTACH]).await;
    // Someone attaches their profile meanwhile.
    account
        .ec2
        .associate_iam_instance_profile()
        .instance_id(&instance)
        .iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name("theirs").build())
        .send()
        .await
        .expect("AssociateIamInstanceProfile");

    let applied = engine::act(cloud.as_ref(), planned).await;

    let failure = only_failure(&applied);
    assert!(failure.contains("AssociateIamInstanceProfile failed (invalid_request): IncorrectState"), "{failure}");
    assert_eq!(account.instance_profile_name(&instance).await.as_deref(), Some("theirs"), "never replaced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_whose_delete_answer_was_lost_counts_as_deleted() {
    let account = TestAccount::new().await;
    expired_snapshots(&account, 2).await;
    let proxy = proxy(LostAs::ServerError).await;

    let applied = run_via(&proxy, &account, &[RETENTION]).await;

    assert_all_done(&applied, &proxy, &["CreateTags", "DeleteSnapshot"]);
    assert!(account.snapshot_ids().await.is_empty());
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let snapshots = status.snapshot_retention.as_ref().expect("status.snapshotRetention");
    assert_eq!((snapshots.deleted_last_run, snapshots.deleted_gib_last_run, snapshots.failed_last_run), (2, 20, 0));
    assert_eq!(snapshots.skipped, Default::default(), "a snapshot gone after our delete is not one AWS protects");
    let condition = conditions::find(&status.conditions, conditions::SNAPSHOTS_IN_SYNC).expect("condition");
    assert_eq!(condition.reason, reason::RECONCILED, "{}", condition.message);
    next_run_finds_nothing_to_do(&proxy, &account, &[RETENTION]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_an_ami_took_meanwhile_is_kept_not_counted_as_deleted() {
    let account = TestAccount::new().await;
    let old = expired_snapshots(&account, 1).await;
    let proxy = proxy(LostAs::ServerError).await;
    let (cloud, planned) = plan_via(&proxy, &account, &[RETENTION]).await;
    account.register_ami("baked-meanwhile", &old[0]).await;

    let applied = engine::act(cloud.as_ref(), planned).await;

    assert_eq!(account.snapshot_ids().await, old.iter().cloned().collect::<BTreeSet<_>>());
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let snapshots = status.snapshot_retention.as_ref().expect("status.snapshotRetention");
    assert_eq!((snapshots.deleted_last_run, snapshots.skipped.used_by_ami), (0, 1), "protected, as AWS says");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_vault_plan_and_selection_whose_answers_were_lost_are_done() {
    let account = TestAccount::new().await;
    let proxy = proxy(LostAs::ServerError).await;

    let applied = run_via(&proxy, &account, &[BACKUP]).await;

    assert_all_done(&applied, &proxy, &["PUT /backup-vaults/lost-vault", "PUT /backup/plans"]);
    let backup = account.backup();
    let vaults = backup.list_backup_vaults().send().await.expect("ListBackupVaults");
    assert_eq!(vaults.backup_vault_list().iter().filter_map(|v| v.backup_vault_name()).collect::<Vec<_>>(), ["lost-vault"]);
    let (plan_id, _) = account.live_backup_plan("lost-daily").await.expect("the plan");
    assert_eq!(account.backup_selections(&plan_id).await.len(), 1);
    next_run_finds_nothing_to_do(&proxy, &account, &[BACKUP]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vault_someone_else_made_meanwhile_is_still_an_error() {
    let account = TestAccount::new().await;
    let proxy = proxy(LostAs::ServerError).await;
    let (cloud, planned) = plan_via(&proxy, &account, &[BACKUP]).await;
    account.backup().create_backup_vault().backup_vault_name("lost-vault").send().await.expect("CreateBackupVault");

    let applied = engine::act(cloud.as_ref(), planned).await;

    let failure = only_failure(&applied);
    assert!(failure.contains("CreateBackupVault failed (invalid_request): AlreadyExistsException"), "{failure}");
    assert!(account.live_backup_plan("lost-daily").await.is_none(), "nothing is built on someone else's vault");
}

/// What a user runs: `frugal apply` through the proxy exits 0 and says every change was
/// made, and `frugal plan` afterwards finds nothing to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frugal_apply_exits_0_when_the_first_answer_of_every_change_is_lost() {
    let account = TestAccount::new().await;
    open_groups(&account).await;
    let group = account.security_group("app").await;
    account.launch_instance(&[&group], None).await;
    expired_snapshots(&account, 2).await;
    let areas = [
        RETENTION,
        "  ssmAccess: {revokeWorldSsh: true, instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}}\n",
        BACKUP,
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("policy.yaml");
    std::fs::write(&file, policy_yaml(&account, &areas)).expect("write policy");
    let proxy = proxy(LostAs::ServerError).await;

    let frugal = |verb: &'static str, url: String, file: std::path::PathBuf| {
        tokio::task::spawn_blocking(move || {
            common::frugal_command().args([verb, "-f"]).arg(file).env("AWS_ENDPOINT_URL", url).output().expect("run frugal")
        })
    };
    let apply = frugal("apply", proxy.url.clone(), file.clone()).await.expect("join");
    let text = String::from_utf8_lossy(&apply.stdout);
    assert_eq!(apply.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&apply.stderr));
    assert!(text.contains(" 0 skipped, 0 failed."), "{text}");
    assert!(proxy.injected().get(&FaultKind::LostAnswer).copied().unwrap_or(0) >= 10, "{:?}", proxy.injected());
    assert!(account.snapshot_ids().await.is_empty());

    let plan = frugal("plan", emulator().url.clone(), file).await.expect("join");
    assert_eq!(plan.status.code(), Some(0), "in sync: {}", String::from_utf8_lossy(&plan.stdout));
}
