//! The set reconcile against a mocked API server (`tower_test`): each test answers the
//! requests it expects, in order, asserting method, path and body; the reconcile must end
//! once they are answered (a request nobody expected hangs it and fails on the timeout).

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kube::runtime::reflector::{self, Store};
use kube::runtime::watcher;
use serde_json::{Value, json};

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::{SetContext, reconcile_set};
use crate::api::names::SET_FIELD_MANAGER;
use crate::api::validate::{OrganizationScope, SetAccounts};
use crate::api::{CostPolicy, CostPolicySet, CostPolicySetSpec};
use crate::engine::{CloudError, ErrorKind};
use crate::metrics::Metrics;
use crate::set::accounts::{MemberAccount, OrganizationReader, resolve};
use crate::set::desired::{desired, owner_reference};

const SET_UID: &str = "5e7a1c2b-0000-4000-8000-000000000001";
const POLICIES: &str = "/apis/frugal.dev/v1alpha1/costpolicies";
const SET_STATUS: &str = "/apis/frugal.dev/v1alpha1/costpolicysets/prod/status";
const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const UNIT: &str = "ou-ab12-prod0001";

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

struct Received {
    method: Method,
    path: String,
    query: String,
    content_type: String,
    body: Value,
    respond: tower_test::mock::SendResponse<Response<Body>>,
}

impl Received {
    fn answer(self, status: StatusCode, body: &Value) {
        let bytes = serde_json::to_vec(body).expect("serializes");
        self.respond.send_response(Response::builder().status(status).body(Body::from(bytes)).expect("response builds"));
    }
}

async fn next(handle: &mut Handle) -> Received {
    let (request, respond) = handle.next_request().await.expect("a request");
    let (parts, body) = request.into_parts();
    let bytes = body.collect_bytes().await.expect("body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    Received {
        method: parts.method,
        path: parts.uri.path().to_string(),
        query: parts.uri.query().unwrap_or_default().to_string(),
        content_type,
        body,
        respond,
    }
}

fn set(ids: &[&str]) -> CostPolicySet {
    let spec: CostPolicySetSpec = serde_yaml::from_str(&format!(
        "accounts: {{ids: {ids:?}, roleName: frugal-target}}\nregions: [eu-west-1]\ntemplate: {{gatewayEndpoints: {{services: [s3]}}}}\n"
    ))
    .expect("fixture parses");
    let mut set = CostPolicySet::new("prod", spec);
    set.metadata.uid = Some(SET_UID.to_string());
    set.metadata.generation = Some(2);
    set
}

/// A set over the organization unit UNIT (its accounts come from an [`Organization`]).
fn organization_set() -> CostPolicySet {
    let spec: CostPolicySetSpec = serde_yaml::from_str(&format!(
        "accounts: {{organization: {{roleArn: 'arn:aws:iam::999999999999:role/frugal-org-reader', organizationalUnitIds: [{UNIT}]}}, roleName: frugal-target}}
regions: [eu-west-1]
template: {{gatewayEndpoints: {{services: [s3]}}}}
"
    ))
    .expect("fixture parses");
    let mut set = CostPolicySet::new("prod", spec);
    set.metadata.uid = Some(SET_UID.to_string());
    set.metadata.generation = Some(2);
    set
}

/// An in-memory organization: UNIT's accounts, or a failure of every read; counts the reads
/// of UNIT's accounts.
struct Organization(Result<Vec<MemberAccount>, CloudError>, Arc<std::sync::atomic::AtomicUsize>);

impl Organization {
    fn active(ids: &[&str]) -> Self {
        Self(Ok(ids.iter().map(|id| MemberAccount::new(*id, "ACTIVE")).collect()), Arc::default())
    }
}

#[async_trait]
impl OrganizationReader for Organization {
    async fn child_units(&self, _: &OrganizationScope, _: &str) -> Result<Vec<String>, CloudError> {
        self.0.as_ref().map(|_| Vec::new()).map_err(Clone::clone)
    }
    async fn accounts(&self, _: &OrganizationScope, parent: &str) -> Result<Vec<MemberAccount>, CloudError> {
        assert_eq!(parent, UNIT);
        self.1.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.0.clone()
    }
    async fn account_tags(&self, _: &OrganizationScope, _: &str) -> Result<BTreeMap<String, String>, CloudError> {
        Ok(BTreeMap::new())
    }
}

/// The policies `set` generates, as the API server would hold them.
fn stored(set: &CostPolicySet) -> Vec<CostPolicy> {
    stored_with(set, &Organization::active(&[]))
}

