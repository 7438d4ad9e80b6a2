//! AWS Backup: vault, plan rules and selection kept as the spec declares. Safety rules
//! enforced here: Audit plans nothing (rule 1); every create carries a CreatorRequestId
//! derived from the policy (rule 6); a plan this policy did not create is changed only when
//! the spec adopts it; a differing selection is replaced by creating the new one first and
//! deleting the old one after, so the resources are never left without a selection.

use std::collections::{BTreeMap, BTreeSet};

use crate::api::validate::cron;
use crate::api::validate::{BackupDesired, BackupRuleDesired, SelectionDesired};
use crate::pricing::{PriceItem, Prices};

use super::token::idempotency_token;
use super::{Tags, is_owned_by, ownership_tags};

/// At most this many uncovered resources are listed; the rest are counted.
pub const MAX_LISTED_UNCOVERED: usize = 20;
const DEFAULT_START_WINDOW: u32 = 480;
const DEFAULT_COMPLETION_WINDOW: u32 = 10080;

/// A backup vault.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BackupVault {
    pub name: String,
    pub arn: String,
    pub tags: Tags,
    pub recovery_points: u64,
}

/// A rule as AWS holds it (or as the spec wants it).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanRule {
    pub name: String,
    pub target_vault: String,
    pub schedule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_window_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_window_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_after_days: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cold_after_days: Option<u32>,
}

impl PlanRule {
    fn desired(rule: &BackupRuleDesired, vault: &str) -> Self {
        PlanRule {
            name: rule.name.clone(),
            target_vault: vault.to_string(),
            schedule: rule.schedule.clone(),
            timezone: rule.timezone.clone(),
            start_window_minutes: Some(rule.start_window_minutes),
            completion_window_minutes: Some(rule.completion_window_minutes),
            delete_after_days: Some(rule.delete_after_days),
            cold_after_days: rule.cold_after_days,
        }
    }
}

/// A backup selection: which resources a plan protects, with which role.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Selection {
    /// Empty for a selection not created yet.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    pub name: String,
    pub iam_role_arn: String,
    /// ListOfTags STRINGEQUALS conditions (any one matches).
    pub tags: BTreeMap<String, String>,
    pub resources: Vec<String>,
    /// NotResources, Conditions or non-STRINGEQUALS tag conditions: not what the spec can say.
    #[serde(skip)]
    pub other_conditions: bool,
}

impl Selection {
    fn same_content(&self, other: &Selection) -> bool {
        self.iam_role_arn == other.iam_role_arn
            && self.tags == other.tags
            && sorted(&self.resources) == sorted(&other.resources)
            && !self.other_conditions
            && !other.other_conditions
    }

    /// Short text: tags and resource count.
    pub fn summary(&self) -> String {
        let tags: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut parts = Vec::new();
        if !tags.is_empty() {
            parts.push(format!("tags {}", tags.join(" or ")));
        }
        if !self.resources.is_empty() {
            parts.push(format!("{} resources", self.resources.len()));
        }
        format!("{} as {}", parts.join(", "), self.iam_role_arn)
    }
}

fn sorted(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

/// A backup plan as AWS holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedPlan {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub version_id: String,
    pub tags: Tags,
    pub rules: Vec<PlanRule>,
    pub selections: Vec<Selection>,
}

/// An EC2 instance or EBS volume that a selection may cover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub id: String,
    pub arn: String,
    pub kind: ResourceKind,
    pub tags: Tags,
    /// Volumes: size in GiB; instances: 0.
    pub size_gib: u32,
    /// Volumes: the instances they are attached to.
    pub attached_to: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceKind {
    Instance,
    Volume,
}

/// Everything the backup planner needs. Built only when every read succeeded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BackupInventory {
    pub vault: Option<BackupVault>,
    /// The live plan with the spec's name, with its selections.
    pub plan: Option<ObservedPlan>,
    /// EC2 instances and EBS volumes of the region.
    pub resources: Vec<Resource>,
}

