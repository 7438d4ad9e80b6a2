//! The mocked API server (`tower_test`) and the `Harness` that runs one reconcile against it.
//!
//! A scenario task answers the requests it expects, in order, asserting method, path and body
//! (`ApiServer::expect_*`); a call that never comes fails on a timeout, and a call nobody
//! expected is answered with a 500 and fails the test.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::fake_cloud::{FakeCloud, FakeConnector, lock};
use super::fixtures::NAME;
use crate::api::CostPolicy;
use crate::api::names::{FIELD_MANAGER, FINALIZER};
use crate::controller::{Context, ReconcileError, reconcile};
use crate::metrics::Metrics;

pub(super) const POLICY_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a";
pub(super) const STATUS_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a/status";
pub(super) const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";

/// How long a reconcile may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long the scenario may still wait for a call once the reconcile has ended.
const SETTLE: Duration = Duration::from_secs(1);

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Responder = tower_test::mock::SendResponse<Response<Body>>;

/// One request as the API server received it.
pub(super) struct Received {
    pub(super) method: Method,
    pub(super) path: String,
    query: Vec<(String, String)>,
    content_type: String,
    pub(super) body: Value,
    pub(super) respond: Responder,
}

impl Received {
    fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    pub(super) fn answer(self, body: &impl serde::Serialize) {
        let bytes = serde_json::to_vec(body).expect("response serializes");
        self.respond.send_response(Response::builder().status(StatusCode::OK).body(Body::from(bytes)).expect("response builds"));
    }
}

/// The scenario's side of the mock: answers expected requests and keeps the object the
/// server would hold.
pub(super) struct ApiServer {
    handle: Handle,
    pub(super) object: CostPolicy,
    waiting_for: Arc<Mutex<&'static str>>,
}

impl ApiServer {
    pub(super) async fn next(&mut self, what: &'static str) -> Received {
        *lock(&self.waiting_for) = what;
        let (request, respond) = self.handle.next_request().await.unwrap_or_else(|| panic!("the client went away before {what}"));
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("request body is JSON") };
        let query = parts.uri.query().map(form_pairs).unwrap_or_default();
        let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        Received { method: parts.method, path: parts.uri.path().to_string(), query, content_type, body, respond }
    }

    /// The finalizer helper's JSON patch that adds `frugal.dev/cleanup`.
    pub(super) async fn expect_add_finalizer(&mut self) -> Value {
        let request = self.next("the JSON patch adding the finalizer").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        let ops = request.body.as_array().expect("a JSON patch is a list of operations");
        assert!(ops.iter().any(|op| op["op"] == "test" && op["path"] == "/metadata/finalizers"), "guarded by a test op: {ops:?}");
        let add = ops.iter().find(|op| op["op"] == "add").expect("an add op");
        assert!(add["value"] == json!([FINALIZER]) || add["value"] == FINALIZER, "adds {FINALIZER}: {add}");
        self.object.metadata.finalizers.get_or_insert_with(Vec::new).push(FINALIZER.to_string());
        let body = request.body.clone();
        request.answer(&self.object);
        body
    }

    /// The finalizer helper's JSON patch that removes `frugal.dev/cleanup`.
    pub(super) async fn expect_remove_finalizer(&mut self) {
        let request = self.next("the JSON patch removing the finalizer").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        let index = self.object.metadata.finalizers.iter().flatten().position(|f| f == FINALIZER).expect("the object has the finalizer");
        let path = format!("/metadata/finalizers/{index}");
        assert_eq!(
            request.body,
            json!([{"op": "test", "path": path, "value": FINALIZER}, {"op": "remove", "path": path}]),
            "removes exactly our finalizer"
        );
        if let Some(finalizers) = self.object.metadata.finalizers.as_mut() {
            finalizers.remove(index);
        }
        request.answer(&self.object);
    }

    /// The JSON patch of the status subresource, guarded by the policy's uid; returns the
    /// written `status`.
    pub(super) async fn expect_status_patch(&mut self) -> Value {
        let request = self.next("the status patch").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, STATUS_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        assert_eq!(request.query("fieldManager"), Some(FIELD_MANAGER));
        let uid = self.object.metadata.uid.clone().expect("the served object has a uid");
        assert_eq!(request.body[0], json!({"op": "test", "path": "/metadata/uid", "value": uid}), "only to the object of that uid");
        assert_eq!((request.body[1]["op"].as_str(), request.body[1]["path"].as_str()), (Some("add"), Some("/status")), "{}", request.body);
        let status = request.body[1]["value"].clone();
        assert_eq!(status["observedGeneration"], json!(self.object.metadata.generation), "status describes metadata.generation");
        self.object.status = Some(serde_json::from_value(status.clone()).expect("the written status is a CostPolicyStatus"));
        request.answer(&self.object);
        status
    }

    /// An events.k8s.io/v1 Event about the policy, created in `default` (the policy is
    /// cluster-scoped); returns the Event.
    pub(super) async fn expect_event(&mut self, type_: &str, reason: &str) -> Value {
        let request = self.next("an Event").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::POST, EVENTS_PATH), "{}", request.body);
        let event = request.body.clone();
        assert_eq!((event["type"].as_str(), event["reason"].as_str()), (Some(type_), Some(reason)), "{event:#}");
        assert_eq!((event["regarding"]["kind"].as_str(), event["regarding"]["name"].as_str()), (Some("CostPolicy"), Some(NAME)));
        assert_eq!(event["reportingController"], "frugal-operator");
        request.answer(&event);
        event
    }

    /// Answers status patches and Events, whatever they are, until none has come for a while;
    /// returns them as `METHOD path`.
    pub(super) async fn answer_whatever_comes(&mut self) -> Vec<String> {
        let mut answered = Vec::new();
        while let Ok(request) = tokio::time::timeout(Duration::from_millis(300), self.next("a status patch or an Event")).await {
            answered.push(format!("{} {}", request.method, request.path));
            match (&request.method, request.path.as_str()) {
                (&Method::PATCH, STATUS_PATH) => {
                    self.object.status = Some(serde_json::from_value(request.body[1]["value"].clone()).expect("a CostPolicyStatus"));
                    request.answer(&self.object);
                }
                (&Method::POST, EVENTS_PATH) => {
                    let event = request.body.clone();
                    request.answer(&event);
                }
                (method, path) => panic!("neither a status patch nor an Event: {method} {path}"),
            }
        }
        answered
    }
}

