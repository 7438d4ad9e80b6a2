//! IAM user access keys. Safety rule 8 lives here: a key is never deleted; it is
//! deactivated only when it is active and unused for maxUnusedDays, after a grace period
//! during which its user carries a mark naming the key, never when it belongs to the
//! identity the operator runs as or to an excluded user, and at most
//! maxDeactivationsPerRun a run. A key used again meanwhile is spared (its mark removed).
//! Rule 13: IAM is global, so only one policy per account acts (see `conflicts`).
//! Audit plans nothing.

use std::collections::BTreeMap;

use crate::api::validate::AccessKeysDesired;

use super::Tags;
use super::snapshot_retention::{parse_rfc3339, rfc3339};

/// The prefix of the tag that marks a user's key for deactivation; the key id follows, the
/// value is [`mark_value`]: the time (RFC 3339) after which the key is deactivated and the
/// policy that marked it (`2026-12-09T10:00:00Z by prod-keys`).
pub const MARK_PREFIX: &str = "frugal.dev/deactivate-";
/// IAM tag keys are at most 128 characters, values 256; a user has at most 50 tags.
const MAX_TAG_KEY: usize = 128;
const MAX_USER_TAGS: usize = 50;
const MAX_TAG_VALUE: usize = 256;
const MARKED_BY: &str = " by ";
const DAY: i64 = 86_400;

/// A mark's value. It names the policy so that the policy's cleanup removes its own marks
/// and no other's; a policy name too long for IAM's tag value is cut (here and where marks
/// are matched, so the match still holds).
pub fn mark_value(deactivate_after: i64, policy: &str) -> String {
    let mut value = format!("{}{MARKED_BY}{policy}", rfc3339(deactivate_after));
    if value.len() > MAX_TAG_VALUE {
        // Policy names are DNS subdomains (ASCII): any byte is a char boundary.
        value.truncate(MAX_TAG_VALUE);
    }
    value
}

/// When a mark's key is deactivated: the time that starts its value (None when someone edited
/// it into something else).
fn mark_time(value: &str) -> Option<i64> {
    parse_rfc3339(value.split(' ').next().unwrap_or(value))
}

/// True when the mark was set by `policy`.
pub fn is_marked_by(value: &str, policy: &str) -> bool {
    mark_time(value).is_some_and(|at| value == mark_value(at, policy))
}

/// The mark's tag key for a key, when it fits IAM's tag key limit.
pub fn mark_key(access_key_id: &str) -> Option<String> {
    let key = format!("{MARK_PREFIX}{access_key_id}");
    (key.len() <= MAX_TAG_KEY).then_some(key)
}

/// Where and when a key was last used.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LastUse {
    /// Unix seconds.
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// One access key of a user.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessKey {
    pub id: String,
    /// Status Active (else Inactive).
    pub active: bool,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// None when the key was never used (AWS has no LastUsedDate).
    pub last_used: Option<LastUse>,
}

/// An IAM user with its keys and tags.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IamUser {
    pub name: String,
    pub tags: Tags,
    pub keys: Vec<AccessKey>,
}

/// Everything this area needs to decide. Built only when every source was read in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AccessKeysInventory {
    pub users: Vec<IamUser>,
    /// The ARN of the identity the operator runs as (sts GetCallerIdentity).
    pub caller_arn: String,
}

/// The IAM user the operator runs as, when it runs as one (`arn:…:user/[path/]name`; moto
/// answers with an `sts` ARN of the same shape).
pub fn caller_user(caller_arn: &str) -> Option<&str> {
    let resource = caller_arn.splitn(6, ':').nth(5)?;
    resource.strip_prefix("user/").map(|path| path.rsplit('/').next().unwrap_or(path))
}

