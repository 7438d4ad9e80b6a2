//! What every policy goes through whatever its areas: the cleanup finalizer first, an invalid
//! spec or a disallowed role stalled before any AWS call (and reported once per generation),
//! deletion with Retain, the backoff of a failed cleanup, and its series in the metrics (what
//! a run no longer reports, and a deleted policy's, dropped).

use kube::runtime::watcher::Event;

use super::*;

#[tokio::test]
async fn a_new_policy_first_gets_the_cleanup_finalizer_and_aws_is_not_touched() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().enforce(), |mut api| async move {
            let patch = api.expect_add_finalizer().await;
            assert!(patch.to_string().contains(FINALIZER), "{patch}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(action, Action::await_change(), "the patch itself triggers the next reconcile");
    assert_eq!(harness.cloud.calls(), [], "no AWS call before the finalizer is in place");
}

#[tokio::test]
async fn an_invalid_resync_interval_stalls_the_policy_without_any_aws_call() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert_condition(&status, "Ready", "False", "InvalidSpec");
            assert_condition(&status, "Reconciling", "False", "InvalidSpec");
            let message = condition(&status, "Stalled")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("spec.resyncInterval"), "the message names the field: {message}");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change(), "invalid objects wait for a change of the spec");
    assert_eq!(harness.cloud.calls(), [], "not even connect");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_reconciles_total{result="invalid_spec"} 1"#), "{metrics}");
}

#[tokio::test]
async fn an_invalid_spec_reconcile_is_counted_once() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());

    stall_on_invalid_spec(&mut harness, policy).await;

    let metrics = harness.metrics();
    let results: Vec<&str> = metrics.lines().filter(|l| l.starts_with("frugal_reconciles_total{")).collect();
    assert_eq!(results, [r#"frugal_reconciles_total{result="invalid_spec"} 1"#], "one reconcile, one result");
}

#[tokio::test]
async fn an_invalid_region_names_the_field_in_status_and_event() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.aws.region = "Europe".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("spec.aws.region")), "{status:#}");
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
}

#[tokio::test]
async fn a_role_outside_the_allowed_patterns_is_stalled_without_any_aws_call() {
    let mut harness = Harness::with_allowed_roles(FakeCloud::with_drift(), &["arn:aws:iam::*:role/frugal-*"]);
    let policy = CostPolicy::test()
        .with_finalizer()
        .enforce()
        .with_spec(|spec| spec.aws.role_arn = Some("arn:aws:iam::999999999999:role/admin".to_string()));

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "RoleNotAllowed");
            assert_condition(&status, "Ready", "False", "RoleNotAllowed");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("role/admin")), "{status:#}");
            api.expect_event("Warning", "RoleNotAllowed").await;
            api
        })
        .await
        .expect("a disallowed role is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "not even credentials are fetched");
}

#[tokio::test]
async fn an_invalid_spec_already_reported_at_this_generation_writes_nothing() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let invalid = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());
    let reported = Arc::new(Mutex::new(None));
    let slot = reported.clone();
    harness
        .reconcile(invalid.clone(), |mut api| async move {
            *lock(&slot) = Some(api.expect_status_patch().await);
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("first reconcile");
    let previous = lock(&reported).take().expect("status was applied");
    let mut again = invalid;
    again.status = Some(serde_json::from_value(previous.clone()).expect("a CostPolicyStatus"));

    assert_condition(&previous, "Stalled", "True", "InvalidSpec");
    // Nothing changed: no status write and no Event (the harness fails on any request).
    let action = harness.reconcile(again, |api| async move { api }).await.expect("second reconcile");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="invalid_spec"} 2"#));
}

#[tokio::test]
async fn deleting_with_retain_leaves_aws_alone_and_releases_the_finalizer() {
    let cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Retain).deleting();

    let action = harness.release_retained(policy).await;

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "Retain needs no AWS call");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
}