/// The policies `set` generates over the accounts of `organization` (for sets of ids, the ids).
fn stored_with(set: &CostPolicySet, organization: &Organization) -> Vec<CostPolicy> {
    let valid = crate::api::validate::validate_set("prod", &set.spec).expect("valid");
    let owner = owner_reference(set).expect("owner");
    let accounts = match &valid.accounts {
        SetAccounts::Ids(ids) => ids.clone(),
        SetAccounts::Organization(_) => futures::executor::block_on(resolve(&valid, organization)).expect("resolves"),
    };
    desired(&valid, &accounts)
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut object = g.object(owner.clone());
            object.metadata.uid = Some(format!("policy-uid-{i}"));
            object
        })
        .collect()
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}

/// The watch cache of generated policies, listed and holding `items`.
fn cache(items: &[CostPolicy]) -> Store<CostPolicy> {
    let mut writer = reflector::store::Writer::default();
    writer.apply_watcher_event(&watcher::Event::Init);
    for item in items {
        writer.apply_watcher_event(&watcher::Event::InitApply(item.clone()));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    writer.as_reader()
}

async fn expect_status(handle: &mut Handle, set: &CostPolicySet) -> Value {
    let request = next(handle).await;
    assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, SET_STATUS));
    assert_eq!(request.body[0], json!({"op": "test", "path": "/metadata/uid", "value": SET_UID}));
    let status = request.body[1]["value"].clone();
    let mut answered = set.clone();
    answered.status = Some(serde_json::from_value(status.clone()).expect("a CostPolicySetStatus"));
    request.answer(StatusCode::OK, &serde_json::to_value(&answered).expect("serializes"));
    status
}

/// A set's Event: its type, reason and note.
async fn expect_event(handle: &mut Handle, type_: &str, reason: &str) -> String {
    let request = next(handle).await;
    assert_eq!((&request.method, request.path.as_str()), (&Method::POST, EVENTS), "{}", request.body);
    let event = request.body.clone();
    assert_eq!((event["type"].as_str(), event["reason"].as_str()), (Some(type_), Some(reason)), "{event:#}");
    assert_eq!((event["regarding"]["kind"].as_str(), event["regarding"]["name"].as_str()), (Some("CostPolicySet"), Some("prod")));
    assert_eq!(event["reportingController"], "frugal-operator");
    request.answer(StatusCode::OK, &event);
    event["note"].as_str().unwrap_or_default().to_string()
}

/// Runs one reconcile of `set`, the watch cache holding `cached`, against the scenario's answers.
async fn run(set: CostPolicySet, cached: &[CostPolicy], scenario: impl AsyncFnOnce(&mut Handle)) {
    run_with(set, cached, Organization::active(&[]), Metrics::new(), scenario).await.expect("the reconcile succeeded");
}

/// Runs one reconcile of `set` over `organization`, the watch cache holding `cached`, against
/// the scenario's answers (none of them a LIST: the policies come from the cache).
async fn run_with(
    set: CostPolicySet,
    cached: &[CostPolicy],
    organization: Organization,
    metrics: Arc<Metrics>,
    scenario: impl AsyncFnOnce(&mut Handle),
) -> Result<kube::runtime::controller::Action, super::SetError> {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Arc::new(SetContext::new(kube::Client::new(service, "default"), Arc::new(organization), metrics, cache(cached)));
    let reconcile = tokio::spawn(reconcile_set(Arc::new(set), ctx));
    finish(reconcile, &mut handle, scenario).await
}

/// Answers `scenario`'s requests, then waits for the reconcile's result.
async fn finish(
    reconcile: tokio::task::JoinHandle<Result<kube::runtime::controller::Action, super::SetError>>,
    mut handle: &mut Handle,
    scenario: impl AsyncFnOnce(&mut Handle),
) -> Result<kube::runtime::controller::Action, super::SetError> {
    tokio::time::timeout(Duration::from_secs(5), scenario(&mut handle)).await.expect("the expected requests came");
    tokio::time::timeout(Duration::from_secs(5), reconcile).await.expect("the reconcile ended").expect("no panic")
}

