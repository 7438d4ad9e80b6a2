//! cloudWatch against the AWS emulator (CloudWatch over the Rust SDK's RPC v2 CBOR, CloudWatch
//! Logs over JSON, the project's extensions W1–W5 where moto differs from AWS): retention set
//! only where none is, the status-check alarm of a running instance (never of a stopped one),
//! orphan alarms of this policy retired and someone else's kept, every page read.

mod common;

use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic, Tag};
use common::{REGION, TestAccount, control, policy_for};
use frugal_operator::api::CloudWatchStatus;
use frugal_operator::api::validate::validate;
use frugal_operator::engine::{self, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:ops-alerts";

fn section(orphans: &str, grace: &str) -> String {
    format!(
        "{{logRetention: {{days: 30, selector: {{logGroupPrefixes: [/aws/lambda/]}}}}, instanceAlarms: {{notify: '{TOPIC}'}}, \
         orphanAlarms: {orphans}, gracePeriod: {grace}}}"
    )
}

async fn run(account: &TestAccount, mode: &str, cloud_watch: &str) -> CloudWatchStatus {
    let yaml = format!(
        "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: ops}}\nspec:\n  mode: {mode}\n  aws: {{region: {REGION}}}\n  cloudWatch: {cloud_watch}\n"
    );
    let policy = policy_for(account, &yaml);
    let validated = validate("ops", &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    let applied = engine::act(cloud.as_ref(), planned).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    report::status(&applied, None, Some(1), &Time(Timestamp::now())).cloud_watch.expect("cloudWatch status")
}

fn logs(account: &TestAccount) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(&account.config)
}

async fn log_group(account: &TestAccount, name: &str, days: Option<i32>, gb: u64) {
    logs(account).create_log_group().log_group_name(name).send().await.expect("CreateLogGroup");
    if let Some(days) = days {
        logs(account).put_retention_policy().log_group_name(name).retention_in_days(days).send().await.expect("PutRetentionPolicy");
    }
    control(
        "/_frugal/logs/stored-bytes",
        json!({"account": account.id, "region": REGION, "logGroupName": name, "storedBytes": gb * 1_000_000_000}),
    )
    .await;
}

async fn retention(account: &TestAccount, name: &str) -> Option<i32> {
    let groups = logs(account).describe_log_groups().log_group_name_prefix(name).send().await.expect("DescribeLogGroups");
    groups.log_groups().iter().find(|g| g.log_group_name() == Some(name)).and_then(|g| g.retention_in_days())
}

/// A StatusCheckFailed alarm on `instance` made by someone (tagged `tags`).
async fn hand_made_alarm(account: &TestAccount, name: &str, instance: &str, tags: &[(&str, &str)]) {
    let mut request = account
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/EC2")
        .metric_name("StatusCheckFailed")
        .dimensions(Dimension::builder().name("InstanceId").value(instance).build())
        .statistic(Statistic::Maximum)
        .period(300)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold);
    for (k, v) in tags {
        request = request.tags(Tag::builder().key(*k).value(*v).build());
    }
    request.send().await.expect("PutMetricAlarm");
}

async fn alarm_names(account: &TestAccount) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = None;
    loop {
        let page = account.cloudwatch.describe_alarms().set_next_token(token).send().await.expect("DescribeAlarms");
        names.extend(page.metric_alarms().iter().filter_map(|a| a.alarm_name().map(str::to_string)));
        match page.next_token() {
            Some(next) => token = Some(next.to_string()),
            None => return names,
        }
    }
}

#[tokio::test]
async fn audit_reports_what_enforce_would_do_and_makes_no_mutating_call() {
    let account = TestAccount::new().await;
    log_group(&account, "/aws/lambda/orders", None, 120).await;
    account.launch_instance(&[], None).await;
    hand_made_alarm(&account, "old", "i-0000000000000dead", &[]).await;
    account.clear_requests().await;

    let status = run(&account, "Audit", &section("DeleteAll", "0s")).await;
    assert_eq!((status.log_groups_never_expire, status.never_expire_stored_gb.as_str()), (1, "120.00"), "{status:#?}");
    assert_eq!((status.instances_without_alarms, status.orphan_alarms), (1, 1));
    assert_eq!(account.mutating_requests().await.len(), 0, "Audit makes no mutating call");
}