/// A change to AWS Backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum BackupChange {
    CreateVault {
        name: String,
        kms_key_arn: Option<String>,
        tags: Tags,
        creator_request_id: String,
    },
    CreatePlan {
        name: String,
        rules: Vec<PlanRule>,
        tags: Tags,
        creator_request_id: String,
    },
    /// Restores the spec's rules; `differences` says what differed, field by field.
    UpdatePlan {
        plan_id: String,
        name: String,
        rules: Vec<PlanRule>,
        differences: Vec<String>,
    },
    /// `plan_id` None: the plan created earlier in the same run.
    CreateSelection {
        plan_id: Option<String>,
        plan_name: String,
        selection: Selection,
        creator_request_id: String,
    },
    DeleteSelection {
        plan_id: String,
        selection_id: String,
        name: String,
    },
    /// Cleanup only (deletionPolicy Delete).
    DeletePlan {
        plan_id: String,
        name: String,
    },
    /// Cleanup only: a vault this policy created that holds no recovery points.
    DeleteVault {
        name: String,
    },
}

impl BackupChange {
    pub fn describe(&self) -> String {
        match self {
            BackupChange::CreateVault { name, kms_key_arn, .. } => match kms_key_arn {
                Some(key) => format!("create backup vault {name} (KMS key {key})"),
                None => format!("create backup vault {name}"),
            },
            BackupChange::CreatePlan { name, rules, .. } => {
                format!("create backup plan {name} with rules {}", rules.iter().map(|r| r.name.as_str()).collect::<Vec<_>>().join(", "))
            }
            BackupChange::UpdatePlan { name, differences, .. } => format!("update backup plan {name}: {}", differences.join("; ")),
            BackupChange::CreateSelection { plan_name, selection, .. } => {
                format!("create backup selection {} in plan {plan_name} ({})", selection.name, selection.summary())
            }
            BackupChange::DeleteSelection { plan_id, selection_id, name } => {
                format!("delete backup selection {name} ({selection_id}) of plan {plan_id}")
            }
            BackupChange::DeletePlan { plan_id, name } => format!("delete backup plan {name} ({plan_id})"),
            BackupChange::DeleteVault { name } => format!("delete backup vault {name}"),
        }
    }
}

/// Who owns the plan of the spec's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PlanOwnership {
    /// Created by this policy (tagged).
    Managed,
    /// Created by someone else and adopted by the spec.
    Adopted,
    /// Created by someone else, not adopted: reported, left alone.
    NotOwned,
    /// No plan of that name.
    Missing,
}

/// Why the area cannot be aligned by this policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Blocker {
    /// vault.create is false and the vault does not exist.
    VaultMissing(String),
    /// A plan of this name exists, not created by this policy, and plan.adopt is false.
    PlanNotOwned(String),
}

impl Blocker {
    pub fn describe(&self) -> String {
        match self {
            Blocker::VaultMissing(name) => {
                format!("backup vault {name} does not exist and backup.vault.create is false; nothing was created")
            }
            Blocker::PlanNotOwned(name) => {
                format!("backup plan {name} exists and was not created by this policy; set backup.plan.adopt: true to manage it")
            }
        }
    }
}

/// Frequency and retention of one rule, and whether it meets the spec's bounds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleCompliance {
    pub name: String,
    pub frequency: String,
    pub frequency_hours: Option<u32>,
    /// None: kept forever.
    pub retention_days: Option<u32>,
    /// Empty when compliant.
    pub problems: Vec<String>,
}

/// What the selection covers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Coverage {
    pub instances_covered: u32,
    pub volumes_covered: u32,
    pub covered_gib: u64,
    /// Resources carrying coverage.requiredTags but not covered, at most 20.
    pub uncovered: Vec<String>,
    pub uncovered_count: u32,
}