#[tokio::test]
async fn a_failed_delete_keeps_the_finalizer_and_backs_off_longer_each_time() {
    let mut cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    cloud.fail_delete = Some(CloudError::new("DeleteVpcEndpoints", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let error = harness
        .reconcile(policy.clone(), |mut api| async move {
            let event = api.expect_event("Warning", "CleanupFailed").await;
            assert!(note(&event).contains("DeleteVpcEndpoints"), "{event:#}");
            // No finalizer patch follows: the harness fails on any further request.
            api
        })
        .await
        .expect_err("a failed cleanup is a reconcile error");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "DeleteVpcEndpoints"), "{error:?}");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
    let policy = Arc::new(policy);
    let delays: Vec<Duration> =
        (0..3).map(|_| requeue_after(&error_policy(policy.clone(), &error, harness.ctx.clone())).expect("errors are retried")).collect();
    assert!(delays[0] >= Duration::from_secs(4) && delays[0] <= Duration::from_secs(6), "{delays:?}");
    assert!(delays[0] < delays[1] && delays[1] < delays[2], "the delay grows: {delays:?}");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn a_spec_invalid_in_another_field_at_the_next_generation_gets_an_event_naming_that_field() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let first = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());
    harness
        .reconcile(first.clone(), |mut api| async move {
            api.expect_status_patch().await;
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("first reconcile");

    let mut second = first.with_spec(|spec| {
        spec.resync_interval = "10m".to_string();
        spec.aws.region = "Europe".to_string();
    });
    second.metadata.generation = Some(GENERATION + 1);
    harness
        .reconcile(second, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.aws.region") && !note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("second reconcile");

    assert_eq!(harness.cloud.calls(), []);
}

/// The series of `policy` in the exported metrics.
fn series_of(harness: &Harness, policy: &str) -> Vec<String> {
    let label = format!("policy=\"{policy}\"");
    harness.metrics().lines().filter(|l| !l.starts_with('#') && l.contains(&label)).map(str::to_string).collect()
}

/// A run of a policy whose spec does not validate: Stalled in status, a Warning Event.
async fn stall_on_invalid_spec(harness: &mut Harness, policy: CostPolicy) {
    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_patch().await;
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");
}

/// One Enforce run over the drift: the endpoint is created and reported.
async fn create_the_endpoint(harness: &mut Harness) {
    harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            api.expect_status_patch().await;
            api.expect_event("Normal", "EndpointCreated").await;
            api
        })
        .await
        .expect("reconcile succeeds");
}

#[tokio::test]
async fn a_deleted_policys_series_are_dropped_once_its_finalizer_is_released() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    create_the_endpoint(&mut harness).await;
    let before = series_of(&harness, NAME);
    for family in [
        "frugal_last_reconcile_timestamp_seconds",
        "frugal_resync_interval_seconds",
        "frugal_findings",
        "frugal_actions_total",
        "frugal_monthly_savings_usd",
    ] {
        assert!(before.iter().any(|l| l.starts_with(family)), "{family} in {before:#?}");
    }

    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Retain).deleting();
    harness.release_retained(policy).await;

    assert_eq!(series_of(&harness, NAME), Vec::<String>::new(), "a deleted policy is not reported forever");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="success"} 2"#), "the totals stay");
}

#[tokio::test]
async fn an_area_turned_off_loses_its_gauges_and_keeps_its_action_counts() {
    let mut harness = Harness::new(FakeCloud::with_drift().with_ssm(ssm_drift()));
    create_the_endpoint(&mut harness).await;
    let gateway = |family: &str| format!(r#"{family}{{policy="{NAME}",area="gatewayEndpoints"}}"#);
    assert!(harness.metrics().contains(&gateway("frugal_findings")), "{}", harness.metrics());

    harness
        .reconcile(CostPolicy::test().with_finalizer().ssm_access_only(), |mut api| async move {
            api.expect_status_patch().await;
            api
        })
        .await
        .expect("reconcile succeeds");

    let metrics = harness.metrics();
    for family in ["frugal_findings", "frugal_monthly_savings_usd", "frugal_monthly_waste_usd", "frugal_monthly_cost_usd"] {
        assert!(!metrics.contains(&gateway(family)), "{family} of gatewayEndpoints, now off: {metrics}");
    }
    assert!(metrics.contains(&format!(r#"frugal_findings{{policy="{NAME}",area="ssmAccess"}} 4"#)), "{metrics}");
    assert!(
        metrics.contains(r#"frugal_actions_total{policy="team-a",area="gatewayEndpoints",action="create_endpoint",outcome="success"} 1"#)
    );
}

#[tokio::test]
async fn a_policy_stalled_by_its_spec_has_no_resync_interval_for_the_freshness_alert() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    create_the_endpoint(&mut harness).await;
    let interval = format!(r#"frugal_resync_interval_seconds{{policy="{NAME}"}} 600"#);
    assert!(harness.metrics().contains(&interval), "{}", harness.metrics());

    let invalid = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());
    stall_on_invalid_spec(&mut harness, invalid).await;

    let metrics = harness.metrics();
    assert!(!metrics.contains("frugal_resync_interval_seconds{"), "it waits for its spec to change: {metrics}");
    assert!(metrics.contains(&format!(r#"frugal_last_reconcile_timestamp_seconds{{policy="{NAME}"}}"#)), "{metrics}");
}

#[tokio::test]
async fn a_policy_no_longer_in_the_watch_cache_loses_its_series_at_the_next_reconcile_of_another() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer();
    let (reader, mut writer) = kube::runtime::reflector::store();
    for event in [Event::Init, Event::InitApply(policy.clone()), Event::InitDone] {
        writer.apply_watcher_event(&event);
    }
    harness.ctx = Arc::new(
        Context::new(harness.ctx.client.clone(), Arc::new(FakeConnector { cloud: harness.cloud.clone() }), Metrics::new())
            .with_policies(reader),
    );
    // Its finalizer was removed by hand: it went without a last reconcile.
    harness.ctx.metrics.last_reconcile.get_or_create(&crate::metrics::PolicyLabels { policy: "deleted-by-hand".into() }).set(1);

    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_patch().await;
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(series_of(&harness, "deleted-by-hand"), Vec::<String>::new());
    assert!(!series_of(&harness, NAME).is_empty(), "{}", harness.metrics());
}
