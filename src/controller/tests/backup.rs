//! backup through the controller: Enforce restores an edited plan, creates the vault, plan and
//! selection a fresh account lacks, and replaces a selection only after its successor exists;
//! Audit and a failed read change nothing; deletion removes selections, then the plan, then our
//! vault unless it holds recovery points.

use super::*;

#[tokio::test]
async fn backup_enforce_restores_the_edited_plan_and_creates_the_new_selection_before_deleting_the_old_ones() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));

    let expected_name = selection_name.clone();
    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "True", "Reconciled");
            assert_condition(&status, "Ready", "True", "Reconciled");
            let backup = &status["backup"];
            assert_eq!(backup["planId"], "plan-0001", "{backup:#}");
            assert_eq!(backup["planVersionId"], "version-fake0001", "the version id UpdateBackupPlan returned");
            assert_eq!(backup["planOwnership"], "Managed");
            assert_eq!(backup["selectionId"], "sel-fake0002");
            assert_eq!(backup["selectionName"], expected_name.as_str());
            assert_eq!(backup["vaultArn"], owned_vault().arn.as_str());
            let corrected = &backup["lastDriftCorrected"];
            assert_eq!(corrected["versionId"], "version-fake0001");
            assert_eq!(corrected["differences"], json!(["rule daily: deleteAfterDays 14 → 35"]));
            assert_eq!((backup["rules"][0]["name"].as_str(), backup["rules"][0]["retentionDays"].as_u64()), (Some("daily"), Some(35)));
            assert_eq!(backup["findings"], 0);
            let corrected = api.expect_event("Normal", "BackupPlanDriftCorrected").await;
            assert_eq!(corrected["action"], "UpdateBackupPlan");
            assert!(note(&corrected).contains("deleteAfterDays 14 → 35") && note(&corrected).contains("version-fake0001"), "{corrected:#}");
            let created = api.expect_event("Normal", "BackupSelectionCreated").await;
            assert!(note(&created).contains(&expected_name) && note(&created).contains("sel-fake0002"), "{created:#}");
            // Both old selections in one Event: a second Event of the same kind would be folded
            // into the first by the Recorder, and its note lost.
            let replaced = api.expect_event("Normal", "BackupSelectionReplaced").await;
            assert!(note(&replaced).contains("sel-old1") && note(&replaced).contains("sel-old2"), "{replaced:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveBackup,
            backup_call("UpdateBackupPlan", "plan-0001"),
            backup_call("CreateBackupSelection", &selection_name),
            backup_call("DeleteBackupSelection", "sel-old1"),
            backup_call("DeleteBackupSelection", "sel-old2"),
        ],
        "the replacement exists before the old selections go; someone else's selection stays"
    );
    let plan = harness.cloud.backup().plan.expect("the plan stays");
    assert_eq!(plan.rules, [daily_rule(35)]);
    let names: Vec<&str> = plan.selections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["someone-elses", selection_name.as_str()]);
}

#[tokio::test]
async fn backup_enforce_on_a_fresh_account_creates_the_vault_then_the_plan_then_its_selection() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut harness = Harness::new(FakeCloud::default());

    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "True", "Reconciled");
            let backup = &status["backup"];
            assert_eq!(backup["vaultArn"], owned_vault().arn.as_str(), "{backup:#}");
            assert_eq!(backup["planId"], "plan-fake0001");
            assert_eq!(backup["selectionId"], "sel-fake0003");
            assert_eq!(backup["planOwnership"], "Managed");
            api.expect_event("Normal", "BackupVaultCreated").await;
            let plan = api.expect_event("Normal", "BackupPlanCreated").await;
            assert!(note(&plan).contains("plan-fake0001"), "{plan:#}");
            api.expect_event("Normal", "BackupSelectionCreated").await;
            api
        })
        .await
        .expect("reconcile succeeds");

    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveBackup,
            backup_call("CreateBackupVault", BACKUP_VAULT),
            backup_call("CreateBackupPlan", BACKUP_PLAN),
            backup_call("CreateBackupSelection", &selection_name),
        ]
    );
    let account = harness.cloud.backup();
    assert_eq!(account.vault.map(|v| v.tags), Some(ownership_tags(NAME)), "the vault is tagged as ours");
    let plan = account.plan.expect("the plan exists");
    assert_eq!((plan.tags, plan.selections.len()), (ownership_tags(NAME), 1));
}