/// The plan for one policy's backup section.
#[derive(Clone, Debug, PartialEq)]
pub struct BackupPlan {
    pub drift: Vec<BackupChange>,
    /// The drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<BackupChange>,
    pub vault_arn: Option<String>,
    pub plan_ownership: PlanOwnership,
    pub plan_id: Option<String>,
    pub version_id: Option<String>,
    /// The selection in AWS that matches the spec, if any.
    pub selection_id: Option<String>,
    /// The name the spec's selection has in AWS.
    pub selection_name: String,
    pub blocker: Option<Blocker>,
    /// Field-level differences between the plan in AWS and the spec.
    pub differences: Vec<String>,
    /// Rules as AWS holds them now (the spec's when the plan is missing).
    pub observed_rules: Vec<RuleCompliance>,
    /// Rules as the spec declares them.
    pub desired_rules: Vec<RuleCompliance>,
    pub coverage: Coverage,
    /// Longest retention of the spec's rules, days.
    pub longest_retention_days: u32,
    /// Recovery points per covered volume the spec's rules hold at most: each rule's runs
    /// within its retention, summed.
    pub max_recovery_points: u32,
    /// The run's prices: what the covered volumes' recovery points cost.
    pub prices: Prices,
}

impl BackupPlan {
    /// Open findings: drift, a blocker, resources left uncovered, non-compliant rules in AWS.
    pub fn findings(&self) -> u32 {
        self.drift.len() as u32 + u32::from(self.blocker.is_some()) + self.coverage.uncovered_count
    }

    /// Upper bound of the monthly backup storage of the covered volumes.
    pub fn monthly_storage_usd(&self) -> f64 {
        storage_usd(self.coverage.covered_gib, self.max_recovery_points, self.prices.usd(PriceItem::SnapshotGbMonth))
    }
}

/// What a CreatePlan change reports as created: the plan id, then `/` and the version id AWS
/// returned (plan ids are UUIDs, so the first `/` separates them).
pub fn created_plan(id: &str, version_id: Option<&str>) -> String {
    match version_id {
        Some(version) if !version.is_empty() => format!("{id}/{version}"),
        _ => id.to_string(),
    }
}

/// (plan id, version id) of what [`created_plan`] made.
pub fn parse_created_plan(created: &str) -> (&str, Option<&str>) {
    match created.split_once('/') {
        Some((id, version)) => (id, Some(version)),
        None => (created, None),
    }
}

/// covered GiB × recovery points × the EBS snapshot price (AWS Backup's EBS recovery points
/// are EBS snapshots, billed as such): every point a full copy, which only the first one of a
/// volume is (the others store the blocks changed since), so an upper bound.
pub fn storage_usd(covered_gib: u64, recovery_points: u32, usd_per_gb_month: f64) -> f64 {
    covered_gib as f64 * f64::from(recovery_points) * usd_per_gb_month
}

/// Each rule's runs within its retention, summed; a schedule that does not parse counts one
/// run a day (validation rejects those before any plan is made).
fn max_recovery_points(rules: &[BackupRuleDesired]) -> u32 {
    rules
        .iter()
        .map(|r| match cron::parse(&r.schedule) {
            Ok(schedule) => schedule.max_runs_within(r.delete_after_days),
            Err(_) => r.delete_after_days,
        })
        .fold(0u32, u32::saturating_add)
}

/// The name of the spec's selection in AWS: its prefix and a hash of its content, so that a
/// changed selection gets a new name (selections cannot be updated, only replaced).
pub fn selection_name(desired: &SelectionDesired) -> String {
    let tags: Vec<String> = desired.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let content = [desired.iam_role_arn.as_str(), &tags.join("\n"), &desired.resources.join("\n")];
    let token = idempotency_token(&content);
    let hash = token.trim_start_matches("frugal-");
    format!("{}-{}", desired.name_prefix, &hash[..8])
}

