//! EBS snapshot retention. Safety rules enforced here: a protected snapshot (AMI, launch
//! template, AWS Backup, Data Lifecycle Manager, locked, not completed, excluded) is never
//! deleted (rule 2); the newest N completed snapshots of each volume survive, also for
//! volumes that are gone; no run deletes more than the cap, and with a grace period a
//! snapshot is tagged first and deleted only on a later run (rule 3); Audit plans nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::api::carries_all;
use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::SnapshotRetentionDesired;
use crate::pricing::{PriceItem, Prices};

use super::Tags;

/// AWS puts this volume id on snapshots whose source volume is unknown (copies).
const UNKNOWN_VOLUME: &str = "vol-ffffffff";
const SECONDS_PER_DAY: i64 = 86_400;

/// One snapshot the account owns, as far as retention cares.
#[derive(Clone, Debug, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: Option<String>,
    pub volume_size_gib: u32,
    /// Start time, Unix seconds.
    pub start_time: i64,
    /// pending, completed, error, recoverable, recovering.
    pub state: String,
    pub description: String,
    pub tags: Tags,
}

/// Everything retention needs to decide. Built only when every source was read in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SnapshotRetentionInventory {
    /// Snapshots owned by the account that match the selector: shared, not copied, with the
    /// observation cache and the other policies of the account (100,000 of them are tens of MiB).
    pub snapshots: Arc<Vec<Snapshot>>,
    /// Snapshots behind AMIs the account owns.
    pub ami_snapshots: BTreeSet<String>,
    /// Snapshots named by block device mappings of any launch template version.
    pub launch_template_snapshots: BTreeSet<String>,
    /// Snapshots under an EBS snapshot lock.
    pub locked_snapshots: BTreeSet<String>,
}

/// Why a snapshot that is otherwise expired is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Protection {
    NotCompleted,
    Locked,
    ManagedByBackup,
    ManagedByDlm,
    UsedByAmi,
    UsedByLaunchTemplate,
    Excluded,
    /// Expired for this policy, but a conflicting policy whose scope holds it keeps it.
    RetainedByOtherPolicy,
}

impl Protection {
    pub const ALL: [Protection; 8] = [
        Protection::NotCompleted,
        Protection::Locked,
        Protection::ManagedByBackup,
        Protection::ManagedByDlm,
        Protection::UsedByAmi,
        Protection::UsedByLaunchTemplate,
        Protection::Excluded,
        Protection::RetainedByOtherPolicy,
    ];

    /// The protection `describe` names, if any.
    pub fn described_as(text: &str) -> Option<Protection> {
        Protection::ALL.into_iter().find(|p| p.describe() == text)
    }

    pub fn describe(self) -> &'static str {
        match self {
            Protection::NotCompleted => "not completed",
            Protection::Locked => "locked (EBS snapshot lock)",
            Protection::ManagedByBackup => "managed by AWS Backup",
            Protection::ManagedByDlm => "managed by Data Lifecycle Manager",
            Protection::UsedByAmi => "backs an AMI",
            Protection::UsedByLaunchTemplate => "named by a launch template",
            Protection::Excluded => "excluded by tag",
            Protection::RetainedByOtherPolicy => "retained by a conflicting policy",
        }
    }
}

/// A change to AWS.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum SnapshotRetentionChange {
    /// Tag expired snapshots with the time after which they may be deleted.
    TagExpiring { snapshot_ids: Vec<String>, expires_at: String },
    /// Remove the expiry tag from snapshots that are no longer expired.
    RemoveExpiringTag { snapshot_ids: Vec<String> },
    /// Delete one snapshot.
    Delete { snapshot_id: String, volume_size_gib: u32, age_days: i64 },
}

