//! The Kubernetes side failing: the API server away (503, connection refused), status patch
//! conflicts (409), the policy deleted while a reconcile runs (404), watch expiry (410 Gone),
//! and a finalizer whose AWS side is already gone or out of reach.

use std::sync::atomic::{AtomicU32, Ordering};

use futures::StreamExt;
use kube::Api;
use kube::runtime::{reflector, watcher};

use super::*;
use crate::controller::triggers;

/// Answers `request` with an API error `code`, as the API server writes it.
fn fail(request: Received, code: u16, reason: &str) {
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code});
    let bytes = serde_json::to_vec(&status).expect("status serializes");
    request.respond.send_response(Response::builder().status(code).body(Body::from(bytes)).expect("response builds"));
}

/// The request the client sends next is the status patch; it fails with `code`.
async fn fail_status_patch(api: &mut ApiServer, code: u16, reason: &str) {
    let request = api.next("the status patch").await;
    assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, STATUS_PATH));
    fail(request, code, reason);
}

fn creates(calls: &[CloudCall]) -> usize {
    calls.iter().filter(|c| matches!(c, CloudCall::CreateEndpoint { .. })).count()
}

/// A failed status write after the endpoint was created: the reconcile fails as a Kubernetes
/// error and backs off, and the next run writes status without creating the endpoint again.
async fn status_write_fails_then_recovers(code: u16, reason: &'static str) {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce();

    let error = harness
        .reconcile(policy.clone(), move |mut api| async move {
            fail_status_patch(&mut api, code, reason).await;
            // The endpoint was made: its Event is published whatever the status write did.
            api.expect_event("Normal", "EndpointCreated").await;
            api
        })
        .await
        .expect_err("a failed status write fails the reconcile");

    assert!(matches!(&error, ReconcileError::Kube(kube::Error::Api(s)) if s.code == code), "{error:?}");
    assert_eq!(error.category(), "kubernetes");
    let delays: Vec<Duration> = (0..2)
        .map(|_| requeue_after(&error_policy(Arc::new(policy.clone()), &error, harness.ctx.clone())).expect("errors are retried"))
        .collect();
    assert!(delays[0] >= Duration::from_secs(4) && delays[0] < delays[1], "backs off: {delays:?}");
    assert_eq!(creates(&harness.cloud.calls()), 1);
    assert!(harness.metrics().contains(r#"frugal_reconcile_errors_total{category="kubernetes"} 2"#), "{}", harness.metrics());

    // The API server answers again.
    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "GatewayEndpointsInSync", "True", "InSync");
            assert_condition(&status, "Ready", "True", "InSync");
            api
        })
        .await
        .expect("the next reconcile succeeds");

    assert!(requeue_after(&action).is_some_and(|d| d >= Duration::from_secs(600)), "back to the resync interval: {action:?}");
    assert_eq!(creates(&harness.cloud.calls()), 1, "the endpoint made before the failed status write is not made again");
    assert_eq!(harness.cloud.endpoint_ids().len(), 1);
}

#[tokio::test]
async fn an_unavailable_api_server_fails_the_reconcile_and_the_next_run_writes_status_without_repeating_the_create() {
    status_write_fails_then_recovers(503, "ServiceUnavailable").await;
}

#[tokio::test]
async fn a_status_patch_conflict_is_a_kubernetes_error_retried_without_repeating_the_create() {
    status_write_fails_then_recovers(409, "Conflict").await;
}

#[tokio::test]
async fn a_refused_connection_while_adding_the_finalizer_fails_the_reconcile_before_any_aws_call() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let error = harness
        .reconcile(CostPolicy::test().enforce(), |mut api| async move {
            let request = api.next("the JSON patch adding the finalizer").await;
            assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
            request.respond.send_error(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
            api
        })
        .await
        .expect_err("no finalizer, no reconcile");

    assert!(matches!(&error, ReconcileError::Kube(_)), "{error:?}");
    assert_eq!(harness.cloud.calls(), [], "nothing in AWS before the finalizer is in place");
}

