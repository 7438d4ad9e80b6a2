//! The lease decision as a pure function, and the elector against a mocked API server
//! (`tower_test`) that keeps one Lease and enforces resourceVersion like the real one.

use std::sync::{Arc, Mutex, MutexGuard};

use http::{Method, Request, Response, StatusCode};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use serde_json::{Value, json};

use super::*;

const NAMESPACE: &str = "frugal-system";
const LEASE: &str = "frugal-operator";
const LEASES_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/frugal-system/leases";
const LEASE_PATH: &str = "/apis/coordination.k8s.io/v1/namespaces/frugal-system/leases/frugal-operator";

/// A fixed instant plus `seconds`.
fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).expect("valid time")
}

fn held_by(holder: &str, renewed: Timestamp) -> LeaseSpec {
    LeaseSpec {
        holder_identity: Some(holder.to_string()),
        renew_time: Some(MicroTime(renewed)),
        acquire_time: Some(MicroTime(renewed)),
        lease_duration_seconds: Some(15),
        lease_transitions: Some(0),
        ..LeaseSpec::default()
    }
}

// ---------------------------------------------------------------------------------------------
// decide

#[test]
fn a_missing_or_unheld_lease_is_acquired() {
    assert_eq!(decide(None, at(0), "a", at(0)), Decision::Acquire);
    assert_eq!(decide(Some(&LeaseSpec::default()), at(0), "a", at(0)), Decision::Acquire);
    let released = LeaseSpec { holder_identity: Some(String::new()), ..held_by("x", at(0)) };
    assert_eq!(decide(Some(&released), at(0), "a", at(0)), Decision::Acquire, "an empty holder is a released lease");
}

#[test]
fn our_own_lease_is_renewed_even_when_it_looks_expired() {
    assert_eq!(decide(Some(&held_by("a", at(0))), at(0), "a", at(1)), Decision::Renew);
    assert_eq!(decide(Some(&held_by("a", at(0))), at(0), "a", at(100)), Decision::Renew);
}

#[test]
fn another_holders_valid_lease_keeps_us_standing_by_until_it_expires() {
    let spec = held_by("b", at(0));
    assert_eq!(decide(Some(&spec), at(0), "a", at(10)), Decision::Wait { holder: "b".into(), expires: at(15) });
    assert_eq!(decide(Some(&spec), at(0), "a", at(15)), Decision::Wait { holder: "b".into(), expires: at(15) }, "expiry is strict");
    assert_eq!(decide(Some(&spec), at(0), "a", at(16)), Decision::Acquire);
}

#[test]
fn expiry_counts_from_when_this_process_first_saw_the_renewal() {
    // Our clock runs ahead of the holder's (or we just started): the renewTime looks old,
    // but the lease has only been watched for 5 seconds.
    let spec = held_by("b", at(0));
    assert_eq!(decide(Some(&spec), at(100), "a", at(105)), Decision::Wait { holder: "b".into(), expires: at(115) });
    assert_eq!(decide(Some(&spec), at(100), "a", at(116)), Decision::Acquire);
}

#[test]
fn a_renew_time_in_our_future_delays_the_takeover() {
    // The holder's clock runs ahead of ours.
    let spec = held_by("b", at(30));
    assert_eq!(decide(Some(&spec), at(0), "a", at(20)), Decision::Wait { holder: "b".into(), expires: at(45) });
}

#[test]
fn the_holders_own_lease_duration_is_honoured() {
    let spec = LeaseSpec { lease_duration_seconds: Some(60), ..held_by("b", at(0)) };
    assert_eq!(decide(Some(&spec), at(0), "a", at(30)), Decision::Wait { holder: "b".into(), expires: at(60) });
    let no_duration = LeaseSpec { lease_duration_seconds: None, ..held_by("b", at(0)) };
    assert_eq!(decide(Some(&no_duration), at(0), "a", at(10)), Decision::Wait { holder: "b".into(), expires: at(15) });
    let no_renewal = LeaseSpec { renew_time: None, ..held_by("b", at(0)) };
    assert_eq!(decide(Some(&no_renewal), at(7), "a", at(10)), Decision::Wait { holder: "b".into(), expires: at(22) });
}

// ---------------------------------------------------------------------------------------------
// The mocked API server

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// One request as the server received it.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    body: Value,
}