impl SnapshotRetentionChange {
    /// How many snapshots the change touches: the unit `frugal plan` and `apply` count in.
    pub fn snapshots(&self) -> usize {
        match self {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, .. } | SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                snapshot_ids.len()
            }
            SnapshotRetentionChange::Delete { .. } => 1,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, expires_at } => {
                format!("tag {} snapshots {TAG_EXPIRES_AT}={expires_at}", snapshot_ids.len())
            }
            SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                format!("remove {TAG_EXPIRES_AT} from {} snapshots", snapshot_ids.len())
            }
            SnapshotRetentionChange::Delete { snapshot_id, volume_size_gib, age_days } => {
                format!("delete {snapshot_id} ({volume_size_gib} GiB, {age_days} days old)")
            }
        }
    }
}

/// What retention decided about one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Verdict {
    /// Within the retention rules.
    Retained,
    /// Expired but protected.
    Protected(Protection),
    /// Expired; tagged (now or earlier), deletion due after this time.
    Expiring { expires_at: String },
    /// Expired and due: deleted in this run.
    Delete,
    /// Expired and due, but over this run's cap.
    Pending,
}

/// The plan for one policy's snapshotRetention section.
#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotRetentionPlan {
    pub drift: Vec<SnapshotRetentionChange>,
    /// The changes to execute: the drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<SnapshotRetentionChange>,
    pub evaluated: u32,
    pub retained: u32,
    pub protected: BTreeMap<Protection, u32>,
    /// Tagged and waiting for their grace period (including those tagged by this plan).
    pub expiring: u32,
    /// Earliest time an expiring snapshot becomes due (RFC 3339).
    pub earliest_deletion: Option<String>,
    /// Due but over the cap.
    pub pending: u32,
    /// GiB of volume size of every expired, unprotected snapshot (upper bound of its storage).
    pub expired_gib: u64,
    /// Per-snapshot verdicts, for `frugal plan` (ids sorted).
    pub verdicts: Vec<(String, Verdict)>,
    /// The run's prices: what the expired storage is worth.
    pub prices: Prices,
}

impl SnapshotRetentionPlan {
    pub fn deletions(&self) -> impl Iterator<Item = &SnapshotRetentionChange> {
        self.drift.iter().filter(|c| matches!(c, SnapshotRetentionChange::Delete { .. }))
    }

    /// Findings: expired snapshots not yet deleted (expiring, due or pending).
    pub fn findings(&self) -> u32 {
        self.expiring + self.pending + self.deletions().count() as u32
    }

    pub fn monthly_waste_usd(&self) -> f64 {
        self.expired_gib as f64 * self.prices.usd(PriceItem::SnapshotGbMonth)
    }
}

/// Protection of a snapshot, if any, in a fixed order (the reason counted in status).
pub fn protection(snapshot: &Snapshot, inventory: &SnapshotRetentionInventory, exclude: &BTreeMap<String, String>) -> Option<Protection> {
    if snapshot.state != "completed" {
        return Some(Protection::NotCompleted);
    }
    if inventory.locked_snapshots.contains(&snapshot.id) {
        return Some(Protection::Locked);
    }
    if is_backup_managed(snapshot) {
        return Some(Protection::ManagedByBackup);
    }
    if snapshot.tags.keys().any(|k| k.starts_with("aws:dlm:")) {
        return Some(Protection::ManagedByDlm);
    }
    if inventory.ami_snapshots.contains(&snapshot.id) {
        return Some(Protection::UsedByAmi);
    }
    if inventory.launch_template_snapshots.contains(&snapshot.id) {
        return Some(Protection::UsedByLaunchTemplate);
    }
    if !exclude.is_empty() && carries_all(&snapshot.tags, exclude) {
        return Some(Protection::Excluded);
    }
    None
}

fn is_backup_managed(snapshot: &Snapshot) -> bool {
    snapshot.tags.keys().any(|k| k.starts_with("aws:backup:")) || snapshot.description.contains("AWS Backup")
}

