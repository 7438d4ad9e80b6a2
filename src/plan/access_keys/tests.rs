use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

const NOW: i64 = 1_800_000_000;
const CALLER: &str = "arn:aws:iam::111122223333:user/operator";

fn desired() -> AccessKeysDesired {
    AccessKeysDesired {
        max_key_age_days: 90,
        max_unused_days: 90,
        deactivate_unused: true,
        grace_period: Duration::from_secs(7 * DAY as u64),
        max_deactivations_per_run: 10,
        exclude_user_tags: BTreeMap::from([("frugal.dev/keep".to_string(), "true".to_string())]),
        exclude_user_names: BTreeSet::from(["break-glass".to_string()]),
    }
}

/// An active key created `age` days ago, last used `used` days ago (None: never).
fn key(id: &str, age: i64, used: Option<i64>) -> AccessKey {
    AccessKey {
        id: id.into(),
        active: true,
        created: NOW - age * DAY,
        last_used: used.map(|d| LastUse { at: NOW - d * DAY, service: Some("s3".into()), region: Some("eu-west-1".into()) }),
    }
}

fn user(name: &str, keys: Vec<AccessKey>) -> IamUser {
    IamUser { name: name.into(), tags: Tags::new(), keys }
}

const POLICY: &str = "keys";

fn marked(mut user: IamUser, key_id: &str, at: i64) -> IamUser {
    user.tags.insert(format!("{MARK_PREFIX}{key_id}"), mark_value(at, POLICY));
    user
}

fn inv(users: Vec<IamUser>) -> AccessKeysInventory {
    AccessKeysInventory { users, caller_arn: CALLER.into() }
}

fn enforce(users: Vec<IamUser>) -> AccessKeysPlan {
    plan(POLICY, &desired(), &inv(users), NOW, true, None)
}

#[test]
fn an_unused_key_is_first_marked_with_the_time_it_will_be_deactivated() {
    let plan = enforce(vec![user("ci", vec![key("AKIAUNUSED0000000001", 400, Some(200))])]);
    assert_eq!(
        plan.actions,
        [AccessKeysChange::MarkUser {
            user_name: "ci".into(),
            access_key_id: "AKIAUNUSED0000000001".into(),
            tag_key: "frugal.dev/deactivate-AKIAUNUSED0000000001".into(),
            tag_value: format!("{} by keys", rfc3339(NOW + 7 * DAY)),
            deactivate_after: rfc3339(NOW + 7 * DAY),
        }]
    );
    let report = &plan.keys[0];
    assert_eq!((report.age_days, report.unused_days, report.over_age, report.unused), (400, 200, true, true));
    assert_eq!((report.state, report.action), (KeyState::Reported, Some(KeyAction::Mark)));
}

#[test]
fn a_marked_key_is_deactivated_after_the_grace_period_and_its_mark_removed() {
    let waiting = marked(user("a", vec![key("AKIAWAITING000000001", 400, Some(200))]), "AKIAWAITING000000001", NOW + 60);
    let due = marked(user("b", vec![key("AKIADUE0000000000001", 400, None)]), "AKIADUE0000000000001", NOW - 60);
    let plan = enforce(vec![waiting, due]);
    assert_eq!(
        plan.actions,
        [AccessKeysChange::DeactivateKey {
            user_name: "b".into(),
            access_key_id: "AKIADUE0000000000001".into(),
            unused_days: 400,
            mark: Some("frugal.dev/deactivate-AKIADUE0000000000001".into()),
        }]
    );
    assert_eq!(plan.count(|k| k.state == KeyState::Marked), 2);
}

#[test]
fn a_key_used_again_during_the_grace_period_is_spared_and_unmarked() {
    let used_again = marked(user("a", vec![key("AKIAUSEDAGAIN0000001", 400, Some(1))]), "AKIAUSEDAGAIN0000001", NOW - 60);
    let plan = enforce(vec![used_again]);
    assert_eq!(
        plan.actions,
        [AccessKeysChange::UnmarkUser { user_name: "a".into(), tag_keys: vec!["frugal.dev/deactivate-AKIAUSEDAGAIN0000001".into()] }]
    );
    assert_eq!(plan.keys[0].action, Some(KeyAction::Spare));
    assert!(plan.keys[0].over_age && !plan.keys[0].unused, "still reported as old");
}

