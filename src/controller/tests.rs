//! Reconcile against a mocked API server (`tower_test`) and an in-memory AWS account.
//!
//! Each test runs one reconcile while a scenario task answers the requests it expects, in
//! order, asserting method, path and body; a call that never comes fails on a timeout, and a
//! call nobody expected is answered with a 500 and fails the test. The fake account records
//! every AWS call, so tests can say which calls happened and which did not.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{Context, ReconcileError, error_policy, reconcile};
use crate::api::names::{FIELD_MANAGER, FINALIZER, TAG_POLICY};
use crate::api::validate::{GatewayEndpointsDesired, SnapshotRetentionDesired};
use crate::api::{AwsTarget, CostPolicy, CostPolicySpec, DeletionPolicy, GatewayService};
use crate::engine::{Cloud, CloudConnector, CloudError, ErrorKind};
use crate::metrics::Metrics;
use crate::plan::backup::{BackupChange, BackupInventory};
use crate::plan::gateway_endpoints::{GatewayChange, GatewayEndpoint, NetworkInventory, Route, RouteTable, Vpc};
use crate::plan::snapshots::{SnapshotChange, SnapshotInventory};
use crate::plan::ssm_access::{SsmChange, SsmInventory};
use crate::plan::{Tags, ownership_tags};

const NAME: &str = "team-a";
const GENERATION: i64 = 3;
const REGION: &str = "eu-west-1";
const VPC: &str = "vpc-0a1b2c3d";
const PRIVATE_TABLE: &str = "rtb-private1";
const PUBLIC_TABLE: &str = "rtb-public1";
const POLICY_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a";
const STATUS_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a/status";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
/// How long a reconcile may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long the scenario may still wait for a call once the reconcile has ended.
const SETTLE: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Fixtures

trait PolicyFixture: Sized {
    /// An Audit policy for S3 endpoints in every VPC of eu-west-1, at generation 3.
    fn test() -> Self;
    fn with_finalizer(self) -> Self;
    fn enforce(self) -> Self;
    fn deletion_policy(self, policy: DeletionPolicy) -> Self;
    fn deleting(self) -> Self;
    fn with_spec(self, change: impl FnOnce(&mut CostPolicySpec)) -> Self;
}

impl PolicyFixture for CostPolicy {
    fn test() -> Self {
        let spec: CostPolicySpec =
            serde_yaml::from_str(&format!("aws: {{region: {REGION}}}\ngatewayEndpoints: {{services: [s3]}}\n")).expect("fixture parses");
        let mut policy = CostPolicy::new(NAME, spec);
        policy.metadata.generation = Some(GENERATION);
        policy.metadata.uid = Some("0b5e4d1c-7a43-4d3a-9a63-3e1f0c9d2b11".to_string());
        policy.metadata.resource_version = Some("100".to_string());
        policy
    }

    fn with_finalizer(mut self) -> Self {
        self.metadata.finalizers.get_or_insert_with(Vec::new).push(FINALIZER.to_string());
        self
    }

    fn enforce(self) -> Self {
        self.with_spec(|spec| spec.mode = crate::api::Mode::Enforce)
    }

    fn deletion_policy(self, policy: DeletionPolicy) -> Self {
        self.with_spec(|spec| spec.deletion_policy = policy)
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        self
    }

    fn with_spec(mut self, change: impl FnOnce(&mut CostPolicySpec)) -> Self {
        change(&mut self.spec);
        self
    }
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("status has no {type_} condition: {status:#}"))
}

fn assert_condition(status: &Value, type_: &str, expected_status: &str, reason: &str) {
    let c = condition(status, type_);
    assert_eq!((c["status"].as_str(), c["reason"].as_str()), (Some(expected_status), Some(reason)), "{type_}: {c:#}");
    assert_eq!(c["observedGeneration"], status["observedGeneration"], "{type_}: {c:#}");
}

fn note(event: &Value) -> &str {
    event["note"].as_str().unwrap_or_default()
}

