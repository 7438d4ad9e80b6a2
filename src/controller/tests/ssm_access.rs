//! ssmAccess through the controller: Enforce revokes SSH from the world, splits a wide range and
//! attaches the instance profile, then finds nothing to do; Audit, a failed read and a failed
//! authorization leave the account as it was.

use crate::plan::ssm_access::PortRange;

use super::*;

/// (rule id, ports, source, description) of a group's ingress rules in the fake account.
fn rules_of(inventory: &SsmAccessInventory, group_id: &str) -> Vec<(String, String, String, Option<String>)> {
    let group = inventory.security_groups.iter().find(|g| g.id == group_id).unwrap_or_else(|| panic!("no group {group_id}"));
    group
        .ingress
        .iter()
        .map(|r| (r.rule_id.clone(), format!("{}-{}", r.from_port, r.to_port), r.source.to_string(), r.description.clone()))
        .collect()
}

#[tokio::test]
async fn ssm_enforce_revokes_world_ssh_splits_the_wide_range_attaches_the_profile_and_the_next_run_changes_nothing() {
    let mut harness = Harness::new(FakeCloud::default().with_ssm(ssm_drift()));
    let policy = CostPolicy::test().with_finalizer().enforce().ssm_access_only();
    let applied = Arc::new(Mutex::new(None));
    let slot = applied.clone();

    let action = harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "True", "Reconciled");
            assert_condition(&status, "Ready", "True", "Reconciled");
            assert_condition(&status, "Reconciling", "False", "Idle");
            let ssm = &status["ssmAccess"];
            assert_eq!(ssm["securityGroupsInScope"], 2, "{ssm:#}");
            assert_eq!(
                (ssm["worldSshFound"].as_u64(), ssm["worldSshRevoked"].as_u64(), ssm["worldSshSplit"].as_u64()),
                (Some(2), Some(1), Some(1))
            );
            let outcomes = permission_outcomes(ssm, "ruleId");
            // The split leaves every other port of the range open to the world: a finding.
            assert_eq!(outcomes, [("sgr-ssh-world", "Revoked"), ("sgr-wide6", "Split"), ("sgr-wide6", "Reported")]);
            assert_eq!(ssm["wideRangesFromWorld"], 1);
            let instances = &ssm["instances"];
            assert_eq!(
                (instances["inScope"].as_u64(), instances["attachedLastRun"].as_u64(), instances["profileAttachedByUs"].as_u64()),
                (Some(1), Some(1), Some(1)),
                "{instances:#}"
            );
            assert_eq!(
                (instances["noProfile"].as_u64(), instances["notReporting"].as_u64()),
                (Some(0), Some(1)),
                "attached, not yet reporting"
            );
            assert_eq!(ssm["findings"], 1, "the split range's other ports");
            assert_eq!(status["findings"], 1);
            let revoked = api.expect_event("Normal", "WorldSshRevoked").await;
            assert_eq!(revoked["action"], "RevokeSecurityGroupIngress");
            assert!(note(&revoked).contains("sg-0ssh") && note(&revoked).contains("sgr-ssh-world"), "{revoked:#}");
            let split = api.expect_event("Normal", "WorldSshSplit").await;
            assert!(note(&split).contains("sgr-wide6") && note(&split).contains("tcp 0-21, tcp 23-65535"), "{split:#}");
            let attached = api.expect_event("Normal", "InstanceProfileAttached").await;
            assert!(note(&attached).contains("i-bare") && note(&attached).contains(SSM_PROFILE), "{attached:#}");
            *lock(&slot) = Some(status);
            api
        })
        .await
        .expect("reconcile succeeds");

    assert!(requeue_after(&action).is_some());
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveSsm,
            CloudCall::RevokeIngress { group_id: "sg-0ssh".to_string(), rule_id: "sgr-ssh-world".to_string() },
            // The split: the remainder is authorized before the wide rule is revoked.
            CloudCall::AuthorizeIngress {
                group_id: "sg-1wide".to_string(),
                ranges: vec![PortRange { from: 0, to: 21 }, PortRange { from: 23, to: 65535 }]
            },
            CloudCall::RevokeIngress { group_id: "sg-1wide".to_string(), rule_id: "sgr-wide6".to_string() },
            CloudCall::SsmAccessChange(format!("attach instance profile {SSM_PROFILE} to i-bare")),
        ]
    );
    let account = harness.cloud.ssm();
    assert_eq!(
        rules_of(&account, "sg-0ssh"),
        [
            ("sgr-https".to_string(), "443-443".to_string(), "0.0.0.0/0".to_string(), None),
            ("sgr-ssh-office".to_string(), "22-22".to_string(), "10.0.0.0/8".to_string(), None)
        ],
        "only tcp 22 from the world is revoked"
    );
    let wide: Vec<(String, String, Option<String>)> =
        rules_of(&account, "sg-1wide").into_iter().map(|(_, ports, source, d)| (ports, source, d)).collect();
    let described = Some("legacy (split by frugal)".to_string());
    assert_eq!(
        wide,
        [("0-21".to_string(), "::/0".to_string(), described.clone()), ("23-65535".to_string(), "::/0".to_string(), described)]
    );

    // The next run observes the fixed account: nothing to change, no Event.
    let mut again = policy;
    again.status = Some(serde_json::from_value(lock(&applied).take().expect("status was applied")).expect("a CostPolicyStatus"));
    let before = harness.cloud.calls().len();
    harness
        .reconcile(again, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "True", "InSync");
            assert_eq!(status["ssmAccess"]["worldSshFound"], 0);
            assert_eq!(status["ssmAccess"]["instances"]["profileAttachedByUs"], 1);
            api
        })
        .await
        .expect("second reconcile succeeds");
    assert_eq!(harness.cloud.calls()[before..], [CloudCall::Connect, CloudCall::ObserveSsm]);
}

