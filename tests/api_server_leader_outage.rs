//! Leader election across an outage of a real API server (tests/api_server/): the leader
//! cannot renew its Lease, steps down before the lease can expire and exits non-zero (for
//! Kubernetes to restart it as a standby); the standby lives through the outage and takes
//! over once the server is back. A test binary of its own: the outage would fail the
//! requests of any test running beside it.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::api_server::api_server;
use common::cluster::{self, Cleanup, SHARD_LABEL, is_current};
use common::election::{self, Replica};
use common::rbac::{self, DeployRbac};
use common::{REGION, TestAccount, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::controller::leader::{LEASE_DURATION, RETRY_INTERVAL};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};

#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_steps_down_before_the_standby_takes_over() {
    let client = api_server().client("frugal-api-server-leader-outage-test").await;
    let policies: Api<CostPolicy> = Api::all(client.clone());
    // The Lease deploy/'s Role grants, in deploy/'s namespace (no Namespace API here: it
    // need not exist), under the operator's default lease name.
    let deploy = DeployRbac::load();
    let lease_name = deploy.lease_name();
    let leases: Api<Lease> = Api::namespaced(client.clone(), &deploy.namespace);
    let account = TestAccount::new().await;
    account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 1).await;
    let shard = account.id.clone();
    let flags = ["--leader-election=true".to_string(), format!("--leader-election-namespace={}", deploy.namespace)];
    let (id_a, id_b) = (format!("outage-{shard}-a"), format!("outage-{shard}-b"));
    // JSON logs: the step-down's timestamp is read from them.
    let mut a = api_server().operator_with(&id_a, &shard, &flags, &[("POD_NAME", id_a.as_str()), ("FRUGAL_LOG_FORMAT", "json")]).await;
    let mut b = api_server().operator_with(&id_b, &shard, &flags, &[("POD_NAME", id_b.as_str()), ("FRUGAL_LOG_FORMAT", "json")]).await;
    let names = [format!("leader-outage-{shard}"), format!("leader-outage-{shard}-2")];
    let _cleanup = Cleanup::new(&api_server().kubeconfig, names.to_vec());
    let audit = |name: &str| {
        let yaml = format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: Audit\n  aws: {{region: {REGION}}}\n  gatewayEndpoints: {{services: [s3]}}\n"
        );
        let mut policy = policy_for(&account, &yaml);
        policy.metadata.labels = Some(BTreeMap::from([(SHARD_LABEL.to_string(), shard.clone())]));
        policy
    };

    let replicas = [Replica { id: &id_a, operator: &mut a }, Replica { id: &id_b, operator: &mut b }];
    let (before, [leading, standing_by]) = election::wait_for_a_leader(&leases, &lease_name, replicas).await;
    policies.create(&PostParams::default(), &audit(&names[0])).await.expect("create the first policy");
    cluster::wait_for(&policies, &names[0], "a current status", is_current).await;

    api_server().outage().await;
    let back = Instant::now();
    // The outage (10 s) outlasts the renew deadline (10 s after the last renewal): the
    // leader has given up leading by now.
    let exit = leading.operator.wait_exit(Duration::from_secs(10)).await;
    assert!(!exit.success(), "a leader that lost its lease exits non-zero, to be restarted as a standby: {exit}");
    let stepped_down = logged_at(&leading.operator.log(), "lost the leader lease: stopped reconciling");

    // The lease expires 15 s after the last renewal the standby saw; it checks every 2 s.
    let takeover = LEASE_DURATION + 2 * RETRY_INTERVAL + Duration::from_secs(10);
    let taken = election::wait_for_takeover(&leases, &lease_name, &before, standing_by.id, back + takeover).await;
    let acquired = taken.spec.as_ref().and_then(|s| s.acquire_time.as_ref()).map(|t| t.0).expect("acquireTime");
    assert!(stepped_down < acquired, "the old leader stopped ({stepped_down}) before the new one started ({acquired}): never two leaders");

    // The new leader serves the policies, and says it leads (once it has reconciled: it
    // writes the lease before it starts its controller).
    policies.create(&PostParams::default(), &audit(&names[1])).await.expect("create the second policy");
    cluster::wait_for(&policies, &names[1], "a current status from the new leader", is_current).await;
    assert_eq!(standing_by.operator.get("/readyz").await.map(|(_, body)| body), Some("ready: leader".to_string()));
    let election = ["create coordination.k8s.io/leases", "get coordination.k8s.io/leases", "update coordination.k8s.io/leases"];
    rbac::check_operator_requests(&api_server().audit_log, &election);
}

/// The time of the first JSON log line whose message is `message`.
fn logged_at(log: &str, message: &str) -> Timestamp {
    log.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["message"] == message)
        .and_then(|line| line["timestamp"].as_str().and_then(|t| t.parse().ok()))
        .unwrap_or_else(|| panic!("no log line {message:?} with a timestamp in:\n{log}"))
}