/// Snapshots that are never among the newest `keep` completed ones of their volume.
fn beyond_newest<'a>(snapshots: &[&'a Snapshot], keep: u32) -> BTreeSet<&'a str> {
    let mut by_volume: BTreeMap<&str, Vec<&Snapshot>> = BTreeMap::new();
    for s in snapshots.iter().copied().filter(|s| s.state == "completed") {
        // Copies carry a placeholder volume id: each is its own group, so it is always kept.
        let volume = match s.volume_id.as_deref() {
            Some(v) if v != UNKNOWN_VOLUME => v,
            _ => s.id.as_str(),
        };
        by_volume.entry(volume).or_default().push(s);
    }
    let mut beyond = BTreeSet::new();
    for group in by_volume.values_mut() {
        // Newest first; ties by id so the choice is stable.
        group.sort_by(|a, b| b.start_time.cmp(&a.start_time).then_with(|| b.id.cmp(&a.id)));
        beyond.extend(group.iter().skip(keep as usize).map(|s| s.id.as_str()));
    }
    beyond
}

/// Formats Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds).map(|t| t.to_string()).unwrap_or_else(|_| "invalid".to_string())
}

/// Parses RFC 3339 into Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// One policy's retention rules over the snapshots its selector holds.
struct Retention<'a> {
    desired: &'a SnapshotRetentionDesired,
    /// The snapshots its selector holds.
    in_scope: Vec<&'a Snapshot>,
    /// Snapshots beyond the newest N of their volume, when count-based retention is set.
    beyond: Option<BTreeSet<&'a str>>,
}

impl<'a> Retention<'a> {
    fn new(desired: &'a SnapshotRetentionDesired, snapshots: &'a [Snapshot]) -> Self {
        let in_scope: Vec<&Snapshot> = snapshots.iter().filter(|s| selects(desired, s)).collect();
        let beyond = desired.keep_latest_per_volume.map(|keep| beyond_newest(&in_scope, keep));
        Self { desired, in_scope, beyond }
    }

    /// Expired by age and count (protections aside).
    fn expired(&self, snapshot: &Snapshot, now: i64) -> bool {
        let too_old = self.desired.max_age_days.map(|days| now - snapshot.start_time > i64::from(days) * SECONDS_PER_DAY);
        let not_newest = self.beyond.as_ref().map(|b| b.contains(snapshot.id.as_str()));
        match (too_old, not_newest) {
            (Some(a), Some(b)) => a && b,
            (Some(a), None) => a,
            (None, Some(b)) => b,
            (None, None) => false,
        }
    }
}

fn selects(desired: &SnapshotRetentionDesired, snapshot: &Snapshot) -> bool {
    carries_all(&snapshot.tags, &desired.selector)
}

/// Plans snapshot retention. `now` is Unix seconds; `enforce` false is Audit mode.
pub fn plan(desired: &SnapshotRetentionDesired, inventory: &SnapshotRetentionInventory, now: i64, enforce: bool) -> SnapshotRetentionPlan {
    plan_with_peers(desired, &[], inventory, now, enforce)
}