/// Changes the stored lease right after a GET was answered, as another replica would.
type Interleave = Box<dyn FnOnce(&mut LeaseSpec) + Send>;

/// An API server with one Lease, which enforces resourceVersion on replace.
#[derive(Default)]
struct LeaseServer {
    lease: Mutex<Option<Lease>>,
    version: Mutex<u64>,
    calls: Mutex<Vec<Call>>,
    unexpected: Mutex<Vec<String>>,
    fail_writes: Mutex<bool>,
    after_get: Mutex<Option<Interleave>>,
}

impl LeaseServer {
    /// A client whose every request this server answers.
    fn client(self: &Arc<Self>) -> kube::Client {
        let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let server = self.clone();
        tokio::spawn(async move {
            while let Some((request, respond)) = handle.next_request().await {
                let response = server.answer(request).await;
                respond.send_response(response);
            }
        });
        kube::Client::new(service, "default")
    }

    fn calls(&self) -> Vec<Call> {
        lock(&self.calls).clone()
    }

    fn writes(&self) -> Vec<Call> {
        self.calls().into_iter().filter(|c| c.method != Method::GET).collect()
    }

    fn spec(&self) -> LeaseSpec {
        lock(&self.lease).as_ref().and_then(|l| l.spec.clone()).expect("the lease exists")
    }

    /// Writes the lease as another replica would.
    fn set_spec(&self, spec: LeaseSpec) {
        let mut lease = lock(&self.lease);
        let lease =
            lease.get_or_insert_with(|| Lease { metadata: ObjectMeta { name: Some(LEASE.into()), ..ObjectMeta::default() }, spec: None });
        lease.spec = Some(spec);
        lease.metadata.resource_version = Some(self.bump());
    }

    fn bump(&self) -> String {
        let mut version = lock(&self.version);
        *version += 1;
        version.to_string()
    }

    fn assert_nothing_unexpected(&self) {
        let unexpected = lock(&self.unexpected).clone();
        assert!(unexpected.is_empty(), "requests the server did not expect: {unexpected:?}");
    }

    async fn answer(&self, request: Request<Body>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let body: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("request body is JSON") };
        let path = parts.uri.path().to_string();
        lock(&self.calls).push(Call { method: parts.method.clone(), body: body.clone() });
        if parts.method != Method::GET && !parts.uri.query().unwrap_or_default().contains("fieldManager=frugal-operator") {
            lock(&self.unexpected).push(format!("{} {} without our field manager", parts.method, parts.uri));
        }
        if parts.method != Method::GET && *lock(&self.fail_writes) {
            return status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError");
        }
        match (parts.method.clone(), path.as_str()) {
            (Method::GET, LEASE_PATH) => {
                let lease = lock(&self.lease).clone();
                let Some(lease) = lease else { return status(StatusCode::NOT_FOUND, "NotFound") };
                if let Some(interleave) = lock(&self.after_get).take() {
                    let mut spec = lease.spec.clone().unwrap_or_default();
                    interleave(&mut spec);
                    self.set_spec(spec);
                }
                ok(&lease)
            }
            (Method::POST, LEASES_PATH) => {
                if lock(&self.lease).is_some() {
                    return status(StatusCode::CONFLICT, "AlreadyExists");
                }
                let mut lease: Lease = serde_json::from_value(body).expect("a Lease");
                lease.metadata.resource_version = Some(self.bump());
                *lock(&self.lease) = Some(lease.clone());
                ok(&lease)
            }
            (Method::PUT, LEASE_PATH) => {
                let mut lease: Lease = serde_json::from_value(body).expect("a Lease");
                let mut stored = lock(&self.lease);
                let Some(current) = stored.as_ref() else { return status(StatusCode::NOT_FOUND, "NotFound") };
                if lease.metadata.resource_version != current.metadata.resource_version {
                    return status(StatusCode::CONFLICT, "Conflict");
                }
                lease.metadata.resource_version = Some(self.bump());
                *stored = Some(lease.clone());
                ok(&lease)
            }
            _ => {
                lock(&self.unexpected).push(format!("{} {}", parts.method, parts.uri));
                status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError")
            }
        }
    }
}

