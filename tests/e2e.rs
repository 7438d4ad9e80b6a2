//! End-to-end tests against a real Kubernetes API server: the CRD from crds/ is applied,
//! the `frugal` binary runs as a child process of the test (one per test, sharded with
//! `--policy-selector` so concurrent tests never reconcile each other's policies), and AWS
//! is the emulator with one fresh account per test.
//!
//! Ignored by default. Two targets:
//! - a cluster: `FRUGAL_E2E_KUBECONFIG=~/.kube/kind.yaml cargo test --test e2e -- --ignored`
//!   (`make e2e`). The operator authenticates with a TokenRequest token of deploy/'s
//!   ServiceAccount (the suite applies deploy/'s namespace, ServiceAccount and RBAC), so the
//!   suite also proves that the shipped ClusterRole and Role are enough. The cluster must
//!   not run another frugal operator that watches every CostPolicy.
//! - without a cluster, `FRUGAL_E2E_API_SERVER=1` (`make e2e-api-server`, part of `make
//!   test`): the API server of tests/api_server/ (apiextensions-apiserver on etcd, with
//!   stand-ins for Leases and Events). It has no namespaces, ServiceAccounts or RBAC, so the
//!   operator runs as the server's audited operator user instead, and every request it
//!   made is then held against deploy/'s RBAC (`rbac::check_operator_requests`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ec2::types::{DomainType, Filter, ResourceType, Tag, TagSpecification, VpcEndpoint};
use common::api_server::api_server;
use common::cluster::{self, Cleanup, Operator, SHARD_LABEL, condition, condition_is, free_port, is_current, is_true};
use common::election::{self, Replica};
use common::organization::Organization;
use common::rbac::{self, DeployRbac};
use common::secrets_proxy::SecretsProxy;
use common::{REGION, TestAccount};
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::names::{FINALIZER, MANAGED_BY_VALUE, TAG_MANAGED_BY, TAG_POLICY};
use frugal_operator::api::{
    BackupStatus, CostPolicy, CostPolicySet, CostPolicySetSpec, DeletionPolicy, EndpointOwnership, GatewayService, Mode, Notifier,
};
use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, Role, RoleBinding};
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::config::Kubeconfig;
use kube::{Client, ResourceExt};
use serde_json::json;

const IGNORE_REASON: &str = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored";
const KUBECONFIG_ENV: &str = "FRUGAL_E2E_KUBECONFIG";
/// Set to 1 (and FRUGAL_E2E_KUBECONFIG unset) to run the suite on tests/api_server/.
const API_SERVER_ENV: &str = "FRUGAL_E2E_API_SERVER";
/// Field manager of everything this suite applies.
const FIELD_MANAGER: &str = "frugal-e2e";

