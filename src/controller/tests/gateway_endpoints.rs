//! gatewayEndpoints through the controller: Enforce creates the missing endpoint and reports
//! it in status, Events and metrics; Audit and a failed read change nothing; deletion removes
//! only the endpoints this policy created.

use super::*;

#[tokio::test]
async fn enforce_with_drift_creates_the_endpoint_reports_it_in_status_and_requeues() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
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
            CloudCall::ObserveGatewayEndpoints,
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
async fn a_throttled_observation_reports_the_failure_changes_nothing_and_returns_an_error() {
    let mut cloud = FakeCloud::with_drift();
    cloud.fail_observe = Some(CloudError::new("DescribeRouteTables", ErrorKind::Throttled, "Rate exceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
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
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveGatewayEndpoints], "no create after a failed read");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn audit_mode_reports_drift_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer(), |mut api| async move {
            let status = api.expect_status_patch().await;
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
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveGatewayEndpoints]);
    assert!(harness.cloud.endpoint_ids().is_empty());
    assert!(requeue_after(&action).is_some(), "Audit keeps watching for drift");
}

#[tokio::test]
async fn every_endpoint_created_in_one_run_is_named_in_an_event() {
    let cloud = FakeCloud::with_drift().with_vpc("vpc-0e0f0a0b", "rtb-private2", "rtb-public2");
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_eq!(status["gatewayEndpoints"]["endpointsCreated"], 2);
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert!(note(&event).contains("vpce-fake0001") && note(&event).contains("vpce-fake0002"), "{event:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-fake0001", "vpce-fake0002"]);
}

/// Dollars are priced at the Price List's price for the policy's region, less the policy's
/// private discount, and status and metrics say so.
#[tokio::test]
async fn waste_is_priced_at_the_regions_price_list_less_the_discount_and_the_status_says_so() {
    let mut cloud = FakeCloud::with_drift();
    let listed = std::collections::BTreeMap::from([(PriceItem::NatGatewayGb, 0.06)]);
    cloud.prices = Some(Prices::from_found(REGION, &listed, Some("2026-12-03"), None));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test()
        .with_finalizer()
        .with_spec(|spec| spec.pricing = Some(PricingSpec { discount_percent: 10, cost_explorer: false }));

    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            // 100 GB through the NAT gateway × $0.06 × (1 - 10%).
            assert_eq!(status["gatewayEndpoints"]["vpcs"][0]["natDataProcessingMonthlyUsd"], "5.40", "{status:#}");
            assert_eq!(status["cost"]["monthlyWasteUsd"], "5.40");
            assert_eq!(status["cost"]["prices"], "AWS Price List, eu-west-1, fetched 2026-12-03; less a 10% private discount");
            let basis = status["cost"]["areas"][0]["basis"].as_str().expect("basis");
            assert!(
                basis.contains(
                    "$0.054/GB NAT gateway data processing (AWS Price List, eu-west-1, fetched 2026-12-03); less a 10% private discount"
                ),
                "{basis}"
            );
            api
        })
        .await
        .expect("reconcile succeeds");

    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_prices_info{policy="team-a",region="eu-west-1",source="aws-price-list"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"frugal_monthly_waste_usd{policy="team-a",area="gatewayEndpoints"} 5.4"#), "{metrics}");
}

/// Without the Price List, the region's built-in list price is used and the status says so.
#[tokio::test]
async fn without_the_price_list_the_status_names_the_built_in_price_and_why() {
    let mut cloud = FakeCloud::with_drift();
    cloud.prices = Some(Prices::built_in(REGION, Some("GetProducts failed (access_denied): not authorized".to_string())));
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(CostPolicy::test().with_finalizer(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_eq!(status["cost"]["monthlyWasteUsd"], "4.80", "100 GB × eu-west-1's $0.048");
            assert_eq!(
                status["cost"]["prices"],
                format!(
                    "built-in list price for eu-west-1 as of {} (AWS Price List not used: GetProducts failed (access_denied): not authorized)",
                    crate::pricing::built_in::AS_OF
                )
            );
            api
        })
        .await
        .expect("reconcile succeeds");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_prices_info{policy="team-a",region="eu-west-1",source="built-in"} 1"#), "{metrics}");
}

fn with_cost_explorer(policy: CostPolicy) -> CostPolicy {
    policy.with_spec(|spec| spec.pricing = Some(PricingSpec { discount_percent: 0, cost_explorer: true }))
}

/// With pricing.costExplorer, what the account paid is in status and metrics beside the
/// estimate.
#[tokio::test]
async fn what_cost_explorer_says_was_paid_is_in_status_and_metrics() {
    let mut cloud = FakeCloud::with_drift();
    let months = Months::around("2026-12-03".parse().expect("a date"));
    let row = |start: &str, usd: f64| SpendRow {
        start: start.to_string(),
        usage_type: "EU-NatGateway-Bytes".to_string(),
        usd,
        estimated: start == "2026-12-01",
    };
    let rows = [row("2026-11-01", 120.5), row("2026-12-01", 7.25)];
    cloud.spend = Some(Ok(Spend::from_rows(REGION, "2026-12-03", &months, &rows, &[PriceItem::NatGatewayGb])));
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(with_cost_explorer(CostPolicy::test().with_finalizer()), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_eq!(
                status["cost"]["areas"][0]["measured"],
                json!({
                    "usageTypes": ["NatGateway-Bytes"],
                    "lastMonth": "2026-11", "lastMonthUsd": "120.50",
                    "monthToDate": "2026-12", "monthToDateUsd": "7.25",
                    "lastMonthEstimated": false,
                }),
                "{status:#}"
            );
            assert_eq!(status["cost"]["measured"], "AWS Cost Explorer, unblended cost in eu-west-1, read 2026-12-03");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::Spend, CloudCall::ObserveGatewayEndpoints]);
    let metrics = harness.metrics();
    assert!(
        metrics.contains(r#"frugal_measured_spend_usd{policy="team-a",area="gatewayEndpoints",period="last_month"} 120.5"#),
        "{metrics}"
    );
}

/// A Cost Explorer failure is a Warning and a line in status; the areas run as always.
#[tokio::test]
async fn a_cost_explorer_failure_is_a_warning_and_never_stops_the_areas() {
    let mut cloud = FakeCloud::with_drift();
    cloud.spend = Some(Err(CloudError::new("GetCostAndUsage", ErrorKind::AccessDenied, "not authorized to perform ce:GetCostAndUsage")));
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(with_cost_explorer(CostPolicy::test().with_finalizer()), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "GatewayEndpointsInSync", "False", "DriftFound");
            assert_eq!(status["cost"]["monthlyWasteUsd"], "4.80");
            assert!(status["cost"]["areas"][0].get("measured").is_none(), "{status:#}");
            let measured = status["cost"]["measured"].as_str().expect("why");
            assert!(measured.starts_with("AWS Cost Explorer could not be read: GetCostAndUsage failed (access_denied)"), "{measured}");
            let event = api.expect_event("Warning", "CostExplorerUnavailable").await;
            assert!(note(&event).contains("the estimates stand alone"), "{event:#}");
            api
        })
        .await
        .expect("the run succeeds");
}
