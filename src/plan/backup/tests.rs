use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::api::validate::{BackupDesired, BackupRuleDesired, SelectionDesired};

const POLICY: &str = "prod";

fn rule(name: &str, days: u32) -> BackupRuleDesired {
    BackupRuleDesired {
        name: name.into(),
        schedule: "cron(0 5 ? * * *)".into(),
        timezone: None,
        start_window_minutes: 60,
        completion_window_minutes: 180,
        delete_after_days: days,
        cold_after_days: None,
    }
}

fn desired() -> BackupDesired {
    BackupDesired {
        vault_name: "prod".into(),
        vault_create: true,
        kms_key_arn: None,
        plan_name: "prod-daily".into(),
        adopt: false,
        rules: vec![rule("daily", 35)],
        selection: SelectionDesired {
            name_prefix: "frugal".into(),
            iam_role_arn: "arn:aws:iam::111122223333:role/backup".into(),
            tags: BTreeMap::from([("backup".into(), "daily".into())]),
            resources: vec![],
        },
        min_retention_days: None,
        max_retention_days: None,
        required_tags: BTreeMap::new(),
    }
}

fn vault(owned: bool) -> BackupVault {
    BackupVault {
        name: "prod".into(),
        arn: "arn:aws:backup:eu-west-1:111122223333:backup-vault:prod".into(),
        tags: if owned { ownership_tags(POLICY) } else { Tags::new() },
        recovery_points: 0,
    }
}

fn our_selection(d: &BackupDesired) -> Selection {
    Selection {
        id: "sel-current".into(),
        name: selection_name(&d.selection),
        iam_role_arn: d.selection.iam_role_arn.clone(),
        tags: d.selection.tags.clone(),
        resources: d.selection.resources.clone(),
        other_conditions: false,
    }
}

/// An account that matches `d` exactly.
fn in_sync(d: &BackupDesired) -> BackupInventory {
    BackupInventory {
        vault: Some(vault(true)),
        plan: Some(ObservedPlan {
            id: "plan-1".into(),
            arn: "arn:aws:backup:eu-west-1:111122223333:backup-plan:plan-1".into(),
            name: d.plan_name.clone(),
            version_id: "v1".into(),
            tags: ownership_tags(POLICY),
            rules: d.rules.iter().map(|r| PlanRule::desired(r, &d.vault_name)).collect(),
            selections: vec![our_selection(d)],
        }),
        resources: vec![],
    }
}

fn observed_rule(inv: &mut BackupInventory) -> &mut PlanRule {
    &mut inv.plan.as_mut().expect("plan").rules[0]
}

fn update_differences(plan: &BackupPlan) -> Vec<String> {
    match plan.actions.as_slice() {
        [BackupChange::UpdatePlan { differences, .. }] => differences.clone(),
        other => panic!("expected one UpdatePlan, got {other:?}"),
    }
}

#[test]
fn a_fresh_account_gets_vault_plan_and_selection_in_that_order() {
    let d = desired();
    let plan = plan(POLICY, &d, &BackupInventory::default(), true);
    let kinds: Vec<&str> = plan
        .actions
        .iter()
        .map(|c| match c {
            BackupChange::CreateVault { .. } => "vault",
            BackupChange::CreatePlan { .. } => "plan",
            BackupChange::CreateSelection { plan_id: None, .. } => "selection",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["vault", "plan", "selection"]);
    let BackupChange::CreatePlan { tags, creator_request_id, rules, .. } = &plan.actions[1] else { panic!() };
    assert!(is_owned_by(tags, POLICY));
    assert_eq!(creator_request_id, &idempotency_token(&[POLICY, "backup-plan", "prod-daily"]));
    assert_eq!(rules[0].target_vault, "prod");
    assert_eq!(plan.plan_ownership, PlanOwnership::Missing);
}

#[test]
fn an_aligned_account_plans_nothing() {
    let d = desired();
    let plan = plan(POLICY, &d, &in_sync(&d), true);
    assert!(plan.drift.is_empty(), "{:?}", plan.drift);
    assert_eq!(plan.selection_id.as_deref(), Some("sel-current"));
    assert_eq!(plan.findings(), 0);
}

#[test]
fn retention_drift_is_reverted_with_a_field_level_diff() {
    let d = desired();
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).delete_after_days = Some(14);
    let plan = plan(POLICY, &d, &inv, true);
    assert_eq!(update_differences(&plan), ["rule daily: deleteAfterDays 14 → 35"]);
}

