//! accessKeys through the controller: Enforce marks the user of an unused key, and once the
//! grace period has passed deactivates the key and removes the mark, never touching the
//! operator's own key or an excluded user's; Audit changes nothing.

use crate::api::AccessKeysSpec;
use crate::plan::access_keys::{AccessKey, AccessKeysInventory, IamUser, MARK_PREFIX};

use super::*;

const DAY: i64 = 86_400;
const UNUSED: &str = "AKIAUNUSED0000000001";
const OWN: &str = "AKIAOWN0000000000001";
const KEPT: &str = "AKIAKEPT000000000001";

fn now() -> i64 {
    k8s_openapi::jiff::Timestamp::now().as_second()
}

fn user(name: &str, key_id: &str, created: i64) -> IamUser {
    IamUser {
        name: name.to_string(),
        tags: Tags::new(),
        keys: vec![AccessKey { id: key_id.to_string(), active: true, created, last_used: None }],
    }
}

/// Three users with a key created at `created` and never used: `ci`, the operator's own, and
/// `break-glass`.
fn keys_drift(created: i64) -> AccessKeysInventory {
    AccessKeysInventory {
        users: vec![user("ci", UNUSED, created), user("operator", OWN, created), user("break-glass", KEPT, created)],
        caller_arn: "arn:aws:iam::123456789012:user/operator".to_string(),
    }
}

fn keys_only(policy: CostPolicy) -> CostPolicy {
    let section: AccessKeysSpec =
        serde_yaml::from_str("{deactivateUnused: true, gracePeriod: 168h, exclude: {userNames: [break-glass]}}").expect("fixture parses");
    policy.with_spec(|spec| {
        spec.gateway_endpoints = None;
        spec.access_keys = Some(section);
    })
}

fn key_of<'a>(inventory: &'a AccessKeysInventory, user: &str) -> &'a IamUser {
    inventory.users.iter().find(|u| u.name == user).unwrap_or_else(|| panic!("no user {user}"))
}

#[tokio::test]
async fn access_keys_enforce_marks_the_unused_key_then_deactivates_it_after_the_grace_period() {
    let mut harness = Harness::new(FakeCloud::default().with_access_keys(keys_drift(now() - 400 * DAY)));
    let policy = keys_only(CostPolicy::test().with_finalizer().enforce());
    let applied = Arc::new(Mutex::new(None));
    let slot = applied.clone();
    harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            // Marked, waiting for the grace period: not in sync yet, Ready says what is pending.
            assert_condition(&status, "AccessKeysInSync", "False", "DeactivationPending");
            assert_condition(&status, "Ready", "True", "DeactivationPending");
            let keys = &status["accessKeys"];
            assert_eq!((keys["usersInScope"].as_u64(), keys["activeKeys"].as_u64(), keys["marked"].as_u64()), (Some(2), Some(2), Some(1)));
            assert_eq!((keys["ownKeysExcluded"].as_u64(), keys["keysNeverUsed"].as_u64()), (Some(1), Some(2)), "{keys:#}");
            let states: Vec<(&str, &str)> = keys["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| (k["accessKeyId"].as_str().unwrap_or_default(), k["state"].as_str().unwrap_or_default()))
                .collect();
            assert_eq!(states, [(UNUSED, "Marked"), (OWN, "Excluded")]);
            let marked = api.expect_event("Normal", "AccessKeysMarked").await;
            assert_eq!(marked["action"], "TagUser");
            assert!(note(&marked).contains(UNUSED), "{marked:#}");
            *lock(&slot) = Some(status);
            api
        })
        .await
        .expect("reconcile succeeds");
    let mark = format!("{MARK_PREFIX}{UNUSED}");
    let account = harness.cloud.access_keys();
    assert!(key_of(&account, "ci").tags.contains_key(&mark), "the user carries the mark");
    assert!(account.users.iter().all(|u| u.keys.iter().all(|k| k.active)), "nothing is deactivated in the first run");

    // The grace period passes.
    lock(&harness.cloud.account).access_keys.users[0].tags.insert(mark.clone(), crate::plan::snapshot_retention::rfc3339(now() - 60));
    let mut again = policy;
    again.status = Some(serde_json::from_value(lock(&applied).take().expect("status was applied")).expect("a CostPolicyStatus"));
    let before = harness.cloud.calls().len();
    harness
        .reconcile(again, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "AccessKeysInSync", "True", "Reconciled");
            let keys = &status["accessKeys"];
            assert_eq!((keys["deactivatedLastRun"].as_u64(), keys["deactivatedTotal"].as_u64()), (Some(1), Some(1)), "{keys:#}");
            assert_eq!((keys["activeKeys"].as_u64(), keys["marked"].as_u64()), (Some(1), Some(0)));
            let deactivated = api.expect_event("Normal", "AccessKeysDeactivated").await;
            assert_eq!(deactivated["action"], "UpdateAccessKey");
            api
        })
        .await
        .expect("second reconcile succeeds");
    assert_eq!(
        harness.cloud.calls()[before..],
        [
            CloudCall::Connect,
            CloudCall::ObserveAccessKeys,
            CloudCall::AccessKeysChange(format!("deactivate key {UNUSED} of user ci (unused for 400 days; not deleted)")),
        ]
    );
    let account = harness.cloud.access_keys();
    let ci = key_of(&account, "ci");
    assert!(!ci.keys[0].active && !ci.tags.contains_key(&mark), "deactivated (not deleted) and unmarked");
    assert!(key_of(&account, "operator").keys[0].active && key_of(&account, "break-glass").keys[0].active);
}

