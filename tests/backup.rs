//! The backup area against the AWS emulator: a fresh account converges, a console edit of
//! the plan is reverted with a new version id, a changed selection is replaced without a
//! gap, a second apply makes no mutating call, deletionPolicy Delete cleans up.

mod common;

use common::{TestAccount, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::validate::validate;
use frugal_operator::engine::{self, AppliedRun, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";

fn policy(account: &TestAccount, tags: &str, days: u32) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: backups}}
spec:
  mode: Enforce
  deletionPolicy: Delete
  aws: {{region: eu-west-1}}
  backup:
    vault: {{name: prod-vault, create: true}}
    plan:
      name: prod-daily
      rules:
        - {{name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: {days}}}
    selection: {{iamRoleArn: '{ROLE}', tags: {tags}}}
    coverage: {{requiredTags: {{env: prod}}}}
"
        ),
    )
}

async fn run(account: &TestAccount, policy: &CostPolicy) -> AppliedRun {
    let validated = validate("backups", &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    engine::act(cloud.as_ref(), planned).await
}

fn backup_client(account: &TestAccount) -> aws_sdk_backup::Client {
    aws_sdk_backup::Client::new(&account.config)
}

async fn plan_id(client: &aws_sdk_backup::Client) -> String {
    let plans = client.list_backup_plans().send().await.expect("ListBackupPlans");
    plans
        .backup_plans_list()
        .iter()
        .find(|p| p.backup_plan_name() == Some("prod-daily"))
        .and_then(|p| p.backup_plan_id())
        .expect("plan exists")
        .to_string()
}

async fn selections(client: &aws_sdk_backup::Client, plan_id: &str) -> Vec<String> {
    let answer = client.list_backup_selections().backup_plan_id(plan_id).send().await.expect("ListBackupSelections");
    answer.backup_selections_list().iter().filter_map(|s| s.selection_name().map(str::to_string)).collect()
}

#[tokio::test]
async fn a_fresh_account_converges_and_a_second_apply_changes_nothing() {
    let account = TestAccount::new().await;
    let volume = account.ec2.create_volume().availability_zone("eu-west-1a").size(100).send().await.expect("CreateVolume");
    let volume_id = volume.volume_id().expect("id").to_string();
    account
        .ec2
        .create_tags()
        .resources(&volume_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key("backup").value("daily").build())
        .send()
        .await
        .expect("CreateTags");
    let naked = account.ec2.create_volume().availability_zone("eu-west-1a").size(10).send().await.expect("CreateVolume");
    let naked_id = naked.volume_id().expect("id").to_string();
    account
        .ec2
        .create_tags()
        .resources(&naked_id)
        .tags(aws_sdk_ec2::types::Tag::builder().key("env").value("prod").build())
        .send()
        .await
        .expect("CreateTags");
    let p = policy(&account, "{backup: daily}", 35);

    let first = run(&account, &p).await;
    assert!(first.succeeded(), "{:?}", first.first_error());
    let client = backup_client(&account);
    let id = plan_id(&client).await;
    assert_eq!(selections(&client, &id).await.len(), 1);
    let status = report::status(&first, None, Some(1), &Time(Timestamp::now()));
    let backup = status.backup.as_ref().expect("backup status");
    assert_eq!(backup.plan_id.as_deref(), Some(id.as_str()));
    let live = client.get_backup_plan().backup_plan_id(&id).send().await.expect("GetBackupPlan");
    assert_eq!(backup.plan_version_id.as_deref(), live.version_id(), "the version CreateBackupPlan returned is recorded at once");
    assert!(backup.vault_arn.is_some() && backup.selection_id.is_some());
    assert_eq!((backup.coverage.volumes_covered, backup.coverage.covered_volume_gib), (1, 100));
    assert_eq!(backup.coverage.uncovered, std::slice::from_ref(&naked_id));
    assert_eq!(backup.estimated_monthly_storage_usd, "175.00", "100 GiB × 35 daily recovery points × $0.05, the upper bound");
    let cost = status.cost.as_ref().expect("status.cost");
    assert_eq!(
        (cost.monthly_cost_usd.as_str(), cost.monthly_savings_usd.as_str()),
        ("175.00", "0.00"),
        "the backup storage is a cost beside the savings, not netted against them"
    );
    let condition = conditions::find(&status.conditions, conditions::BACKUP_IN_SYNC).expect("condition");
    assert_eq!(condition.reason, reason::COVERAGE_GAP);

    account.clear_requests().await;
    let second = run(&account, &p).await;
    assert!(second.succeeded(), "{:?}", second.first_error());
    let mutating = account.mutating_requests().await;
    assert!(mutating.is_empty(), "second apply must not mutate: {mutating:?}");
}

/// A fresh account after one successful run of the daily policy, and its plan as created.
struct Converged {
    account: TestAccount,
    p: CostPolicy,
    client: aws_sdk_backup::Client,
    id: String,
    before: aws_sdk_backup::operation::get_backup_plan::GetBackupPlanOutput,
}

async fn converged() -> Converged {
    let account = TestAccount::new().await;
    let p = policy(&account, "{backup: daily}", 35);
    assert!(run(&account, &p).await.succeeded());
    let client = backup_client(&account);
    let id = plan_id(&client).await;
    let before = client.get_backup_plan().backup_plan_id(&id).send().await.expect("GetBackupPlan");
    Converged { account, p, client, id, before }
}

#[tokio::test]
async fn a_console_edit_of_the_plan_is_reverted_with_a_new_version() {
    let Converged { account, p, client, id, before } = converged().await;
    let original_version = before.version_id().expect("version").to_string();

    // Someone shortens retention in the console.
    let rule = aws_sdk_backup::types::BackupRuleInput::builder()
        .rule_name("daily")
        .target_backup_vault_name("prod-vault")
        .schedule_expression("cron(0 5 ? * * *)")
        .start_window_minutes(60)
        .completion_window_minutes(180)
        .lifecycle(aws_sdk_backup::types::Lifecycle::builder().delete_after_days(14).build())
        .build()
        .expect("rule");
    let input = aws_sdk_backup::types::BackupPlanInput::builder().backup_plan_name("prod-daily").rules(rule).build().expect("plan input");
    let edited = client.update_backup_plan().backup_plan_id(&id).backup_plan(input).send().await.expect("UpdateBackupPlan");
    let edited_version = edited.version_id().expect("version").to_string();
    assert_ne!(edited_version, original_version);

    let applied = run(&account, &p).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let after = client.get_backup_plan().backup_plan_id(&id).send().await.expect("GetBackupPlan");
    let days = after.backup_plan().and_then(|p| p.rules().first()).and_then(|r| r.lifecycle()).and_then(|l| l.delete_after_days());
    assert_eq!(days, Some(35));
    let new_version = after.version_id().expect("version").to_string();
    assert!(new_version != edited_version && new_version != original_version);
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let backup = status.backup.expect("status");
    assert_eq!(backup.plan_version_id.as_deref(), Some(new_version.as_str()));
    let corrected = backup.last_drift_corrected.expect("drift corrected");
    assert_eq!(corrected.differences, ["rule daily: deleteAfterDays 14 → 35"]);
    assert_eq!(corrected.version_id.as_deref(), Some(new_version.as_str()));
}

#[tokio::test]
async fn a_plan_renamed_in_the_console_is_found_by_its_tags_and_renamed_back_not_duplicated() {
    let Converged { account, p, client, id, before } = converged().await;
    let rules: Vec<aws_sdk_backup::types::BackupRuleInput> = before
        .backup_plan()
        .map(|p| p.rules())
        .unwrap_or_default()
        .iter()
        .map(|r| {
            aws_sdk_backup::types::BackupRuleInput::builder()
                .rule_name(r.rule_name())
                .target_backup_vault_name(r.target_backup_vault_name())
                .set_schedule_expression(r.schedule_expression().map(str::to_string))
                .set_start_window_minutes(r.start_window_minutes())
                .set_completion_window_minutes(r.completion_window_minutes())
                .set_lifecycle(r.lifecycle().cloned())
                .build()
                .expect("rule")
        })
        .collect();
    let renamed =
        aws_sdk_backup::types::BackupPlanInput::builder().backup_plan_name("old-daily").set_rules(Some(rules)).build().expect("input");
    client.update_backup_plan().backup_plan_id(&id).backup_plan(renamed).send().await.expect("UpdateBackupPlan");

    let applied = run(&account, &p).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let plans = client.list_backup_plans().send().await.expect("ListBackupPlans");
    let live: Vec<(Option<&str>, Option<&str>)> =
        plans.backup_plans_list().iter().map(|p| (p.backup_plan_id(), p.backup_plan_name())).collect();
    assert_eq!(live, [(Some(id.as_str()), Some("prod-daily"))], "the same plan, renamed back; no second plan");
    assert_eq!(selections(&client, &id).await.len(), 1, "its selection kept, none added");
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let corrected = status.backup.and_then(|b| b.last_drift_corrected).expect("drift corrected");
    assert_eq!(corrected.differences, ["name: old-daily (renamed; restored to prod-daily)"]);
}

#[tokio::test]
async fn a_changed_selection_is_replaced_without_a_gap() {
    let account = TestAccount::new().await;
    assert!(run(&account, &policy(&account, "{backup: daily}", 35)).await.succeeded());
    let client = backup_client(&account);
    let id = plan_id(&client).await;
    let old = selections(&client, &id).await;

    account.clear_requests().await;
    let applied = run(&account, &policy(&account, "{backup: hourly}", 35)).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let new = selections(&client, &id).await;
    assert_eq!(new.len(), 1);
    assert_ne!(new, old);
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    let create = operations.iter().position(|o| o == "CreateBackupSelection").expect("created");
    let delete = operations.iter().position(|o| o == "DeleteBackupSelection").expect("deleted");
    assert!(create < delete, "{operations:?}");
}

#[tokio::test]
async fn deletion_policy_delete_removes_selection_plan_and_the_empty_vault() {
    let account = TestAccount::new().await;
    let p = policy(&account, "{backup: daily}", 35);
    assert!(run(&account, &p).await.succeeded());
    let validated = validate("backups", &p.spec).expect("valid");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let deleted = engine::cleanup(cloud.as_ref(), &validated).await.expect("cleanup");
    assert_eq!(deleted.len(), 3, "{deleted:?}");
    let client = backup_client(&account);
    let plans = client.list_backup_plans().send().await.expect("ListBackupPlans");
    assert!(plans.backup_plans_list().iter().all(|p| p.backup_plan_name() != Some("prod-daily")));
    let vault = client.describe_backup_vault().backup_vault_name("prod-vault").send().await;
    assert!(vault.is_err(), "the vault is gone");
}

#[tokio::test]
async fn a_vault_with_recovery_points_survives_cleanup() {
    let account = TestAccount::new().await;
    let p = policy(&account, "{backup: daily}", 35);
    assert!(run(&account, &p).await.succeeded());
    let answer = common::control(
        "/_frugal/backup/recovery-points",
        serde_json::json!({"account": account.id, "region": common::REGION, "vault_name": "prod-vault",
            "resource_arn": format!("arn:aws:ec2:{}:{}:volume/vol-0123456789abcdef0", common::REGION, account.id), "size_bytes": 1024}),
    )
    .await;
    assert!(answer.get("error").is_none(), "{answer}");
    let validated = validate("backups", &p.spec).expect("valid");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let deleted = engine::cleanup(cloud.as_ref(), &validated).await.expect("cleanup");
    assert_eq!(deleted.len(), 2, "selection and plan only: {deleted:?}");
    assert!(backup_client(&account).describe_backup_vault().backup_vault_name("prod-vault").send().await.is_ok());
}

#[tokio::test]
async fn audit_mode_reports_a_missing_plan_and_changes_nothing() {
    let account = TestAccount::new().await;
    let mut p = policy(&account, "{backup: daily}", 35);
    p.spec.mode = frugal_operator::api::Mode::Audit;
    let applied = run(&account, &p).await;
    assert!(applied.succeeded());
    assert!(account.mutating_requests().await.is_empty());
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let condition = conditions::find(&status.conditions, conditions::BACKUP_IN_SYNC).expect("condition");
    assert_eq!(condition.reason, reason::DRIFT_FOUND);
}
