//! Notifiers through the controllers: the Notifier's Ready condition names the field when its
//! Secret or key is missing (mocked API server), and a policy run with news reaches a local
//! webhook receiver as one message, while the steady run after it sends none.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::reflector::store::Writer;
use kube::runtime::watcher;

use super::*;
use crate::api::notifier::{NotifierType, NotifyOn, SecretRef};
use crate::api::{Notifier, NotifierSpec};
use crate::controller::notifier::{NotifierContext, reconcile as reconcile_notifier};
use crate::notify::{Address, Notify, Receiver, RetryPolicy};

const NAMESPACE: &str = "frugal-system";
const SECRET_PATH: &str = "/api/v1/namespaces/frugal-system/secrets/team-webhook";
const NOTIFIER_STATUS_PATH: &str = "/apis/frugal.dev/v1alpha1/notifiers/team-hook/status";
const TOKEN: &str = "never-in-a-status-token";

fn notifier() -> Notifier {
    let mut notifier = Notifier::new(
        "team-hook",
        NotifierSpec {
            type_: NotifierType::Webhook,
            secret_ref: SecretRef { namespace: None, name: "team-webhook".into(), key: "address".into() },
            policy_selector: None,
            events: NotifyOn::ALL.to_vec(),
            suspend: false,
        },
    );
    notifier.metadata.uid = Some("4b1d-notifier".into());
    notifier.metadata.generation = Some(1);
    notifier
}

fn notify(notifiers: &[Notifier]) -> Arc<Notify> {
    let mut writer: Writer<Notifier> = Writer::default();
    let store = writer.as_reader();
    for notifier in notifiers {
        writer.apply_watcher_event(&watcher::Event::Apply(notifier.clone()));
    }
    let retry = RetryPolicy { give_up_after: Duration::from_secs(5), first_delay: Duration::from_millis(10), ..RetryPolicy::default() };
    Arc::new(Notify::start(crate::notify::delivery::http_client().expect("root certificates"), retry, Metrics::new(), store))
}

fn answer(respond: tower_test::mock::SendResponse<Response<Body>>, code: u16, body: &Value) {
    let bytes = serde_json::to_vec(body).expect("serializes");
    respond.send_response(Response::builder().status(code).body(Body::from(bytes)).expect("response"));
}

/// Reconciles the Notifier while the mocked API server serves `secret` (None: 404) and takes
/// the status patch; returns the written status.
async fn notifier_status(secret: Option<Secret>) -> Value {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(service, NAMESPACE);
    let ctx = Arc::new(NotifierContext { client, notify: notify(&[]), secret_namespace: NAMESPACE.into() });
    let server = tokio::spawn(async move {
        let (request, respond) = handle.next_request().await.expect("the Secret is read");
        assert_eq!((request.method(), request.uri().path()), (&Method::GET, SECRET_PATH));
        match secret {
            Some(secret) => answer(respond, 200, &serde_json::to_value(secret).expect("secret")),
            None => answer(
                respond,
                404,
                &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "secrets \"team-webhook\" not found"}),
            ),
        }
        let (request, respond) = handle.next_request().await.expect("the status is written");
        assert_eq!((request.method(), request.uri().path()), (&Method::PATCH, NOTIFIER_STATUS_PATH));
        let bytes = request.into_body().collect_bytes().await.expect("body");
        let patch: Value = serde_json::from_slice(&bytes).expect("JSON patch");
        assert_eq!(patch[0], json!({"op": "test", "path": "/metadata/uid", "value": "4b1d-notifier"}));
        answer(respond, 200, &serde_json::to_value(notifier()).expect("notifier"));
        patch[1]["value"].clone()
    });
    let action = tokio::time::timeout(Duration::from_secs(5), reconcile_notifier(Arc::new(notifier()), ctx))
        .await
        .expect("in time")
        .expect("the status is written");
    assert_eq!(requeue_after(&action), Some(crate::controller::notifier::RECHECK), "the Secret is read again later");
    server.await.expect("the scenario")
}

fn secret(key: &str, value: &str) -> Secret {
    Secret { data: Some(BTreeMap::from([(key.to_string(), ByteString(value.as_bytes().to_vec()))])), ..Secret::default() }
}

#[tokio::test]
async fn a_missing_secret_makes_ready_false_naming_the_field() {
    let status = notifier_status(None).await;
    assert_condition(&status, "Ready", "False", "SecretNotFound");
    assert_eq!(condition(&status, "Ready")["message"], "spec.secretRef.name: Secret frugal-system/team-webhook not found");
    assert_eq!(status["observedGeneration"], 1);
}

#[tokio::test]
async fn a_missing_key_makes_ready_false_naming_the_field() {
    let status = notifier_status(Some(secret("url", &format!("https://hooks.example.com/{TOKEN}")))).await;
    assert_condition(&status, "Ready", "False", "SecretKeyMissing");
    let message = condition(&status, "Ready")["message"].as_str().unwrap_or_default().to_string();
    assert!(message.starts_with("spec.secretRef.key:") && message.contains("\"address\""), "{message}");
}