#[tokio::test]
async fn access_keys_audit_reports_the_unused_keys_and_never_calls_a_mutating_api() {
    let created = now() - 400 * DAY;
    let mut harness = Harness::new(FakeCloud::default().with_access_keys(keys_drift(created)));
    harness
        .reconcile(keys_only(CostPolicy::test().with_finalizer()), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "AccessKeysInSync", "False", "DriftFound");
            let keys = &status["accessKeys"];
            assert_eq!(
                (keys["keysUnused"].as_u64(), keys["marked"].as_u64(), keys["findings"].as_u64()),
                (Some(2), Some(0), Some(2)),
                "{keys:#}"
            );
            api
        })
        .await
        .expect("reconcile succeeds");
    let calls = harness.cloud.calls();
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveAccessKeys]);
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(harness.cloud.access_keys(), keys_drift(created), "the account is untouched");
}

#[tokio::test]
async fn of_two_policies_of_one_account_only_the_first_by_name_deactivates_keys_whatever_the_region() {
    use kube::runtime::{reflector, watcher};
    let mut harness = Harness::new(FakeCloud::default().with_access_keys(keys_drift(now() - 400 * DAY)));
    let second = keys_only(CostPolicy::test().with_finalizer().enforce());
    // The first by name acts on the account from another region: IAM is global.
    let first = second.clone().with_spec(|spec| spec.aws.region = "us-east-1".to_string());
    let mut second = second;
    second.metadata.name = Some("team-b".to_string());
    second.metadata.uid = Some("5d0c1f0e-2b6a-4f53-8e8e-6f7b9a1c2d33".to_string());
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Apply(first.clone()));
    writer.apply_watcher_event(&watcher::Event::Apply(second.clone()));
    harness.ctx = Arc::new(
        Context::new(harness.ctx.client.clone(), Arc::new(FakeConnector { cloud: harness.cloud.clone() }), Metrics::new())
            .with_policies(reader),
    );
    let first_name = first.metadata.name.clone().expect("name");
    let expected = first_name.clone();

    harness
        .reconcile(second, |mut api| async move {
            let request = api.next("the status of team-b").await;
            let status = request.body[1]["value"].clone();
            assert_condition(&status, "AccessKeysInSync", "False", "Conflict");
            let message = condition(&status, "AccessKeysInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains(&format!("only {expected} (the smallest name) acts")), "{message}");
            let object = api.object.clone();
            request.answer(&object);
            let request = api.next("the Conflict Event").await;
            assert_eq!(request.body["reason"], "Conflict");
            let event = request.body.clone();
            request.answer(&event);
            api
        })
        .await
        .expect("a conflict is reported, not an error");
    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "team-b marks nobody: {calls:?}");
    assert!(harness.cloud.access_keys().users.iter().all(|u| u.tags.is_empty()));
}

#[tokio::test]
async fn deleting_with_delete_removes_only_this_policys_marks_and_never_reactivates_a_key() {
    use crate::plan::access_keys::mark_value;
    let policy = keys_only(CostPolicy::test().with_finalizer().enforce()).deletion_policy(DeletionPolicy::Delete).deleting();
    let mut account = keys_drift(now() - 400 * DAY);
    let ours = format!("{MARK_PREFIX}{UNUSED}");
    account.users[0].tags.insert(ours.clone(), mark_value(now() + DAY, NAME));
    account.users[0].tags.insert("team".to_string(), "ci".to_string());
    let theirs = format!("{MARK_PREFIX}{KEPT}");
    account.users[2].tags.insert(theirs.clone(), mark_value(now() + DAY, "another-policy"));
    account.users[2].keys[0].active = false;
    let mut harness = Harness::new(FakeCloud::default().with_access_keys(account.clone()));

    let expected = format!("mark {ours} of IAM user ci");
    harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains(&expected), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    let after = harness.cloud.access_keys();
    assert_eq!(key_of(&after, "ci").tags, Tags::from([("team".to_string(), "ci".to_string())]), "only our mark is gone");
    assert!(key_of(&after, "break-glass").tags.contains_key(&theirs), "another policy's mark stays");
    let keys = |inventory: &AccessKeysInventory| inventory.users.iter().map(|u| u.keys.clone()).collect::<Vec<_>>();
    assert_eq!(keys(&after), keys(&account), "no key is changed, the inactive one stays inactive");
}