#[test]
fn marks_of_keys_inactive_or_gone_are_removed_and_inactive_keys_never_touched() {
    let mut inactive = key("AKIAINACTIVE00000001", 400, None);
    inactive.active = false;
    let u = marked(marked(user("a", vec![inactive]), "AKIAINACTIVE00000001", NOW - 60), "AKIAGONE000000000001", NOW - 60);
    let plan = enforce(vec![u]);
    assert_eq!(
        plan.actions,
        [AccessKeysChange::UnmarkUser {
            user_name: "a".into(),
            tag_keys: vec!["frugal.dev/deactivate-AKIAGONE000000000001".into(), "frugal.dev/deactivate-AKIAINACTIVE00000001".into()],
        }]
    );
    assert_eq!((plan.active_keys, plan.keys.len()), (0, 0), "an inactive key is no finding");
}

#[test]
fn excluded_users_and_the_callers_own_keys_are_never_touched() {
    let mut tagged = user("tagged", vec![key("AKIATAGGED0000000001", 400, None)]);
    tagged.tags.insert("frugal.dev/keep".into(), "true".into());
    let glass = marked(user("break-glass", vec![key("AKIAGLASS00000000001", 400, None)]), "AKIAGLASS00000000001", NOW - 60);
    let own = marked(user("operator", vec![key("AKIAOWN0000000000001", 400, None)]), "AKIAOWN0000000000001", NOW - 60);
    let plan = enforce(vec![tagged, glass, own]);
    assert_eq!(plan.actions, []);
    assert_eq!((plan.users_in_scope, plan.own_keys_excluded), (1, 1));
    assert_eq!(plan.keys.len(), 1, "excluded users are out of scope; the own key is listed");
    assert_eq!((plan.keys[0].state, plan.keys[0].action), (KeyState::Excluded, None));
}

#[test]
fn the_callers_user_is_found_in_iam_and_sts_arns_with_paths() {
    assert_eq!(caller_user("arn:aws:iam::111122223333:user/ops/operator"), Some("operator"));
    assert_eq!(caller_user("arn:aws:sts::123456789012:user/moto"), Some("moto"));
    assert_eq!(caller_user("arn:aws:sts::111122223333:assumed-role/frugal/session"), None);
    assert_eq!(caller_user("garbage"), None);
}

#[test]
fn at_most_the_cap_is_deactivated_riskiest_first_and_the_rest_wait() {
    let mut d = desired();
    d.max_deactivations_per_run = 2;
    let users: Vec<IamUser> = (1..=4)
        .map(|i| {
            let id = format!("AKIACAP000000000000{i}");
            marked(user(&format!("u{i}"), vec![key(&id, 400, Some(100 + i))]), &id, NOW - 60)
        })
        .collect();
    let plan = plan(POLICY, &d, &inv(users), NOW, true, None);
    let deactivated: Vec<&str> = plan.actions.iter().map(AccessKeysChange::user_name).collect();
    assert_eq!(deactivated, ["u4", "u3"]);
    assert_eq!(plan.deactivations_deferred, 2);
    assert_eq!(plan.count(|k| k.action == Some(KeyAction::Deactivate)), 2);
}

#[test]
fn a_zero_grace_period_deactivates_in_the_same_run_without_a_mark() {
    let mut d = desired();
    d.grace_period = Duration::ZERO;
    let plan = plan(POLICY, &d, &inv(vec![user("ci", vec![key("AKIAZERO000000000001", 100, None)])]), NOW, true, None);
    assert_eq!(
        plan.actions,
        [AccessKeysChange::DeactivateKey {
            user_name: "ci".into(),
            access_key_id: "AKIAZERO000000000001".into(),
            unused_days: 100,
            mark: None
        }]
    );
}