/// The delay of a requeue; `Action` keeps it private, its Debug output shows it.
fn requeue_after(action: &Action) -> Option<Duration> {
    let debug = format!("{action:?}");
    let inner = debug.split("Some(").nth(1)?.split(')').next()?;
    let split = inner.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = inner.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

// ---------------------------------------------------------------------------------------------
// The fake AWS account

/// An AWS call as the domain trait sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CloudCall {
    Connect,
    ObserveNetwork,
    CreateEndpoint { vpc_id: String, service: GatewayService, route_table_ids: Vec<String> },
    AddRouteTables { endpoint_id: String, route_table_ids: Vec<String> },
    OwnedEndpoints { policy: String },
    DeleteEndpoints { ids: Vec<String> },
    ObserveSnapshots,
    SnapshotChange(String),
    ObserveSsm,
    SsmChange(String),
}

impl CloudCall {
    fn is_mutating(&self) -> bool {
        matches!(
            self,
            CloudCall::CreateEndpoint { .. }
                | CloudCall::AddRouteTables { .. }
                | CloudCall::DeleteEndpoints { .. }
                | CloudCall::SnapshotChange(_)
                | CloudCall::SsmChange(_)
        )
    }
}

#[derive(Default)]
struct Account {
    vpcs: Vec<Vpc>,
    route_tables: Vec<RouteTable>,
    endpoints: Vec<GatewayEndpoint>,
    created: u32,
    ssm: SsmInventory,
}

#[derive(Default)]
struct FakeCloud {
    account: Mutex<Account>,
    calls: Mutex<Vec<CloudCall>>,
    fail_observe: Option<CloudError>,
    fail_delete: Option<CloudError>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn route_table(vpc_id: &str, id: &str, nat: Option<&str>) -> RouteTable {
    RouteTable {
        id: id.to_string(),
        vpc_id: vpc_id.to_string(),
        routes: vec![Route {
            destination_cidr: Some("0.0.0.0/0".to_string()),
            nat_gateway_id: nat.map(str::to_string),
            state: "active".to_string(),
        }],
    }
}

fn endpoint(id: &str, tags: Tags) -> GatewayEndpoint {
    GatewayEndpoint {
        id: id.to_string(),
        vpc_id: VPC.to_string(),
        service_name: GatewayService::S3.service_name(REGION),
        state: "available".to_string(),
        route_table_ids: BTreeSet::from([PRIVATE_TABLE.to_string()]),
        tags,
    }
}

impl FakeCloud {
    /// One VPC whose private route table sends S3 traffic through a NAT gateway: no endpoint yet.
    fn with_drift() -> Self {
        Self::default().with_vpc(VPC, PRIVATE_TABLE, PUBLIC_TABLE)
    }

    /// A VPC with a private and a public route table, and no endpoint.
    fn with_vpc(self, vpc_id: &str, private_table: &str, public_table: &str) -> Self {
        {
            let mut account = lock(&self.account);
            account.vpcs.push(Vpc { id: vpc_id.to_string(), tags: Tags::new() });
            account.route_tables.push(route_table(vpc_id, private_table, Some("nat-0123456789")));
            account.route_tables.push(route_table(vpc_id, public_table, None));
        }
        self
    }

    /// Endpoints `ids` added to the account with `tags`.
    fn with_endpoints(self, ids: &[&str], tags: Tags) -> Self {
        lock(&self.account).endpoints.extend(ids.iter().map(|id| endpoint(id, tags.clone())));
        self
    }

    fn calls(&self) -> Vec<CloudCall> {
        lock(&self.calls).clone()
    }

    fn endpoint_ids(&self) -> Vec<String> {
        lock(&self.account).endpoints.iter().map(|e| e.id.clone()).collect()
    }

    fn record(&self, call: CloudCall) {
        lock(&self.calls).push(call);
    }
}

#[async_trait]
impl Cloud for FakeCloud {
    async fn observe_network(&self, _desired: &GatewayEndpointsDesired) -> Result<NetworkInventory, CloudError> {
        self.record(CloudCall::ObserveNetwork);
        if let Some(error) = &self.fail_observe {
            return Err(error.clone());
        }
        let account = lock(&self.account);
        Ok(NetworkInventory {
            vpcs: account.vpcs.clone(),
            route_tables: account.route_tables.clone(),
            endpoints: account.endpoints.clone(),
            nat_bytes_30d: Some(account.vpcs.iter().map(|v| (v.id.clone(), 100 * 1_073_741_824)).collect()),
        })
    }