fn ok(lease: &Lease) -> Response<Body> {
    let bytes = serde_json::to_vec(lease).expect("lease serializes");
    Response::builder().status(StatusCode::OK).body(Body::from(bytes)).expect("response builds")
}

fn status(code: StatusCode, reason: &str) -> Response<Body> {
    let body =
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason, "code": code.as_u16()});
    let bytes = serde_json::to_vec(&body).expect("status serializes");
    Response::builder().status(code).body(Body::from(bytes)).expect("response builds")
}

fn elector(server: &Arc<LeaseServer>, identity: &str) -> LeaderElector {
    LeaderElector::new(server.client(), NAMESPACE, LEASE, identity)
}

fn micro(time: Timestamp) -> Value {
    serde_json::to_value(MicroTime(time)).expect("MicroTime serializes")
}

// ---------------------------------------------------------------------------------------------
// The elector

#[tokio::test]
async fn acquire_renew_stand_by_and_take_over_an_expired_lease() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    let mut b = elector(&server, "b");

    // No lease yet: a creates it and leads.
    assert_eq!(a.try_acquire_or_renew(at(0)).await.expect("create"), Role::Leader);
    let create = server.writes().pop().expect("a write");
    assert_eq!(create.method, Method::POST);
    assert_eq!(create.body["metadata"]["name"], LEASE);
    assert_eq!(create.body["spec"]["holderIdentity"], "a");
    assert_eq!(create.body["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(create.body["spec"]["renewTime"], micro(at(0)));

    // a renews with a replace guarded by the resourceVersion it read.
    assert_eq!(a.try_acquire_or_renew(at(5)).await.expect("renew"), Role::Leader);
    let renew = server.writes().pop().expect("a write");
    assert_eq!(renew.method, Method::PUT);
    assert_eq!(renew.body["metadata"]["resourceVersion"], "1");
    assert_eq!(renew.body["spec"]["holderIdentity"], "a");
    assert_eq!(renew.body["spec"]["renewTime"], micro(at(5)));
    assert_eq!(renew.body["spec"]["acquireTime"], micro(at(0)), "a renewal keeps acquireTime");

    // b sees a's valid lease and stands by without writing, up to its expiry (it first saw
    // the renewal at 6, so it counts from there).
    let writes = server.writes().len();
    assert_eq!(b.try_acquire_or_renew(at(6)).await.expect("read"), Role::Standby { holder: "a".into() });
    assert_eq!(b.try_acquire_or_renew(at(21)).await.expect("read"), Role::Standby { holder: "a".into() });
    assert_eq!(server.writes().len(), writes, "a standby only reads");

    // a died after its renewal at 5: b takes over once the lease expired.
    assert_eq!(b.try_acquire_or_renew(at(22)).await.expect("take over"), Role::Leader);
    let takeover = server.writes().pop().expect("a write");
    assert_eq!(takeover.method, Method::PUT);
    assert_eq!(takeover.body["metadata"]["resourceVersion"], "2");
    assert_eq!(takeover.body["spec"]["holderIdentity"], "b");
    assert_eq!(takeover.body["spec"]["acquireTime"], micro(at(22)));
    assert_eq!(takeover.body["spec"]["leaseTransitions"], 1);

    // a comes back: it sees b's lease, stands by and writes nothing.
    let writes = server.writes().len();
    assert_eq!(a.try_acquire_or_renew(at(23)).await.expect("read"), Role::Standby { holder: "b".into() });
    assert_eq!(server.writes().len(), writes);
    server.assert_nothing_unexpected();
}

#[tokio::test]
async fn a_takeover_loses_to_a_renewal_written_between_our_read_and_our_write() {
    let server = Arc::new(LeaseServer::default());
    server.set_spec(held_by("a", at(0)));
    let mut b = elector(&server, "b");
    assert_eq!(b.try_acquire_or_renew(at(1)).await.expect("read"), Role::Standby { holder: "a".into() });

    // At 20 the lease looks expired to b, but a renews right after b's read.
    *lock(&server.after_get) = Some(Box::new(|spec: &mut LeaseSpec| spec.renew_time = Some(MicroTime(at(20)))));
    let error = b.try_acquire_or_renew(at(20)).await.expect_err("the stale write is refused");
    assert!(matches!(error, ElectionError::Conflict { .. }), "{error}");
    assert_eq!(server.spec().holder_identity.as_deref(), Some("a"), "a still holds the lease");

    // The next round sees the renewal and stands by.
    assert_eq!(b.try_acquire_or_renew(at(22)).await.expect("read"), Role::Standby { holder: "a".into() });
    server.assert_nothing_unexpected();
}

#[tokio::test]
async fn two_replicas_creating_the_lease_at_once_elect_one() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    let mut b = elector(&server, "b");
    let (ra, rb) = tokio::join!(a.try_acquire_or_renew(at(0)), b.try_acquire_or_renew(at(0)));
    let leaders = [&ra, &rb].iter().filter(|r| matches!(r, Ok(Role::Leader))).count();
    assert_eq!(leaders, 1, "a: {ra:?}, b: {rb:?}");
    assert!([ra, rb].into_iter().any(|r| matches!(r, Err(ElectionError::Conflict { .. }))), "the loser got a conflict");
}