/// True when `name` is a selection this spec names: `<prefix>-<8 hex digits>`.
fn is_our_selection(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('-'))
        .is_some_and(|hash| hash.len() == 8 && hash.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_utc(tz: Option<&str>) -> bool {
    matches!(tz, None | Some("UTC" | "Etc/UTC"))
}

/// Field-level differences of one rule, observed → desired.
fn rule_differences(observed: &PlanRule, desired: &PlanRule) -> Vec<String> {
    let mut out = Vec::new();
    let days = |d: Option<u32>| d.map(|d| d.to_string()).unwrap_or_else(|| "never".to_string());
    let name = &desired.name;
    if observed.schedule.split_whitespace().collect::<Vec<_>>() != desired.schedule.split_whitespace().collect::<Vec<_>>() {
        out.push(format!("rule {name}: schedule {} → {}", observed.schedule, desired.schedule));
    }
    if !(is_utc(observed.timezone.as_deref()) && is_utc(desired.timezone.as_deref())) && observed.timezone != desired.timezone {
        let tz = |t: &Option<String>| t.clone().unwrap_or_else(|| "UTC".to_string());
        out.push(format!("rule {name}: scheduleExpressionTimezone {} → {}", tz(&observed.timezone), tz(&desired.timezone)));
    }
    let start = |r: &PlanRule| r.start_window_minutes.unwrap_or(DEFAULT_START_WINDOW);
    if start(observed) != start(desired) {
        out.push(format!("rule {name}: startWindowMinutes {} → {}", start(observed), start(desired)));
    }
    let completion = |r: &PlanRule| r.completion_window_minutes.unwrap_or(DEFAULT_COMPLETION_WINDOW);
    if completion(observed) != completion(desired) {
        out.push(format!("rule {name}: completionWindowMinutes {} → {}", completion(observed), completion(desired)));
    }
    if observed.delete_after_days != desired.delete_after_days {
        out.push(format!("rule {name}: deleteAfterDays {} → {}", days(observed.delete_after_days), days(desired.delete_after_days)));
    }
    if observed.cold_after_days != desired.cold_after_days {
        out.push(format!("rule {name}: moveToColdStorageAfterDays {} → {}", days(observed.cold_after_days), days(desired.cold_after_days)));
    }
    if observed.target_vault != desired.target_vault {
        out.push(format!("rule {name}: targetVault {} → {}", observed.target_vault, desired.target_vault));
    }
    out
}

/// Differences between the plan's rules in AWS and the spec's, in the spec's order, then
/// rules AWS has that the spec does not.
pub fn plan_differences(observed: &[PlanRule], desired: &[PlanRule]) -> Vec<String> {
    let mut out = Vec::new();
    for want in desired {
        match observed.iter().find(|r| r.name == want.name) {
            Some(have) => out.extend(rule_differences(have, want)),
            None => out.push(format!("rule {}: missing (added)", want.name)),
        }
    }
    for have in observed {
        if !desired.iter().any(|r| r.name == have.name) {
            out.push(format!("rule {}: not in the spec (removed)", have.name));
        }
    }
    out
}

fn compliance(rule: &PlanRule, desired: &BackupDesired) -> RuleCompliance {
    let gap = cron::parse(&rule.schedule).ok().and_then(|c| c.max_gap_hours());
    let frequency = if cron::parse(&rule.schedule).is_ok() { cron::describe_frequency(gap) } else { "unknown schedule".to_string() };
    let mut problems = Vec::new();
    if let Some(min) = desired.min_retention_days {
        match rule.delete_after_days {
            Some(days) if days < min => problems.push(format!("retention {days} days is below minRetentionDays {min}")),
            _ => {}
        }
    }
    if let Some(max) = desired.max_retention_days {
        match rule.delete_after_days {
            None => problems.push(format!("recovery points are kept forever, above maxRetentionDays {max}")),
            Some(days) if days > max => problems.push(format!("retention {days} days is above maxRetentionDays {max}")),
            _ => {}
        }
    }
    RuleCompliance { name: rule.name.clone(), frequency, frequency_hours: gap, retention_days: rule.delete_after_days, problems }
}

/// True when `pattern` (with `*` wildcards) matches `arn`.
fn selects(selection: &Selection, resource: &Resource) -> bool {
    selection.resources.iter().any(|p| crate::pattern::matches(p, &resource.arn))
        || selection.tags.iter().any(|(k, v)| resource.tags.get(k) == Some(v))
}

/// What `selections` cover: instances and volumes selected directly, and volumes attached to
/// a selected instance (an EC2 backup includes its volumes).
pub fn coverage(selections: &[Selection], resources: &[Resource], required_tags: &BTreeMap<String, String>) -> Coverage {
    let selected: BTreeSet<&str> = resources.iter().filter(|r| selections.iter().any(|s| selects(s, r))).map(|r| r.id.as_str()).collect();
    let covered = |r: &Resource| selected.contains(r.id.as_str()) || r.attached_to.iter().any(|i| selected.contains(i.as_str()));
    let mut result = Coverage::default();
    let mut uncovered = Vec::new();
    for resource in resources {
        if covered(resource) {
            match resource.kind {
                ResourceKind::Instance => result.instances_covered += 1,
                ResourceKind::Volume => {
                    result.volumes_covered += 1;
                    result.covered_gib += u64::from(resource.size_gib);
                }
            }
        } else if !required_tags.is_empty() && crate::api::carries_all(&resource.tags, required_tags) {
            uncovered.push(resource.id.clone());
        }
    }
    uncovered.sort();
    result.uncovered_count = uncovered.len() as u32;
    uncovered.truncate(MAX_LISTED_UNCOVERED);
    result.uncovered = uncovered;
    result
}

/// Plans the backup area. `enforce` false is Audit mode.
pub fn plan(policy: &str, desired: &BackupDesired, inventory: &BackupInventory, enforce: bool) -> BackupPlan {
    let mut drift = Vec::new();
    let mut blocker = None;
    let desired_rules: Vec<PlanRule> = desired.rules.iter().map(|r| PlanRule::desired(r, &desired.vault_name)).collect();
    let want_selection = Selection {
        id: String::new(),
        name: selection_name(&desired.selection),
        iam_role_arn: desired.selection.iam_role_arn.clone(),
        tags: desired.selection.tags.clone(),
        resources: desired.selection.resources.clone(),
        other_conditions: false,
    };

    match &inventory.vault {
        Some(_) => {}
        None if desired.vault_create => drift.push(BackupChange::CreateVault {
            name: desired.vault_name.clone(),
            kms_key_arn: desired.kms_key_arn.clone(),
            tags: ownership_tags(policy),
            creator_request_id: idempotency_token(&[policy, "backup-vault", &desired.vault_name]),
        }),
        None => blocker = Some(Blocker::VaultMissing(desired.vault_name.clone())),
    }

    let plan_ownership = match &inventory.plan {
        None => PlanOwnership::Missing,
        Some(p) if is_owned_by(&p.tags, policy) => PlanOwnership::Managed,
        Some(_) if desired.adopt => PlanOwnership::Adopted,
        Some(_) => PlanOwnership::NotOwned,
    };
    if plan_ownership == PlanOwnership::NotOwned {
        blocker = blocker.or(Some(Blocker::PlanNotOwned(desired.plan_name.clone())));
    }
    let differences = match &inventory.plan {
        Some(p) => {
            let mut differences = plan_differences(&p.rules, &desired_rules);
            if p.name != desired.plan_name {
                differences.insert(0, format!("name: {} (renamed; restored to {})", p.name, desired.plan_name));
            }
            differences
        }
        None => Vec::new(),
    };

    let mut selection_id = None;
    if blocker.is_none() {
        match &inventory.plan {
            None => {
                drift.push(BackupChange::CreatePlan {
                    name: desired.plan_name.clone(),
                    rules: desired_rules.clone(),
                    tags: ownership_tags(policy),
                    creator_request_id: idempotency_token(&[policy, "backup-plan", &desired.plan_name]),
                });
                drift.push(BackupChange::CreateSelection {
                    plan_id: None,
                    plan_name: desired.plan_name.clone(),
                    creator_request_id: idempotency_token(&[policy, "backup-selection", &desired.plan_name, &want_selection.name, ""]),
                    selection: want_selection.clone(),
                });
            }
            Some(observed) => {
                if !differences.is_empty() {
                    drift.push(BackupChange::UpdatePlan {
                        plan_id: observed.id.clone(),
                        name: desired.plan_name.clone(),
                        rules: desired_rules.clone(),
                        differences: differences.clone(),
                    });
                }
                let current = observed.selections.iter().find(|s| s.name == want_selection.name && s.same_content(&want_selection));
                selection_id = current.map(|s| s.id.clone());
                let stale: Vec<&Selection> = observed
                    .selections
                    .iter()
                    .filter(|s| is_our_selection(&s.name, &desired.selection.name_prefix) && Some(&s.id) != selection_id.as_ref())
                    .collect();
                if current.is_none() {
                    let replaced: Vec<&str> = stale.iter().map(|s| s.id.as_str()).collect();
                    drift.push(BackupChange::CreateSelection {
                        plan_id: Some(observed.id.clone()),
                        plan_name: observed.name.clone(),
                        creator_request_id: idempotency_token(&[
                            policy,
                            "backup-selection",
                            &desired.plan_name,
                            &want_selection.name,
                            &replaced.join(","),
                        ]),
                        selection: want_selection.clone(),
                    });
                }
                // After the replacement exists: never a moment without a selection.
                for old in stale {
                    drift.push(BackupChange::DeleteSelection {
                        plan_id: observed.id.clone(),
                        selection_id: old.id.clone(),
                        name: old.name.clone(),
                    });
                }
            }
        }
    }

    let desired_compliance: Vec<RuleCompliance> = desired_rules.iter().map(|r| compliance(r, desired)).collect();
    let observed_rules = match &inventory.plan {
        Some(p) => p.rules.iter().map(|r| compliance(r, desired)).collect(),
        None => desired_compliance.clone(),
    };
    let effective: Vec<Selection> = match (&inventory.plan, enforce && blocker.is_none()) {
        (_, true) => vec![want_selection.clone()],
        (Some(p), false) => p.selections.clone(),
        (None, false) => Vec::new(),
    };
    let actions = if enforce { drift.clone() } else { Vec::new() };
    BackupPlan {
        prices: Prices::default(),
        drift,
        actions,
        vault_arn: inventory.vault.as_ref().map(|v| v.arn.clone()),
        plan_ownership,
        plan_id: inventory.plan.as_ref().map(|p| p.id.clone()),
        version_id: inventory.plan.as_ref().map(|p| p.version_id.clone()),
        selection_id,
        selection_name: want_selection.name,
        blocker,
        differences,
        observed_rules,
        desired_rules: desired_compliance,
        coverage: coverage(&effective, &inventory.resources, &desired.required_tags),
        longest_retention_days: desired.rules.iter().map(|r| r.delete_after_days).max().unwrap_or(0),
        max_recovery_points: max_recovery_points(&desired.rules),
    }
}

/// What deletionPolicy Delete removes, in order: this policy's selections, then the plan if
/// this policy created it (AWS refuses to delete a plan with selections; those of a plan we
/// created go with it), then the vault if this policy created it and it is empty.
pub fn plan_cleanup(policy: &str, desired: &BackupDesired, inventory: &BackupInventory) -> Vec<BackupChange> {
    let mut changes = Vec::new();
    if let Some(plan) = &inventory.plan {
        let owned = is_owned_by(&plan.tags, policy);
        for selection in &plan.selections {
            if owned || is_our_selection(&selection.name, &desired.selection.name_prefix) {
                changes.push(BackupChange::DeleteSelection {
                    plan_id: plan.id.clone(),
                    selection_id: selection.id.clone(),
                    name: selection.name.clone(),
                });
            }
        }
        if owned {
            changes.push(BackupChange::DeletePlan { plan_id: plan.id.clone(), name: plan.name.clone() });
        }
    }
    if let Some(vault) = &inventory.vault
        && is_owned_by(&vault.tags, policy)
        && vault.recovery_points == 0
    {
        changes.push(BackupChange::DeleteVault { name: vault.name.clone() });
    }
    changes
}

#[cfg(test)]
mod tests;