/// A change to AWS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum AccessKeysChange {
    /// Tag the user with the key's mark (`tag_value`, see [`mark_value`]): the key is
    /// deactivated after `deactivate_after`.
    MarkUser { user_name: String, access_key_id: String, tag_key: String, tag_value: String, deactivate_after: String },
    /// UpdateAccessKey Status=Inactive, then remove the key's mark when there is one.
    DeactivateKey { user_name: String, access_key_id: String, unused_days: u32, mark: Option<String> },
    /// Remove marks of keys that are no longer to be deactivated (used again, already
    /// inactive or gone, or deactivateUnused turned off).
    UnmarkUser { user_name: String, tag_keys: Vec<String> },
}

impl AccessKeysChange {
    /// One line for `frugal plan` and Events.
    pub fn describe(&self) -> String {
        match self {
            AccessKeysChange::MarkUser { user_name, access_key_id, deactivate_after, .. } => {
                format!("mark user {user_name}: key {access_key_id} unused, deactivated after {deactivate_after} unless used")
            }
            AccessKeysChange::DeactivateKey { user_name, access_key_id, unused_days, .. } => {
                format!("deactivate key {access_key_id} of user {user_name} (unused for {unused_days} days; not deleted)")
            }
            AccessKeysChange::UnmarkUser { user_name, tag_keys } => {
                let keys: Vec<&str> = tag_keys.iter().map(|k| k.strip_prefix(MARK_PREFIX).unwrap_or(k)).collect();
                format!("unmark user {user_name}: key {} spared", keys.join(", "))
            }
        }
    }

    pub fn user_name(&self) -> &str {
        match self {
            AccessKeysChange::MarkUser { user_name, .. }
            | AccessKeysChange::DeactivateKey { user_name, .. }
            | AccessKeysChange::UnmarkUser { user_name, .. } => user_name,
        }
    }
}

/// Where a key stands before the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KeyState {
    /// A finding nothing is done about (yet).
    Reported,
    /// Its user carries the key's mark.
    Marked,
    /// The key of the identity the operator runs as: never deactivated.
    Excluded,
}

/// What the plan does to a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum KeyAction {
    Mark,
    Deactivate,
    /// Its mark is removed: the key was used again.
    Spare,
}

/// An active key of a user in scope with a finding, or one the plan changes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyReport {
    pub user_name: String,
    pub access_key_id: String,
    pub age_days: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used: Option<LastUse>,
    /// Days since the last use (never used: since creation).
    pub unused_days: u32,
    pub over_age: bool,
    pub unused: bool,
    pub state: KeyState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<KeyAction>,
}

impl KeyReport {
    pub fn is_finding(&self) -> bool {
        self.over_age || self.unused || self.last_used.is_none()
    }
}

/// The plan for one policy's accessKeys section.
#[derive(Clone, Debug, PartialEq)]
pub struct AccessKeysPlan {
    pub drift: Vec<AccessKeysChange>,
    /// The changes to execute: the drift in Enforce mode, nothing in Audit mode or when
    /// another policy of the account manages access keys.
    pub actions: Vec<AccessKeysChange>,
    pub users_in_scope: u32,
    /// Active keys of the users in scope.
    pub active_keys: u32,
    pub users_with_two_active_keys: u32,
    /// Keys of the caller's own user (never changed).
    pub own_keys_excluded: u32,
    /// Unused keys due for deactivation left for a later run by maxDeactivationsPerRun.
    pub deactivations_deferred: u32,
    /// Unused keys due for a mark that cannot get one (the user has IAM's 50 tags, or the key
    /// id is too long for a tag key): reported, never deactivated.
    pub not_markable: u32,
    /// The policy (smallest name) that manages access keys of this account instead.
    pub managed_by: Option<String>,
    /// Findings and changed keys, riskiest first (most unused days, then user and key).
    pub keys: Vec<KeyReport>,
}

impl AccessKeysPlan {
    pub fn count(&self, wanted: impl Fn(&KeyReport) -> bool) -> u32 {
        self.keys.iter().filter(|k| wanted(k)).count() as u32
    }
}

