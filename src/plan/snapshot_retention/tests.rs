use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_800_000_000;
const DAY: i64 = 86_400;

fn desired() -> SnapshotRetentionDesired {
    SnapshotRetentionDesired {
        max_age_days: Some(30),
        keep_latest_per_volume: None,
        selector: BTreeMap::new(),
        exclude: BTreeMap::new(),
        max_deletions_per_run: 100,
        grace_period: Duration::from_secs(DAY as u64),
    }
}

fn snap(id: &str, volume: &str, age_days: i64) -> Snapshot {
    Snapshot {
        id: id.into(),
        volume_id: Some(volume.into()),
        volume_size_gib: 10,
        start_time: NOW - age_days * DAY,
        state: "completed".into(),
        description: String::new(),
        tags: Tags::new(),
    }
}

fn with_tag(mut s: Snapshot, k: &str, v: &str) -> Snapshot {
    s.tags.insert(k.into(), v.into());
    s
}

fn inv(snapshots: Vec<Snapshot>) -> SnapshotRetentionInventory {
    SnapshotRetentionInventory { snapshots: snapshots.into(), ..Default::default() }
}

fn deleted(plan: &SnapshotRetentionPlan) -> Vec<String> {
    plan.actions
        .iter()
        .filter_map(|c| match c {
            SnapshotRetentionChange::Delete { snapshot_id, .. } => Some(snapshot_id.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_old_snapshot_is_tagged_first_and_not_deleted() {
    let plan = plan(&desired(), &inv(vec![snap("snap-old", "vol-1", 40), snap("snap-new", "vol-1", 3)]), NOW, true);
    assert_eq!(
        plan.actions,
        [SnapshotRetentionChange::TagExpiring { snapshot_ids: vec!["snap-old".into()], expires_at: rfc3339(NOW + DAY) }]
    );
    assert_eq!((plan.expiring, plan.retained, plan.evaluated), (1, 1, 2));
    assert_eq!(plan.earliest_deletion, Some(rfc3339(NOW + DAY)));
}

#[test]
fn a_tagged_snapshot_is_deleted_once_its_time_has_passed() {
    let past = with_tag(snap("snap-due", "vol-1", 40), TAG_EXPIRES_AT, &rfc3339(NOW - 60));
    let future = with_tag(snap("snap-wait", "vol-2", 40), TAG_EXPIRES_AT, &rfc3339(NOW + 60));
    let plan = plan(&desired(), &inv(vec![past, future]), NOW, true);
    assert_eq!(deleted(&plan), ["snap-due"]);
    assert_eq!(plan.expiring, 1, "the other waits");
    assert_eq!(plan.actions.len(), 1, "nothing re-tagged");
}

#[test]
fn a_snapshot_that_stops_being_expired_loses_its_tag() {
    let mut d = desired();
    d.max_age_days = Some(365);
    let tagged = with_tag(snap("snap-1", "vol-1", 40), TAG_EXPIRES_AT, &rfc3339(NOW - 60));
    let plan = plan(&d, &inv(vec![tagged]), NOW, true);
    assert_eq!(plan.actions, [SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids: vec!["snap-1".into()] }]);
}

#[test]
fn a_tagged_snapshot_that_became_protected_loses_its_tag_and_survives() {
    let tagged = with_tag(with_tag(snap("snap-1", "vol-1", 40), TAG_EXPIRES_AT, &rfc3339(NOW - 60)), "keep", "yes");
    let mut d = desired();
    d.exclude = BTreeMap::from([("keep".into(), "yes".into())]);
    let plan = plan(&d, &inv(vec![tagged]), NOW, true);
    assert!(deleted(&plan).is_empty());
    assert_eq!(plan.actions, [SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids: vec!["snap-1".into()] }]);
    assert_eq!(plan.protected.get(&Protection::Excluded), Some(&1));
}

#[test]
fn zero_grace_deletes_in_the_same_run() {
    let mut d = desired();
    d.grace_period = Duration::ZERO;
    let plan = plan(&d, &inv(vec![snap("snap-old", "vol-1", 40)]), NOW, true);
    assert_eq!(deleted(&plan), ["snap-old"]);
    assert_eq!(
        plan.actions[0],
        SnapshotRetentionChange::TagExpiring { snapshot_ids: vec!["snap-old".into()], expires_at: rfc3339(NOW) },
        "tagged first"
    );
}

#[test]
fn an_unreadable_expiry_tag_restarts_the_grace_period() {
    let plan = plan(&desired(), &inv(vec![with_tag(snap("snap-1", "vol-1", 40), TAG_EXPIRES_AT, "soon")]), NOW, true);
    assert!(deleted(&plan).is_empty());
    assert!(matches!(&plan.actions[0], SnapshotRetentionChange::TagExpiring { .. }));
}

#[test]
fn every_protection_keeps_an_expired_snapshot() {
    let mut d = desired();
    d.grace_period = Duration::ZERO;
    d.exclude = BTreeMap::from([("frugal.dev/keep".into(), "true".into())]);
    let mut pending = snap("snap-pending", "vol-1", 40);
    pending.state = "pending".into();
    let mut backup_by_description = snap("snap-backup2", "vol-5", 40);
    backup_by_description.description = "This snapshot is created by the AWS Backup service.".into();
    let inventory = SnapshotRetentionInventory {
        snapshots: vec![
            pending,
            snap("snap-locked", "vol-2", 40),
            with_tag(snap("snap-backup", "vol-3", 40), "aws:backup:source-resource", "arn"),
            backup_by_description,
            with_tag(snap("snap-dlm", "vol-4", 40), "aws:dlm:lifecycle-policy-id", "policy-1"),
            snap("snap-ami", "vol-6", 40),
            snap("snap-lt", "vol-7", 40),
            with_tag(snap("snap-kept", "vol-8", 40), "frugal.dev/keep", "true"),
            snap("snap-free", "vol-9", 40),
        ]
        .into(),
        ami_snapshots: BTreeSet::from(["snap-ami".into()]),
        launch_template_snapshots: BTreeSet::from(["snap-lt".into()]),
        locked_snapshots: BTreeSet::from(["snap-locked".into()]),
    };
    let plan = plan(&d, &inventory, NOW, true);
    assert_eq!(deleted(&plan), ["snap-free"]);
    let counts: Vec<(Protection, u32)> = plan.protected.iter().map(|(p, n)| (*p, *n)).collect();
    assert_eq!(
        counts,
        [
            (Protection::NotCompleted, 1),
            (Protection::Locked, 1),
            (Protection::ManagedByBackup, 2),
            (Protection::ManagedByDlm, 1),
            (Protection::UsedByAmi, 1),
            (Protection::UsedByLaunchTemplate, 1),
            (Protection::Excluded, 1),
        ]
    );
}

#[test]
fn keep_latest_keeps_the_newest_per_volume_also_for_deleted_volumes() {
    let mut d = desired();
    d.max_age_days = None;
    d.keep_latest_per_volume = Some(2);
    d.grace_period = Duration::ZERO;
    let snapshots = vec![
        snap("a1", "vol-gone", 1),
        snap("a2", "vol-gone", 2),
        snap("a3", "vol-gone", 3),
        snap("a4", "vol-gone", 4),
        snap("b1", "vol-b", 10),
        snap("c1", "vol-ffffffff", 500),
        snap("c2", "vol-ffffffff", 600),
    ];
    let plan = plan(&d, &inv(snapshots), NOW, true);
    assert_eq!(deleted(&plan), ["a4", "a3"], "oldest first; copies of unknown volumes are each their own volume");
}

#[test]
fn not_completed_snapshots_do_not_count_among_the_newest() {
    let mut d = desired();
    d.max_age_days = None;
    d.keep_latest_per_volume = Some(1);
    d.grace_period = Duration::ZERO;
    let mut newest = snap("s-new", "vol-1", 0);
    newest.state = "error".into();
    let plan = plan(&d, &inv(vec![newest, snap("s-old", "vol-1", 10)]), NOW, true);
    assert!(deleted(&plan).is_empty(), "the newest completed one survives even if a newer one failed");
}

#[test]
fn both_rules_must_agree() {
    let mut d = desired();
    d.keep_latest_per_volume = Some(1);
    d.grace_period = Duration::ZERO;
    // old-but-newest: kept by count; young-not-newest: kept by age; old-not-newest: expired.
    let snapshots =
        vec![snap("newest-old", "vol-1", 40), snap("older", "vol-1", 50), snap("young", "vol-2", 1), snap("younger", "vol-2", 0)];
    let plan = plan(&d, &inv(snapshots), NOW, true);
    assert_eq!(deleted(&plan), ["older"]);
}

#[test]
fn the_cap_holds_and_the_rest_is_pending_oldest_first() {
    let mut d = desired();
    d.grace_period = Duration::ZERO;
    d.max_deletions_per_run = 2;
    let snapshots = (0..5).map(|n| snap(&format!("s{n}"), &format!("vol-{n}"), 40 + n)).collect();
    let plan = plan(&d, &inv(snapshots), NOW, true);
    assert_eq!(deleted(&plan), ["s4", "s3"]);
    assert_eq!(plan.pending, 3);
    assert_eq!(plan.findings(), 5);
}

#[test]
fn the_selector_limits_scope() {
    let mut d = desired();
    d.selector = BTreeMap::from([("env".into(), "prod".into())]);
    d.grace_period = Duration::ZERO;
    let plan = plan(&d, &inv(vec![with_tag(snap("prod", "vol-1", 40), "env", "prod"), snap("other", "vol-2", 40)]), NOW, true);
    assert_eq!(plan.evaluated, 1);
    assert_eq!(deleted(&plan), ["prod"]);
}

#[test]
fn audit_mode_reports_but_plans_nothing() {
    let plan = plan(&desired(), &inv(vec![snap("old", "vol-1", 40)]), NOW, false);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(plan.expired_gib, 10);
    assert!((plan.monthly_waste_usd() - 0.5).abs() < 1e-9);
}

fn arb_snapshot() -> impl Strategy<Value = Snapshot> {
    (0u16..400, 0u8..6, 0u8..8, any::<bool>(), 0u8..4, 0u8..6, 1u32..100).prop_map(|(age, volume, tags, expiry_tag, state, kind, size)| {
        let mut s = snap("x", &format!("vol-{volume}"), i64::from(age));
        s.volume_size_gib = size;
        s.state = ["completed", "completed", "pending", "error"][state as usize].into();
        if tags & 1 == 1 {
            s.tags.insert("keep".into(), "yes".into());
        }
        if tags & 2 == 2 {
            s.tags.insert("aws:dlm:lifecycle-policy-id".into(), "p".into());
        }
        if tags & 4 == 4 {
            s.tags.insert("aws:backup:source-resource".into(), "arn".into());
        }
        if expiry_tag {
            let offset = [-(DAY * 2), -1, 1, DAY * 2, 0, 5][kind as usize];
            s.tags.insert(TAG_EXPIRES_AT.into(), rfc3339(NOW + offset));
        }
        if volume == 5 {
            s.volume_id = Some("vol-ffffffff".into());
        }
        s
    })
}

fn arb_inventory() -> impl Strategy<Value = SnapshotRetentionInventory> {
    (prop::collection::vec(arb_snapshot(), 0..40), prop::collection::vec(0u8..4, 0..40)).prop_map(|(mut snapshots, marks)| {
        let mut inventory = SnapshotRetentionInventory::default();
        for (n, s) in snapshots.iter_mut().enumerate() {
            s.id = format!("snap-{n:03}");
            match marks.get(n) {
                Some(1) => drop(inventory.ami_snapshots.insert(s.id.clone())),
                Some(2) => drop(inventory.launch_template_snapshots.insert(s.id.clone())),
                Some(3) => drop(inventory.locked_snapshots.insert(s.id.clone())),
                _ => {}
            }
        }
        inventory.snapshots = snapshots.into();
        inventory
    })
}

fn arb_desired() -> impl Strategy<Value = SnapshotRetentionDesired> {
    (prop::option::of(1u32..200), prop::option::of(0u32..4), 1u32..10, 0u64..3, any::<bool>()).prop_filter_map(
        "one rule",
        |(age, keep, cap, grace_days, exclude)| {
            if age.is_none() && keep.is_none() {
                return None;
            }
            Some(SnapshotRetentionDesired {
                max_age_days: age,
                keep_latest_per_volume: keep,
                selector: BTreeMap::new(),
                exclude: if exclude { BTreeMap::from([("keep".into(), "yes".into())]) } else { BTreeMap::new() },
                max_deletions_per_run: cap,
                grace_period: Duration::from_secs(grace_days * DAY as u64),
            })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_protected_snapshot_is_ever_deleted(inventory in arb_inventory(), d in arb_desired()) {
        let plan = plan(&d, &inventory, NOW, true);
        for id in deleted(&plan) {
            let s = inventory.snapshots.iter().find(|s| s.id == id).expect("deleted snapshots exist");
            prop_assert_eq!(protection(s, &inventory, &d.exclude), None, "{} was protected", id);
            prop_assert_eq!(&s.state, "completed");
            if let Some(days) = d.max_age_days {
                prop_assert!(NOW - s.start_time > i64::from(days) * DAY, "{} is younger than the retention", id);
            }
        }
    }

    #[test]
    fn the_newest_n_of_every_volume_survive(inventory in arb_inventory(), d in arb_desired()) {
        let Some(keep) = d.keep_latest_per_volume else { return Ok(()) };
        let plan = plan(&d, &inventory, NOW, true);
        let gone: BTreeSet<String> = deleted(&plan).into_iter().collect();
        let mut volumes: BTreeMap<String, Vec<&Snapshot>> = BTreeMap::new();
        for s in inventory.snapshots.iter().filter(|s| s.state == "completed") {
            volumes.entry(s.volume_id.clone().unwrap_or_default()).or_default().push(s);
        }
        for (volume, mut group) in volumes {
            if volume == "vol-ffffffff" {
                prop_assert!(keep == 0 || group.iter().all(|s| !gone.contains(&s.id)));
                continue;
            }
            group.sort_by(|a, b| b.start_time.cmp(&a.start_time).then_with(|| b.id.cmp(&a.id)));
            for s in group.iter().take(keep as usize) {
                prop_assert!(!gone.contains(&s.id), "{} is among the newest {} of {}", s.id, keep, volume);
            }
        }
    }

    #[test]
    fn the_cap_always_holds(inventory in arb_inventory(), d in arb_desired()) {
        let plan = plan(&d, &inventory, NOW, true);
        prop_assert!(deleted(&plan).len() <= d.max_deletions_per_run as usize);
    }

    #[test]
    fn every_deleted_snapshot_carries_or_receives_the_expiry_tag_first(inventory in arb_inventory(), d in arb_desired()) {
        let plan = plan(&d, &inventory, NOW, true);
        let mut tagged: BTreeSet<String> = inventory.snapshots.iter().filter(|s| s.tags.contains_key(TAG_EXPIRES_AT)).map(|s| s.id.clone()).collect();
        for change in &plan.actions {
            match change {
                SnapshotRetentionChange::TagExpiring { snapshot_ids, .. } => tagged.extend(snapshot_ids.iter().cloned()),
                SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => for id in snapshot_ids { tagged.remove(id); },
                SnapshotRetentionChange::Delete { snapshot_id, .. } => prop_assert!(tagged.contains(snapshot_id), "{} deleted untagged", snapshot_id),
            }
        }
    }

    #[test]
    fn with_a_grace_period_only_snapshots_tagged_in_the_past_are_deleted(inventory in arb_inventory(), d in arb_desired()) {
        let plan = plan(&d, &inventory, NOW, true);
        if d.grace_period.is_zero() { return Ok(()); }
        for id in deleted(&plan) {
            let s = inventory.snapshots.iter().find(|s| s.id == id).expect("exists");
            let at = s.tags.get(TAG_EXPIRES_AT).and_then(|t| t.parse::<jiff::Timestamp>().ok()).map(|t| t.as_second());
            prop_assert!(at.is_some_and(|at| at <= NOW), "{} deleted without a due expiry tag", id);
        }
    }

    #[test]
    fn audit_never_plans_a_mutation(inventory in arb_inventory(), d in arb_desired()) {
        prop_assert!(plan(&d, &inventory, NOW, false).actions.is_empty());
    }
}

/// `d` without a cap that binds (the inventories hold at most 40 snapshots), so that a
/// run's delete set is every due snapshot.
fn uncapped(mut d: SnapshotRetentionDesired) -> SnapshotRetentionDesired {
    d.max_deletions_per_run = 1000;
    d
}

#[test]
fn a_snapshot_a_conflicting_policy_keeps_is_retained_by_the_other_policy() {
    let mut strict = desired();
    strict.max_age_days = Some(90);
    let old = inv(vec![
        with_tag(snap("snap-60d", "vol-1", 60), TAG_EXPIRES_AT, &rfc3339(NOW - DAY)),
        with_tag(snap("snap-100d", "vol-1", 100), TAG_EXPIRES_AT, &rfc3339(NOW - DAY)),
    ]);
    let plan = plan_with_peers(&desired(), std::slice::from_ref(&strict), &old, NOW, true);
    assert_eq!(deleted(&plan), ["snap-100d"], "both policies expire the 100-day-old one");
    assert!(plan.verdicts.contains(&("snap-60d".to_string(), Verdict::Protected(Protection::RetainedByOtherPolicy))));
    assert_eq!(plan.protected.get(&Protection::RetainedByOtherPolicy), Some(&1));
    assert!(
        plan.actions.contains(&SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids: vec!["snap-60d".into()] }),
        "its expiry tag goes: {:?}",
        plan.actions
    );

    // A peer whose selector does not hold the snapshot has no say over it.
    let mut elsewhere = strict;
    elsewhere.selector = BTreeMap::from([("env".into(), "dev".into())]);
    let plan = plan_with_peers(&desired(), &[elsewhere], &old, NOW, true);
    assert_eq!(deleted(&plan), ["snap-100d", "snap-60d"]);
}

fn arb_peer() -> impl Strategy<Value = SnapshotRetentionDesired> {
    (arb_desired(), any::<bool>()).prop_map(|(mut d, scoped)| {
        if scoped {
            d.selector = BTreeMap::from([("keep".into(), "yes".into())]);
        }
        d
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn conflicting_policies_only_ever_shrink_the_delete_set(inventory in arb_inventory(), d in arb_desired(), peers in prop::collection::vec(arb_peer(), 0..3)) {
        let d = uncapped(d);
        let alone: BTreeSet<String> = deleted(&plan(&d, &inventory, NOW, true)).into_iter().collect();
        let with_peers: BTreeSet<String> = deleted(&plan_with_peers(&d, &peers, &inventory, NOW, true)).into_iter().collect();
        prop_assert!(with_peers.is_subset(&alone), "{:?} not in {:?}", with_peers, alone);
    }

    #[test]
    fn the_delete_set_with_a_peer_is_the_intersection_over_the_snapshots_both_govern(inventory in arb_inventory(), d in arb_desired(), peer in arb_peer()) {
        let no_grace = |mut d: SnapshotRetentionDesired| { d.grace_period = Duration::ZERO; uncapped(d) };
        let (d, peer) = (no_grace(d), no_grace(peer));
        let mine: BTreeSet<String> = deleted(&plan(&d, &inventory, NOW, true)).into_iter().collect();
        let theirs: BTreeSet<String> = deleted(&plan(&peer, &inventory, NOW, true)).into_iter().collect();
        let with_peer: BTreeSet<String> = deleted(&plan_with_peers(&d, std::slice::from_ref(&peer), &inventory, NOW, true)).into_iter().collect();
        let governed_by_peer = |id: &String| inventory.snapshots.iter().any(|s| &s.id == id && selects(&peer, s));
        let expected: BTreeSet<String> = mine.iter().filter(|id| !governed_by_peer(id) || theirs.contains(*id)).cloned().collect();
        prop_assert_eq!(with_peer, expected);
    }
}
