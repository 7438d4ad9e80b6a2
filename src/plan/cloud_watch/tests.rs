use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::api::validate::{InstanceAlarmsDesired, LogRetentionDesired};

const NOW: i64 = 1_800_000_000;
const POLICY: &str = "ops";
const REGION: &str = "eu-west-1";
const TOPIC: &str = "arn:aws:sns:eu-west-1:111122223333:ops-alerts";

fn desired() -> CloudWatchDesired {
    CloudWatchDesired {
        log_retention: Some(LogRetentionDesired {
            days: 30,
            only_when_unset: true,
            prefixes: BTreeSet::from(["/aws/lambda/".to_string()]),
        }),
        instance_alarms: Some(InstanceAlarmsDesired {
            status_check: true,
            recover_on_system_failure: false,
            notify: Some(TOPIC.to_string()),
            selector: BTreeMap::new(),
        }),
        orphan_alarms: OrphanAlarms::Report,
        max_deletions_per_run: 10,
        grace_period: Duration::from_secs(86_400),
    }
}

fn group(name: &str, days: Option<u32>, gb: u64) -> LogGroup {
    LogGroup { name: name.into(), retention_days: days, stored_bytes: gb * 1_000_000_000 }
}

fn instance(id: &str, state: &str) -> Instance {
    Instance { id: id.into(), state: state.into(), tags: Tags::new() }
}

/// An alarm on `instance` as the operator would make it, tagged as `owner`'s (None: untagged).
fn alarm(name: &str, instance: &str, owner: Option<&str>) -> Alarm {
    Alarm {
        name: name.into(),
        arn: format!("arn:aws:cloudwatch:{REGION}:111122223333:alarm:{name}"),
        namespace: NAMESPACE.into(),
        metric: "StatusCheckFailed".into(),
        dimensions: BTreeMap::from([(INSTANCE_ID.to_string(), instance.to_string())]),
        statistic: STATISTIC.into(),
        period: PERIOD_SECONDS,
        evaluation_periods: EVALUATION_PERIODS,
        threshold: THRESHOLD,
        comparison: COMPARISON.into(),
        actions: BTreeSet::from([TOPIC.to_string()]),
        tags: Some(owner.map(ownership_tags).unwrap_or_default()),
    }
}

fn only_orphans(mode: OrphanAlarms) -> CloudWatchDesired {
    CloudWatchDesired { log_retention: None, instance_alarms: None, orphan_alarms: mode, ..desired() }
}

#[test]
fn only_never_expiring_groups_in_scope_get_a_retention_by_default() {
    let inventory = CloudWatchInventory {
        log_groups: vec![
            group("/aws/lambda/orders", None, 120),
            group("/aws/lambda/audit", Some(365), 8),
            group("/aws/lambda/short", Some(7), 1),
            group("/app/legacy", None, 2),
        ],
        ..Default::default()
    };
    let plan = plan(POLICY, REGION, &desired(), &inventory, NOW, true);
    let set: Vec<String> = plan.actions.iter().map(CloudWatchChange::describe).collect();
    assert_eq!(
        set,
        ["set retention of log group /aws/lambda/orders to 30 days (was never expire)"],
        "an explicit 365 days is never shortened by default"
    );
    assert_eq!((plan.log_groups_in_scope, plan.never_expire_bytes()), (3, 120_000_000_000), "/app/legacy is outside the prefixes");

    let mut shorten = desired();
    if let Some(lr) = &mut shorten.log_retention {
        lr.only_when_unset = false;
    }
    let plan = super::plan(POLICY, REGION, &shorten, &inventory, NOW, true);
    let set: Vec<String> = plan.actions.iter().map(CloudWatchChange::describe).collect();
    assert_eq!(
        set,
        [
            "set retention of log group /aws/lambda/orders to 30 days (was never expire)",
            "set retention of log group /aws/lambda/audit to 30 days (was 365)"
        ],
        "7 days is never lengthened"
    );
}

#[test]
fn a_running_instance_gets_its_alarm_once_by_a_deterministic_name_and_an_edit_is_put_back() {
    let inventory = CloudWatchInventory { instances: vec![instance("i-1", "running"), instance("i-2", "stopped")], ..Default::default() };
    let plan = plan(POLICY, REGION, &desired(), &inventory, NOW, true);
    assert_eq!(plan.actions.len(), 1, "a stopped instance gets no alarm");
    let CloudWatchChange::PutAlarm { alarm: wanted, reverted } = &plan.actions[0] else { panic!("{:?}", plan.actions) };
    assert_eq!(
        (wanted.name.as_str(), wanted.actions.as_slice(), reverted.len()),
        ("frugal-ops-i-1-status-check", [TOPIC.to_string()].as_slice(), 0)
    );
    assert_eq!(wanted.tags, ownership_tags(POLICY));

    let mut edited = alarm("frugal-ops-i-1-status-check", "i-1", Some(POLICY));
    edited.threshold = 3.0;
    edited.actions.clear();
    let inventory = CloudWatchInventory { alarms: vec![edited], ..inventory };
    let plan = super::plan(POLICY, REGION, &desired(), &inventory, NOW, true);
    let CloudWatchChange::PutAlarm { reverted, .. } = &plan.actions[0] else { panic!("{:?}", plan.actions) };
    assert_eq!(reverted, &["threshold 3 → 1".to_string(), format!("actions [] → [\"{TOPIC}\"]")]);
    assert_eq!(plan.own_alarms, 1);
}