#[test]
fn a_plan_found_under_another_name_is_renamed_back_with_its_rules() {
    let d = desired();
    let mut inv = in_sync(&d);
    if let Some(p) = inv.plan.as_mut() {
        p.name = "old-daily".into();
    }
    observed_rule(&mut inv).delete_after_days = Some(14);
    let plan = plan(POLICY, &d, &inv, true);
    assert_eq!(update_differences(&plan), ["name: old-daily (renamed; restored to prod-daily)", "rule daily: deleteAfterDays 14 → 35"]);
    assert!(matches!(plan.actions.as_slice(), [BackupChange::UpdatePlan { name, .. }] if name == &d.plan_name), "{:?}", plan.actions);
}

#[test]
fn schedule_drift_is_reverted() {
    let d = desired();
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).schedule = "cron(0 1 ? * * *)".into();
    assert_eq!(update_differences(&plan(POLICY, &d, &inv, true)), ["rule daily: schedule cron(0 1 ? * * *) → cron(0 5 ? * * *)"]);
}

#[test]
fn window_drift_is_reverted_and_missing_windows_mean_aws_defaults() {
    let d = desired();
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).start_window_minutes = Some(120);
    observed_rule(&mut inv).completion_window_minutes = None;
    assert_eq!(
        update_differences(&plan(POLICY, &d, &inv, true)),
        ["rule daily: startWindowMinutes 120 → 60", "rule daily: completionWindowMinutes 10080 → 180"]
    );
}

#[test]
fn lifecycle_drift_is_reverted() {
    let mut d = desired();
    d.rules[0].delete_after_days = 365;
    d.rules[0].cold_after_days = Some(90);
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).cold_after_days = None;
    observed_rule(&mut inv).delete_after_days = None;
    assert_eq!(
        update_differences(&plan(POLICY, &d, &inv, true)),
        ["rule daily: deleteAfterDays never → 365", "rule daily: moveToColdStorageAfterDays never → 90"]
    );
}

#[test]
fn target_vault_drift_is_reverted() {
    let d = desired();
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).target_vault = "Default".into();
    assert_eq!(update_differences(&plan(POLICY, &d, &inv, true)), ["rule daily: targetVault Default → prod"]);
}

#[test]
fn timezone_drift_is_reverted_but_utc_spellings_are_equal() {
    let d = desired();
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).timezone = Some("Etc/UTC".into());
    assert!(plan(POLICY, &d, &inv, true).drift.is_empty());
    observed_rule(&mut inv).timezone = Some("Asia/Seoul".into());
    assert_eq!(update_differences(&plan(POLICY, &d, &inv, true)), ["rule daily: scheduleExpressionTimezone Asia/Seoul → UTC"]);
}

#[test]
fn rules_added_and_removed_by_hand_are_reverted() {
    let mut d = desired();
    let mut inv = in_sync(&d);
    let mut extra = inv.plan.as_ref().expect("plan").rules[0].clone();
    extra.name = "console".into();
    inv.plan.as_mut().expect("plan").rules.push(extra);
    d.rules.push(rule("weekly", 90));
    d.rules[1].schedule = "cron(0 3 ? * SUN *)".into();
    assert_eq!(
        update_differences(&plan(POLICY, &d, &inv, true)),
        ["rule weekly: missing (added)", "rule console: not in the spec (removed)"]
    );
}