    async fn apply_gateway_change(&self, change: &GatewayChange) -> Result<Option<String>, CloudError> {
        match change {
            GatewayChange::CreateEndpoint { vpc_id, service, service_name, route_table_ids, tags, .. } => {
                self.record(CloudCall::CreateEndpoint {
                    vpc_id: vpc_id.clone(),
                    service: *service,
                    route_table_ids: route_table_ids.clone(),
                });
                let mut account = lock(&self.account);
                account.created += 1;
                let id = format!("vpce-fake{:04}", account.created);
                account.endpoints.push(GatewayEndpoint {
                    id: id.clone(),
                    vpc_id: vpc_id.clone(),
                    service_name: service_name.clone(),
                    state: "available".to_string(),
                    route_table_ids: route_table_ids.iter().cloned().collect(),
                    tags: tags.clone(),
                });
                Ok(Some(id))
            }
            GatewayChange::AddRouteTables { endpoint_id, route_table_ids, .. } => {
                self.record(CloudCall::AddRouteTables { endpoint_id: endpoint_id.clone(), route_table_ids: route_table_ids.clone() });
                let mut account = lock(&self.account);
                let endpoint = account.endpoints.iter_mut().find(|e| &e.id == endpoint_id);
                let endpoint = endpoint
                    .ok_or_else(|| CloudError::new("ModifyVpcEndpoint", ErrorKind::NotFound, format!("{endpoint_id} not found")))?;
                endpoint.route_table_ids.extend(route_table_ids.iter().cloned());
                Ok(None)
            }
        }
    }

    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError> {
        self.record(CloudCall::OwnedEndpoints { policy: policy.to_string() });
        let owned = ownership_tags(policy);
        let account = lock(&self.account);
        Ok(account.endpoints.iter().filter(|e| owned.iter().all(|(k, v)| e.tags.get(k) == Some(v))).cloned().collect())
    }

    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError> {
        self.record(CloudCall::DeleteEndpoints { ids: ids.to_vec() });
        if let Some(error) = &self.fail_delete {
            return Err(error.clone());
        }
        lock(&self.account).endpoints.retain(|e| !ids.contains(&e.id));
        Ok(())
    }

    /// The account has no snapshots; the policies here do not enable snapshotRetention.
    async fn observe_snapshots(&self, _desired: &SnapshotRetentionDesired) -> Result<SnapshotInventory, CloudError> {
        self.record(CloudCall::ObserveSnapshots);
        Ok(SnapshotInventory::default())
    }

    async fn apply_snapshot_change(&self, change: &SnapshotChange) -> Result<(), CloudError> {
        self.record(CloudCall::SnapshotChange(change.describe()));
        Ok(())
    }

    /// No vault, plan or resources; the policies here do not enable backup.
    async fn observe_backup(&self, _desired: &crate::api::validate::BackupDesired) -> Result<BackupInventory, CloudError> {
        Ok(BackupInventory::default())
    }

    async fn apply_backup_change(&self, change: &BackupChange) -> Result<Option<String>, CloudError> {
        Err(CloudError::new("Backup", ErrorKind::InvalidRequest, format!("unexpected backup change: {}", change.describe())))
    }

    /// The account's ssmAccess inventory: empty unless a test seeds it.
    async fn observe_ssm_access(&self, _desired: &crate::api::validate::SsmAccessDesired) -> Result<SsmInventory, CloudError> {
        self.record(CloudCall::ObserveSsm);
        Ok(lock(&self.account).ssm.clone())
    }