/// Plans snapshot retention next to conflicting policies (`peers`): the stricter safety wins,
/// so a snapshot expires only if every peer whose selector holds it would expire it too
/// (by its own age, count and exclusion rules); otherwise it is retained by the other policy.
///
/// A peer's count rule is judged over the snapshots of this inventory (those this policy
/// selects): that can only make the peer keep more, never less.
pub fn plan_with_peers(
    desired: &SnapshotRetentionDesired,
    peers: &[SnapshotRetentionDesired],
    inventory: &SnapshotRetentionInventory,
    now: i64,
    enforce: bool,
) -> SnapshotRetentionPlan {
    let own = Retention::new(desired, &inventory.snapshots);
    let peers: Vec<Retention> = peers.iter().map(|peer| Retention::new(peer, &inventory.snapshots)).collect();
    let retained_by_peer = |snapshot: &Snapshot| {
        peers.iter().any(|peer| {
            selects(peer.desired, snapshot)
                && (!peer.expired(snapshot, now) || protection(snapshot, inventory, &peer.desired.exclude).is_some())
        })
    };
    let grace = desired.grace_period.as_secs() as i64;

    let mut verdicts = Vec::with_capacity(own.in_scope.len());
    let mut to_tag = Vec::new();
    let mut to_untag = Vec::new();
    let mut due: Vec<&Snapshot> = Vec::new();
    let mut expiring_times = Vec::new();
    let mut protected: BTreeMap<Protection, u32> = BTreeMap::new();
    let mut expired_gib = 0u64;
    let expires_at_new = rfc3339(now + grace);

    for snapshot in &own.in_scope {
        let expired = own.expired(snapshot, now);
        let tag = snapshot.tags.get(TAG_EXPIRES_AT);
        let verdict = if !expired {
            if tag.is_some() {
                to_untag.push(snapshot.id.clone());
            }
            Verdict::Retained
        } else if let Some(reason) = protection(snapshot, inventory, &desired.exclude)
            .or_else(|| retained_by_peer(snapshot).then_some(Protection::RetainedByOtherPolicy))
        {
            if tag.is_some() {
                to_untag.push(snapshot.id.clone());
            }
            *protected.entry(reason).or_default() += 1;
            Verdict::Protected(reason)
        } else {
            expired_gib += u64::from(snapshot.volume_size_gib);
            match tag.and_then(|t| parse_rfc3339(t)) {
                Some(at) if at <= now => {
                    due.push(snapshot);
                    Verdict::Delete
                }
                Some(at) => {
                    expiring_times.push(at);
                    Verdict::Expiring { expires_at: rfc3339(at) }
                }
                None if grace == 0 => {
                    // Tagged even without a grace period, so that only snapshots carrying the
                    // expiry tag are ever deleted (the IAM policy can then require it).
                    to_tag.push(snapshot.id.clone());
                    due.push(snapshot);
                    Verdict::Delete
                }
                None => {
                    // Missing or unreadable tag: the grace period starts now.
                    to_tag.push(snapshot.id.clone());
                    expiring_times.push(now + grace);
                    Verdict::Expiring { expires_at: expires_at_new.clone() }
                }
            }
        };
        verdicts.push((snapshot.id.clone(), verdict));
    }

    // Oldest first within the cap; the rest wait for the next run.
    due.sort_by(|a, b| a.start_time.cmp(&b.start_time).then_with(|| a.id.cmp(&b.id)));
    let cap = desired.max_deletions_per_run as usize;
    let pending_ids: BTreeSet<&str> = due.iter().skip(cap).map(|s| s.id.as_str()).collect();
    for (id, verdict) in &mut verdicts {
        if pending_ids.contains(id.as_str()) {
            *verdict = Verdict::Pending;
        }
    }
    verdicts.sort_by(|a, b| a.0.cmp(&b.0));

    let mut drift = Vec::new();
    if !to_untag.is_empty() {
        to_untag.sort();
        drift.push(SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids: to_untag });
    }
    if !to_tag.is_empty() {
        to_tag.sort();
        drift.push(SnapshotRetentionChange::TagExpiring { snapshot_ids: to_tag, expires_at: expires_at_new });
    }
    for snapshot in due.iter().take(cap) {
        drift.push(SnapshotRetentionChange::Delete {
            snapshot_id: snapshot.id.clone(),
            volume_size_gib: snapshot.volume_size_gib,
            age_days: (now - snapshot.start_time) / SECONDS_PER_DAY,
        });
    }
    let actions = if enforce { drift.clone() } else { Vec::new() };
    let retained = verdicts.iter().filter(|(_, v)| *v == Verdict::Retained).count() as u32;
    SnapshotRetentionPlan {
        drift,
        actions,
        evaluated: own.in_scope.len() as u32,
        retained,
        protected,
        expiring: expiring_times.len() as u32,
        earliest_deletion: expiring_times.iter().min().map(|t| rfc3339(*t)),
        pending: pending_ids.len() as u32,
        expired_gib,
        verdicts,
        prices: Prices::default(),
    }
}

#[cfg(test)]
mod tests;