#[tokio::test]
async fn a_policy_deleted_before_its_status_is_written_ends_the_reconcile_without_an_error() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            fail_status_patch(&mut api, 404, "NotFound").await;
            api
        })
        .await
        .expect("a policy that is gone is done");

    assert_eq!(action, Action::await_change());
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="gone"} 1"#), "{}", harness.metrics());
    assert!(!harness.metrics().contains("frugal_reconcile_errors_total{"), "{}", harness.metrics());
}

#[tokio::test]
async fn an_event_the_api_server_refuses_is_published_with_the_next_run_once() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce();
    harness
        .reconcile(policy.clone(), |mut api| async move {
            api.expect_status_patch().await;
            let request = api.next("the Event of the created endpoint").await;
            assert_eq!(request.body["reason"], "EndpointCreated");
            fail(request, 503, "ServiceUnavailable");
            api
        })
        .await
        .expect("an Event not written never fails the reconcile");
    assert_eq!(creates(&harness.cloud.calls()), 1);

    // The next run changes nothing in AWS and publishes the Event that waited.
    harness
        .reconcile(policy.clone(), |mut api| async move {
            api.expect_status_patch().await;
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert!(note(&event).contains("vpc-"), "{event:#}");
            api
        })
        .await
        .expect("second reconcile succeeds");
    // And a third publishes nothing more: the harness fails on an unexpected request.
    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_patch().await;
            api
        })
        .await
        .expect("third reconcile succeeds");
    assert_eq!(creates(&harness.cloud.calls()), 1);
}

/// Reconciles a policy whose status patch the API server refuses (422), then serves the
/// object that `stored` makes of it when the operator reads it back; the created endpoint's
/// Event follows unless the policy is gone (`still_there` false).
async fn status_patch_refused(
    still_there: bool,
    stored: impl FnOnce(&mut CostPolicy) + Send + 'static,
) -> (Harness, Result<Action, ReconcileError>) {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let result = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), move |mut api| async move {
            fail_status_patch(&mut api, 422, "Invalid").await;
            let request = api.next("the read of the policy after the refused patch").await;
            assert_eq!((&request.method, request.path.as_str()), (&Method::GET, POLICY_PATH));
            let mut object = api.object.clone();
            stored(&mut object);
            request.answer(&object);
            if still_there {
                api.expect_event("Normal", "EndpointCreated").await;
            }
            api
        })
        .await;
    (harness, result)
}

#[tokio::test]
async fn a_policy_replaced_under_the_same_name_does_not_get_the_old_ones_status() {
    // Deleted and created again while AWS was observed: the uid test fails.
    let (harness, result) = status_patch_refused(false, |successor| {
        successor.metadata.uid = Some("5d0c6f1e-0000-4000-8000-000000000002".to_string());
        successor.metadata.generation = Some(1);
        successor.status = None;
    })
    .await;

    assert_eq!(result.expect("a replaced policy is done"), Action::await_change());
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="gone"} 1"#), "{}", harness.metrics());
    assert!(!harness.metrics().contains("frugal_reconcile_errors_total{"), "{}", harness.metrics());
}

#[tokio::test]
async fn a_status_the_api_server_refuses_for_the_same_policy_is_a_kubernetes_error() {
    let (_, result) = status_patch_refused(true, |_| {}).await;
    let error = result.expect_err("an invalid status is an error to retry");
    assert!(matches!(&error, ReconcileError::Kube(kube::Error::Api(s)) if s.code == 422), "{error:?}");
}

/// Reconciles `policy` while its finalizer patch (after a `Retained` Event when the policy is
/// being deleted) finds nothing: the reconcile ends quietly, without AWS calls.
async fn finalizer_patch_finds_nothing(policy: CostPolicy) {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let deleting = policy.metadata.deletion_timestamp.is_some();

    let action = harness
        .reconcile(policy, move |mut api| async move {
            if deleting {
                api.expect_event("Normal", "Retained").await;
            }
            let request = api.next("the JSON patch of the finalizer").await;
            assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
            fail(request, 404, "NotFound");
            api
        })
        .await
        .expect("a policy that is gone is done");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
}