    async fn apply_ssm_change(&self, _policy: &str, change: &SsmChange) -> Result<Option<String>, CloudError> {
        self.record(CloudCall::SsmChange(change.describe()));
        Ok(None)
    }
}

struct FakeConnector {
    cloud: Arc<FakeCloud>,
}

#[async_trait]
impl CloudConnector for FakeConnector {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError> {
        assert_eq!(target.region, REGION, "the policy's region reaches the connector");
        self.cloud.record(CloudCall::Connect);
        Ok(self.cloud.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The mocked API server

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Responder = tower_test::mock::SendResponse<Response<Body>>;

/// One request as the API server received it.
struct Received {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    content_type: String,
    body: Value,
    respond: Responder,
}

impl Received {
    fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn answer(self, body: &impl serde::Serialize) {
        let bytes = serde_json::to_vec(body).expect("response serializes");
        self.respond.send_response(Response::builder().status(StatusCode::OK).body(Body::from(bytes)).expect("response builds"));
    }
}

/// The scenario's side of the mock: answers expected requests and keeps the object the
/// server would hold.
struct ApiServer {
    handle: Handle,
    object: CostPolicy,
    waiting_for: Arc<Mutex<&'static str>>,
}

impl ApiServer {
    async fn next(&mut self, what: &'static str) -> Received {
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
    async fn expect_add_finalizer(&mut self) -> Value {
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
    async fn expect_remove_finalizer(&mut self) {
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

    /// Server-side apply of the status subresource; returns the applied `status`.
    async fn expect_status_apply(&mut self) -> Value {
        let request = self.next("the server-side apply of status").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, STATUS_PATH));
        assert_eq!(request.content_type, "application/apply-patch+yaml");
        assert_eq!(request.query("fieldManager"), Some(FIELD_MANAGER));
        assert_eq!(request.query("force"), Some("true"));
        assert_eq!((request.body["apiVersion"].as_str(), request.body["kind"].as_str()), (Some("frugal.dev/v1alpha1"), Some("CostPolicy")));
        let status = request.body["status"].clone();
        assert_eq!(status["observedGeneration"], json!(self.object.metadata.generation), "status describes metadata.generation");
        self.object.status = Some(serde_json::from_value(status.clone()).expect("the applied status is a CostPolicyStatus"));
        request.answer(&self.object);
        status
    }

    /// An events.k8s.io/v1 Event about the policy, created in `default` (the policy is
    /// cluster-scoped); returns the Event.
    async fn expect_event(&mut self, type_: &str, reason: &str) -> Value {
        let request = self.next("an Event").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::POST, EVENTS_PATH), "{}", request.body);
        let event = request.body.clone();
        assert_eq!((event["type"].as_str(), event["reason"].as_str()), (Some(type_), Some(reason)), "{event:#}");
        assert_eq!((event["regarding"]["kind"].as_str(), event["regarding"]["name"].as_str()), (Some("CostPolicy"), Some(NAME)));
        assert_eq!(event["reportingController"], "frugal-operator");
        request.answer(&event);
        event
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
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
struct Harness {
    ctx: Arc<Context>,
    cloud: Arc<FakeCloud>,
    handle: Option<Handle>,
}

impl Harness {
    fn new(cloud: FakeCloud) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let ctx = Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// The same, with the operator restricted to these role ARN patterns.
    fn with_allowed_roles(cloud: FakeCloud, patterns: &[&str]) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let allowed = crate::api::allowlist::RoleAllowlist::new(patterns.iter().map(|p| p.to_string()).collect());
        let ctx =
            Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()).with_allowed_roles(allowed));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// Reconciles `policy` while `scenario` answers the requests it expects.
    async fn reconcile<S, F>(&mut self, policy: CostPolicy, scenario: S) -> Result<Action, ReconcileError>
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

    fn metrics(&self) -> String {
        self.ctx.metrics.encode()
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[tokio::test]
async fn a_new_policy_first_gets_the_cleanup_finalizer_and_aws_is_not_touched() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().enforce(), |mut api| async move {
            let patch = api.expect_add_finalizer().await;
            assert!(patch.to_string().contains(FINALIZER), "{patch}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(action, Action::await_change(), "the patch itself triggers the next reconcile");
    assert_eq!(harness.cloud.calls(), [], "no AWS call before the finalizer is in place");
}

#[tokio::test]
async fn enforce_with_drift_creates_the_endpoint_reports_it_in_status_and_requeues() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Ready", "True", "Reconciled");
            assert_condition(&status, "GatewayEndpointsInSync", "True", "Reconciled");
            assert_condition(&status, "Reconciling", "False", "Idle");
            assert_condition(&status, "Stalled", "False", "Idle");
            let ge = &status["gatewayEndpoints"];
            assert_eq!((ge["endpointsCreated"].as_u64(), ge["routeTablesAssociated"].as_u64()), (Some(1), Some(1)), "{ge:#}");
            assert_eq!(ge["missingEndpoints"], 0);
            assert_eq!(ge["vpcs"][0]["endpoints"][0]["endpointId"], "vpce-fake0001");
            assert_eq!(status["findings"], 0);
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert_eq!(event["action"], "CreateVpcEndpoint");
            assert!(note(&event).contains("vpce-fake0001") && note(&event).contains(VPC), "{event:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveNetwork,
            CloudCall::CreateEndpoint {
                vpc_id: VPC.to_string(),
                service: GatewayService::S3,
                route_table_ids: vec![PRIVATE_TABLE.to_string()]
            },
        ]
    );
    let delay = requeue_after(&action).expect("a successful run requeues for the resync");
    assert!(delay >= Duration::from_secs(600) && delay <= Duration::from_secs(660), "resyncInterval 10m plus up to 10%: {delay:?}");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_reconciles_total{result="success"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"frugal_actions_total{policy="team-a",area="gatewayEndpoints",action="create_endpoint",outcome="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_invalid_resync_interval_stalls_the_policy_without_any_aws_call() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert_condition(&status, "Ready", "False", "InvalidSpec");
            assert_condition(&status, "Reconciling", "False", "InvalidSpec");
            let message = condition(&status, "Stalled")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("spec.resyncInterval"), "the message names the field: {message}");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change(), "invalid objects wait for a change of the spec");
    assert_eq!(harness.cloud.calls(), [], "not even connect");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_reconciles_total{result="invalid_spec"} 1"#), "{metrics}");
}

#[tokio::test]
async fn an_invalid_spec_reconcile_is_counted_once() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());

    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_apply().await;
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    let metrics = harness.metrics();
    let results: Vec<&str> = metrics.lines().filter(|l| l.starts_with("frugal_reconciles_total{")).collect();
    assert_eq!(results, [r#"frugal_reconciles_total{result="invalid_spec"} 1"#], "one reconcile, one result");
}

#[tokio::test]
async fn an_invalid_region_names_the_field_in_status_and_event() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.aws.region = "Europe".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("spec.aws.region")), "{status:#}");
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
}