#[test]
fn an_alarm_of_someone_else_is_adopted_and_never_rewritten() {
    let mut theirs = alarm("web-1 status", "i-1", None);
    theirs.threshold = 5.0;
    let same_name_not_ours = alarm("frugal-ops-i-2-status-check", "i-2", Some("another-policy"));
    let inventory = CloudWatchInventory {
        instances: vec![instance("i-1", "running"), instance("i-2", "running")],
        alarms: vec![theirs, same_name_not_ours],
        ..Default::default()
    };
    let plan = plan(POLICY, REGION, &desired(), &inventory, NOW, true);
    assert_eq!(plan.actions, [], "neither is put");
    assert_eq!(
        (plan.adopted.as_slice(), plan.names_taken.as_slice()),
        (["web-1 status".to_string()].as_slice(), ["frugal-ops-i-2-status-check".to_string()].as_slice())
    );
    assert_eq!(plan.instances_without_alarms, BTreeSet::from(["i-2".to_string()]));
}

#[test]
fn the_recover_alarm_recovers_the_instance_in_its_region() {
    let mut d = desired();
    if let Some(ia) = &mut d.instance_alarms {
        ia.recover_on_system_failure = true;
    }
    let plan =
        plan(POLICY, REGION, &d, &CloudWatchInventory { instances: vec![instance("i-1", "running")], ..Default::default() }, NOW, true);
    let names: Vec<(String, Vec<String>)> = plan
        .actions
        .iter()
        .filter_map(|c| match c {
            CloudWatchChange::PutAlarm { alarm, .. } => Some((alarm.name.clone(), alarm.actions.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        names[1],
        ("frugal-ops-i-1-system-recover".to_string(), vec!["arn:aws:automate:eu-west-1:ec2:recover".to_string(), TOPIC.to_string()])
    );
}

#[test]
fn a_stopped_instance_is_not_gone_and_orphans_are_only_reported_by_default() {
    let inventory = CloudWatchInventory {
        instances: vec![instance("i-stopped", "stopped"), instance("i-dead", "terminated")],
        alarms: vec![alarm("a-stopped", "i-stopped", None), alarm("a-dead", "i-dead", None), alarm("a-unknown", "i-never", None)],
        ..Default::default()
    };
    let plan = plan(POLICY, REGION, &only_orphans(OrphanAlarms::Report), &inventory, NOW, true);
    let orphans: Vec<(&str, OrphanState)> = plan.orphans.iter().map(|o| (o.alarm_name.as_str(), o.state)).collect();
    assert_eq!(orphans, [("a-dead", OrphanState::Reported), ("a-unknown", OrphanState::Reported)]);
    assert_eq!(plan.drift, []);
}

#[test]
fn delete_marks_first_deletes_after_the_grace_period_and_only_this_policys_alarms() {
    let mut due = alarm("due", "i-gone", Some(POLICY));
    due.tags.get_or_insert_with(Tags::new).insert(TAG_EXPIRES_AT.into(), rfc3339(NOW - 60));
    let mut waiting = alarm("waiting", "i-gone", Some(POLICY));
    waiting.tags.get_or_insert_with(Tags::new).insert(TAG_EXPIRES_AT.into(), rfc3339(NOW + 60));
    let inventory = CloudWatchInventory {
        alarms: vec![due, waiting, alarm("fresh", "i-gone", Some(POLICY)), alarm("theirs", "i-gone", None)],
        ..Default::default()
    };
    let plan = plan(POLICY, REGION, &only_orphans(OrphanAlarms::Delete), &inventory, NOW, true);
    let changes: Vec<String> = plan.actions.iter().map(CloudWatchChange::describe).collect();
    assert_eq!(
        changes,
        [
            format!("tag orphan alarm fresh (instance i-gone is gone), deleted after {}", rfc3339(NOW + 86_400)),
            "delete orphan alarm due (instance i-gone is gone)".to_string(),
        ]
    );
    let theirs = plan.orphans.iter().find(|o| o.alarm_name == "theirs").map(|o| o.state);
    assert_eq!(theirs, Some(OrphanState::Kept), "someone else's alarm is never deleted with Delete");
}

#[test]
fn a_mark_left_when_deletion_is_no_longer_asked_is_removed() {
    let mut marked = alarm("marked", "i-gone", Some(POLICY));
    marked.tags.get_or_insert_with(Tags::new).insert(TAG_EXPIRES_AT.into(), rfc3339(NOW - 60));
    let plan = plan(
        POLICY,
        REGION,
        &only_orphans(OrphanAlarms::Report),
        &CloudWatchInventory { alarms: vec![marked], ..Default::default() },
        NOW,
        true,
    );
    assert_eq!(
        plan.actions,
        [CloudWatchChange::UnmarkOrphan {
            alarm_name: "marked".into(),
            alarm_arn: format!("arn:aws:cloudwatch:{REGION}:111122223333:alarm:marked")
        }]
    );
}

#[test]
fn alarm_names_fit_cloudwatch_and_stay_apart_for_long_policy_names() {
    let long_a = format!("{}a", "p".repeat(252));
    let long_b = format!("{}b", "p".repeat(252));
    let (a, b) = (
        alarm_name(&long_a, "i-0123456789abcdef0", AlarmKind::SystemRecover),
        alarm_name(&long_b, "i-0123456789abcdef0", AlarmKind::SystemRecover),
    );
    assert!(a.len() <= 255 && b.len() <= 255, "{} {}", a.len(), b.len());
    assert_ne!(a, b);
    assert!(a.ends_with("-i-0123456789abcdef0-system-recover"));
}

fn arb_alarm() -> impl Strategy<Value = Alarm> {
    (0u8..12, 0u8..6, prop::option::of(prop::sample::select(vec![POLICY, "other"])), prop::option::of(-2i64..3), any::<bool>()).prop_map(
        |(n, instance, owner, mark_days, edited)| {
            let mut a = alarm(&format!("alarm-{n}"), &format!("i-{instance}"), owner);
            if let Some(days) = mark_days {
                a.tags.get_or_insert_with(Tags::new).insert(TAG_EXPIRES_AT.into(), rfc3339(NOW + days * 86_400));
            }
            if edited {
                a.threshold = 2.0;
            }
            a
        },
    )
}

proptest! {
    #[test]
    fn no_log_data_is_deleted_others_alarms_never_rewritten_stopped_is_not_gone_and_the_cap_holds(
        alarms in prop::collection::vec(arb_alarm(), 0..20),
        states in prop::collection::vec(prop::sample::select(vec!["running", "stopped", "terminated", "pending"]), 6),
        groups in prop::collection::vec((prop::option::of(prop::sample::select(RETENTION_DAYS_FOR_TESTS.to_vec())), 0u64..500), 0..10),
        mode in prop::sample::select(vec![OrphanAlarms::Report, OrphanAlarms::Delete, OrphanAlarms::DeleteAll]),
        only_when_unset in any::<bool>(),
        cap in 1u32..4,
        enforce in any::<bool>(),
    ) {
        let mut alarms = alarms;
        alarms.sort_by(|a, b| a.name.cmp(&b.name));
        alarms.dedup_by(|a, b| a.name == b.name);
        let instances: Vec<Instance> = states.iter().enumerate().filter(|(i, _)| i % 5 != 4).map(|(i, s)| instance(&format!("i-{i}"), s)).collect();
        let log_groups: Vec<LogGroup> = groups.iter().enumerate().map(|(i, (days, gb))| group(&format!("/aws/lambda/g{i}"), *days, *gb)).collect();
        let mut d = desired();
        d.orphan_alarms = mode;
        d.max_deletions_per_run = cap;
        if let Some(lr) = &mut d.log_retention {
            lr.only_when_unset = only_when_unset;
        }
        let inventory = CloudWatchInventory { log_groups: log_groups.clone(), instances: instances.clone(), alarms: alarms.clone() };
        let plan = plan(POLICY, REGION, &d, &inventory, NOW, enforce);
        if !enforce {
            prop_assert!(plan.actions.is_empty());
        }
        let mut deletions = 0;
        for change in &plan.drift {
            match change {
                CloudWatchChange::SetRetention { log_group, days, previous_days, .. } => {
                    let before = log_groups.iter().find(|g| &g.name == log_group).and_then(|g| g.retention_days);
                    prop_assert_eq!(before, *previous_days);
                    prop_assert!(before.is_none() || (!only_when_unset && before.is_some_and(|b| b > *days)), "never lengthened, shortened only when asked");
                }
                CloudWatchChange::PutAlarm { alarm: wanted, .. } => {
                    let existing = alarms.iter().find(|a| a.name == wanted.name);
                    prop_assert!(existing.is_none_or(|a| a.tags.as_ref().is_some_and(|t| is_owned_by(t, POLICY))), "only this policy's alarm is put");
                }
                CloudWatchChange::DeleteAlarm { alarm_name, instance_id } => {
                    deletions += 1;
                    let gone = instances.iter().find(|i| &i.id == instance_id).is_none_or(|i| i.state == "terminated");
                    prop_assert!(gone, "a stopped or running instance's alarm is never deleted");
                    let a = alarms.iter().find(|a| &a.name == alarm_name).expect("an observed alarm");
                    let ours = a.tags.as_ref().is_some_and(|t| is_owned_by(t, POLICY));
                    prop_assert!(mode == OrphanAlarms::DeleteAll || (mode == OrphanAlarms::Delete && ours));
                }
                CloudWatchChange::MarkOrphan { .. } => prop_assert!(mode != OrphanAlarms::Report),
                CloudWatchChange::UnmarkOrphan { .. } => {}
            }
        }
        prop_assert!(deletions <= cap as usize);
    }
}

const RETENTION_DAYS_FOR_TESTS: [u32; 6] = [1, 7, 30, 90, 365, 3653];