#[tokio::test]
async fn a_released_lease_is_taken_over_at_once() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    let mut b = elector(&server, "b");
    assert_eq!(a.try_acquire_or_renew(at(0)).await.expect("create"), Role::Leader);
    assert_eq!(b.try_acquire_or_renew(at(1)).await.expect("read"), Role::Standby { holder: "a".into() });

    a.release().await.expect("release");
    let release = server.writes().pop().expect("a write");
    assert_eq!(release.method, Method::PUT);
    assert_eq!(release.body["spec"].get("holderIdentity"), None, "the holder is cleared: {}", release.body);
    assert_eq!(release.body["spec"]["leaseDurationSeconds"], 1);

    assert_eq!(b.try_acquire_or_renew(at(2)).await.expect("take over"), Role::Leader);
    assert_eq!(server.spec().holder_identity.as_deref(), Some("b"));

    // Releasing a lease someone else holds writes nothing.
    let writes = server.writes().len();
    a.release().await.expect("release");
    assert_eq!(server.writes().len(), writes);
    server.assert_nothing_unexpected();
}

#[tokio::test(start_paused = true)]
async fn a_leader_renews_every_renew_interval() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    a.acquire().await;
    let ran = tokio::time::timeout(Duration::from_secs(21), a.keep_leading()).await;
    assert!(ran.is_err(), "still leading: {ran:?}");
    let renewals = server.writes().into_iter().filter(|c| c.method == Method::PUT).count();
    assert_eq!(renewals, 4, "renewals at 5, 10, 15 and 20 s: {:?}", server.calls());
    server.assert_nothing_unexpected();
}

#[tokio::test(start_paused = true)]
async fn a_leader_that_cannot_renew_steps_down_before_its_lease_expires() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    let start = tokio::time::Instant::now();
    a.acquire().await;
    *lock(&server.fail_writes) = true;
    let lost = a.keep_leading().await;
    let after = start.elapsed();
    assert!(matches!(lost, LostLeadership::RenewDeadline { last_error: Some(_) }), "{lost}");
    assert!(after >= RENEW_DEADLINE && after < LEASE_DURATION, "stepped down after {after:?}");
    assert!(lost.to_string().contains("no renewal succeeded within 10s"), "{lost}");
}

#[tokio::test(start_paused = true)]
async fn a_leader_whose_lease_was_taken_over_steps_down_at_its_next_renewal() {
    let server = Arc::new(LeaseServer::default());
    let mut a = elector(&server, "a");
    a.acquire().await;
    server.set_spec(held_by("c", Timestamp::now()));
    let start = tokio::time::Instant::now();
    let lost = a.keep_leading().await;
    assert!(matches!(&lost, LostLeadership::TakenOver { holder } if holder == "c"), "{lost}");
    assert!(start.elapsed() <= RENEW_INTERVAL + Duration::from_millis(10), "{:?}", start.elapsed());
    assert_eq!(server.spec().holder_identity.as_deref(), Some("c"), "the new holder's lease is left alone");
}

#[test]
fn identity_is_unique_per_process_without_a_pod_name() {
    if std::env::var_os("POD_NAME").is_some() {
        return;
    }
    let (one, two) = (identity(), identity());
    assert_ne!(one, two);
    assert!(one.contains('_'), "{one}");
}