// ---------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn enforce_policy_creates_endpoints_and_reports_ready() {
    let env = E2e::start("enforce").await;
    let prod = seed_vpc(&env.account, "prod").await;
    let dev = seed_vpc(&env.account, "dev").await;
    env.account.clear_requests().await;

    let created = env.create(env.policy(|_| {})).await;
    let policy = env
        .wait_until("Ready=True and GatewayEndpointsInSync=True", |p| {
            is_current(p) && is_true(p, conditions::READY) && is_true(p, conditions::GATEWAY_ENDPOINTS_IN_SYNC)
        })
        .await;
    assert_eq!(policy.metadata.uid, created.metadata.uid);
    assert!(
        policy.metadata.finalizers.as_deref().unwrap_or_default().iter().any(|f| f == FINALIZER),
        "finalizer {FINALIZER} missing: {:?}",
        policy.metadata.finalizers
    );

    let endpoints = live_endpoints(&env.account, &prod.vpc_id).await;
    assert_eq!(endpoints.len(), 2, "expected one s3 and one dynamodb gateway endpoint in {}: {endpoints:#?}", prod.vpc_id);
    let private: BTreeSet<String> = prod.private_route_tables.iter().cloned().collect();
    let mut by_service = BTreeMap::new();
    for service in [GatewayService::S3, GatewayService::Dynamodb] {
        let endpoint = single_endpoint(&endpoints, service);
        assert!(
            endpoint.vpc_endpoint_type().is_some_and(|t| t.as_str().eq_ignore_ascii_case("gateway")),
            "{service} endpoint is not a Gateway endpoint: {endpoint:?}"
        );
        let tags = tags_of(endpoint);
        assert_eq!(tags.get(TAG_MANAGED_BY).map(String::as_str), Some(MANAGED_BY_VALUE), "{service} endpoint tags: {tags:?}");
        assert_eq!(tags.get(TAG_POLICY), Some(&env.name), "{service} endpoint tags: {tags:?}");
        let tables: BTreeSet<String> = endpoint.route_table_ids().iter().cloned().collect();
        assert_eq!(tables, private, "{service} endpoint must cover exactly the private route tables (public: {})", prod.public_route_table);
        by_service.insert(service, endpoint.vpc_endpoint_id().expect("endpoint id").to_string());
    }
    assert!(live_endpoints(&env.account, &dev.vpc_id).await.is_empty(), "the env=dev VPC is out of scope and must get no endpoint");

    let status = policy.status.as_ref().expect("status");
    let gateway = status.gateway_endpoints.as_ref().expect("status.gatewayEndpoints");
    assert_eq!(gateway.vpcs_in_scope, 1, "only the env=prod VPC is in scope: {gateway:?}");
    let vpc = gateway
        .vpcs
        .iter()
        .find(|v| v.vpc_id == prod.vpc_id)
        .unwrap_or_else(|| panic!("status.gatewayEndpoints.vpcs lacks {}: {gateway:?}", prod.vpc_id));
    for (service, id) in &by_service {
        let endpoint = vpc.endpoints.iter().find(|e| e.service == *service).unwrap_or_else(|| panic!("no {service} entry in {vpc:?}"));
        assert_eq!(endpoint.endpoint_id.as_ref(), Some(id), "{service} endpoint id in status");
        assert_eq!(endpoint.ownership, EndpointOwnership::Managed, "{service} ownership in status");
    }
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn editing_route_table_mode_converges() {
    let env = E2e::start("route-tables").await;
    let prod = seed_vpc(&env.account, "prod").await;

    env.create(env.policy(|_| {})).await;
    env.wait_until("Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    for endpoint in live_endpoints(&env.account, &prod.vpc_id).await {
        assert!(
            !endpoint.route_table_ids().contains(&prod.public_route_table),
            "Private mode must leave the public route table alone: {endpoint:?}"
        );
    }

    let patch = json!({ "spec": { "gatewayEndpoints": { "routeTables": "All" } } });
    let patched = env.api.patch(&env.name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("merge-patch routeTables: All");
    let generation = patched.metadata.generation.expect("metadata.generation");
    env.wait_until("observedGeneration to catch up and Ready=True", |p| {
        p.status.as_ref().and_then(|s| s.observed_generation) == Some(generation) && is_true(p, conditions::READY)
    })
    .await;

    let endpoints = live_endpoints(&env.account, &prod.vpc_id).await;
    for service in [GatewayService::S3, GatewayService::Dynamodb] {
        let endpoint = single_endpoint(&endpoints, service);
        let tables = endpoint.route_table_ids();
        assert!(
            tables.contains(&prod.public_route_table),
            "All mode: {service} endpoint must cover the public route table {}: {tables:?}",
            prod.public_route_table
        );
        for private in &prod.private_route_tables {
            assert!(tables.contains(private), "{service} endpoint lost private route table {private}: {tables:?}");
        }
    }
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn delete_policy_removes_endpoints() {
    let env = E2e::start("delete").await;
    let prod = seed_vpc(&env.account, "prod").await;

    env.create(env.policy(|p| p.spec.deletion_policy = DeletionPolicy::Delete)).await;
    env.wait_until("Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    assert_eq!(live_endpoints(&env.account, &prod.vpc_id).await.len(), 2, "endpoints before the delete");

    env.delete_and_wait_gone().await;
    let left = live_endpoints(&env.account, &prod.vpc_id).await;
    assert!(left.is_empty(), "deletionPolicy Delete must remove the endpoints the policy created: {left:#?}");
    // The reconcile that released the finalizer ends just after the object is gone.
    env._operator.wait_idle(Duration::from_secs(1)).await;
    let metrics = env._operator.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
    let label = format!("policy=\"{}\"", env.name);
    let series: Vec<&str> = metrics.lines().filter(|l| l.contains(&label)).collect();
    assert!(series.is_empty(), "a deleted policy's series are dropped from /metrics: {series:#?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_policy_deleted_while_it_is_reconciled_is_let_go_and_the_controller_carries_on() {
    let env = E2e::start("gone").await;
    let prod = seed_vpc(&env.account, "prod").await;

    env.create(env.policy(|p| p.spec.deletion_policy = DeletionPolicy::Retain)).await;
    // The finalizer is the first thing the operator writes; the reconcile that observes and
    // writes status follows at once. Take the policy away under it, finalizer and all.
    env.wait_until("the finalizer", |p| p.finalizers().iter().any(|f| f == FINALIZER)).await;
    env.api.delete(&env.name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicy {}: {e}", env.name));
    let strip = json!({ "metadata": { "finalizers": null } });
    let _ = env.api.patch(&env.name, &PatchParams::default(), &Patch::Merge(&strip)).await;
    env.wait_gone().await;
    // A reconcile of the old object may still be in flight. Its finalizer patch is addressed by
    // name, so it would hit the object created below: the patch's `test` op fails there, and
    // that failure would be counted as a Kubernetes error. Let that reconcile finish first.
    env._operator.wait_idle(Duration::from_secs(3)).await;

    // The controller is still at work: the same policy created again converges.
    env.create(env.policy(|p| p.spec.deletion_policy = DeletionPolicy::Retain)).await;
    env.wait_until("Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    assert_eq!(live_endpoints(&env.account, &prod.vpc_id).await.len(), 2, "no duplicate endpoint from the interrupted reconcile");
    let metrics = env._operator.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
    assert!(
        !metrics.lines().any(|l| l.starts_with(r#"frugal_reconcile_errors_total{category="kubernetes"}"#) && !l.ends_with(" 0")),
        "a policy that is gone is not an error to retry:\n{metrics}"
    );
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_delete_policy_without_aws_access_is_released_by_switching_it_to_retain() {
    let mut env = E2e::start("release").await;
    let prod = seed_vpc(&env.account, "prod").await;
    env.create(env.policy(|p| p.spec.deletion_policy = DeletionPolicy::Delete)).await;
    env.wait_until("Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    let before = live_endpoints(&env.account, &prod.vpc_id).await.len();
    assert_eq!(before, 2);

    // AWS becomes unreachable for good: the operator now talks to a port nobody listens on.
    env._operator.kill();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    env._operator = start_operator_with(
        &format!("{}-no-aws", env.name),
        &env.account.id,
        &["--leader-election=false".to_string()],
        &[("AWS_ENDPOINT_URL", nowhere.as_str())],
    )
    .await;
    env.api.delete(&env.name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicy {}: {e}", env.name));
    cluster::wait_for_events(&env.client, &env.name, &[("Warning", "CleanupFailed")]).await;
    let stuck = env.api.get(&env.name).await.expect("the policy waits for its cleanup");
    assert!(stuck.finalizers().iter().any(|f| f == FINALIZER), "Delete keeps the finalizer while AWS cannot be reached");

    // A human accepts leaving the AWS objects behind.
    let retain = json!({ "spec": { "deletionPolicy": "Retain" } });
    env.api.patch(&env.name, &PatchParams::default(), &Patch::Merge(&retain)).await.expect("switch to Retain");
    env.wait_gone().await;
    assert_eq!(live_endpoints(&env.account, &prod.vpc_id).await.len(), before, "Retain left the endpoints in place");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn retain_policy_keeps_endpoints() {
    let env = E2e::start("retain").await;
    let prod = seed_vpc(&env.account, "prod").await;

    env.create(env.policy(|p| p.spec.deletion_policy = DeletionPolicy::Retain)).await;
    env.wait_until("Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    let before: BTreeSet<String> =
        live_endpoints(&env.account, &prod.vpc_id).await.iter().filter_map(|e| e.vpc_endpoint_id().map(str::to_string)).collect();
    assert_eq!(before.len(), 2, "endpoints before the delete: {before:?}");

    env.delete_and_wait_gone().await;
    let after: BTreeSet<String> =
        live_endpoints(&env.account, &prod.vpc_id).await.iter().filter_map(|e| e.vpc_endpoint_id().map(str::to_string)).collect();
    assert_eq!(after, before, "deletionPolicy Retain must keep the endpoints");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn audit_policy_reports_drift_without_changes() {
    let env = E2e::start("audit").await;
    let prod = seed_vpc(&env.account, "prod").await;
    env.account.clear_requests().await;

    env.create(env.policy(|p| {
        p.spec.mode = Mode::Audit;
        p.spec.resync_interval = "30s".to_string();
    }))
    .await;
    let policy = env
        .wait_until("Ready=True/DriftFound and GatewayEndpointsInSync=False/DriftFound", |p| {
            is_current(p)
                && condition_is(p, conditions::READY, conditions::TRUE, reason::DRIFT_FOUND)
                && condition_is(p, conditions::GATEWAY_ENDPOINTS_IN_SYNC, conditions::FALSE, reason::DRIFT_FOUND)
        })
        .await;
    let status = policy.status.as_ref().expect("status");
    assert!(status.findings > 0, "Audit mode over a VPC without endpoints must report findings: {status:?}");

    // Steady state: the next run (the 30s resync: a status write triggers none) finds the same
    // drift and writes nothing; the status as the API server returns it compares equal to the
    // one that run computed.
    env._operator.wait_idle(Duration::from_secs(2)).await;
    let ended = env._operator.reconciles_ended().await;
    env._operator.wait_for_reconciles(ended + 1).await;
    let after = env.api.get(&env.name).await.expect("get the policy");
    assert_eq!(
        after.metadata.resource_version, policy.metadata.resource_version,
        "a run that changed nothing wrote the policy; before: {:?}\nafter: {:?}",
        policy.status, after.status
    );

    let mutating = env.account.mutating_requests().await;
    assert!(mutating.is_empty(), "Audit mode called mutating AWS APIs: {mutating:#?}");
    let endpoints = live_endpoints(&env.account, &prod.vpc_id).await;
    assert!(endpoints.is_empty(), "Audit mode created endpoints: {endpoints:#?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn invalid_spec_is_stalled_without_aws_calls() {
    let env = E2e::start("invalid").await;
    seed_vpc(&env.account, "prod").await;
    env.account.clear_requests().await;

    // Valid for the CRD schema (a duration), below the operator's 30s minimum.
    env.create(env.policy(|p| p.spec.resync_interval = "10s".to_string())).await;
    let policy = env
        .wait_until("Stalled=True/InvalidSpec", |p| {
            is_current(p) && condition_is(p, conditions::STALLED, conditions::TRUE, reason::INVALID_SPEC)
        })
        .await;
    let stalled = condition(&policy, conditions::STALLED).expect("Stalled");
    assert!(stalled.message.contains("spec.resyncInterval"), "the Stalled message must name the field: {:?}", stalled.message);
    assert!(!is_true(&policy, conditions::READY), "an invalid policy is not Ready");

    cluster::wait_for_events(&env.client, &env.name, &[("Warning", reason::INVALID_SPEC)]).await;

    let requests = env.account.requests().await;
    assert!(requests.is_empty(), "an invalid policy must not reach AWS: {requests:#?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn schema_rejects_bad_enum() {
    let client = kube_client().await;
    cluster::install_crd(&client, FIELD_MANAGER).await;
    let resource = ApiResource::erase::<CostPolicy>(&());
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let suffix = common::random_account_id();
    let bad_mode = format!("e2e-bad-mode-{suffix}");
    let both_scopes = format!("e2e-both-scopes-{suffix}");
    let _cleanup = Cleanup::new(&kubeconfig_path(), vec![bad_mode.clone(), both_scopes.clone()]);

    let spec = json!({
        "mode": "Sometimes",
        "aws": { "region": REGION },
        "gatewayEndpoints": { "services": ["s3"] }
    });
    let status = expect_rejected(&api, &resource, &bad_mode, spec).await;
    assert!(status.message.contains("spec.mode"), "the rejection must name spec.mode: {status:?}");

    let spec = json!({
        "mode": "Audit",
        "aws": { "region": REGION },
        "gatewayEndpoints": {
            "services": ["s3"],
            "vpcIds": ["vpc-0123456789abcdef0"],
            "vpcSelector": { "tags": { "env": "prod" } }
        }
    });
    let status = expect_rejected(&api, &resource, &both_scopes, spec).await;
    assert!(status.message.contains("not both"), "the CEL rule's message must be returned: {status:?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn every_invalid_policy_is_rejected_by_the_schema_or_stalled_by_the_operator() {
    let env = E2e::start("bad-input").await;
    env.account.clear_requests().await;
    let names: Vec<String> = (0..common::bad_specs::invalid_specs().len()).map(|i| format!("{}-{i}", env.name)).collect();
    let _cleanup = Cleanup::new(&kubeconfig_path(), names.clone());
    cluster::check_invalid_specs(&env.client, &names, &env.account.id).await;

    // Most cases use the operator's own credentials, not the test account's role: count at
    // the operator, which made no AWS request at all (the test's operator serves only them).
    let aws = env._operator.aws_requests().await;
    assert!(aws.is_empty(), "no invalid policy may reach AWS: {aws:#?}");
    let requests = env.account.requests().await;
    assert!(requests.is_empty(), "no invalid policy may reach AWS: {requests:#?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn snapshot_retention_deletes_expired_snapshots_and_reports_them() {
    let env = E2e::start("snapshots").await;
    let (_, old) = env.account.snapshots_of_new_volume(3, 10).await;
    let (_, young) = env.account.snapshots_of_new_volume(1, 10).await;
    env.account.age_snapshots(&old, 40).await;

    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.snapshot_retention =
            Some(serde_yaml::from_str("{maxAgeDays: 30, maxDeletionsPerRun: 10, gracePeriod: 0s}").expect("snapshotRetention section"));
    }))
    .await;
    let policy = env
        .wait_until("Ready=True and SnapshotsInSync=True", |p| {
            is_current(p) && is_true(p, conditions::READY) && is_true(p, conditions::SNAPSHOTS_IN_SYNC)
        })
        .await;
    assert_eq!(env.account.snapshot_ids().await, young.iter().cloned().collect::<BTreeSet<_>>(), "only the young snapshot survives");
    let snapshots = policy.status.as_ref().and_then(|s| s.snapshot_retention.as_ref()).expect("status.snapshotRetention");
    assert_eq!(snapshots.deleted_total, 3, "{snapshots:?}");
    assert!(policy.status.as_ref().and_then(|s| s.cost.as_ref()).is_some_and(|c| c.monthly_savings_usd == "1.50"), "3 × 10 GiB × $0.05");

    cluster::wait_for_events(&env.client, &env.name, &[("Normal", "SnapshotsDeleted")]).await;
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_standby_takes_over_when_the_leader_dies() {
    let client = kube_client().await;
    cluster::install_crd(&client, FIELD_MANAGER).await;
    let account = TestAccount::new().await;
    seed_vpc(&account, "prod").await;
    let name = format!("e2e-ha-{}", account.id);
    let second = format!("{name}-2");
    // The Lease deploy/'s Role grants (the only test with leader election on): this proves
    // the Role is enough. A lease left by an earlier, killed run is removed first; a live one
    // of an operator installed in the cluster is not: deleting it would make two leaders.
    let (namespace, _) = install_operator_rbac(&client).await;
    let lease_name = &DeployRbac::load().lease_name();
    let leases: Api<Lease> = Api::namespaced(client.clone(), &namespace);
    if let Some(spec) = leases.get_opt(lease_name).await.expect("get the lease").and_then(|l| l.spec) {
        let holder = spec.holder_identity.unwrap_or_default();
        let seconds = k8s_openapi::jiff::SignedDuration::from_secs(spec.lease_duration_seconds.unwrap_or(15).into());
        let live = spec
            .renew_time
            .and_then(|t| t.0.checked_add(seconds).ok())
            .is_some_and(|expires| expires > k8s_openapi::jiff::Timestamp::now());
        assert!(
            holder.is_empty() || holder.starts_with("e2e-ha-") || !live,
            "lease {namespace}/{lease_name} is held by {holder}: a frugal operator runs in this cluster; the e2e suite needs one without"
        );
    }
    let _ = leases.delete(lease_name, &DeleteParams::default()).await;
    let flags = [
        "--leader-election=true".to_string(),
        format!("--leader-election-namespace={namespace}"),
        format!("--leader-election-lease-name={lease_name}"),
    ];
    let (id_a, id_b) = (format!("{name}-a"), format!("{name}-b"));
    let mut a = start_operator_with(&id_a, &account.id, &flags, &[("POD_NAME", id_a.as_str())]).await;
    let mut b = start_operator_with(&id_b, &account.id, &flags, &[("POD_NAME", id_b.as_str())]).await;
    // Declared after the operators: after a failure the policies are cleaned up while they run.
    let _cleanup = Cleanup::new(&kubeconfig_path(), vec![name.clone(), second.clone()]);
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let replicas = [Replica { id: &id_a, operator: &mut a }, Replica { id: &id_b, operator: &mut b }];
    let audit = |policy_name: &str| example_policy(&account, policy_name, |p| p.spec.mode = Mode::Audit);
    election::check_standby_takes_over(&leases, lease_name, &policies, replicas, audit, [&name, &second]).await;
    let _ = leases.delete(lease_name, &DeleteParams::default()).await;
    check_operator_requests_on_the_api_server(&[
        "create coordination.k8s.io/leases",
        "get coordination.k8s.io/leases",
        "update coordination.k8s.io/leases",
    ]);
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn ssm_access_closes_world_ssh_splits_wide_ranges_and_attaches_the_profile() {
    let env = E2e::start("ssm").await;
    let account = &env.account;
    let ssh = account.security_group("e2e-ssh-open").await;
    account.allow_tcp(&ssh, 22, 22, "0.0.0.0/0", None).await;
    account.allow_tcp(&ssh, 22, 22, "10.0.0.0/8", Some("office")).await;
    account.allow_tcp(&ssh, 443, 443, "0.0.0.0/0", Some("https")).await;
    let wide = account.security_group("e2e-wide-open").await;
    account.allow_tcp(&wide, 0, 65535, "::/0", Some("legacy")).await;
    let bare = account.launch_instance(&[&ssh], None).await;

    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.resync_interval = "30s".to_string();
        p.spec.ssm_access = Some(
            serde_yaml::from_str("{revokeWorldSsh: true, instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}}")
                .expect("ssmAccess section"),
        );
    }))
    .await;
    env.wait_until("Ready=True and SsmAccessInSync=True", |p| {
        is_current(p) && is_true(p, conditions::READY) && is_true(p, conditions::SSM_ACCESS_IN_SYNC)
    })
    .await;

    assert_eq!(
        account.ingress_rules(&ssh).await,
        [common::rule_row("tcp", 22, 22, "10.0.0.0/8", "office"), common::rule_row("tcp", 443, 443, "0.0.0.0/0", "https")],
        "only tcp 22 from 0.0.0.0/0 is revoked; {ssh}'s other rules stay"
    );
    assert_eq!(
        account.ingress_rules(&wide).await,
        [
            common::rule_row("tcp", 0, 21, "::/0", "legacy (split by frugal)"),
            common::rule_row("tcp", 23, 65535, "::/0", "legacy (split by frugal)"),
        ],
        "tcp 0-65535 from ::/0 is split around 22"
    );
    let tagged = account
        .ec2
        .describe_security_group_rules()
        .filters(Filter::builder().name(format!("tag:{TAG_POLICY}")).values(&env.name).build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    assert_eq!(tagged.security_group_rules().len(), 2, "the rules of the split carry the policy's tag: {tagged:?}");
    assert_eq!(account.instance_profile_name(&bare).await.as_deref(), Some("frugal-ssm"), "the bare instance gets the profile");

    // status.ssmAccess counts what the last run found: once the account is fixed and the emulator's
    // SSM lists the instance (its profile's role carries AmazonSSMManagedInstanceCore), a run
    // finds nothing open. The resync (30s) or the status write itself brings that run.
    let policy = env
        .wait_until("status.ssmAccess of a run over the fixed account", |p| {
            is_current(p)
                && is_true(p, conditions::SSM_ACCESS_IN_SYNC)
                && p.status
                    .as_ref()
                    .and_then(|s| s.ssm_access.as_ref())
                    .is_some_and(|ssm| ssm.world_ssh_found == 0 && ssm.instances.managed == 1)
        })
        .await;
    let ssm = policy.status.as_ref().and_then(|s| s.ssm_access.as_ref()).expect("status.ssmAccess");
    assert!(ssm.security_groups_in_scope >= 2, "every group of the region is in scope (ours and the default VPC's): {ssm:?}");
    assert_eq!((ssm.instances.in_scope, ssm.instances.no_profile, ssm.instances.profile_attached_by_us), (1, 0, 1), "{ssm:?}");
    // What is left open is the split's two halves: every port but 22, to the world.
    assert_eq!((ssm.wide_ranges_from_world, ssm.findings), (2, 2), "{ssm:?}");

    // The runs that changed the account said so, one Event per kind of change.
    let events =
        wait_for_normal_events(&env, &["WorldSshRevoked", "WorldSshSplit", "InstanceProfileCreated", "InstanceProfileAttached"]).await;
    let note = |reason: &str| events.iter().find(|e| e.reason.as_deref() == Some(reason)).and_then(|e| e.note.clone()).unwrap_or_default();
    assert!(note("WorldSshRevoked").contains(&ssh), "{:?}", note("WorldSshRevoked"));
    assert!(note("WorldSshSplit").contains("tcp 0-21, tcp 23-65535"), "{:?}", note("WorldSshSplit"));
    assert!(note("InstanceProfileAttached").contains(&bare), "{:?}", note("InstanceProfileAttached"));
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn backup_plan_is_created_a_console_edit_is_reverted_and_delete_removes_it() {
    const PLAN: &str = "e2e-daily";
    const VAULT: &str = "e2e-vault";
    let env = E2e::start("backup").await;
    let account = &env.account;
    let section = format!(
        "vault: {{name: {VAULT}, create: true}}
plan:
  name: {PLAN}
  rules:
    - {{name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}}
selection: {{name: e2e, iamRoleArn: 'arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole', tags: {{backup: daily}}}}
",
        account.id
    );
    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.deletion_policy = DeletionPolicy::Delete;
        p.spec.resync_interval = "30s".to_string();
        p.spec.backup = Some(serde_yaml::from_str(&section).expect("backup section"));
    }))
    .await;

    // The run that creates the plan knows its id only; the next one reads its version id.
    let policy = env
        .wait_until("Ready=True, BackupInSync=True and status.backup with the plan's id and version id", |p| {
            is_current(p)
                && is_true(p, conditions::READY)
                && is_true(p, conditions::BACKUP_IN_SYNC)
                && backup_status(p).is_some_and(|b| b.plan_id.is_some() && b.plan_version_id.is_some())
        })
        .await;
    let backup = backup_status(&policy).expect("status.backup");
    let (plan_id, version) = account.live_backup_plan(PLAN).await.expect("the plan exists in AWS Backup");
    assert_eq!(backup.plan_id.as_deref(), Some(plan_id.as_str()), "{backup:?}");
    assert_eq!(backup.plan_version_id.as_deref(), Some(version.as_str()), "{backup:?}");
    assert_eq!(backup.plan_ownership, "Managed", "{backup:?}");
    let selections = account.backup_selections(&plan_id).await;
    assert_eq!(selections.len(), 1, "{selections:?}");
    assert_eq!(backup.selection_id.as_ref(), Some(&selections[0].0), "{backup:?}");
    assert_eq!(backup.selection_name, selections[0].1, "{backup:?}");
    let vault = account.backup().describe_backup_vault().backup_vault_name(VAULT).send().await.expect("the vault exists");
    assert_eq!(backup.vault_arn.as_deref(), vault.backup_vault_arn(), "{backup:?}");

    // Someone shortens the retention in the console.
    let edited = shorten_retention(account, &plan_id, VAULT, PLAN, 14).await;
    assert_ne!(edited, version);
    let policy = env
        .wait_until("status.backup.lastDriftCorrected for the console edit", |p| {
            backup_status(p).and_then(|b| b.last_drift_corrected.as_ref()).is_some_and(|d| {
                d.differences.iter().any(|x| x == "rule daily: deleteAfterDays 14 → 35")
                    && d.version_id.as_ref().is_some_and(|v| *v != edited && *v != version)
            })
        })
        .await;
    let backup = backup_status(&policy).expect("status.backup");
    let corrected = backup.last_drift_corrected.as_ref().expect("lastDriftCorrected");
    let plan = account.backup().get_backup_plan().backup_plan_id(&plan_id).send().await.expect("GetBackupPlan");
    let days = plan.backup_plan().and_then(|p| p.rules().first()).and_then(|r| r.lifecycle()).and_then(|l| l.delete_after_days());
    assert_eq!(days, Some(35), "the spec's retention is restored");
    assert_eq!(corrected.version_id.as_deref(), plan.version_id(), "status records the version the correction made: {corrected:?}");
    assert_eq!(backup.plan_version_id.as_deref(), plan.version_id(), "{backup:?}");
    wait_for_normal_events(&env, &["BackupPlanDriftCorrected"]).await;

    env.delete_and_wait_gone().await;
    assert_eq!(account.live_backup_plan(PLAN).await, None, "deletionPolicy Delete removes the plan");
    let left = account.backup_selections(&plan_id).await;
    assert!(left.is_empty(), "and its selection: {left:?}");
    let vault = account.backup().describe_backup_vault().backup_vault_name(VAULT).send().await;
    assert!(vault.is_err(), "the empty vault the policy created is removed too: {vault:?}");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn access_keys_deactivates_a_key_past_its_mark_marks_the_next_and_delete_removes_the_mark() {
    use aws_sdk_iam::types::{StatusType, Tag as IamTag};
    let env = E2e::start("keys").await;
    let iam = aws_sdk_iam::Client::new(&env.account.config);
    // Three users whose only key was made 400 days ago and never used.
    let mut keys = BTreeMap::new();
    for user in ["stale", "laptop", "break-glass"] {
        iam.create_user().user_name(user).send().await.expect("CreateUser");
        let key = iam.create_access_key().user_name(user).send().await.expect("CreateAccessKey");
        let id = key.access_key().map(|k| k.access_key_id().to_string()).expect("a key id");
        let created = k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_hours(400 * 24);
        common::control(
            "/_frugal/iam/access-key",
            json!({"accessKeyId": id, "account": env.account.id, "createDate": created.to_string(), "lastUsed": null}),
        )
        .await;
        keys.insert(user, id);
    }
    // `stale` was marked by this policy a day ago, with a grace period that has run out.
    let mark = |user: &str| format!("frugal.dev/deactivate-{}", keys[user]);
    let past = (k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_hours(1))
        .round(k8s_openapi::jiff::Unit::Second)
        .expect("rounded");
    let tag = IamTag::builder()
        .key(mark("stale"))
        .value(format!("{} by {}", past.strftime("%Y-%m-%dT%H:%M:%SZ"), env.name))
        .build()
        .expect("tag");
    iam.tag_user().user_name("stale").tags(tag).send().await.expect("TagUser");

    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.deletion_policy = DeletionPolicy::Delete;
        p.spec.access_keys = Some(
            serde_yaml::from_str("{maxUnusedDays: 90, deactivateUnused: true, gracePeriod: 7d, exclude: {userNames: [break-glass]}}")
                .expect("accessKeys section"),
        );
    }))
    .await;
    let policy = env
        .wait_until("Ready=True (DeactivationPending) and status.accessKeys with one key deactivated and one marked", |p| {
            is_current(p)
                && condition(p, conditions::READY).is_some_and(|c| c.status == "True" && c.reason == reason::DEACTIVATION_PENDING)
                && p.status.as_ref().and_then(|s| s.access_keys.as_ref()).is_some_and(|k| k.deactivated_total == 1 && k.marked == 1)
        })
        .await;
    let status = policy.status.as_ref().and_then(|s| s.access_keys.as_ref()).expect("status.accessKeys");
    assert_eq!((status.users_in_scope, status.active_keys), (2, 1), "break-glass is out of scope, stale's key is off: {status:?}");
    assert!(condition(&policy, conditions::ACCESS_KEYS_IN_SYNC).is_some_and(|c| c.status == "False"), "a key waits for its grace period");

    let state = |user: &'static str| {
        let iam = iam.clone();
        async move {
            let listed = iam.list_access_keys().user_name(user).send().await.expect("ListAccessKeys");
            listed.access_key_metadata().iter().filter_map(|k| k.status().cloned()).collect::<Vec<_>>()
        }
    };
    let tags = |user: &'static str| {
        let iam = iam.clone();
        async move {
            let listed = iam.list_user_tags().user_name(user).send().await.expect("ListUserTags");
            listed.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<BTreeMap<_, _>>()
        }
    };
    assert_eq!(state("stale").await, [StatusType::Inactive], "deactivated, not deleted");
    assert_eq!(state("laptop").await, [StatusType::Active], "marked first");
    assert_eq!(state("break-glass").await, [StatusType::Active], "excluded");
    assert!(!tags("stale").await.contains_key(&mark("stale")), "the mark of a deactivated key is removed");
    let laptop_mark = tags("laptop").await.get(&mark("laptop")).cloned().expect("laptop is marked");
    assert!(laptop_mark.ends_with(&format!(" by {}", env.name)), "the mark names the policy: {laptop_mark}");
    wait_for_normal_events(&env, &["AccessKeysDeactivated", "AccessKeysMarked"]).await;

    env.delete_and_wait_gone().await;
    assert!(tags("laptop").await.is_empty(), "deletionPolicy Delete removes the policy's mark");
    assert_eq!(state("stale").await, [StatusType::Inactive], "a deactivated key stays so");
    assert_eq!(state("laptop").await, [StatusType::Active]);
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn right_sizing_enrolls_the_account_then_reports_compute_optimizers_findings_in_dollars() {
    let env = E2e::start("sizing").await;
    let instance = env.account.launch_instance(&[], None).await;
    let seeds = json!([{"account": env.account.id, "region": REGION, "instanceId": instance, "finding": "Overprovisioned",
                        "recommendedType": "t3.micro", "estimatedMonthlySavingsUsd": 61.32, "performanceRisk": 1.0}]);
    common::control("/_frugal/compute-optimizer/recommendations", seeds).await;
    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.resync_interval = "30s".to_string();
        p.spec.right_sizing = Some(serde_yaml::from_str("{minMonthlySavingsUsd: 5}").expect("rightSizing section"));
    }))
    .await;
    // The first run enrolls (the findings are not readable before); a resync later they are.
    let policy = env
        .wait_until("Ready=True (OpportunitiesFound) with status.rightSizing's dollars", |p| {
            is_current(p)
                && condition(p, conditions::READY).is_some_and(|c| c.status == "True" && c.reason == reason::OPPORTUNITIES_FOUND)
                && p.status.as_ref().and_then(|s| s.right_sizing.as_ref()).is_some_and(|r| r.opportunities == 1)
        })
        .await;
    let sizing = policy.status.as_ref().and_then(|s| s.right_sizing.as_ref()).expect("status.rightSizing");
    assert_eq!((sizing.enrollment.as_str(), sizing.estimated_monthly_savings_usd.as_str()), ("Active", "61.32"), "{sizing:?}");
    assert_eq!((sizing.resources[0].id.as_str(), sizing.resources[0].recommended.as_str()), (instance.as_str(), "t3.micro"));
    assert!(condition_is(&policy, conditions::RIGHT_SIZING_IN_SYNC, "False", reason::OPPORTUNITIES_FOUND));
    let cost = policy.status.as_ref().and_then(|s| s.cost.as_ref()).expect("status.cost");
    assert_eq!(cost.monthly_waste_usd, "61.32", "the opportunity is the area's waste: {cost:?}");
    wait_for_normal_events(&env, &["ComputeOptimizerEnrolled"]).await;
    let instances = env.account.ec2.describe_instances().instance_ids(&instance).send().await.expect("DescribeInstances");
    let kind = instances.reservations().first().and_then(|r| r.instances().first()).and_then(|i| i.instance_type().cloned());
    assert_eq!(kind.map(|k| k.as_str().to_string()), Some("m1.small".to_string()), "never resized");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn cloud_watch_sets_retention_alarms_the_instance_retires_its_orphan_and_delete_removes_its_alarms() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Tag as AlarmTag};
    let env = E2e::start("watch").await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&env.account.config);
    logs.create_log_group().log_group_name("/aws/lambda/orders").send().await.expect("CreateLogGroup");
    let instance = env.account.launch_instance(&[], None).await;
    let orphan = format!("frugal-{}-i-0000000000000dead-status-check", env.name);
    env.account
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(&orphan)
        .namespace("AWS/EC2")
        .metric_name("StatusCheckFailed")
        .dimensions(Dimension::builder().name("InstanceId").value("i-0000000000000dead").build())
        .period(60)
        .evaluation_periods(2)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .tags(AlarmTag::builder().key(TAG_MANAGED_BY).value(MANAGED_BY_VALUE).build())
        .tags(AlarmTag::builder().key(TAG_POLICY).value(&env.name).build())
        .send()
        .await
        .expect("PutMetricAlarm");
    env.create(env.policy(|p| {
        p.spec.gateway_endpoints = None;
        p.spec.deletion_policy = DeletionPolicy::Delete;
        p.spec.cloud_watch = Some(
            serde_yaml::from_str("{logRetention: {days: 30}, instanceAlarms: {}, orphanAlarms: Delete, gracePeriod: 0s}")
                .expect("cloudWatch section"),
        );
    }))
    .await;
    let policy = env
        .wait_until("Ready=True and CloudWatchInSync=True", |p| {
            is_current(p) && is_true(p, conditions::READY) && is_true(p, conditions::CLOUD_WATCH_IN_SYNC)
        })
        .await;
    let watch = policy.status.as_ref().and_then(|s| s.cloud_watch.as_ref()).expect("status.cloudWatch");
    assert_eq!((watch.retention_set_last_run, watch.alarms_created_last_run, watch.orphan_alarms_deleted_last_run), (1, 1, 1), "{watch:?}");
    let groups = logs.describe_log_groups().send().await.expect("DescribeLogGroups");
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));
    let ours = format!("frugal-{}-{instance}-status-check", env.name);
    let names = |answer: aws_sdk_cloudwatch::operation::describe_alarms::DescribeAlarmsOutput| {
        answer.metric_alarms().iter().filter_map(|a| a.alarm_name().map(str::to_string)).collect::<Vec<_>>()
    };
    assert_eq!(
        names(env.account.cloudwatch.describe_alarms().send().await.expect("DescribeAlarms")),
        std::slice::from_ref(&ours),
        "the orphan is gone"
    );
    wait_for_normal_events(&env, &["CloudWatchRetentionSet", "CloudWatchAlarmsCreated", "CloudWatchOrphanAlarmsDeleted"]).await;

    env.delete_and_wait_gone().await;
    assert_eq!(
        names(env.account.cloudwatch.describe_alarms().send().await.expect("DescribeAlarms")),
        Vec::<String>::new(),
        "its alarm is deleted"
    );
    let groups = logs.describe_log_groups().send().await.expect("DescribeLogGroups");
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30), "the retention stays: removing it would keep logs forever");
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_set_generates_one_policy_per_account_and_removing_an_id_deletes_its_policy() {
    let client = kube_client().await;
    cluster::install_crd(&client, FIELD_MANAGER).await;
    // Two accounts, each reached by its own role: the set's roleName is the test accounts'.
    let (first, second) = (TestAccount::new().await, TestAccount::new().await);
    let role_name = first.role_arn.rsplit_once(":role/").map(|(_, name)| name.to_string()).expect("a role ARN");
    let name = format!("e2e-set-{}", first.id);
    let generated = |account: &TestAccount| format!("{name}-{}-{REGION}", account.id);
    let _cleanup = Cleanup::new(&kubeconfig_path(), vec![generated(&first), generated(&second)]);
    let _operator = start_operator(&name, &first.id).await;
    let sets: Api<CostPolicySet> = Api::all(client.clone());
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let spec: CostPolicySetSpec = serde_yaml::from_str(&format!(
        "accounts: {{ids: ['{}', '{}'], roleName: {role_name}}}
regions: [{REGION}]
template: {{mode: Audit, gatewayEndpoints: {{services: [s3]}}}}
labels: {{{SHARD_LABEL}: '{}'}}
",
        first.id, second.id, first.id
    ))
    .expect("set spec parses");
    let mut set = CostPolicySet::new(&name, spec);
    set.metadata.labels = Some(BTreeMap::from([(SHARD_LABEL.to_string(), first.id.clone())]));
    let created = sets.create(&PostParams::default(), &set).await.unwrap_or_else(|e| panic!("create CostPolicySet {name}: {e}"));

    for account in [&first, &second] {
        wait_until_exists(&policies, &generated(account)).await;
        let policy =
            cluster::wait_for(&policies, &generated(account), "Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
        let owner = policy.metadata.owner_references.as_deref().unwrap_or_default();
        assert!(
            owner.iter().any(|o| o.kind == "CostPolicySet"
                && o.uid == created.metadata.uid.clone().unwrap_or_default()
                && o.controller == Some(true)),
            "{owner:?}"
        );
        assert_eq!(policy.spec.aws.role_arn.as_deref(), Some(account.role_arn.as_str()), "each policy reaches its own account");
        assert_eq!(policy.labels().get("frugal.dev/account"), Some(&account.id));
    }
    wait_for_set(&sets, &name, "Ready=True over 2 policies", |s| {
        s.status.as_ref().is_some_and(|st| st.policies == 2 && st.ready == 2 && st.observed_generation == s.metadata.generation)
    })
    .await;

    // A hand edit of a field the template sets is reverted; a deleted policy comes back.
    let edit = json!({"spec": {"mode": "Enforce"}});
    policies.patch(&generated(&first), &PatchParams::default(), &Patch::Merge(&edit)).await.unwrap_or_else(|e| panic!("edit by hand: {e}"));
    cluster::wait_for(&policies, &generated(&first), "the template's mode back", |p| p.spec.mode == Mode::Audit).await;
    let before = policies.get(&generated(&second)).await.expect("get").metadata.uid;
    policies.delete(&generated(&second), &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete by hand: {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    while policies.get_opt(&generated(&second)).await.expect("get").and_then(|p| p.metadata.uid) == before
        || policies.get_opt(&generated(&second)).await.expect("get").is_none()
    {
        assert!(Instant::now() < deadline, "a generated policy deleted by hand was not generated again within 60s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let patch = json!({"spec": {"accounts": {"ids": [first.id]}}});
    sets.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap_or_else(|e| panic!("remove an id from {name}: {e}"));
    cluster::wait_gone(&policies, &generated(&second)).await;
    assert!(policies.get_opt(&generated(&first)).await.expect("get").is_some(), "the other account's policy stays");
    wait_for_set(&sets, &name, "1 policy", |s| s.status.as_ref().is_some_and(|st| st.policies == 1 && st.accounts == 1)).await;
    check_operator_requests_on_the_api_server(&[
        "patch frugal.dev/costpolicies",
        "delete frugal.dev/costpolicies",
        "patch frugal.dev/costpolicysets/status",
    ]);
    sets.delete(&name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicySet {name}: {e}"));
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_set_over_an_organization_unit_deletes_the_policy_of_an_account_moved_out_of_it() {
    let client = kube_client().await;
    cluster::install_crd(&client, FIELD_MANAGER).await;
    // The test account is the organization's management account; its members get random
    // ids from the emulator and are reached by the same role name.
    let management = TestAccount::new().await;
    let org = Organization::create(&management).await;
    let prod = org.unit(&org.root, "prod").await;
    let sandbox = org.unit(&org.root, "sandbox").await;
    let members = org.accounts(&prod, 2, "member").await;
    let role_name = management.role_arn.rsplit_once(":role/").map(|(_, name)| name.to_string()).expect("a role ARN");
    let name = format!("e2e-orgset-{}", management.id);
    let generated = |account: &str| format!("{name}-{account}-{REGION}");
    let _cleanup = Cleanup::new(&kubeconfig_path(), members.iter().map(|m| generated(m)).collect());
    let _operator = start_operator(&name, &management.id).await;
    let sets: Api<CostPolicySet> = Api::all(client.clone());
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let spec: CostPolicySetSpec = serde_yaml::from_str(&format!(
        "accounts:
  organization: {{roleArn: '{}', organizationalUnitIds: [{prod}]}}
  roleName: {role_name}
regions: [{REGION}]
template: {{mode: Audit, gatewayEndpoints: {{services: [s3]}}}}
labels: {{{SHARD_LABEL}: '{}'}}
",
        management.role_arn, management.id
    ))
    .expect("set spec parses");
    let mut set = CostPolicySet::new(&name, spec);
    set.metadata.labels = Some(BTreeMap::from([(SHARD_LABEL.to_string(), management.id.clone())]));
    sets.create(&PostParams::default(), &set).await.unwrap_or_else(|e| panic!("create CostPolicySet {name}: {e}"));

    for member in &members {
        wait_until_exists(&policies, &generated(member)).await;
        let policy = policies.get(&generated(member)).await.expect("get");
        assert_eq!(policy.spec.aws.role_arn, Some(format!("arn:aws:iam::{member}:role/{role_name}")), "each member through its own role");
    }
    wait_for_set(&sets, &name, "2 accounts from the unit", |s| s.status.as_ref().is_some_and(|st| st.accounts == 2 && st.policies == 2))
        .await;

    // Moved out of the unit: noticed at the next resync or any change of the set (here an
    // annotation, so the test need not wait ten minutes).
    org.move_account(&members[1], &prod, &sandbox).await;
    let poke = json!({"metadata": {"annotations": {"e2e.frugal.dev/poke": "1"}}});
    sets.patch(&name, &PatchParams::default(), &Patch::Merge(&poke)).await.unwrap_or_else(|e| panic!("annotate {name}: {e}"));
    cluster::wait_gone(&policies, &generated(&members[1])).await;
    assert!(policies.get_opt(&generated(&members[0])).await.expect("get").is_some(), "the member still in the unit keeps its policy");
    wait_for_set(&sets, &name, "1 account", |s| s.status.as_ref().is_some_and(|st| st.accounts == 1 && st.policies == 1)).await;
    wait_for_set_events(&client, &name, &[("Normal", "PolicyGenerated"), ("Normal", "PolicyDeleted")]).await;
    check_operator_requests_on_the_api_server(&[
        "patch frugal.dev/costpolicies",
        "delete frugal.dev/costpolicies",
        "patch frugal.dev/costpolicysets/status",
        "create events.k8s.io/events",
    ]);
    sets.delete(&name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicySet {name}: {e}"));
}

/// Waits until CostPolicySet `name` has an Event of each (type, reason).
async fn wait_for_set_events(client: &Client, name: &str, expected: &[(&str, &str)]) {
    let events: Api<Event> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = events
            .list(&kube::api::ListParams::default().fields(&format!("regarding.name={name}")))
            .await
            .expect("list events.k8s.io/v1 Events");
        let seen: Vec<(String, String)> = list
            .items
            .iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.kind.as_deref()) == Some("CostPolicySet"))
            .map(|e| (e.type_.clone().unwrap_or_default(), e.reason.clone().unwrap_or_default()))
            .collect();
        if expected.iter().all(|(t, r)| seen.iter().any(|(st, sr)| st == t && sr == r)) {
            return;
        }
        assert!(Instant::now() < deadline, "CostPolicySet {name}: no Events {expected:?} within 60s; seen {seen:?}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Polls until policy `name` exists (the set controller creates it some time after the set).
async fn wait_until_exists(api: &Api<CostPolicy>, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while api.get_opt(name).await.unwrap_or_else(|e| panic!("get CostPolicy {name}: {e}")).is_none() {
        assert!(Instant::now() < deadline, "CostPolicy {name} was not generated within 60s");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls set `name` until `done` holds.
async fn wait_for_set(api: &Api<CostPolicySet>, name: &str, what: &str, done: impl Fn(&CostPolicySet) -> bool) -> CostPolicySet {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let set = api.get(name).await.unwrap_or_else(|e| panic!("get CostPolicySet {name}: {e}"));
        if done(&set) {
            return set;
        }
        assert!(Instant::now() < deadline, "CostPolicySet {name}: no {what} within 120s; status: {:?}", set.status);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn backup_status(policy: &CostPolicy) -> Option<&BackupStatus> {
    policy.status.as_ref().and_then(|s| s.backup.as_ref())
}

/// UpdateBackupPlan as the console makes it: the spec's daily rule with `days` of retention.
/// Returns the new version id.
async fn shorten_retention(account: &TestAccount, plan_id: &str, vault: &str, plan: &str, days: i64) -> String {
    use aws_sdk_backup::types::{BackupPlanInput, BackupRuleInput, Lifecycle};
    let rule = BackupRuleInput::builder()
        .rule_name("daily")
        .target_backup_vault_name(vault)
        .schedule_expression("cron(0 5 ? * * *)")
        .start_window_minutes(60)
        .completion_window_minutes(180)
        .lifecycle(Lifecycle::builder().delete_after_days(days).build())
        .build()
        .expect("a backup rule");
    let input = BackupPlanInput::builder().backup_plan_name(plan).rules(rule).build().expect("a backup plan");
    let updated = account.backup().update_backup_plan().backup_plan_id(plan_id).backup_plan(input).send().await.expect("UpdateBackupPlan");
    updated.version_id().expect("version id").to_string()
}

/// Waits until the test's policy has a Normal Event of each reason; returns its Events.
async fn wait_for_normal_events(env: &E2e, reasons: &[&str]) -> Vec<Event> {
    let expected: Vec<(&str, &str)> = reasons.iter().map(|reason| ("Normal", *reason)).collect();
    cluster::wait_for_events(&env.client, &env.name, &expected).await
}

async fn expect_rejected(api: &Api<DynamicObject>, resource: &ApiResource, name: &str, spec: serde_json::Value) -> kube::core::Status {
    let object = DynamicObject::new(name, resource).data(json!({ "spec": spec }));
    match api.create(&PostParams::default(), &object).await {
        Ok(created) => panic!("the API server accepted an invalid CostPolicy: {created:?}"),
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 422, "expected 422 Unprocessable Entity: {status:?}");
            *status
        }
        Err(other) => panic!("expected a 422 from the API server, got {other}"),
    }
}

/// A webhook receiver on a free loopback port (the operator runs on this machine in both
/// targets) that keeps every JSON body; its URL.
async fn webhook_receiver(token: &str) -> (Arc<Mutex<Vec<serde_json::Value>>>, String) {
    use axum::extract::State;
    type Inbox = Arc<Mutex<Vec<serde_json::Value>>>;
    async fn keep(State(inbox): State<Inbox>, body: axum::body::Bytes) -> &'static str {
        inbox.lock().expect("inbox").push(serde_json::from_slice(&body).expect("a JSON body"));
        "ok"
    }
    let inbox: Inbox = Arc::default();
    let app = axum::Router::new().fallback(keep).with_state(inbox.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    (inbox, format!("http://127.0.0.1:{port}/hooks/{token}"))
}

#[tokio::test]
#[ignore = "needs a cluster (FRUGAL_E2E_KUBECONFIG) or FRUGAL_E2E_API_SERVER=1; run with --ignored"]
async fn a_notifier_gets_one_message_for_a_run_that_changes_something_and_none_in_the_steady_state() {
    let client = kube_client().await;
    cluster::install_crd(&client, FIELD_MANAGER).await;
    let account = TestAccount::new().await;
    let name = format!("e2e-notify-{}", account.id);
    let namespace = DeployRbac::load().namespace;
    let token = format!("token-{}", account.id);
    let (inbox, url) = webhook_receiver(&token).await;
    let args = ["--leader-election=false".to_string(), format!("--notifier-secret-namespace={namespace}")];
    // The API server of tests/api_server/ serves no Secrets: a proxy in front of it does.
    let proxy = match target() {
        Target::ApiServer => Some(SecretsProxy::start(&api_server().operator_kubeconfig, &name).await),
        Target::Cluster(_) => None,
    };
    let operator = match &proxy {
        Some(proxy) => {
            proxy.put_secret(&namespace, &name, "address", &url);
            Operator::spawn(&name, &proxy.kubeconfig, &account.id, &args, &[]).await
        }
        None => {
            // start_operator_with applies deploy/'s namespace and RBAC first.
            let operator = start_operator_with(&name, &account.id, &args, &[]).await;
            let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
                "metadata": {"name": name, "namespace": namespace},
                "stringData": {"address": url}
            }))
            .expect("a Secret");
            Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), &namespace)
                .create(&PostParams::default(), &secret)
                .await
                .expect("create the webhook Secret");
            operator
        }
    };
    let notifiers: Api<Notifier> = Api::all(client.clone());
    let notifier: Notifier = serde_json::from_value(json!({
        "apiVersion": "frugal.dev/v1alpha1",
        "kind": "Notifier",
        "metadata": {"name": name},
        "spec": {"type": "webhook", "secretRef": {"name": name}, "policySelector": {"matchLabels": {SHARD_LABEL: account.id}}}
    }))
    .expect("a Notifier");
    notifiers.create(&PostParams::default(), &notifier).await.expect("create the Notifier");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let current = notifiers.get(&name).await.expect("get the Notifier");
        let ready = current.status.as_ref().and_then(|s| conditions::find(&s.conditions, conditions::READY)).cloned();
        if ready.as_ref().is_some_and(|c| c.status == conditions::TRUE) {
            assert!(!serde_json::to_string(&current).expect("JSON").contains(&token), "the URL is not in the Notifier");
            break;
        }
        assert!(Instant::now() < deadline, "the Notifier is not Ready after 60s: {ready:?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    seed_vpc(&account, "prod").await;
    let api: Api<CostPolicy> = Api::all(client.clone());
    let _cleanup = Cleanup::new(&kubeconfig_path(), vec![name.clone()]);
    api.create(&PostParams::default(), &example_policy(&account, &name, |_| {})).await.expect("create the CostPolicy");
    cluster::wait_for(&api, &name, "Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while inbox.lock().expect("inbox").is_empty() {
        assert!(Instant::now() < deadline, "no message 30s after the run that created the endpoints");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let message = inbox.lock().expect("inbox")[0].clone();
    assert_eq!((message["kind"].as_str(), message["policy"].as_str()), (Some("Notification"), Some(name.as_str())), "{message:#}");
    assert_eq!((message["account"].as_str(), message["region"].as_str()), (Some(account.id.as_str()), Some(REGION)), "{message:#}");
    assert_eq!(message["changes"][0]["area"], "gatewayEndpoints", "{message:#}");
    assert_eq!(message["changes"][0]["count"], 2, "the s3 and dynamodb endpoints: {message:#}");

    // Another run that finds everything in place (a spec edit makes it run now) sends nothing.
    let patch = json!({ "spec": { "resyncInterval": "15m" } });
    let patched = api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.expect("merge-patch resyncInterval");
    let generation = patched.metadata.generation.expect("metadata.generation");
    cluster::wait_for(&api, &name, "the edited generation reconciled", |p| {
        p.status.as_ref().and_then(|s| s.observed_generation) == Some(generation) && is_true(p, conditions::READY)
    })
    .await;
    // The message of a run is queued before its reconcile ends and reaches a local receiver
    // in milliseconds: a few seconds are plenty for one that should not come.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(inbox.lock().expect("inbox").len(), 1, "a steady run sent a message: {:#?}", inbox.lock().expect("inbox"));
    let log = operator.log();
    assert!(!log.contains(&token), "the webhook URL reached the operator's log");

    if let Some(proxy) = &proxy {
        let secrets = proxy.secret_requests();
        assert!(!secrets.is_empty(), "the operator never read the Secret");
        let deploy = DeployRbac::load();
        for request in &secrets {
            assert!(deploy.allows(request), "deploy/'s RBAC does not allow {request}");
        }
    }
    check_operator_requests_on_the_api_server(&["watch frugal.dev/notifiers", "patch frugal.dev/notifiers/status"]);
    notifiers.delete(&name, &DeleteParams::default()).await.expect("delete the Notifier");
}

// ---------------------------------------------------------------------------------------
// The per-test environment: cluster, account, operator, cleanup
// ---------------------------------------------------------------------------------------

impl Drop for E2e {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            check_operator_requests_on_the_api_server(&["watch frugal.dev/costpolicies", "patch frugal.dev/costpolicies/status"]);
        }
    }
}

/// On the API server of tests/api_server/: every request the operators made so far is
/// allowed by deploy/'s roles, and `expected` are among them (on a cluster their
/// ServiceAccount token proved it already).
fn check_operator_requests_on_the_api_server(expected: &[&str]) {
    if let Target::ApiServer = target() {
        rbac::check_operator_requests(&api_server().audit_log, expected);
    }
}

/// One test's world. Fields drop in order: the policy is cleaned up while the operator
/// still runs (so its finalizer can finish), then the operator is stopped.
struct E2e {
    client: Client,
    api: Api<CostPolicy>,
    account: TestAccount,
    /// metadata.name of the test's policy; unique per test run.
    name: String,
    _cleanup: Cleanup,
    _operator: Operator,
}

impl E2e {
    async fn start(test: &str) -> Self {
        let client = kube_client().await;
        cluster::install_crd(&client, FIELD_MANAGER).await;
        let account = TestAccount::new().await;
        let name = format!("e2e-{test}-{}", account.id);
        let operator = start_operator(&name, &account.id).await;
        Self {
            api: Api::all(client.clone()),
            client,
            name: name.clone(),
            account,
            _cleanup: Cleanup::new(&kubeconfig_path(), vec![name]),
            _operator: operator,
        }
    }

    /// examples/gateway-endpoints.yaml, made this test's (see [`example_policy`]), then `edit`.
    fn policy(&self, edit: impl FnOnce(&mut CostPolicy)) -> CostPolicy {
        example_policy(&self.account, &self.name, edit)
    }

    async fn create(&self, policy: CostPolicy) -> CostPolicy {
        self.api.create(&PostParams::default(), &policy).await.unwrap_or_else(|e| panic!("create CostPolicy {}: {e}", self.name))
    }

    /// Polls the policy until `done` holds; panics with the last status after the timeout.
    async fn wait_until(&self, what: &str, done: impl Fn(&CostPolicy) -> bool) -> CostPolicy {
        cluster::wait_for(&self.api, &self.name, what, done).await
    }

    /// Deletes the policy and waits until the API server no longer has it (the finalizer ran).
    async fn delete_and_wait_gone(&self) {
        self.api.delete(&self.name, &DeleteParams::default()).await.unwrap_or_else(|e| panic!("delete CostPolicy {}: {e}", self.name));
        self.wait_gone().await;
    }

    /// Waits until the API server no longer has the policy.
    async fn wait_gone(&self) {
        cluster::wait_gone(&self.api, &self.name).await
    }
}

/// examples/gateway-endpoints.yaml as policy `name` of the test account's shard: its role,
/// no external id, then `edit`.
fn example_policy(account: &TestAccount, name: &str, edit: impl FnOnce(&mut CostPolicy)) -> CostPolicy {
    let path = common::repo_root().join("examples/gateway-endpoints.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let mut policy = common::policy_for(account, &yaml);
    policy.metadata.name = Some(name.to_string());
    policy.metadata.labels.get_or_insert_with(BTreeMap::new).insert(SHARD_LABEL.to_string(), account.id.clone());
    edit(&mut policy);
    policy
}

/// Where the suite runs.
enum Target {
    /// The cluster of the kubeconfig at this path.
    Cluster(PathBuf),
    /// The API server of tests/api_server/, started for this test binary.
    ApiServer,
}

fn target() -> Target {
    match std::env::var_os(KUBECONFIG_ENV) {
        Some(path) if !path.is_empty() => Target::Cluster(PathBuf::from(path)),
        _ if std::env::var_os(API_SERVER_ENV).is_some_and(|v| v == "1") => Target::ApiServer,
        _ => panic!(
            "neither {KUBECONFIG_ENV} nor {API_SERVER_ENV}=1 is set: point {KUBECONFIG_ENV} at a cluster's kubeconfig file, or set {API_SERVER_ENV}=1 for the API server of tests/api_server/, and run `cargo test --test e2e -- --ignored` ({IGNORE_REASON})"
        ),
    }
}

/// The admin kubeconfig of the target.
fn kubeconfig_path() -> PathBuf {
    match target() {
        Target::Cluster(path) => path,
        Target::ApiServer => api_server().kubeconfig.clone(),
    }
}

async fn kube_client() -> Client {
    match target() {
        Target::Cluster(path) => cluster::client_from(&path).await,
        Target::ApiServer => api_server().client(FIELD_MANAGER).await,
    }
}

/// The ServiceAccount, namespace and RBAC objects of the deploy/ base, server-side applied
/// with the base's namespace set on the namespaced ones (as kustomize does). Returns the
/// namespace and the ServiceAccount's name.
async fn install_operator_rbac(client: &Client) -> (String, String) {
    let namespace = DeployRbac::load().namespace;
    if let Target::ApiServer = target() {
        // Nothing to apply there (no namespaces, ServiceAccounts or RBAC): its audit log is
        // checked against deploy/'s roles instead.
        let account: ServiceAccount = rbac::deploy_yaml("serviceaccount.yaml");
        return (namespace, account.metadata.name.expect("deploy/serviceaccount.yaml has a name"));
    }
    let apply = PatchParams::apply(FIELD_MANAGER).force();
    macro_rules! apply_file {
        ($file:literal, $kind:ty, $api:expr) => {{
            let mut object: $kind = rbac::deploy_yaml($file);
            let name = object.metadata.name.clone().unwrap_or_else(|| panic!("deploy/{} has a name", $file));
            let api: Api<$kind> = $api;
            if api.resource_url().contains("/namespaces/") {
                object.metadata.namespace = Some(namespace.clone());
            }
            api.patch(&name, &apply, &Patch::Apply(&object)).await.unwrap_or_else(|e| panic!("apply deploy/{}: {e}", $file));
            name
        }};
    }
    apply_file!("namespace.yaml", Namespace, Api::all(client.clone()));
    let service_account = apply_file!("serviceaccount.yaml", ServiceAccount, Api::namespaced(client.clone(), &namespace));
    apply_file!("clusterrole.yaml", ClusterRole, Api::all(client.clone()));
    apply_file!("clusterrolebinding.yaml", ClusterRoleBinding, Api::all(client.clone()));
    apply_file!("role.yaml", Role, Api::namespaced(client.clone(), &namespace));
    apply_file!("rolebinding.yaml", RoleBinding, Api::namespaced(client.clone(), &namespace));
    apply_file!("notifier-secret-role.yaml", Role, Api::namespaced(client.clone(), &namespace));
    apply_file!("notifier-secret-rolebinding.yaml", RoleBinding, Api::namespaced(client.clone(), &namespace));
    wait_for_rbac(client, &namespace, &service_account).await;
    (namespace, service_account)
}

/// Waits until the API server's authorizer grants the ServiceAccount what deploy/ gives it.
/// RBAC objects reach the authorizer's cache a moment after they are written; an operator
/// started before that gets 403 on its first list and exits.
async fn wait_for_rbac(client: &Client, namespace: &str, service_account: &str) {
    let reviews: Api<SubjectAccessReview> = Api::all(client.clone());
    let user = format!("system:serviceaccount:{namespace}:{service_account}");
    let groups =
        vec!["system:serviceaccounts".to_string(), format!("system:serviceaccounts:{namespace}"), "system:authenticated".to_string()];
    let attributes = |group: &str, resource: &str, subresource: Option<&str>, namespace: Option<&str>, name: Option<&str>, verb: &str| {
        ResourceAttributes {
            group: Some(group.to_string()),
            resource: Some(resource.to_string()),
            subresource: subresource.map(str::to_string),
            namespace: namespace.map(str::to_string),
            name: name.map(str::to_string),
            verb: Some(verb.to_string()),
            ..ResourceAttributes::default()
        }
    };
    // One rule of each binding: the ClusterRoleBinding's (policies, status, Events in the
    // namespace Events of cluster-scoped objects go to) and the RoleBinding's (the Lease).
    let checks = [
        attributes("frugal.dev", "costpolicies", None, None, None, "watch"),
        attributes("frugal.dev", "costpolicies", Some("status"), None, None, "patch"),
        attributes("frugal.dev", "costpolicysets", None, None, None, "watch"),
        attributes("frugal.dev", "costpolicies", None, None, None, "delete"),
        attributes("events.k8s.io", "events", None, Some("default"), None, "create"),
        attributes("coordination.k8s.io", "leases", None, Some(namespace), Some(&DeployRbac::load().lease_name()), "update"),
        attributes("", "secrets", None, Some(namespace), Some("any"), "get"),
    ];
    let deadline = Instant::now() + Duration::from_secs(30);
    for check in checks {
        loop {
            let review = SubjectAccessReview {
                spec: SubjectAccessReviewSpec {
                    user: Some(user.clone()),
                    groups: Some(groups.clone()),
                    resource_attributes: Some(check.clone()),
                    ..SubjectAccessReviewSpec::default()
                },
                ..SubjectAccessReview::default()
            };
            let answer =
                reviews.create(&PostParams::default(), &review).await.unwrap_or_else(|e| panic!("SubjectAccessReview for {user}: {e}"));
            if answer.status.as_ref().is_some_and(|s| s.allowed) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{user} is still not allowed {check:?} 30s after deploy/'s RBAC was applied: {:?}",
                answer.status
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A kubeconfig for the operator: the cluster of FRUGAL_E2E_KUBECONFIG, authenticated with a
/// one-hour token of deploy/'s ServiceAccount from the TokenRequest API.
async fn service_account_kubeconfig(client: &Client, test_name: &str) -> PathBuf {
    let (namespace, service_account) = install_operator_rbac(client).await;
    let request = TokenRequest {
        spec: Some(TokenRequestSpec { audiences: None, expiration_seconds: Some(3600), ..TokenRequestSpec::default() }),
        ..TokenRequest::default()
    };
    let issued = Api::<ServiceAccount>::namespaced(client.clone(), &namespace)
        .create_token_request(&service_account, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {namespace}/{service_account}: {e}"));
    let token =
        issued.status.and_then(|s| s.token).unwrap_or_else(|| panic!("TokenRequest for {namespace}/{service_account} has no token"));

    let admin_path = kubeconfig_path();
    let admin = Kubeconfig::read_from(&admin_path).unwrap_or_else(|e| panic!("read kubeconfig {}: {e}", admin_path.display()));
    let context_name = admin.current_context.clone().expect("the e2e kubeconfig has a current context");
    let cluster_name = admin
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
        .map(|c| c.cluster.clone())
        .unwrap_or_else(|| panic!("context {context_name} of {} names no cluster", admin_path.display()));
    let mut cluster = admin.clusters.iter().find(|c| c.name == cluster_name).cloned().expect("the current context's cluster");
    // A relative CA path is relative to the admin kubeconfig, not to the file written here.
    if let Some(inner) = cluster.cluster.as_mut()
        && let Some(ca) = inner.certificate_authority.as_mut()
        && PathBuf::from(&*ca).is_relative()
    {
        let dir = admin_path.parent().map(PathBuf::from).unwrap_or_default();
        *ca = dir.join(&*ca).to_string_lossy().into_owned();
    }
    let user = format!("system:serviceaccount:{namespace}:{service_account}");
    let kubeconfig = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{ "name": user, "user": { "token": token } }],
        "contexts": [{ "name": user, "context": { "cluster": cluster_name, "user": user, "namespace": namespace } }],
        "current-context": user,
    });
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{test_name}.kubeconfig"));
    std::fs::write(&path, serde_yaml::to_string(&kubeconfig).expect("kubeconfig YAML"))
        .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Starts `frugal run` for the policies labelled `SHARD_LABEL=<shard>`, the only operator of
/// its shard (no leader election), and waits until /readyz answers 200.
async fn start_operator(test_name: &str, shard: &str) -> Operator {
    start_operator_with(test_name, shard, &["--leader-election=false".to_string()], &[]).await
}

/// The same with extra flags and environment variables. On a cluster the operator
/// authenticates as the ServiceAccount of deploy/ (a TokenRequest token), so every test also
/// proves that deploy/'s ClusterRole and Role are enough; on the API server of
/// tests/api_server/ as its audited operator user, whose requests
/// [`check_operator_requests_on_the_api_server`] holds against deploy/'s roles.
async fn start_operator_with(test_name: &str, shard: &str, args: &[String], envs: &[(&str, &str)]) -> Operator {
    match target() {
        Target::Cluster(_) => {
            let kubeconfig = service_account_kubeconfig(&kube_client().await, test_name).await;
            Operator::spawn(test_name, &kubeconfig, shard, args, envs).await
        }
        Target::ApiServer => api_server().operator_with(test_name, shard, args, envs).await,
    }
}

// ---------------------------------------------------------------------------------------
// AWS seeding and inspection
// ---------------------------------------------------------------------------------------

/// A VPC like the ones frugal is for: a public subnet with an internet gateway and a NAT
/// gateway, two private route tables whose default route goes to the NAT gateway, one
/// public route table whose default route goes to the internet gateway.
struct SeededVpc {
    vpc_id: String,
    private_route_tables: Vec<String>,
    public_route_table: String,
}

fn tagged(resource: ResourceType, tags: &[(&str, &str)]) -> TagSpecification {
    tags.iter()
        .fold(TagSpecification::builder().resource_type(resource), |spec, (k, v)| spec.tags(Tag::builder().key(*k).value(*v).build()))
        .build()
}

async fn seed_vpc(account: &TestAccount, env: &str) -> SeededVpc {
    let ec2 = &account.ec2;
    let name = format!("{env}-app");
    let vpc = ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .tag_specifications(tagged(ResourceType::Vpc, &[("env", env), ("Name", &name)]))
        .send()
        .await
        .expect("CreateVpc");
    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("VpcId").to_string();

    let subnet = ec2.create_subnet().vpc_id(&vpc_id).cidr_block("10.0.0.0/24").send().await.expect("CreateSubnet");
    let subnet_id = subnet.subnet().and_then(|s| s.subnet_id()).expect("SubnetId").to_string();

    let igw = ec2.create_internet_gateway().send().await.expect("CreateInternetGateway");
    let igw_id = igw.internet_gateway().and_then(|g| g.internet_gateway_id()).expect("InternetGatewayId").to_string();
    ec2.attach_internet_gateway().internet_gateway_id(&igw_id).vpc_id(&vpc_id).send().await.expect("AttachInternetGateway");

    let eip = ec2.allocate_address().domain(DomainType::Vpc).send().await.expect("AllocateAddress");
    let allocation_id = eip.allocation_id().expect("AllocationId").to_string();
    let nat = ec2.create_nat_gateway().subnet_id(&subnet_id).allocation_id(&allocation_id).send().await.expect("CreateNatGateway");
    let nat_id = nat.nat_gateway().and_then(|n| n.nat_gateway_id()).expect("NatGatewayId").to_string();

    let public_route_table = create_route_table(account, &vpc_id).await;
    ec2.create_route()
        .route_table_id(&public_route_table)
        .destination_cidr_block("0.0.0.0/0")
        .gateway_id(&igw_id)
        .send()
        .await
        .expect("CreateRoute 0.0.0.0/0 -> internet gateway");

    let mut private_route_tables = Vec::new();
    for _ in 0..2 {
        let table = create_route_table(account, &vpc_id).await;
        ec2.create_route()
            .route_table_id(&table)
            .destination_cidr_block("0.0.0.0/0")
            .nat_gateway_id(&nat_id)
            .send()
            .await
            .expect("CreateRoute 0.0.0.0/0 -> NAT gateway");
        private_route_tables.push(table);
    }
    SeededVpc { vpc_id, private_route_tables, public_route_table }
}

async fn create_route_table(account: &TestAccount, vpc_id: &str) -> String {
    let table = account.ec2.create_route_table().vpc_id(vpc_id).send().await.expect("CreateRouteTable");
    table.route_table().and_then(|t| t.route_table_id()).expect("RouteTableId").to_string()
}

/// The VPC's endpoints that exist (the emulator keeps deleted ones with state deleted).
async fn live_endpoints(account: &TestAccount, vpc_id: &str) -> Vec<VpcEndpoint> {
    let answer = account
        .ec2
        .describe_vpc_endpoints()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .send()
        .await
        .expect("DescribeVpcEndpoints");
    answer
        .vpc_endpoints()
        .iter()
        .filter(|e| !e.state().is_some_and(|s| s.as_str().eq_ignore_ascii_case("deleted") || s.as_str().eq_ignore_ascii_case("deleting")))
        .cloned()
        .collect()
}

fn single_endpoint(endpoints: &[VpcEndpoint], service: GatewayService) -> &VpcEndpoint {
    let service_name = service.service_name(REGION);
    let matching: Vec<&VpcEndpoint> = endpoints.iter().filter(|e| e.service_name() == Some(service_name.as_str())).collect();
    assert_eq!(matching.len(), 1, "expected exactly one {service_name} endpoint: {endpoints:#?}");
    matching[0]
}

fn tags_of(endpoint: &VpcEndpoint) -> BTreeMap<String, String> {
    endpoint.tags().iter().filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string()))).collect()
}