#[tokio::test]
async fn a_role_outside_the_allowed_patterns_is_stalled_without_any_aws_call() {
    let mut harness = Harness::with_allowed_roles(FakeCloud::with_drift(), &["arn:aws:iam::*:role/frugal-*"]);
    let policy = CostPolicy::test()
        .with_finalizer()
        .enforce()
        .with_spec(|spec| spec.aws.role_arn = Some("arn:aws:iam::999999999999:role/admin".to_string()));

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Stalled", "True", "RoleNotAllowed");
            assert_condition(&status, "Ready", "False", "RoleNotAllowed");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("role/admin")), "{status:#}");
            api.expect_event("Warning", "RoleNotAllowed").await;
            api
        })
        .await
        .expect("a disallowed role is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "not even credentials are fetched");
}

#[tokio::test]
async fn an_invalid_spec_already_reported_at_this_generation_publishes_no_new_event() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let invalid = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());
    let reported = Arc::new(Mutex::new(None));
    let slot = reported.clone();
    harness
        .reconcile(invalid.clone(), |mut api| async move {
            *lock(&slot) = Some(api.expect_status_apply().await);
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("first reconcile");
    let previous = lock(&reported).take().expect("status was applied");
    let mut again = invalid;
    again.status = Some(serde_json::from_value(previous.clone()).expect("a CostPolicyStatus"));

    let action = harness
        .reconcile(again, move |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert_eq!(
                condition(&status, "Stalled")["lastTransitionTime"],
                condition(&previous, "Stalled")["lastTransitionTime"],
                "nothing changed, so the transition time stays"
            );
            api
        })
        .await
        .expect("second reconcile");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="invalid_spec"} 2"#));
}

#[tokio::test]
async fn deleting_with_retain_leaves_aws_alone_and_releases_the_finalizer() {
    let cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Retain).deleting();

    let action = harness
        .reconcile(policy, |mut api| async move {
            api.expect_event("Normal", "Retained").await;
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "Retain needs no AWS call");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
}