#[test]
fn a_changed_selection_is_created_before_the_old_one_is_deleted() {
    let mut d = desired();
    let inv = in_sync(&d);
    d.selection.tags.insert("tier".into(), "gold".into());
    let plan = plan(POLICY, &d, &inv, true);
    match plan.actions.as_slice() {
        [BackupChange::CreateSelection { plan_id: Some(id), selection, .. }, BackupChange::DeleteSelection { selection_id, .. }] => {
            assert_eq!(id, "plan-1");
            assert_eq!(selection.name, selection_name(&d.selection));
            assert_ne!(selection.name, inv.plan.as_ref().expect("plan").selections[0].name);
            assert_eq!(selection_id, "sel-current");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_selection_edited_outside_the_spec_is_replaced_and_others_are_left_alone() {
    let d = desired();
    let mut inv = in_sync(&d);
    let selections = &mut inv.plan.as_mut().expect("plan").selections;
    selections[0].other_conditions = true;
    selections.push(Selection { id: "sel-theirs".into(), name: "someone-else".into(), ..Default::default() });
    let plan = plan(POLICY, &d, &inv, true);
    assert!(matches!(plan.actions[0], BackupChange::CreateSelection { .. }));
    assert!(matches!(&plan.actions[1], BackupChange::DeleteSelection { selection_id, .. } if selection_id == "sel-current"));
    assert_eq!(plan.actions.len(), 2, "the foreign selection stays");
}

#[test]
fn after_a_crash_between_create_and_delete_only_the_delete_remains() {
    let mut d = desired();
    let mut inv = in_sync(&d);
    d.selection.resources = vec!["arn:aws:ec2:eu-west-1:111122223333:volume/vol-1".into()];
    let mut new = our_selection(&d);
    new.id = "sel-new".into();
    inv.plan.as_mut().expect("plan").selections.push(new);
    let plan = plan(POLICY, &d, &inv, true);
    assert!(matches!(plan.actions.as_slice(), [BackupChange::DeleteSelection { selection_id, .. }] if selection_id == "sel-current"));
    assert_eq!(plan.selection_id.as_deref(), Some("sel-new"));
}

#[test]
fn a_missing_selection_is_created() {
    let d = desired();
    let mut inv = in_sync(&d);
    inv.plan.as_mut().expect("plan").selections.clear();
    let plan = plan(POLICY, &d, &inv, true);
    assert!(matches!(plan.actions.as_slice(), [BackupChange::CreateSelection { plan_id: Some(_), .. }]));
}

#[test]
fn a_plan_we_did_not_create_is_a_finding_unless_adopted() {
    let mut d = desired();
    let mut inv = in_sync(&d);
    inv.plan.as_mut().expect("plan").tags = Tags::from([("team".into(), "ops".into())]);
    observed_rule(&mut inv).delete_after_days = Some(3650);
    let p = plan(POLICY, &d, &inv, true);
    assert!(p.drift.is_empty());
    assert_eq!(p.plan_ownership, PlanOwnership::NotOwned);
    assert_eq!(p.blocker, Some(Blocker::PlanNotOwned("prod-daily".into())));
    assert_eq!(p.findings(), 1);

    d.adopt = true;
    let p = plan(POLICY, &d, &inv, true);
    assert_eq!(p.plan_ownership, PlanOwnership::Adopted);
    assert!(matches!(p.actions.as_slice(), [BackupChange::UpdatePlan { .. }]));
}

#[test]
fn a_plan_of_another_policy_is_not_ours() {
    let d = desired();
    let mut inv = in_sync(&d);
    inv.plan.as_mut().expect("plan").tags = ownership_tags("other-policy");
    assert_eq!(plan(POLICY, &d, &inv, true).plan_ownership, PlanOwnership::NotOwned);
}

#[test]
fn a_missing_vault_that_must_exist_blocks_the_area_and_names_it() {
    let mut d = desired();
    d.vault_create = false;
    let p = plan(POLICY, &d, &BackupInventory::default(), true);
    assert!(p.drift.is_empty());
    assert_eq!(p.blocker, Some(Blocker::VaultMissing("prod".into())));
    assert!(p.blocker.as_ref().expect("blocker").describe().contains("prod"));
}

#[test]
fn a_vault_is_created_with_its_kms_key_and_tags() {
    let mut d = desired();
    d.kms_key_arn = Some("arn:aws:kms:eu-west-1:111122223333:key/k".into());
    let mut inv = in_sync(&d);
    inv.vault = None;
    let p = plan(POLICY, &d, &inv, true);
    assert!(matches!(&p.actions[..], [BackupChange::CreateVault { kms_key_arn: Some(_), tags, .. }] if is_owned_by(tags, POLICY)));
}

#[test]
fn compliance_reports_frequency_and_retention_bounds() {
    let mut d = desired();
    d.min_retention_days = Some(7);
    d.max_retention_days = Some(35);
    let mut inv = in_sync(&d);
    observed_rule(&mut inv).delete_after_days = None;
    observed_rule(&mut inv).schedule = "cron(0 5 ? * SUN *)".into();
    let p = plan(POLICY, &d, &inv, false);
    assert_eq!(p.observed_rules[0].frequency, "weekly");
    assert_eq!(p.observed_rules[0].problems, ["recovery points are kept forever, above maxRetentionDays 35"]);
    assert_eq!(p.desired_rules[0].frequency, "daily");
    assert!(p.desired_rules[0].problems.is_empty());
    observed_rule(&mut inv).delete_after_days = Some(3);
    let p = plan(POLICY, &d, &inv, false);
    assert_eq!(p.observed_rules[0].problems, ["retention 3 days is below minRetentionDays 7"]);
}

fn resource(id: &str, kind: ResourceKind, tags: &[(&str, &str)], gib: u32, attached: &[&str]) -> Resource {
    let kind_name = if kind == ResourceKind::Volume { "volume" } else { "instance" };
    Resource {
        id: id.into(),
        arn: format!("arn:aws:ec2:eu-west-1:111122223333:{kind_name}/{id}"),
        kind,
        tags: tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        size_gib: gib,
        attached_to: attached.iter().map(|s| s.to_string()).collect(),
    }
}

#[test]
fn coverage_counts_selected_resources_and_lists_uncovered_required_ones() {
    let mut d = desired();
    d.selection.resources = vec!["arn:aws:ec2:eu-west-1:111122223333:volume/vol-byarn".into()];
    d.required_tags = BTreeMap::from([("env".into(), "prod".into())]);
    let mut inv = in_sync(&d);
    inv.resources = vec![
        resource("i-tagged", ResourceKind::Instance, &[("backup", "daily")], 0, &[]),
        resource("vol-root", ResourceKind::Volume, &[], 8, &["i-tagged"]),
        resource("vol-byarn", ResourceKind::Volume, &[("env", "prod")], 100, &[]),
        resource("vol-tagged", ResourceKind::Volume, &[("backup", "daily")], 20, &[]),
        resource("i-naked", ResourceKind::Instance, &[("env", "prod")], 0, &[]),
        resource("vol-naked", ResourceKind::Volume, &[("env", "prod")], 50, &[]),
        resource("vol-other", ResourceKind::Volume, &[("env", "dev")], 50, &[]),
    ];
    let p = plan(POLICY, &d, &inv, true);
    let c = &p.coverage;
    assert_eq!((c.instances_covered, c.volumes_covered, c.covered_gib), (1, 3, 128));
    assert_eq!(c.uncovered, ["i-naked", "vol-naked"]);
    assert_eq!(c.uncovered_count, 2);
    // A daily rule kept 35 days holds 35 recovery points per volume, each at most a full copy.
    assert_eq!(p.max_recovery_points, 35);
    assert!((p.monthly_storage_usd() - 128.0 * 35.0 * 0.05).abs() < 1e-9);
}

#[test]
fn arn_wildcards_match_like_aws_backup() {
    assert!(crate::pattern::matches("arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:eu-west-1:1:volume/vol-1"));
    assert!(!crate::pattern::matches("arn:aws:ec2:*:*:volume/*", "arn:aws:ec2:eu-west-1:1:instance/i-1"));
    assert!(crate::pattern::matches("*", "anything"));
}

#[test]
fn cleanup_removes_selections_then_our_plan_then_our_empty_vault() {
    let d = desired();
    let inv = in_sync(&d);
    let changes = plan_cleanup(POLICY, &d, &inv);
    assert!(matches!(
        changes.as_slice(),
        [BackupChange::DeleteSelection { .. }, BackupChange::DeletePlan { .. }, BackupChange::DeleteVault { .. }]
    ));
}

#[test]
fn cleanup_keeps_adopted_plans_foreign_vaults_and_vaults_with_recovery_points() {
    let d = desired();
    let mut inv = in_sync(&d);
    inv.plan.as_mut().expect("plan").tags = Tags::new();
    inv.plan.as_mut().expect("plan").selections.push(Selection { id: "sel-theirs".into(), name: "theirs".into(), ..Default::default() });
    inv.vault.as_mut().expect("vault").recovery_points = 3;
    let changes = plan_cleanup(POLICY, &d, &inv);
    assert!(matches!(changes.as_slice(), [BackupChange::DeleteSelection { selection_id, .. }] if selection_id == "sel-current"));
    inv.vault = Some(vault(false));
    assert_eq!(plan_cleanup(POLICY, &d, &inv).len(), 1);
}

fn arb_rule() -> impl Strategy<Value = PlanRule> {
    (
        prop::sample::select(vec!["daily", "weekly", "console"]),
        prop::sample::select(vec!["prod", "Default"]),
        prop::sample::select(vec!["cron(0 5 ? * * *)", "cron(0 1 ? * * *)"]),
        prop::option::of(prop::sample::select(vec![14u32, 35, 3650])),
        prop::option::of(prop::sample::select(vec![60u32, 480])),
    )
        .prop_map(|(name, vault, schedule, days, start)| PlanRule {
            name: name.into(),
            target_vault: vault.into(),
            schedule: schedule.into(),
            timezone: None,
            start_window_minutes: start,
            completion_window_minutes: Some(180),
            delete_after_days: days,
            cold_after_days: None,
        })
}

fn arb_selection() -> impl Strategy<Value = Selection> {
    (0u8..4, prop::sample::select(vec!["frugal-0123abcd", "frugal-ffffffff", "hand-made"]), any::<bool>()).prop_map(|(n, name, other)| {
        Selection {
            id: format!("sel-{n}"),
            name: name.into(),
            iam_role_arn: "arn:aws:iam::111122223333:role/backup".into(),
            tags: BTreeMap::from([("backup".into(), "daily".into())]),
            resources: vec![],
            other_conditions: other,
        }
    })
}

fn arb_inventory() -> impl Strategy<Value = (BackupInventory, bool, bool)> {
    (
        prop::option::of(any::<bool>()),
        prop::option::of((any::<bool>(), prop::collection::vec(arb_rule(), 0..3), prop::collection::vec(arb_selection(), 0..3))),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(vault_owned, plan, adopt, create, keep_current)| {
            let d = desired();
            let plan = plan.map(|(owned, rules, mut selections)| {
                if keep_current {
                    selections.push(our_selection(&d));
                }
                ObservedPlan {
                    id: "plan-1".into(),
                    arn: "arn".into(),
                    name: d.plan_name.clone(),
                    version_id: "v".into(),
                    tags: if owned { ownership_tags(POLICY) } else { Tags::new() },
                    rules,
                    selections,
                }
            });
            (BackupInventory { vault: vault_owned.map(vault), plan, resources: vec![] }, adopt, create)
        })
}

proptest! {
    #[test]
    fn audit_plans_nothing((inv, adopt, create) in arb_inventory()) {
        let mut d = desired();
        d.adopt = adopt;
        d.vault_create = create;
        prop_assert!(plan(POLICY, &d, &inv, false).actions.is_empty());
    }

    #[test]
    fn a_selection_is_never_deleted_before_its_replacement_exists((inv, adopt, create) in arb_inventory()) {
        let mut d = desired();
        d.adopt = adopt;
        d.vault_create = create;
        let p = plan(POLICY, &d, &inv, true);
        let want = selection_name(&d.selection);
        let exists_already = p.selection_id.is_some();
        let created_at = p.actions.iter().position(|c| matches!(c, BackupChange::CreateSelection { selection, .. } if selection.name == want));
        for (i, change) in p.actions.iter().enumerate() {
            if let BackupChange::DeleteSelection { selection_id, .. } = change {
                prop_assert!(exists_already || created_at.is_some_and(|c| c < i), "{:?}", p.actions);
                prop_assert!(p.selection_id.as_ref() != Some(selection_id), "the current selection is never deleted");
            }
        }
    }

    #[test]
    fn a_plan_we_do_not_own_is_never_modified_without_adopt((inv, _adopt, create) in arb_inventory()) {
        let mut d = desired();
        d.adopt = false;
        d.vault_create = create;
        let p = plan(POLICY, &d, &inv, true);
        let ours = inv.plan.as_ref().is_none_or(|plan| is_owned_by(&plan.tags, POLICY));
        if !ours {
            prop_assert!(p.actions.iter().all(|c| matches!(c, BackupChange::CreateVault { .. })), "{:?}", p.actions);
        }
    }

    #[test]
    fn every_create_carries_a_stable_creator_request_id((inv, adopt, create) in arb_inventory()) {
        let mut d = desired();
        d.adopt = adopt;
        d.vault_create = create;
        let first = plan(POLICY, &d, &inv, true);
        let second = plan(POLICY, &d, &inv, true);
        prop_assert_eq!(&first.actions, &second.actions);
        for change in &first.actions {
            match change {
                BackupChange::CreateVault { creator_request_id, .. }
                | BackupChange::CreatePlan { creator_request_id, .. }
                | BackupChange::CreateSelection { creator_request_id, .. } => prop_assert!(creator_request_id.starts_with("frugal-")),
                _ => {}
            }
        }
    }
}

#[test]
fn a_created_plan_carries_its_version_id_back() {
    let created = created_plan("6f7e5c1d-8a2b-4c3d-9e0f-112233445566", Some("ZjQ2ZTI5YWQ/x"));
    assert_eq!(parse_created_plan(&created), ("6f7e5c1d-8a2b-4c3d-9e0f-112233445566", Some("ZjQ2ZTI5YWQ/x")));
    assert_eq!(parse_created_plan(&created_plan("id-1", None)), ("id-1", None));
    assert_eq!(parse_created_plan(&created_plan("id-1", Some(""))), ("id-1", None));
}