#[tokio::test]
async fn a_new_set_applies_one_policy_per_account_with_its_owner_and_labels() {
    let set = set(&["111122223333", "444455556666"]);
    let expected = stored(&set);
    run(set.clone(), &[], async |handle| {
        for (policy, account) in expected.iter().zip(["111122223333", "444455556666"]) {
            let name = format!("prod-{account}-eu-west-1");
            let get = next(handle).await;
            assert_eq!((&get.method, get.path.clone()), (&Method::GET, format!("{POLICIES}/{name}")), "is the name someone else's?");
            get.answer(StatusCode::NOT_FOUND, &not_found());
            let apply = next(handle).await;
            assert_eq!((&apply.method, apply.path.clone()), (&Method::PATCH, format!("{POLICIES}/{name}")));
            assert_eq!(apply.content_type, "application/apply-patch+yaml");
            assert!(apply.query.contains(&format!("fieldManager={SET_FIELD_MANAGER}")) && apply.query.contains("force=true"), "{}", apply.query);
            let body = &apply.body;
            assert_eq!(body["metadata"]["labels"], json!({"frugal.dev/set": "prod", "frugal.dev/account": account, "frugal.dev/region": "eu-west-1"}));
            assert_eq!(
                body["metadata"]["ownerReferences"],
                json!([{"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicySet", "name": "prod", "uid": SET_UID, "controller": true, "blockOwnerDeletion": true}])
            );
            assert_eq!(body["spec"]["aws"], json!({"region": "eu-west-1", "roleArn": format!("arn:aws:iam::{account}:role/frugal-target")}));
            assert!(body.get("status").is_none(), "status is the policy controller's: {body}");
            apply.answer(StatusCode::OK, &serde_json::to_value(policy).expect("serializes"));
        }
        let status = expect_status(handle, &set).await;
        assert_eq!((status["accounts"].as_u64(), status["policies"].as_u64(), status["notReady"].as_u64()), (Some(2), Some(2), Some(2)));
        let note = expect_event(handle, "Normal", "PolicyGenerated").await;
        assert_eq!(note, "applied 2 generated CostPolicies: prod-111122223333-eu-west-1, prod-444455556666-eu-west-1");
    })
    .await;
}

#[tokio::test]
async fn an_account_removed_from_the_ids_has_its_policy_deleted_and_the_rest_is_left_alone() {
    let before = stored(&set(&["111122223333", "444455556666"]));
    let after = set(&["111122223333"]);
    run(after.clone(), &before, async |handle| {
        // The remaining policy is already as desired: no write.
        let delete = next(handle).await;
        assert_eq!((&delete.method, delete.path.clone()), (&Method::DELETE, format!("{POLICIES}/prod-444455556666-eu-west-1")));
        assert_eq!(delete.body["preconditions"]["uid"], "policy-uid-1", "only the policy that was listed");
        delete.answer(StatusCode::OK, &serde_json::to_value(&before[1]).expect("serializes"));
        let status = expect_status(handle, &after).await;
        assert_eq!((status["accounts"].as_u64(), status["policies"].as_u64()), (Some(1), Some(1)));
        let note = expect_event(handle, "Normal", "PolicyDeleted").await;
        assert!(note.contains("prod-444455556666-eu-west-1") && !note.contains("111122223333"), "{note}");
    })
    .await;
}

#[tokio::test]
async fn an_invalid_spec_stalls_naming_the_field_and_deletes_nothing() {
    let before = stored(&set(&["111122223333", "444455556666"]));
    let mut invalid = set(&["111122223333"]);
    invalid.spec.regions = vec!["Europe".to_string()];
    run(invalid.clone(), &before, async |handle| {
        let status = expect_status(handle, &invalid).await;
        let stalled = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Stalled")).expect("Stalled").clone();
        assert_eq!((stalled["status"].as_str(), stalled["reason"].as_str()), (Some("True"), Some("InvalidSpec")));
        assert!(stalled["message"].as_str().is_some_and(|m| m.contains("spec.regions[0]")), "{stalled}");
        assert_eq!(status["policies"].as_u64(), Some(2), "both policies are kept");
        let note = expect_event(handle, "Warning", "InvalidSpec").await;
        assert!(note.contains("spec.regions[0]"), "{note}");
    })
    .await;
}

#[tokio::test]
async fn a_name_held_by_a_policy_the_set_does_not_control_is_not_taken_over() {
    let set = set(&["111122223333"]);
    let mut hand_written = stored(&set).remove(0);
    hand_written.metadata.owner_references = None;
    hand_written.metadata.labels = None;
    run(set.clone(), &[], async |handle| {
        let get = next(handle).await;
        assert_eq!(get.method, Method::GET);
        get.answer(StatusCode::OK, &serde_json::to_value(&hand_written).expect("serializes"));
        let status = expect_status(handle, &set).await;
        let stalled = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Stalled")).expect("Stalled").clone();
        assert_eq!(stalled["reason"], "NameTaken");
        let note = expect_event(handle, "Warning", "NameTaken").await;
        assert!(note.contains("prod-111122223333-eu-west-1"), "{note}");
    })
    .await;
}

