//! Leader election as a platform team sees it: two replicas, one leads; the leader dies and
//! the standby takes over within the lease duration; the last one stops and gives the lease
//! up. Used by the end-to-end suite (on a cluster or on the API server of tests/api_server/)
//! and by tests/api_server_leader_outage.rs.

use std::time::{Duration, Instant};

use frugal_operator::api::CostPolicy;
use frugal_operator::controller::leader::{LEASE_DURATION, RETRY_INTERVAL};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, DeleteParams, PostParams};

use super::cluster::{self, Operator, is_current};

/// One of the two replicas: its identity (POD_NAME) and its process, started with
/// `--leader-election=true` and the namespace and name of the test's Lease.
pub struct Replica<'a> {
    pub id: &'a str,
    pub operator: &'a mut Operator,
}

/// `policy(name)` makes an Audit policy of the replicas' shard. Creates `names[0]` while
/// both run and `names[1]` after the leader is killed; deletes both before the survivor is
/// stopped with SIGTERM, and checks at each step who holds the Lease, who reconciles and
/// what /readyz and /metrics say.
pub async fn check_standby_takes_over(
    leases: &Api<Lease>,
    lease_name: &str,
    policies: &Api<CostPolicy>,
    replicas: [Replica<'_>; 2],
    policy: impl Fn(&str) -> CostPolicy,
    names: [&str; 2],
) {
    let (first, [leading, standing_by]) = wait_for_a_leader(leases, lease_name, replicas).await;

    create(policies, policy(names[0])).await;
    cluster::wait_for(policies, names[0], "a current status", is_current).await;
    assert_eq!(leading.operator.get("/readyz").await.map(|(_, body)| body), Some("ready: leader".to_string()));
    assert_eq!(standing_by.operator.get("/readyz").await, Some((200, "ready: standby".to_string())), "a standby is ready");
    let metrics = standing_by.operator.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
    assert!(!metrics.contains("frugal_reconciles_total{"), "the standby reconciled:\n{metrics}");
    assert!(metrics.lines().any(|l| l == "frugal_leader 0"), "the standby says it does not lead:\n{metrics}");
    let metrics = leading.operator.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
    assert!(metrics.contains("frugal_reconciles_total{"), "the leader reconciled:\n{metrics}");
    assert!(metrics.lines().any(|l| l == "frugal_leader 1"), "the leader says it leads:\n{metrics}");

    // The leader dies without releasing the lease; the standby takes over once it expires
    // (15 s lease, checked every 2 s) and reconciles a policy created after the death.
    let killed = Instant::now();
    leading.operator.kill();
    create(policies, policy(names[1])).await;
    // The standby sees the last renewal up to one check late, counts the lease duration from
    // then, and takes the lease at the first check after that; plus slack for a busy server.
    let takeover = LEASE_DURATION + 2 * RETRY_INTERVAL + Duration::from_secs(10);
    wait_for_takeover(leases, lease_name, &first, standing_by.id, killed + takeover).await;
    cluster::wait_for(policies, names[1], "a current status from the new leader", is_current).await;
    assert_eq!(standing_by.operator.get("/readyz").await.map(|(_, body)| body), Some("ready: leader".to_string()));

    // The new leader lets the policies go, then stops as in a rollout: it gives the lease up
    // (no holder), so a new replica need not wait for it to expire.
    for name in names {
        policies.delete(name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicy {name}: {e}"));
        cluster::wait_gone(policies, name).await;
    }
    let exit = standing_by.operator.terminate().await;
    assert!(exit.success(), "the leader exits cleanly on SIGTERM: {exit}");
    let released = leases.get(lease_name).await.expect("get the lease");
    assert_eq!(holder(&released), "", "the stopped leader released the lease: {:?}", released.spec);
}

/// The lease's holder; empty when nobody holds it.
pub fn holder(lease: &Lease) -> String {
    lease.spec.as_ref().and_then(|s| s.holder_identity.clone()).unwrap_or_default()
}

/// Waits up to 30 s until one of the two replicas holds the lease; returns the lease as
/// read then and the replicas as [leader, standby].
pub async fn wait_for_a_leader<'a>(leases: &Api<Lease>, lease_name: &str, replicas: [Replica<'a>; 2]) -> (Lease, [Replica<'a>; 2]) {
    let deadline = Instant::now() + Duration::from_secs(30);
    let lease = loop {
        if let Some(lease) = leases.get_opt(lease_name).await.expect("get the lease")
            && replicas.iter().any(|r| r.id == holder(&lease))
        {
            break lease;
        }
        assert!(Instant::now() < deadline, "neither replica took lease {lease_name} within 30s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let [a, b] = replicas;
    let ordered = if a.id == holder(&lease) { [a, b] } else { [b, a] };
    (lease, ordered)
}

/// Waits until `successor` holds the lease, at the latest by `deadline`, and checks that
/// the lease counts one more transition than `before`; returns the lease as read then.
pub async fn wait_for_takeover(leases: &Api<Lease>, lease_name: &str, before: &Lease, successor: &str, deadline: Instant) -> Lease {
    let taken = loop {
        let lease = leases.get(lease_name).await.expect("get the lease");
        if holder(&lease) == successor {
            break lease;
        }
        assert!(Instant::now() < deadline, "{successor} did not take lease {lease_name} over in time: {:?}", lease.spec);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let transitions = |lease: &Lease| lease.spec.as_ref().and_then(|s| s.lease_transitions).unwrap_or(0);
    assert_eq!(transitions(&taken), transitions(before) + 1, "a takeover counts as a transition: {:?}", taken.spec);
    taken
}

async fn create(policies: &Api<CostPolicy>, policy: CostPolicy) {
    let name = policy.metadata.name.clone().unwrap_or_default();
    policies.create(&PostParams::default(), &policy).await.unwrap_or_else(|e| panic!("create CostPolicy {name}: {e}"));
}