#[test]
fn findings_count_old_unused_never_used_keys_and_users_with_two_active_keys() {
    let mut d = desired();
    d.deactivate_unused = false;
    let two = user("two", vec![key("AKIAFRESH00000000001", 10, Some(0)), key("AKIAOLD0000000000001", 100, Some(1))]);
    let never = user("never", vec![key("AKIANEVER00000000001", 5, None)]);
    let plan = plan(POLICY, &d, &inv(vec![two, never]), NOW, true, None);
    assert_eq!(plan.actions, [], "without deactivateUnused nothing changes");
    assert_eq!((plan.active_keys, plan.users_with_two_active_keys), (3, 1));
    let ids: Vec<&str> = plan.keys.iter().map(|k| k.access_key_id.as_str()).collect();
    assert_eq!(ids, ["AKIANEVER00000000001", "AKIAOLD0000000000001"], "the fresh key is no finding; most unused first");
    assert_eq!(plan.count(|k| k.last_used.is_none()), 1);
}

#[test]
fn a_key_id_too_long_for_a_tag_key_is_reported_and_never_marked() {
    let long = "A".repeat(120);
    let plan = enforce(vec![user("ci", vec![key(&long, 400, None)])]);
    assert_eq!(plan.actions, []);
    assert_eq!(plan.keys[0].action, None);
    assert!(mark_key("AKIA0000000000000001").is_some_and(|k| k.len() <= 128));
}

#[test]
fn audit_and_a_policy_that_is_not_the_manager_plan_no_actions() {
    let users = || vec![user("ci", vec![key("AKIAUNUSED0000000001", 400, None)])];
    let audit = plan(POLICY, &desired(), &inv(users()), NOW, false, None);
    assert_eq!((audit.drift.len(), audit.actions.len()), (1, 0));
    let yielding = plan(POLICY, &desired(), &inv(users()), NOW, true, Some("a-policy"));
    assert_eq!((yielding.drift.len(), yielding.actions.len()), (1, 0));
    assert_eq!(yielding.managed_by.as_deref(), Some("a-policy"));
}

