//! accessKeys against the AWS emulator: Audit reports unused keys and makes no mutating call;
//! Enforce deactivates an unused key (never deleting it), never an excluded user's key and
//! never the key the operator itself signs with.

mod common;

use std::sync::Arc;

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_iam::types::{StatusType, Tag};
use common::{TestAccount, emulator, fast_pacing, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::validate::validate;
use frugal_operator::aws::AwsConnector;
use frugal_operator::engine::{self, AppliedRun, CloudConnector, report};
use frugal_operator::metrics::Metrics;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const DAY: i64 = 86_400;

fn iam(account: &TestAccount) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&account.config)
}

/// A user with one access key (never used); returns (key id, secret).
async fn user_with_key(iam: &aws_sdk_iam::Client, name: &str, tags: &[(&str, &str)]) -> (String, String) {
    let tags: Vec<Tag> = tags.iter().map(|(k, v)| Tag::builder().key(*k).value(*v).build().expect("tag")).collect();
    iam.create_user().user_name(name).set_tags(Some(tags)).send().await.expect("CreateUser");
    let key = iam.create_access_key().user_name(name).send().await.expect("CreateAccessKey");
    let key = key.access_key().expect("access key");
    (key.access_key_id().to_string(), key.secret_access_key().to_string())
}

async fn status_of(iam: &aws_sdk_iam::Client, user: &str) -> Vec<StatusType> {
    let keys = iam.list_access_keys().user_name(user).send().await.expect("ListAccessKeys");
    keys.access_key_metadata().iter().filter_map(|k| k.status().cloned()).collect()
}

fn policy(account: &TestAccount, mode: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: keys}}\nspec:\n  mode: {mode}\n  aws: {{region: eu-west-1}}\n  \
             accessKeys: {{maxUnusedDays: 30, deactivateUnused: true, gracePeriod: 0s, \
             exclude: {{userNames: [break-glass], userTags: {{frugal.dev/keep: 'true'}}}}}}\n"
        ),
    )
}

/// One run 100 days from now: every key created by the test is unused for 100 days.
async fn run_later(connector: Arc<AwsConnector>, policy: &CostPolicy) -> AppliedRun {
    let validated = validate("keys", &policy.spec).expect("valid policy");
    let cloud = connector.connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second() + 100 * DAY).await;
    engine::act(cloud.as_ref(), planned).await
}

#[tokio::test]
async fn audit_reports_unused_keys_and_makes_no_mutating_call() {
    let account = TestAccount::new().await;
    let iam = iam(&account);
    user_with_key(&iam, "ci", &[]).await;
    user_with_key(&iam, "break-glass", &[]).await;
    account.clear_requests().await;

    let applied = run_later(account.connector(), &policy(&account, "Audit")).await;
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let keys = status.access_keys.expect("accessKeys status");
    assert_eq!((keys.users_in_scope, keys.active_keys, keys.keys_unused, keys.keys_never_used), (1, 1, 1, 1), "{keys:#?}");
    assert_eq!(keys.keys[0].user_name, "ci");
    assert_eq!(keys.keys[0].last_used_date, None, "never used: AWS (and the emulator) give no LastUsedDate");
    let mutating: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(mutating, Vec::<String>::new(), "Audit makes no mutating call");
    assert_eq!(status_of(&iam, "ci").await, [StatusType::Active]);
}

#[tokio::test]
async fn enforce_deactivates_the_unused_key_never_an_excluded_users_nor_its_own() {
    let account = TestAccount::new().await;
    let iam = iam(&account);
    user_with_key(&iam, "ci", &[]).await;
    user_with_key(&iam, "break-glass", &[]).await;
    user_with_key(&iam, "kept", &[("frugal.dev/keep", "true")]).await;
    let (id, secret) = user_with_key(&iam, "operator", &[]).await;
    // The operator signs with the key of the IAM user `operator` (no role).
    let mut policy = policy(&account, "Enforce");
    policy.spec.aws.role_arn = None;
    let own = SharedCredentialsProvider::new(Credentials::new(id, secret, None, None, "operator"));
    let connector = Arc::new(AwsConnector::new(Metrics::new(), fast_pacing()).with_overrides(Some(emulator().url.clone()), Some(own)));

    let applied = run_later(connector, &policy).await;
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let keys = status.access_keys.expect("accessKeys status");
    assert_eq!((keys.deactivated_last_run, keys.own_keys_excluded), (1, 1), "{keys:#?}");
    assert_eq!(status_of(&iam, "ci").await, [StatusType::Inactive], "deactivated");
    assert_eq!(status_of(&iam, "break-glass").await, [StatusType::Active]);
    assert_eq!(status_of(&iam, "kept").await, [StatusType::Active]);
    assert_eq!(status_of(&iam, "operator").await, [StatusType::Active], "never its own key");
    let deleted = account.requests().await.into_iter().filter(|r| r.operation == "DeleteAccessKey").count();
    assert_eq!(deleted, 0, "a key is never deleted");
}