#[tokio::test]
async fn a_usable_secret_makes_ready_true_and_the_url_stays_out_of_the_status() {
    let status = notifier_status(Some(secret("address", &format!("https://hooks.example.com/{TOKEN}")))).await;
    assert_condition(&status, "Ready", "True", "Ready");
    assert!(!status.to_string().contains(TOKEN), "{status}");
}

/// A receiver on a free loopback port that keeps every body it gets.
async fn receiver() -> (Arc<Mutex<Vec<Value>>>, Address) {
    use axum::extract::State;
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    async fn keep(State(received): State<Arc<Mutex<Vec<Value>>>>, body: axum::body::Bytes) -> &'static str {
        lock(&received).push(serde_json::from_slice(&body).expect("a JSON body"));
        "ok"
    }
    let app = axum::Router::new().fallback(keep).with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (received, Address::parse(&format!("http://127.0.0.1:{port}/hook/{TOKEN}")).expect("address"))
}

async fn wait_for_messages(received: &Arc<Mutex<Vec<Value>>>, count: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while lock(received).len() < count {
        assert!(std::time::Instant::now() < deadline, "the receiver got {:?}", lock(received));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_run_that_changes_something_sends_one_message_and_the_steady_run_after_it_none() {
    let (received, address) = receiver().await;
    let notifier = notifier();
    let notify = notify(std::slice::from_ref(&notifier));
    notify.set_receiver("4b1d-notifier", Some(Receiver { generation: Some(1), address, selector: Default::default() }));
    let mut harness = Harness::with_notify(FakeCloud::with_drift(), notify.clone());

    let policy = CostPolicy::test().with_finalizer().enforce();
    let written = Arc::new(Mutex::new(None));
    let slot = written.clone();
    harness
        .reconcile(policy.clone(), |mut api| async move {
            *lock(&slot) = Some(api.expect_status_patch().await);
            api.expect_event("Normal", "EndpointCreated").await;
            api
        })
        .await
        .expect("reconcile succeeds");
    wait_for_messages(&received, 1).await;
    let message = lock(&received)[0].clone();
    assert_eq!(
        (message["kind"].as_str(), message["policy"].as_str(), message["region"].as_str()),
        (Some("Notification"), Some(NAME), Some(REGION))
    );
    assert_eq!(message["changes"][0]["area"], "gatewayEndpoints");
    assert_eq!(message["changes"][0]["count"], 1);
    assert_eq!(message["mode"], "Enforce");
    assert!(message["account"].as_str().is_some_and(|a| a.len() == 12), "{message:#}");
    assert!(message["summary"].as_str().is_some_and(|s| s.starts_with("team-a: 1 change")), "{message:#}");

    // The next resync finds everything in place: no news, no message.
    let mut again = policy;
    again.status = Some(serde_json::from_value(lock(&written).take().expect("status written")).expect("a CostPolicyStatus"));
    harness
        .reconcile(again, |mut api| async move {
            api.expect_status_patch().await;
            api
        })
        .await
        .expect("second reconcile succeeds");
    // A marker sent after the second run arrives after anything that run queued.
    let marker = crate::notify::news::News {
        target: crate::notify::news::Target {
            policy: "marker".into(),
            account: ACCOUNT.into(),
            region: REGION.into(),
            mode: crate::api::Mode::Audit,
        },
        changes: vec![],
        new_findings: vec![],
        errors: vec![],
        stalled: Some(crate::notify::news::Problem { condition: "Stalled".into(), reason: "InvalidSpec".into(), message: "marker".into() }),
        money: Default::default(),
        time: "2026-12-03T03:00:00Z".into(),
    };
    notify.send(&BTreeMap::new(), &marker);
    wait_for_messages(&received, 2).await;
    let policies: Vec<Value> = lock(&received).iter().map(|m| m["policy"].clone()).collect();
    assert_eq!(policies, [json!(NAME), json!("marker")], "the steady run sent nothing");
}

#[tokio::test]
async fn a_policy_that_stalls_sends_its_stall_once_and_never_touches_aws() {
    let (received, address) = receiver().await;
    let notify = notify(&[notifier()]);
    notify.set_receiver("4b1d-notifier", Some(Receiver { generation: Some(1), address, selector: Default::default() }));
    let mut harness = Harness::with_notify(FakeCloud::with_drift(), notify);
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());
    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_patch().await;
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");
    wait_for_messages(&received, 1).await;
    let message = lock(&received)[0].clone();
    assert_eq!(message["events"], json!(["Stalled"]));
    assert_eq!(message["stalled"]["reason"], "InvalidSpec");
    assert!(message["stalled"]["message"].as_str().is_some_and(|m| m.contains("spec.resyncInterval")), "{message:#}");
    assert_eq!(message["account"], "the operator's own account", "not looked up: invalid input never reaches AWS");
    assert_eq!(harness.cloud.calls(), [], "not even connect, nor the caller's identity");
}