#[tokio::test]
async fn deleting_with_delete_removes_only_the_endpoints_this_policy_created() {
    let cloud = FakeCloud::with_drift()
        .with_endpoints(&["vpce-ours1", "vpce-ours2"], ownership_tags(NAME))
        .with_endpoints(&["vpce-other-policy"], ownership_tags("team-b"))
        .with_endpoints(&["vpce-hand-made"], Tags::from([(TAG_POLICY.to_string(), NAME.to_string())]));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let action = harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains("vpce-ours1") && note(&event).contains("vpce-ours2"), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::OwnedEndpoints { policy: NAME.to_string() },
            CloudCall::DeleteEndpoints { ids: vec!["vpce-ours1".to_string(), "vpce-ours2".to_string()] },
        ]
    );
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-other-policy", "vpce-hand-made"]);
}

#[tokio::test]
async fn a_failed_delete_keeps_the_finalizer_and_backs_off_longer_each_time() {
    let mut cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    cloud.fail_delete = Some(CloudError::new("DeleteVpcEndpoints", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let error = harness
        .reconcile(policy.clone(), |mut api| async move {
            let event = api.expect_event("Warning", "CleanupFailed").await;
            assert!(note(&event).contains("DeleteVpcEndpoints"), "{event:#}");
            // No finalizer patch follows: the harness fails on any further request.
            api
        })
        .await
        .expect_err("a failed cleanup is a reconcile error");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "DeleteVpcEndpoints"), "{error:?}");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
    let policy = Arc::new(policy);
    let delays: Vec<Duration> =
        (0..3).map(|_| requeue_after(&error_policy(policy.clone(), &error, harness.ctx.clone())).expect("errors are retried")).collect();
    assert!(delays[0] >= Duration::from_secs(4) && delays[0] <= Duration::from_secs(6), "{delays:?}");
    assert!(delays[0] < delays[1] && delays[1] < delays[2], "the delay grows: {delays:?}");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn a_throttled_observation_reports_the_failure_changes_nothing_and_returns_an_error() {
    let mut cloud = FakeCloud::with_drift();
    cloud.fail_observe = Some(CloudError::new("DescribeRouteTables", ErrorKind::Throttled, "Rate exceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "GatewayEndpointsInSync", "False", "ObservationFailed");
            assert!(
                condition(&status, "GatewayEndpointsInSync")["message"].as_str().is_some_and(|m| m.contains("DescribeRouteTables")),
                "{status:#}"
            );
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            assert_condition(&status, "Reconciling", "True", "Retrying");
            assert_condition(&status, "Stalled", "False", "Idle");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("DescribeRouteTables"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.kind == ErrorKind::Throttled), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveNetwork], "no create after a failed read");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn audit_mode_reports_drift_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer(), |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Ready", "True", "DriftFound");
            assert_condition(&status, "GatewayEndpointsInSync", "False", "DriftFound");
            assert_condition(&status, "Stalled", "False", "Idle");
            let ge = &status["gatewayEndpoints"];
            assert_eq!((ge["missingEndpoints"].as_u64(), ge["endpointsCreated"].as_u64()), (Some(1), Some(0)), "{ge:#}");
            assert_eq!(status["findings"], 1);
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveNetwork]);
    assert!(harness.cloud.endpoint_ids().is_empty());
    assert!(requeue_after(&action).is_some(), "Audit keeps watching for drift");
}

#[tokio::test]
async fn every_endpoint_created_in_one_run_is_named_in_an_event() {
    let cloud = FakeCloud::with_drift().with_vpc("vpc-0e0f0a0b", "rtb-private2", "rtb-public2");
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_eq!(status["gatewayEndpoints"]["endpointsCreated"], 2);
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert!(note(&event).contains("vpce-fake0001") && note(&event).contains("vpce-fake0002"), "{event:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-fake0001", "vpce-fake0002"]);
}

#[tokio::test]
async fn a_spec_invalid_in_another_field_at_the_next_generation_gets_an_event_naming_that_field() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let first = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());
    harness
        .reconcile(first.clone(), |mut api| async move {
            api.expect_status_apply().await;
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("first reconcile");

    let mut second = first.with_spec(|spec| {
        spec.resync_interval = "10m".to_string();
        spec.aws.region = "Europe".to_string();
    });
    second.metadata.generation = Some(GENERATION + 1);
    harness
        .reconcile(second, |mut api| async move {
            let status = api.expect_status_apply().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.aws.region") && !note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("second reconcile");

    assert_eq!(harness.cloud.calls(), []);
}