pub(super) fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// A Context over the mocked API server and the fake account.
pub(super) struct Harness {
    pub(super) ctx: Arc<Context>,
    pub(super) cloud: Arc<FakeCloud>,
    handle: Option<Handle>,
}

impl Harness {
    pub(super) fn new(cloud: FakeCloud) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let ctx = Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// The same, with the run's news sent through `notify`.
    pub(super) fn with_notify(cloud: FakeCloud, notify: Arc<crate::notify::Notify>) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let ctx = Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()).with_notify(notify));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// The same, with the operator restricted to these role ARN patterns.
    pub(super) fn with_allowed_roles(cloud: FakeCloud, patterns: &[&str]) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let allowed = crate::api::allowlist::RoleAllowlist::new(patterns.iter().map(|p| p.to_string()).collect());
        let ctx =
            Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()).with_allowed_roles(allowed));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// Reconciles `policy` while `scenario` answers the requests it expects.
    pub(super) async fn reconcile<S, F>(&mut self, policy: CostPolicy, scenario: S) -> Result<Action, ReconcileError>
    where
        S: FnOnce(ApiServer) -> F + Send + 'static,
        F: Future<Output = ApiServer> + Send + 'static,
    {
        let handle = self.handle.take().expect("one reconcile at a time");
        let waiting_for = Arc::new(Mutex::new("the first request"));
        let server = ApiServer { handle, object: policy.clone(), waiting_for: waiting_for.clone() };
        let unexpected = Arc::new(Mutex::new(Vec::<String>::new()));
        let (done_tx, done_rx) = oneshot::channel();
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let refused = unexpected.clone();
        let task = tokio::spawn(async move {
            let mut server = scenario(server).await;
            let _ = done_tx.send(());
            // Every further request is one the scenario did not expect.
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    next = server.handle.next_request() => {
                        let Some((request, respond)) = next else { break };
                        lock(&refused).push(format!("{} {}", request.method(), request.uri()));
                        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "unexpected", "code": 500});
                        let bytes = serde_json::to_vec(&status).expect("status serializes");
                        respond.send_response(Response::builder().status(500).body(Body::from(bytes)).expect("response builds"));
                    }
                }
            }
            server.handle
        });

        let result = tokio::time::timeout(TIMEOUT, reconcile(Arc::new(policy), self.ctx.clone())).await;
        match tokio::time::timeout(SETTLE, done_rx).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => match task.await {
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                other => panic!("the scenario ended without finishing: {other:?}"),
            },
            Err(_) => panic!("the scenario was still waiting for {} when the reconcile ended", lock(&waiting_for)),
        }
        let _ = stop_tx.send(());
        self.handle = Some(task.await.expect("the mock server stops"));
        let unexpected = lock(&unexpected).clone();
        assert!(unexpected.is_empty(), "requests the scenario did not expect: {unexpected:?}");
        result.expect("reconcile finished in time")
    }

    /// Reconciles a policy being deleted with deletionPolicy Retain: a `Retained` Event, then
    /// the finalizer released.
    pub(super) async fn release_retained(&mut self, policy: CostPolicy) -> Action {
        self.reconcile(policy, |mut api| async move {
            api.expect_event("Normal", "Retained").await;
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("Retain lets the policy go")
    }

    pub(super) fn metrics(&self) -> String {
        self.ctx.metrics.encode()
    }
}