#[tokio::test]
async fn a_failed_organizations_read_keeps_every_policy_says_why_and_is_retried() {
    let set = organization_set();
    let before = stored_with(&set, &Organization::active(&["111122223333", "444455556666"]));
    let denied = Organization(
        Err(CloudError::new("ListAccountsForParent", ErrorKind::AccessDenied, "AccessDeniedException: not allowed")),
        Arc::default(),
    );
    let metrics = Metrics::new();
    let result = run_with(set.clone(), &before, denied, metrics.clone(), async |handle| {
        // No apply, no delete: the status comes next.
        let status = expect_status(handle, &set).await;
        let condition = |type_: &str| {
            status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == type_))
                .cloned()
                .unwrap_or_else(|| panic!("{type_}"))
        };
        let ready = condition("Ready");
        assert_eq!((ready["status"].as_str(), ready["reason"].as_str()), (Some("False"), Some("OrganizationsUnavailable")));
        let message = ready["message"].as_str().unwrap_or_default();
        assert!(message.contains("AccessDeniedException") && message.contains("frugal-org-reader") && message.contains(UNIT), "{message}");
        assert_eq!(condition("Reconciling")["status"], "True", "retried");
        assert_eq!(condition("Stalled")["status"], "False");
        assert_eq!(status["policies"].as_u64(), Some(2), "both policies are kept");
        let note = expect_event(handle, "Warning", "OrganizationsUnavailable").await;
        assert!(note.contains("2 generated policies are kept"), "{note}");
    })
    .await;
    assert!(matches!(result, Err(super::SetError::Organizations(_))), "the error policy retries with backoff: {result:?}");
    let exported = metrics.encode();
    assert!(exported.contains("frugal_set_reconcile_errors_total{category=\"organizations\"} 1"), "{exported}");
}

#[tokio::test]
async fn an_account_that_leaves_the_unit_has_its_policy_deleted() {
    let set = organization_set();
    let before = stored_with(&set, &Organization::active(&["111122223333", "444455556666"]));
    let metrics = Metrics::new();
    run_with(set.clone(), &before, Organization::active(&["111122223333"]), metrics.clone(), async |handle| {
        let delete = next(handle).await;
        assert_eq!((&delete.method, delete.path.clone()), (&Method::DELETE, format!("{POLICIES}/prod-444455556666-eu-west-1")));
        delete.answer(StatusCode::OK, &serde_json::to_value(&before[1]).expect("serializes"));
        let status = expect_status(handle, &set).await;
        assert_eq!((status["accounts"].as_u64(), status["policies"].as_u64()), (Some(1), Some(1)));
        let note = expect_event(handle, "Normal", "PolicyDeleted").await;
        assert!(note.contains("prod-444455556666-eu-west-1"), "{note}");
    })
    .await
    .expect("the reconcile succeeded");
    let exported = metrics.encode();
    assert!(exported.contains("frugal_set_accounts{set=\"prod\"} 1"), "{exported}");
    assert!(exported.contains("frugal_set_policies{set=\"prod\",state=\"not_ready\"} 1"), "{exported}");
}

/// A generated policy's status change reconciles its set: the accounts read for this very
/// set object are reused; a change of the set reads Organizations again.
#[tokio::test]
async fn organizations_is_read_again_only_when_the_set_changed() {
    let mut set = organization_set();
    set.metadata.resource_version = Some("7".to_string());
    let organization = Organization::active(&["111122223333"]);
    let reads = organization.1.clone();
    let before = stored_with(&set, &organization);
    reads.store(0, std::sync::atomic::Ordering::SeqCst);
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Arc::new(SetContext::new(kube::Client::new(service, "default"), Arc::new(organization), Metrics::new(), cache(&before)));
    let mut versions = vec![("7", 1), ("7", 1), ("8", 2)];
    for (version, expected_reads) in versions.drain(..) {
        set.metadata.resource_version = Some(version.to_string());
        let reconcile = tokio::spawn(reconcile_set(Arc::new(set.clone()), ctx.clone()));
        let current = set.clone();
        finish(reconcile, &mut handle, async |handle| {
            expect_status(handle, &current).await;
        })
        .await
        .expect("the reconcile succeeded");
        assert_eq!(reads.load(std::sync::atomic::Ordering::SeqCst), expected_reads, "resourceVersion {version}");
    }
}

/// The watch cache holds every set's policies: a set deletes only those it controls.
#[tokio::test]
async fn another_sets_policies_in_the_cache_are_left_alone() {
    let set = set(&["111122223333"]);
    let mut cached = stored(&set);
    let mut others = stored(&self::set(&["444455556666"]));
    for other in &mut others {
        other.metadata.name = Some("other-444455556666-eu-west-1".to_string());
        for owner in other.metadata.owner_references.iter_mut().flatten() {
            owner.uid = "5e7a1c2b-0000-4000-8000-000000000002".to_string();
            owner.name = "other".to_string();
        }
    }
    cached.extend(others);
    run(set.clone(), &cached, async |handle| {
        // The set's own policy is as desired and the other set's is not its to delete: the
        // status is the only request.
        let status = expect_status(handle, &set).await;
        assert_eq!((status["accounts"].as_u64(), status["policies"].as_u64()), (Some(1), Some(1)));
    })
    .await;
}