#[test]
fn a_user_with_iams_50_tags_is_reported_never_marked_nor_deactivated() {
    let mut full = user("full", vec![key("AKIAFULL000000000001", 400, None)]);
    for i in 0..50 {
        full.tags.insert(format!("team-{i}"), "x".into());
    }
    let mut one_left = user("one-left", vec![key("AKIAONE0000000000001", 400, None), key("AKIAONE0000000000002", 400, None)]);
    for i in 0..49 {
        one_left.tags.insert(format!("team-{i}"), "x".into());
    }
    let plan = enforce(vec![full, one_left]);
    let marked: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|c| match c {
            AccessKeysChange::MarkUser { access_key_id, .. } => Some(access_key_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(marked, ["AKIAONE0000000000001"], "the 50th tag is the last one a user can take");
    assert_eq!(plan.not_markable, 2);
}

#[test]
fn a_mark_names_its_policy_and_a_name_too_long_for_iam_is_cut_consistently() {
    let long = "p".repeat(253);
    let value = mark_value(NOW, &long);
    assert_eq!(value.len(), 256, "IAM tag values are at most 256 characters");
    assert!(is_marked_by(&value, &long));
    assert!(!is_marked_by(&mark_value(NOW, "keys"), "key"), "a policy whose name is a prefix of another's");
    assert!(!is_marked_by(&rfc3339(NOW), "keys"), "a bare time names no policy");
    assert!(!is_marked_by("soon by keys", "keys"));
}

#[test]
fn a_mark_of_another_policy_or_a_bare_time_is_still_honoured() {
    let mut other = user("a", vec![key("AKIAOTHER00000000001", 400, None)]);
    other.tags.insert(format!("{MARK_PREFIX}AKIAOTHER00000000001"), mark_value(NOW - 60, "other-policy"));
    let mut bare = user("b", vec![key("AKIABARE000000000001", 400, None)]);
    bare.tags.insert(format!("{MARK_PREFIX}AKIABARE000000000001"), rfc3339(NOW - 60));
    let plan = enforce(vec![other, bare]);
    let deactivated: Vec<&str> = plan
        .actions
        .iter()
        .filter_map(|c| match c {
            AccessKeysChange::DeactivateKey { access_key_id, .. } => Some(access_key_id.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(deactivated, ["AKIAOTHER00000000001", "AKIABARE000000000001"], "the owner was told the date: the promise is kept");
}

#[test]
fn cleanup_removes_only_the_policys_own_marks() {
    let mut mixed = marked(
        user("a", vec![key("AKIAMINE000000000001", 400, None), key("AKIATHEIRS0000000001", 400, None)]),
        "AKIAMINE000000000001",
        NOW,
    );
    mixed.tags.insert(format!("{MARK_PREFIX}AKIATHEIRS0000000001"), mark_value(NOW, "other"));
    mixed.tags.insert("team".into(), "data".into());
    let theirs_only = marked(user("b", vec![key("AKIAB000000000000001", 400, None)]), "AKIAB000000000000001", NOW);
    let mut theirs_only = theirs_only;
    theirs_only.tags.insert(format!("{MARK_PREFIX}AKIAB000000000000001"), mark_value(NOW, "other"));
    let unmarked = user("c", vec![key("AKIAC000000000000001", 400, None)]);
    assert_eq!(
        plan_cleanup(POLICY, &inv(vec![unmarked, theirs_only, mixed])),
        [AccessKeysChange::UnmarkUser { user_name: "a".into(), tag_keys: vec![format!("{MARK_PREFIX}AKIAMINE000000000001")] }]
    );
}

fn arb_key() -> impl Strategy<Value = AccessKey> {
    ("AKIA[0-9]{4}", any::<bool>(), 0i64..1000, prop::option::of(0i64..1000)).prop_map(|(id, active, age, used)| {
        let mut k = key(&id, age, used.map(|u| u.min(age)));
        k.active = active;
        k
    })
}

fn arb_user() -> impl Strategy<Value = IamUser> {
    (
        prop::sample::select(vec!["operator", "break-glass", "ci", "app", "dev"]),
        prop::collection::vec(arb_key(), 0..3),
        any::<bool>(),
        prop::collection::vec(("AKIA[0-9]{4}", -30i64..30), 0..3),
    )
        .prop_map(|(name, keys, keep, marks)| {
            let mut u = user(name, keys);
            if keep {
                u.tags.insert("frugal.dev/keep".into(), "true".into());
            }
            for (id, at) in marks {
                u = marked(u, &id, NOW + at * DAY);
            }
            u
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn only_unused_active_keys_of_users_in_scope_are_deactivated_and_never_more_than_the_cap(
        users in prop::collection::vec(arb_user(), 0..6), cap in 1u32..4, grace_days in 0u64..10, enforce in any::<bool>()
    ) {
        // IAM user names are unique.
        let mut seen = BTreeSet::new();
        let users: Vec<IamUser> = users.into_iter().filter(|u| seen.insert(u.name.clone())).collect();
        let mut d = desired();
        d.max_deactivations_per_run = cap;
        d.grace_period = Duration::from_secs(grace_days * DAY as u64);
        let plan = plan(POLICY, &d, &inv(users.clone()), NOW, enforce, None);
        if !enforce {
            prop_assert!(plan.actions.is_empty());
        }
        let mut deactivated = 0;
        for change in &plan.actions {
            let user = users.iter().find(|u| u.name == change.user_name()).expect("a planned user exists");
            prop_assert!(!d.excludes(&user.name, &user.tags), "excluded user changed: {change:?}");
            prop_assert!(user.name != "operator", "the caller's own user changed: {change:?}");
            match change {
                AccessKeysChange::DeactivateKey { access_key_id, mark, .. } => {
                    deactivated += 1;
                    let key = user.keys.iter().find(|k| &k.id == access_key_id).expect("the key exists");
                    prop_assert!(key.active);
                    let last = key.last_used.as_ref().map_or(key.created, |u| u.at);
                    prop_assert!(NOW - last >= i64::from(d.max_unused_days) * DAY, "a key used within maxUnusedDays");
                    // With a grace period, only a key whose mark has passed.
                    if grace_days > 0 {
                        let at = mark.as_ref().and_then(|m| user.tags.get(m)).and_then(|v| parse_rfc3339(v));
                        prop_assert!(at.is_some_and(|at| at <= NOW), "deactivated before its grace period: {change:?}");
                    }
                }
                AccessKeysChange::MarkUser { tag_key, .. } => prop_assert!(tag_key.starts_with(MARK_PREFIX) && tag_key.len() <= 128),
                AccessKeysChange::UnmarkUser { tag_keys, .. } => prop_assert!(tag_keys.iter().all(|k| k.starts_with(MARK_PREFIX))),
            }
        }
        prop_assert!(deactivated <= cap as usize);
    }
}