/// Whole days from `from` to `to`, zero when `from` is later.
fn days_between(from: i64, to: i64) -> u32 {
    u32::try_from((to - from).max(0) / DAY).unwrap_or(u32::MAX)
}

/// Plans `policy`'s accessKeys area at `now` (Unix seconds); `enforce` false is Audit mode;
/// `managed_by` names the policy that acts on this account's IAM users instead of this one.
pub fn plan(
    policy: &str,
    desired: &AccessKeysDesired,
    inventory: &AccessKeysInventory,
    now: i64,
    enforce: bool,
    managed_by: Option<&str>,
) -> AccessKeysPlan {
    let own_user = caller_user(&inventory.caller_arn);
    let grace = i64::try_from(desired.grace_period.as_secs()).unwrap_or(i64::MAX / 2);
    let mut users: Vec<&IamUser> = inventory.users.iter().filter(|u| !desired.excludes(&u.name, &u.tags)).collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));

    let mut drift = Vec::new();
    let mut deactivations = Vec::new();
    let mut keys = Vec::new();
    let (mut active_keys, mut two_active, mut own_keys, mut not_markable) = (0, 0, 0, 0);
    for user in &users {
        let own = own_user == Some(user.name.as_str());
        let marks: BTreeMap<&str, &str> =
            user.tags.iter().filter_map(|(k, v)| k.strip_prefix(MARK_PREFIX).map(|id| (id, v.as_str()))).collect();
        let mut user_keys: Vec<&AccessKey> = user.keys.iter().collect();
        user_keys.sort_by(|a, b| a.id.cmp(&b.id));
        let active: Vec<&AccessKey> = user_keys.iter().copied().filter(|k| k.active).collect();
        active_keys += active.len() as u32;
        if active.len() >= 2 {
            two_active += 1;
        }
        if own {
            own_keys += active.len() as u32;
        }
        let mut unmark = Vec::new();
        let mut marks_added = 0;
        for key in &active {
            let last = key.last_used.as_ref().map_or(key.created, |u| u.at);
            let unused_days = days_between(last, now);
            let unused = now - last >= i64::from(desired.max_unused_days) * DAY;
            let mark = marks.get(key.id.as_str()).copied();
            let state = match (own, mark) {
                (true, _) => KeyState::Excluded,
                (false, Some(_)) => KeyState::Marked,
                (false, None) => KeyState::Reported,
            };
            let due = !own && unused && desired.deactivate_unused;
            let action = match (due, mark) {
                // Own keys are left alone, marks included.
                _ if own => None,
                (true, Some(at)) => match mark_time(at) {
                    Some(at) if at <= now => Some(KeyAction::Deactivate),
                    Some(_) => None,
                    // A mark someone edited: set it again, the grace period starts over.
                    None => Some(KeyAction::Mark),
                },
                (true, None) if grace == 0 => Some(KeyAction::Deactivate),
                (true, None) => Some(KeyAction::Mark),
                (false, Some(_)) => Some(KeyAction::Spare),
                (false, None) => None,
            };
            let tag_key = mark_key(&key.id);
            // A key that cannot be marked (its user has IAM's 50 tags, or its id is too long for
            // a tag key) is never deactivated: the mark is the owner's warning.
            let action = match action {
                Some(KeyAction::Mark) if tag_key.is_none() || user.tags.len() + marks_added >= MAX_USER_TAGS => {
                    not_markable += 1;
                    None
                }
                Some(KeyAction::Mark) => {
                    marks_added += 1;
                    Some(KeyAction::Mark)
                }
                other => other,
            };
            match (action, &tag_key) {
                (Some(KeyAction::Mark), Some(tag_key)) => drift.push(AccessKeysChange::MarkUser {
                    user_name: user.name.clone(),
                    access_key_id: key.id.clone(),
                    tag_key: tag_key.clone(),
                    tag_value: mark_value(now.saturating_add(grace), policy),
                    deactivate_after: rfc3339(now.saturating_add(grace)),
                }),
                (Some(KeyAction::Deactivate), _) => deactivations.push(AccessKeysChange::DeactivateKey {
                    user_name: user.name.clone(),
                    access_key_id: key.id.clone(),
                    unused_days,
                    mark: mark.map(|_| format!("{MARK_PREFIX}{}", key.id)),
                }),
                (Some(KeyAction::Spare), _) => unmark.push(format!("{MARK_PREFIX}{}", key.id)),
                _ => {}
            }
            let report = KeyReport {
                user_name: user.name.clone(),
                access_key_id: key.id.clone(),
                age_days: days_between(key.created, now),
                last_used: key.last_used.clone(),
                unused_days,
                over_age: now - key.created > i64::from(desired.max_key_age_days) * DAY,
                unused,
                state,
                action,
            };
            if report.is_finding() || report.action.is_some() {
                keys.push(report);
            }
        }
        // Marks of keys that are inactive or gone: nothing left to deactivate.
        if !own {
            let active_ids: Vec<&str> = active.iter().map(|k| k.id.as_str()).collect();
            unmark.extend(marks.keys().filter(|id| !active_ids.contains(id)).map(|id| format!("{MARK_PREFIX}{id}")));
        }
        if !unmark.is_empty() {
            unmark.sort();
            drift.push(AccessKeysChange::UnmarkUser { user_name: user.name.clone(), tag_keys: unmark });
        }
    }

    // The riskiest deactivations first, within the cap; the rest stay marked for a later run.
    let unused_of = |c: &AccessKeysChange| match c {
        AccessKeysChange::DeactivateKey { unused_days, .. } => *unused_days,
        _ => 0,
    };
    deactivations.sort_by(|a, b| unused_of(b).cmp(&unused_of(a)).then_with(|| a.user_name().cmp(b.user_name())));
    let cap = desired.max_deactivations_per_run as usize;
    let deferred: Vec<AccessKeysChange> = deactivations.split_off(cap.min(deactivations.len()));
    for change in &deferred {
        if let AccessKeysChange::DeactivateKey { access_key_id, .. } = change
            && let Some(report) = keys.iter_mut().find(|k| &k.access_key_id == access_key_id)
        {
            report.action = None;
        }
    }
    drift.extend(deactivations);

    keys.sort_by(|a, b| {
        b.unused_days.cmp(&a.unused_days).then_with(|| a.user_name.cmp(&b.user_name)).then_with(|| a.access_key_id.cmp(&b.access_key_id))
    });
    let actions = if enforce && managed_by.is_none() { drift.clone() } else { Vec::new() };
    AccessKeysPlan {
        drift,
        actions,
        users_in_scope: users.len() as u32,
        active_keys,
        users_with_two_active_keys: two_active,
        own_keys_excluded: own_keys,
        deactivations_deferred: deferred.len() as u32,
        not_markable,
        managed_by: managed_by.map(str::to_string),
        keys,
    }
}

/// What deletionPolicy Delete removes: the marks `policy` set, which promise a deactivation
/// that will no longer happen. Keys are left as they are (a deactivated key stays so: turning
/// it back on is a person's decision), and so are other policies' marks.
pub fn plan_cleanup(policy: &str, inventory: &AccessKeysInventory) -> Vec<AccessKeysChange> {
    let mut users: Vec<&IamUser> = inventory.users.iter().collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users
        .into_iter()
        .filter_map(|user| {
            let tag_keys: Vec<String> =
                user.tags.iter().filter(|(k, v)| k.starts_with(MARK_PREFIX) && is_marked_by(v, policy)).map(|(k, _)| k.clone()).collect();
            (!tag_keys.is_empty()).then(|| AccessKeysChange::UnmarkUser { user_name: user.name.clone(), tag_keys })
        })
        .collect()
}

#[cfg(test)]
mod tests;
