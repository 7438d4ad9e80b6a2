//! The operator across an outage of a real API server (tests/api_server/): the server is
//! down for 10 s and etcd is compacted meanwhile, so the operator's watch cannot resume
//! where it stopped (410 Gone) and has to list again. A test binary of its own: the outage
//! would fail the requests of any test running beside it.

mod common;

use std::collections::BTreeMap;

use common::api_server::api_server;
use common::cluster::{self, Cleanup, SHARD_LABEL, is_current, is_true};
use common::rbac;
use common::{REGION, TestAccount, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::conditions;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;

#[tokio::test]
async fn the_operator_carries_on_after_an_api_server_outage_that_expired_its_watch() {
    let client = api_server().client("frugal-api-server-outage-test").await;
    let policies: Api<CostPolicy> = Api::all(client.clone());
    let account = TestAccount::new().await;
    let prod = account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 2).await;
    let dev = account.seed_vpc("10.2.0.0/16", &[("env", "dev")], 1).await;
    let shard = account.id.clone();
    let operator = api_server().operator("api-server-outage", &shard).await;
    let (first, second) = (format!("outage-first-{shard}"), format!("outage-second-{shard}"));
    let _cleanup = Cleanup::new(&api_server().kubeconfig, vec![first.clone(), second.clone()]);
    // One VPC each: policies governing the same VPCs would be a Conflict.
    let policy = |name: &str, env: &str| {
        let yaml = format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: Enforce\n  aws: {{region: {REGION}}}\n  gatewayEndpoints: {{services: [s3, dynamodb], vpcSelector: {{tags: {{env: {env}}}}}}}\n"
        );
        let mut policy = policy_for(&account, &yaml);
        policy.metadata.labels = Some(BTreeMap::from([(SHARD_LABEL.to_string(), shard.clone())]));
        policy
    };
    policies.create(&PostParams::default(), &policy(&first, "prod")).await.expect("create the first policy");
    let reconciled = cluster::wait_for(&policies, &first, "Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    assert_eq!(account.endpoints(&prod.vpc_id).await.len(), 2, "the first policy made both endpoints");

    api_server().outage().await;
    assert_eq!(operator.get("/healthz").await.map(|(code, _)| code), Some(200), "the operator lived through the outage");

    // Both a new policy and an edit of a known one reach the operator: its watch listed again.
    policies.create(&PostParams::default(), &policy(&second, "dev")).await.expect("create the second policy");
    cluster::wait_for(&policies, &second, "Ready=True", |p| is_current(p) && is_true(p, conditions::READY)).await;
    assert_eq!(account.endpoints(&dev.vpc_id).await.len(), 2, "the second policy made both endpoints");
    let edit = json!({ "spec": { "resyncInterval": "15m" } });
    let edited = policies.patch(&first, &PatchParams::default(), &Patch::Merge(&edit)).await.expect("edit the first policy");
    assert_eq!(edited.metadata.generation, reconciled.metadata.generation.map(|g| g + 1));
    cluster::wait_for(&policies, &first, "the edited generation observed", |p| is_current(p) && is_true(p, conditions::READY)).await;
    assert_eq!(account.endpoints(&prod.vpc_id).await.len(), 2, "no endpoint made twice across the outage");
    // What it asked while recovering (the relist) is within deploy/'s RBAC too.
    rbac::check_operator_requests(&api_server().audit_log, &["list frugal.dev/costpolicies", "watch frugal.dev/costpolicies"]);
}