#[tokio::test]
async fn a_policy_gone_before_its_finalizer_is_removed_ends_the_cleanup_without_an_error() {
    finalizer_patch_finds_nothing(CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Retain).deleting()).await;
}

#[tokio::test]
async fn a_policy_gone_before_its_finalizer_is_added_ends_the_reconcile_without_an_error() {
    finalizer_patch_finds_nothing(CostPolicy::test().enforce()).await;
}

#[tokio::test]
async fn deleting_with_delete_when_the_endpoints_are_already_gone_releases_the_finalizer() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let action = harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert_eq!(note(&event), "nothing left to delete");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::OwnedEndpoints { policy: NAME.to_string() }]);
}

#[tokio::test]
async fn deleting_with_delete_when_someone_deleted_the_endpoints_meanwhile_releases_the_finalizer() {
    let mut cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    cloud.fail_delete = Some(CloudError::new("DeleteVpcEndpoints", ErrorKind::NotFound, "InvalidVpcEndpointId.NotFound"));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    harness
        .reconcile(policy, |mut api| async move {
            api.expect_event("Normal", "Deleted").await;
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("an endpoint already gone is what cleanup wanted");
}

#[tokio::test]
async fn deleting_a_backup_policy_whose_plan_someone_deleted_meanwhile_releases_the_finalizer() {
    let mut cloud = FakeCloud::default().with_backup(backup_drift());
    cloud.fail_call = Some(CloudError::new("DeleteBackupPlan", ErrorKind::NotFound, "ResourceNotFoundException"));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Delete).deleting();

    harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(!note(&event).contains("backup plan"), "the plan was not deleted by us: {event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("a plan already gone is what cleanup wanted");
}

/// AWS credentials that never work: every connect fails, and is counted.
#[derive(Default)]
struct BrokenConnector {
    connects: AtomicU32,
}

#[async_trait]
impl CloudConnector for BrokenConnector {
    async fn connect(&self, _target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError> {
        self.connects.fetch_add(1, Ordering::SeqCst);
        Err(CloudError::new("AssumeRole", ErrorKind::AccessDenied, "the role no longer trusts the operator"))
    }

    async fn own_account(&self, _region: &str) -> Result<String, CloudError> {
        Err(CloudError::new("GetCallerIdentity", ErrorKind::AccessDenied, "no credentials work"))
    }
}

#[tokio::test]
async fn a_delete_policy_without_aws_access_keeps_its_finalizer_until_it_is_switched_to_retain() {
    let mut harness = Harness::new(FakeCloud::default());
    let connector = Arc::new(BrokenConnector::default());
    harness.ctx = Arc::new(Context::new(harness.ctx.client.clone(), connector.clone(), Metrics::new()));
    let deleting = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let error = harness
        .reconcile(deleting.clone(), |mut api| async move {
            let event = api.expect_event("Warning", "CleanupFailed").await;
            assert!(note(&event).contains("AssumeRole"), "{event:#}");
            // No finalizer patch: AWS objects may remain, so the policy must not disappear.
            api
        })
        .await
        .expect_err("cleanup cannot reach AWS");
    assert!(matches!(&error, ReconcileError::Aws(e) if e.kind == ErrorKind::AccessDenied), "{error:?}");
    assert_eq!(connector.connects.load(Ordering::SeqCst), 1);

    // A human accepts leaving the AWS objects behind: kubectl patch ... deletionPolicy: Retain.
    let mut retained = deleting.deletion_policy(DeletionPolicy::Retain);
    retained.metadata.generation = Some(GENERATION + 1);
    let action = harness.release_retained(retained).await;

    assert_eq!(action, Action::await_change());
    assert_eq!(connector.connects.load(Ordering::SeqCst), 1, "Retain makes no AWS call");
}

// ---------------------------------------------------------------------------------------------
// The watch

/// One line of a watch response: an event of `type_` about `object`.
fn watch_line(type_: &str, object: &Value) -> Vec<u8> {
    let mut line = serde_json::to_vec(&json!({"type": type_, "object": object})).expect("event serializes");
    line.push(b'\n');
    line
}

fn policy_list(policy: &CostPolicy, resource_version: &str) -> Value {
    json!({
        "apiVersion": "frugal.dev/v1alpha1",
        "kind": "CostPolicyList",
        "metadata": {"resourceVersion": resource_version},
        "items": [policy],
    })
}

#[tokio::test]
async fn an_expired_watch_makes_the_watcher_list_again_and_the_changes_keep_coming() {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let api: Api<CostPolicy> = Api::all(kube::Client::new(service, "default"));
    let (reader, writer) = reflector::store();
    let mut stream = Box::pin(triggers(api, watcher::Config::default().any_semantic(), writer));

    let first = CostPolicy::test();
    let mut edited = CostPolicy::test();
    edited.metadata.generation = Some(GENERATION + 1);
    edited.metadata.resource_version = Some("200".to_string());
    let server = tokio::spawn(async move {
        let mut requests = Vec::new();
        // list, watch (expires), list again, watch again (held open).
        for answer in 0..4 {
            let (request, respond) = handle.next_request().await.expect("the watcher keeps asking");
            let query = request.uri().query().map(form_pairs).unwrap_or_default();
            let watching = query.iter().any(|(k, v)| k == "watch" && v == "true");
            requests.push((request.method().clone(), request.uri().path().to_string(), watching));
            let body = match answer {
                0 => serde_json::to_vec(&policy_list(&first, "100")).expect("list serializes"),
                1 => watch_line(
                    "ERROR",
                    &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired",
                            "message": "too old resource version: 100 (150)", "code": 410}),
                ),
                2 => serde_json::to_vec(&policy_list(&edited, "200")).expect("list serializes"),
                _ => {
                    // Keep the last watch open until the test ends.
                    std::mem::forget(respond);
                    break;
                }
            };
            respond.send_response(Response::builder().status(StatusCode::OK).body(Body::from(body)).expect("response builds"));
        }
        requests
    });

    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        let mut seen = Vec::new();
        while seen.len() < 2 {
            match stream.next().await.expect("the trigger stream never ends") {
                Ok(policy) => seen.push(policy.metadata.generation),
                // The expired watch is reported, then the watcher recovers by itself.
                Err(error) => assert!(error.to_string().contains("410") || error.to_string().contains("too old"), "{error}"),
            }
        }
        seen
    })
    .await
    .expect("the policy edited after the watch expired is reconciled");

    assert_eq!(seen, [Some(GENERATION), Some(GENERATION + 1)], "each generation triggers a reconcile once");
    // The watcher only asks again while the stream is polled: keep draining it.
    let drain = async {
        while stream.next().await.is_some() {}
        std::future::pending::<()>().await
    };
    let requests = tokio::time::timeout(Duration::from_secs(10), async {
        tokio::select! {
            requests = server => requests,
            () = drain => unreachable!("the trigger stream never ends"),
        }
    })
    .await
    .expect("the watcher watches again")
    .expect("mock server");
    let path = "/apis/frugal.dev/v1alpha1/costpolicies";
    assert_eq!(
        requests,
        [
            (Method::GET, path.to_string(), false),
            (Method::GET, path.to_string(), true),
            (Method::GET, path.to_string(), false),
            (Method::GET, path.to_string(), true)
        ],
        "list, watch, 410 Gone, list again, watch again"
    );
    let cached: Vec<Option<i64>> = reader.state().iter().map(|p| p.metadata.generation).collect();
    assert_eq!(cached, [Some(GENERATION + 1)], "the store holds the policy as listed again");
}