#[tokio::test]
async fn backup_audit_reports_the_edited_plan_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));

    harness
        .reconcile(CostPolicy::test().with_finalizer().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "DriftFound");
            assert_condition(&status, "Ready", "True", "DriftFound");
            let message = condition(&status, "BackupInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("deleteAfterDays 14 → 35") && message.contains("nothing was changed"), "{message}");
            let backup = &status["backup"];
            assert_eq!(backup["planVersionId"], "version-a", "{backup:#}");
            assert_eq!(backup["rules"][0]["retentionDays"], 14, "the rules as AWS holds them");
            assert_eq!(backup["findings"], 4, "the update, the new selection and the two old ones");
            assert!(backup.get("lastDriftCorrected").is_none(), "{backup:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveBackup]);
    assert_eq!(harness.cloud.backup(), backup_drift());
}

#[tokio::test]
async fn a_failed_backup_observation_names_the_operation_and_changes_nothing() {
    let mut cloud = FakeCloud::default().with_backup(backup_drift());
    cloud.fail_observe_backup = Some(CloudError::new("ListBackupPlans", ErrorKind::Throttled, "Rate exceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "ObservationFailed");
            assert!(condition(&status, "BackupInSync")["message"].as_str().is_some_and(|m| m.contains("ListBackupPlans")), "{status:#}");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("backup") && note(&event).contains("ListBackupPlans"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.kind == ErrorKind::Throttled), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveBackup]);
    assert_eq!(harness.cloud.backup(), backup_drift());
}

#[tokio::test]
async fn a_failed_selection_create_never_deletes_the_old_selection() {
    let mut cloud = FakeCloud::default().with_backup(backup_drift());
    cloud.fail_call = Some(CloudError::new("CreateBackupSelection", ErrorKind::AccessDenied, "not authorized to perform iam:PassRole"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "ActionFailed");
            let message = condition(&status, "BackupInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("iam:PassRole") && message.contains("2 later changes wait"), "{message}");
            assert_eq!(status["backup"]["planVersionId"], "version-fake0001", "the update that succeeded is recorded");
            api.expect_event("Normal", "BackupPlanDriftCorrected").await;
            let failed = api.expect_event("Warning", "ActionFailed").await;
            assert!(note(&failed).contains("CreateBackupSelection"), "{failed:#}");
            api
        })
        .await
        .expect_err("a failed change is retried");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "CreateBackupSelection"), "{error:?}");
    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(|c| matches!(c, CloudCall::Backup { operation: "DeleteBackupSelection", .. })), "{calls:?}");
    let ids: Vec<String> = harness.cloud.backup().plan.expect("plan").selections.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["sel-old1", "sel-old2", "sel-theirs"], "never a moment without a selection");
}

#[tokio::test]
async fn deleting_a_backup_policy_with_delete_removes_the_selections_then_the_plan_then_our_empty_vault() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Delete).deleting();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let cloud =
        FakeCloud::default().with_backup(backup_account(vec![daily_rule(35)], vec![selection("sel-ours", &selection_name, "daily")]));
    let mut harness = Harness::new(cloud);

    let expected_name = selection_name.clone();
    let action = harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            for what in
                [format!("backup selection {expected_name}"), format!("backup plan {BACKUP_PLAN}"), format!("backup vault {BACKUP_VAULT}")]
            {
                assert!(note(&event).contains(&what), "{what}: {event:#}");
            }
            assert!(!note(&event).contains("gateway"), "no gateway endpoint was deleted: {event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::OwnedEndpoints { policy: NAME.to_string() },
            CloudCall::ObserveBackup,
            backup_call("DeleteBackupSelection", "sel-ours"),
            backup_call("DeleteBackupPlan", "plan-0001"),
            backup_call("DeleteBackupVault", BACKUP_VAULT),
        ]
    );
    assert_eq!(harness.cloud.backup(), BackupInventory::default());
}

#[tokio::test]
async fn deleting_with_delete_keeps_a_vault_that_holds_recovery_points() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Delete).deleting();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut account = backup_account(vec![daily_rule(35)], vec![selection("sel-ours", &selection_name, "daily")]);
    if let Some(vault) = account.vault.as_mut() {
        vault.recovery_points = 12;
    }
    let mut harness = Harness::new(FakeCloud::default().with_backup(account));

    harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains(&format!("backup plan {BACKUP_PLAN}")) && !note(&event).contains("vault"), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(|c| matches!(c, CloudCall::Backup { operation: "DeleteBackupVault", .. })), "{calls:?}");
    let left = harness.cloud.backup();
    assert!(left.plan.is_none(), "the plan is gone");
    assert_eq!(left.vault.map(|v| v.recovery_points), Some(12), "the vault and its recovery points stay");
}

#[tokio::test]
async fn deleting_a_backup_policy_with_retain_leaves_vault_plan_and_selection_alone() {
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Retain).deleting();

    harness.release_retained(policy).await;

    assert_eq!(harness.cloud.calls(), [], "Retain needs no AWS call");
    assert_eq!(harness.cloud.backup(), backup_drift());
}