/// `status.ssmAccess.permissions` as (`by` field, outcome) pairs.
fn permission_outcomes<'a>(ssm: &'a serde_json::Value, by: &str) -> Vec<(&'a str, &'a str)> {
    let permissions = ssm["permissions"].as_array().expect("permissions");
    permissions.iter().map(|p| (p[by].as_str().unwrap_or_default(), p["outcome"].as_str().unwrap_or_default())).collect()
}

#[tokio::test]
async fn ssm_audit_reports_the_open_permissions_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::default().with_ssm(ssm_drift()));

    harness
        .reconcile(CostPolicy::test().with_finalizer().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "DriftFound");
            assert_condition(&status, "Ready", "True", "DriftFound");
            let ssm = &status["ssmAccess"];
            assert_eq!(
                (ssm["worldSshFound"].as_u64(), ssm["worldSshRevoked"].as_u64(), ssm["worldSshSplit"].as_u64()),
                (Some(2), Some(0), Some(0))
            );
            let outcomes = permission_outcomes(ssm, "kind");
            assert_eq!(outcomes, [("WorldSsh", "Planned"), ("WorldSsh", "Planned"), ("WideRangeFromWorld", "Reported")], "{ssm:#}");
            assert_eq!((ssm["instances"]["noProfile"].as_u64(), ssm["instances"]["attachedLastRun"].as_u64()), (Some(1), Some(0)));
            assert_eq!(ssm["findings"], 4, "two open permissions, the ports a split would leave open, one instance without a profile");
            // No change, so no Event.
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveSsm]);
    assert_eq!(harness.cloud.ssm(), ssm_drift(), "the account is untouched");
}

#[tokio::test]
async fn a_failed_ssm_observation_names_the_operation_and_changes_nothing() {
    let mut cloud = FakeCloud::default().with_ssm(ssm_drift());
    cloud.fail_observe_ssm = Some(CloudError::new("DescribeSecurityGroupRules", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "ObservationFailed");
            let message = condition(&status, "SsmAccessInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("DescribeSecurityGroupRules"), "{message}");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            assert_condition(&status, "Reconciling", "True", "Retrying");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("ssmAccess") && note(&event).contains("DescribeSecurityGroupRules"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "DescribeSecurityGroupRules"), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveSsm], "no change after a failed read");
    assert_eq!(harness.cloud.ssm(), ssm_drift());
}

#[tokio::test]
async fn a_failed_authorization_leaves_the_wide_rule_in_place() {
    let mut cloud = FakeCloud::default().with_ssm(ssm_drift());
    cloud.fail_call =
        Some(CloudError::new("AuthorizeSecurityGroupIngress", ErrorKind::InvalidRequest, "RulesPerSecurityGroupLimitExceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "ActionFailed");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            let outcomes: Vec<&str> =
                status["ssmAccess"]["permissions"].as_array().expect("permissions").iter().filter_map(|p| p["outcome"].as_str()).collect();
            assert_eq!(outcomes, ["Revoked", "Failed", "Reported"], "the wide range stays a finding too");
            api.expect_event("Normal", "WorldSshRevoked").await;
            let failed = api.expect_event("Warning", "ActionFailed").await;
            assert_eq!(failed["action"], "AuthorizeSecurityGroupIngress");
            assert!(note(&failed).contains("sgr-wide6") && note(&failed).contains("RulesPerSecurityGroupLimitExceeded"), "{failed:#}");
            api.expect_event("Normal", "InstanceProfileAttached").await;
            api
        })
        .await
        .expect_err("a failed change is retried");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "AuthorizeSecurityGroupIngress"), "{error:?}");
    let calls = harness.cloud.calls();
    assert!(
        !calls.contains(&CloudCall::RevokeIngress { group_id: "sg-1wide".to_string(), rule_id: "sgr-wide6".to_string() }),
        "the wide rule is revoked only after its remainder was authorized: {calls:?}"
    );
    assert_eq!(rules_of(&harness.cloud.ssm(), "sg-1wide"), rules_of(&ssm_drift(), "sg-1wide"));
}
