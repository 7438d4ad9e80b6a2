//! The set reconcile against a mocked API server (`tower_test`): each test answers the
//! requests it expects, in order, asserting method, path and body; the reconcile must end
//! once they are answered (a request nobody expected hangs it and fails on the timeout).

use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

use super::{SetContext, reconcile_set};
use crate::api::names::SET_FIELD_MANAGER;
use crate::api::{CostPolicy, CostPolicySet, CostPolicySetSpec};
use crate::set::desired::{desired, owner_reference};

const SET_UID: &str = "5e7a1c2b-0000-4000-8000-000000000001";
const POLICIES: &str = "/apis/frugal.dev/v1alpha1/costpolicies";
const SET_STATUS: &str = "/apis/frugal.dev/v1alpha1/costpolicysets/prod/status";

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

/// The policies `set` generates, as the API server would hold them.
fn stored(set: &CostPolicySet) -> Vec<CostPolicy> {
    let valid = crate::api::validate::validate_set("prod", &set.spec).expect("valid");
    let owner = owner_reference(set).expect("owner");
    desired(&valid)
        .iter()
        .enumerate()
        .map(|(i, g)| {
            let mut object = g.object(owner.clone());
            object.metadata.uid = Some(format!("policy-uid-{i}"));
            object
        })
        .collect()
}

fn list(items: &[CostPolicy]) -> Value {
    json!({"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicyList", "metadata": {"resourceVersion": "1"}, "items": items})
}

fn not_found() -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})
}

async fn expect_list(handle: &mut Handle, items: &[CostPolicy]) {
    let request = next(handle).await;
    assert_eq!((&request.method, request.path.as_str()), (&Method::GET, POLICIES));
    assert!(request.query.contains("labelSelector=frugal.dev%2Fset%3Dprod"), "{}", request.query);
    request.answer(StatusCode::OK, &list(items));
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

async fn run(set: CostPolicySet, scenario: impl AsyncFnOnce(&mut Handle)) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Arc::new(SetContext { client: kube::Client::new(service, "default") });
    let reconcile = tokio::spawn(reconcile_set(Arc::new(set), ctx));
    tokio::time::timeout(Duration::from_secs(5), scenario(&mut handle)).await.expect("the expected requests came");
    let result = tokio::time::timeout(Duration::from_secs(5), reconcile).await.expect("the reconcile ended").expect("no panic");
    result.expect("the reconcile succeeded");
}

#[tokio::test]
async fn a_new_set_applies_one_policy_per_account_with_its_owner_and_labels() {
    let set = set(&["111122223333", "444455556666"]);
    let expected = stored(&set);
    run(set.clone(), async |handle| {
        expect_list(handle, &[]).await;
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
    })
    .await;
}

#[tokio::test]
async fn an_account_removed_from_the_ids_has_its_policy_deleted_and_the_rest_is_left_alone() {
    let before = stored(&set(&["111122223333", "444455556666"]));
    let after = set(&["111122223333"]);
    run(after.clone(), async |handle| {
        expect_list(handle, &before).await;
        // The remaining policy is already as desired: no write.
        let delete = next(handle).await;
        assert_eq!((&delete.method, delete.path.clone()), (&Method::DELETE, format!("{POLICIES}/prod-444455556666-eu-west-1")));
        assert_eq!(delete.body["preconditions"]["uid"], "policy-uid-1", "only the policy that was listed");
        delete.answer(StatusCode::OK, &serde_json::to_value(&before[1]).expect("serializes"));
        let status = expect_status(handle, &after).await;
        assert_eq!((status["accounts"].as_u64(), status["policies"].as_u64()), (Some(1), Some(1)));
    })
    .await;
}

#[tokio::test]
async fn an_invalid_spec_stalls_naming_the_field_and_deletes_nothing() {
    let before = stored(&set(&["111122223333", "444455556666"]));
    let mut invalid = set(&["111122223333"]);
    invalid.spec.regions = vec!["Europe".to_string()];
    run(invalid.clone(), async |handle| {
        expect_list(handle, &before).await;
        let status = expect_status(handle, &invalid).await;
        let stalled = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Stalled")).expect("Stalled").clone();
        assert_eq!((stalled["status"].as_str(), stalled["reason"].as_str()), (Some("True"), Some("InvalidSpec")));
        assert!(stalled["message"].as_str().is_some_and(|m| m.contains("spec.regions[0]")), "{stalled}");
        assert_eq!(status["policies"].as_u64(), Some(2), "both policies are kept");
    })
    .await;
}

#[tokio::test]
async fn a_name_held_by_a_policy_the_set_does_not_control_is_not_taken_over() {
    let set = set(&["111122223333"]);
    let mut hand_written = stored(&set).remove(0);
    hand_written.metadata.owner_references = None;
    hand_written.metadata.labels = None;
    run(set.clone(), async |handle| {
        expect_list(handle, &[]).await;
        let get = next(handle).await;
        assert_eq!(get.method, Method::GET);
        get.answer(StatusCode::OK, &serde_json::to_value(&hand_written).expect("serializes"));
        let status = expect_status(handle, &set).await;
        let stalled = status["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Stalled")).expect("Stalled").clone();
        assert_eq!(stalled["reason"], "NameTaken");
    })
    .await;
}
