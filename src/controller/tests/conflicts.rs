//! Two policies governing the same VPCs: both report `Conflict`, and only the one whose name
//! sorts first changes the shared VPC.

use kube::runtime::{reflector, watcher};

use super::*;

const OTHER: &str = "team-b";
const OTHER_STATUS_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-b/status";

/// team-a and team-b: the same gateway endpoints in every VPC of the region, both Enforce.
fn rivals() -> (CostPolicy, CostPolicy) {
    let a = CostPolicy::test().with_finalizer().enforce();
    let mut b = a.clone();
    b.metadata.name = Some(OTHER.to_string());
    b.metadata.uid = Some("5d0c1f0e-2b6a-4f53-8e8e-6f7b9a1c2d33".to_string());
    (a, b)
}

#[tokio::test]
async fn two_policies_over_the_same_vpcs_both_report_conflict_and_only_the_first_by_name_acts() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let (a, b) = rivals();
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Apply(a.clone()));
    writer.apply_watcher_event(&watcher::Event::Apply(b.clone()));
    harness.ctx = Arc::new(
        Context::new(harness.ctx.client.clone(), Arc::new(FakeConnector { cloud: harness.cloud.clone() }), Metrics::new())
            .with_policies(reader),
    );

    // team-b sorts after team-a: it leaves the shared VPC alone and says so.
    harness
        .reconcile(b, |mut api| async move {
            let request = api.next("the status of team-b").await;
            assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, OTHER_STATUS_PATH));
            assert_eq!(request.body[0]["value"], "5d0c1f0e-2b6a-4f53-8e8e-6f7b9a1c2d33", "guarded by team-b's uid");
            let status = request.body[1]["value"].clone();
            assert_condition(&status, "GatewayEndpointsInSync", "False", "Conflict");
            let message = condition(&status, "GatewayEndpointsInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("CostPolicy team-a") && message.contains(&format!("{VPC} to team-a")), "{message}");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            let object = api.object.clone();
            request.answer(&object);
            let request = api.next("the Conflict Event about team-b").await;
            assert_eq!((&request.method, request.path.as_str()), (&Method::POST, EVENTS_PATH));
            assert_eq!((request.body["type"].as_str(), request.body["reason"].as_str()), (Some("Warning"), Some("Conflict")));
            assert_eq!(request.body["regarding"]["name"], OTHER);
            assert!(note(&request.body).contains("team-a"), "{:#}", request.body);
            let event = request.body.clone();
            request.answer(&event);
            api
        })
        .await
        .expect("a conflict is reported, not an error");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveGatewayEndpoints], "team-b changes nothing in the shared VPC");

    // team-a acts on the VPC and reports the same conflict.
    harness
        .reconcile(a, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "GatewayEndpointsInSync", "False", "Conflict");
            let message = condition(&status, "GatewayEndpointsInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("CostPolicy team-b"), "{message}");
            let event = api.expect_event("Warning", "Conflict").await;
            assert!(note(&event).contains("team-b"), "{event:#}");
            api.expect_event("Normal", "EndpointCreated").await;
            api
        })
        .await
        .expect("a conflict is reported, not an error");
    assert_eq!(harness.cloud.endpoint_ids().len(), 1, "one endpoint, made by team-a alone");
}

#[tokio::test]
async fn a_policy_being_deleted_or_invalid_is_no_conflict() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let (a, b) = rivals();
    let mut invalid = b.clone().with_spec(|spec| spec.resync_interval = "10s".to_string());
    invalid.metadata.name = Some("team-0".to_string());
    let (reader, mut writer) = reflector::store();
    writer.apply_watcher_event(&watcher::Event::Apply(b.deleting()));
    writer.apply_watcher_event(&watcher::Event::Apply(invalid));
    harness.ctx = Arc::new(
        Context::new(harness.ctx.client.clone(), Arc::new(FakeConnector { cloud: harness.cloud.clone() }), Metrics::new())
            .with_policies(reader),
    );

    harness
        .reconcile(a, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "GatewayEndpointsInSync", "True", "Reconciled");
            api.expect_event("Normal", "EndpointCreated").await;
            api
        })
        .await
        .expect("reconcile succeeds");
}