#[tokio::test]
async fn enforce_sets_retention_alarms_running_instances_and_retires_only_its_own_orphans() {
    let account = TestAccount::new().await;
    log_group(&account, "/aws/lambda/orders", None, 120).await;
    log_group(&account, "/aws/lambda/audit", Some(365), 8).await;
    log_group(&account, "/app/legacy", None, 2).await;
    let running = account.launch_instance(&[], None).await;
    let stopped = account.launch_instance(&[], None).await;
    account.ec2.stop_instances().instance_ids(&stopped).send().await.expect("StopInstances");
    hand_made_alarm(
        &account,
        "frugal-ops-i-0000000000000dead-status-check",
        "i-0000000000000dead",
        &[("frugal.dev/managed-by", "frugal"), ("frugal.dev/policy", "ops")],
    )
    .await;
    hand_made_alarm(&account, "someone's", "i-0000000000000beef", &[]).await;
    hand_made_alarm(&account, "stopped but not gone", &stopped, &[]).await;

    let status = run(&account, "Enforce", &section("Delete", "0s")).await;
    assert_eq!(
        (status.retention_set_last_run, status.alarms_created_last_run, status.orphan_alarms_deleted_last_run),
        (1, 1, 1),
        "{status:#?}"
    );
    assert_eq!(retention(&account, "/aws/lambda/orders").await, Some(30));
    assert_eq!(retention(&account, "/aws/lambda/audit").await, Some(365), "an explicit retention is never shortened by default");
    assert_eq!(retention(&account, "/app/legacy").await, None, "outside the prefixes");
    let mut names = alarm_names(&account).await;
    names.sort();
    let created = format!("frugal-ops-{running}-status-check");
    assert_eq!(names, [created.clone(), "someone's".to_string(), "stopped but not gone".to_string()], "ours retired, someone else's kept");
    let alarm = account.cloudwatch.describe_alarms().alarm_names(&created).send().await.expect("DescribeAlarms");
    let alarm = &alarm.metric_alarms()[0];
    assert_eq!((alarm.metric_name(), alarm.alarm_actions()), (Some("StatusCheckFailed"), [TOPIC.to_string()].as_slice()));
    let tags = account
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(alarm.alarm_arn().expect("arn"))
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(tags.tags().iter().any(|t| t.key() == Some("frugal.dev/policy") && t.value() == Some("ops")), "{tags:?}");

    let again = run(&account, "Enforce", &section("Delete", "0s")).await;
    assert_eq!(
        (again.alarms_created_last_run, again.retention_set_last_run, again.orphan_alarms),
        (0, 0, 1),
        "converged; someone's orphan stays reported"
    );
}

#[tokio::test]
async fn every_page_of_alarms_and_log_groups_is_read() {
    let account = TestAccount::new().await;
    for i in 0..55 {
        logs(&account).create_log_group().log_group_name(format!("/aws/lambda/f{i:03}")).send().await.expect("CreateLogGroup");
    }
    for i in 0..105 {
        hand_made_alarm(&account, &format!("gone-{i:03}"), &format!("i-{i:017x}"), &[]).await;
    }
    account.clear_requests().await;
    let status = run(&account, "Audit", &section("Report", "24h")).await;
    assert_eq!((status.log_groups_never_expire, status.orphan_alarms), (55, 105), "{status:#?}");
    let operations: Vec<String> = account.requests().await.into_iter().map(|r| r.operation).collect();
    let count = |op: &str| operations.iter().filter(|o| *o == op).count();
    assert_eq!((count("DescribeLogGroups"), count("DescribeAlarms")), (2, 2), "50 + 5 groups, 100 + 5 alarms: {operations:?}");
}
