//! Right-sizing from AWS Compute Optimizer. Safety rule: the only change this area ever
//! makes is the account's enrollment (UpdateEnrollmentStatus Active); no instance, volume or
//! Auto Scaling group is resized, stopped or modified (that needs a person and a
//! maintenance window). Audit plans nothing. Underprovisioned resources are a risk, never
//! savings.

use crate::api::RightSizingResource;
use crate::api::validate::RightSizingDesired;

use super::Tags;

/// Compute Optimizer's enrollment of the account (GetEnrollmentStatus).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub enum Enrollment {
    Active,
    #[default]
    Inactive,
    /// Enrollment is being set up (AWS's own state after an opt-in).
    Pending,
    Failed,
}

impl Enrollment {
    pub fn as_str(self) -> &'static str {
        match self {
            Enrollment::Active => "Active",
            Enrollment::Inactive => "Inactive",
            Enrollment::Pending => "Pending",
            Enrollment::Failed => "Failed",
        }
    }

    /// AWS's word for it; None for a status this version does not know.
    pub fn parse(text: &str) -> Option<Enrollment> {
        [Enrollment::Active, Enrollment::Inactive, Enrollment::Pending, Enrollment::Failed].into_iter().find(|e| e.as_str() == text)
    }
}

/// Compute Optimizer's finding for a resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Finding {
    Overprovisioned,
    Underprovisioned,
    Optimized,
    /// EBS volumes and Auto Scaling groups: a better configuration exists (cheaper, or faster).
    NotOptimized,
}

impl Finding {
    pub fn as_str(self) -> &'static str {
        match self {
            Finding::Overprovisioned => "Overprovisioned",
            Finding::Underprovisioned => "Underprovisioned",
            Finding::Optimized => "Optimized",
            Finding::NotOptimized => "NotOptimized",
        }
    }

    /// AWS's word for it; None for a finding this version does not know.
    pub fn parse(text: &str) -> Option<Finding> {
        [Finding::Overprovisioned, Finding::Underprovisioned, Finding::Optimized, Finding::NotOptimized]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

/// One resource's recommendation: what it is, what Compute Optimizer found and its top
/// (rank 1) option.
#[derive(Clone, Debug, PartialEq)]
pub struct Recommendation {
    pub kind: RightSizingResource,
    /// Instance or volume id, Auto Scaling group name.
    pub id: String,
    pub finding: Finding,
    /// The current type or size, e.g. m5.2xlarge or gp2 100 GiB.
    pub current: String,
    /// The top option; None when Compute Optimizer offers none.
    pub recommended: Option<String>,
    /// Compute Optimizer's estimated monthly savings of the top option, USD.
    pub monthly_savings_usd: f64,
    /// The top option's performance risk, 0 (very low) to 4 (very high).
    pub performance_risk: Option<f64>,
    pub tags: Tags,
}

/// Everything this area needs to decide. Built only when every source was read in full.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RightSizingInventory {
    pub enrollment: Enrollment,
    /// Why, when AWS says (e.g. why an enrollment failed).
    pub status_reason: Option<String>,
    pub member_accounts_enrolled: bool,
    /// Read only when the account is Active (AWS refuses otherwise).
    pub recommendations: Vec<Recommendation>,
}

/// A change to AWS: the only one this area makes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "action", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum RightSizingChange {
    /// UpdateEnrollmentStatus Active, for this account or (includeMemberAccounts) the
    /// organization's member accounts too.
    Enroll { include_member_accounts: bool },
}

impl RightSizingChange {
    /// One line for `frugal plan` and Events.
    pub fn describe(&self) -> String {
        match self {
            RightSizingChange::Enroll { include_member_accounts: false } => "enroll the account in Compute Optimizer".to_string(),
            RightSizingChange::Enroll { include_member_accounts: true } => {
                "enroll the account and the organization's member accounts in Compute Optimizer".to_string()
            }
        }
    }
}

/// The plan for one policy's rightSizing section.
#[derive(Clone, Debug, PartialEq)]
pub struct RightSizingPlan {
    pub drift: Vec<RightSizingChange>,
    /// The drift in Enforce mode, nothing in Audit mode.
    pub actions: Vec<RightSizingChange>,
    pub enrollment: Enrollment,
    pub status_reason: Option<String>,
    /// Resources in scope with a recommendation.
    pub evaluated: u32,
    pub overprovisioned: u32,
    pub underprovisioned: u32,
    pub optimized: u32,
    pub not_optimized: u32,
    /// Resources a smaller or cheaper option would save money on, largest savings first.
    pub opportunities: Vec<Recommendation>,
    /// Underprovisioned resources, by id.
    pub risks: Vec<Recommendation>,
    /// Opportunities below this are counted in the total but not listed.
    pub min_monthly_savings_usd: f64,
}

impl RightSizingPlan {
    /// Opportunities at or above the threshold: the ones worth a person's time.
    pub fn listed_opportunities(&self) -> impl Iterator<Item = &Recommendation> {
        self.opportunities.iter().filter(|r| r.monthly_savings_usd >= self.min_monthly_savings_usd)
    }

    pub fn opportunities_below_threshold(&self) -> usize {
        self.opportunities.len() - self.listed_opportunities().count()
    }

    /// The estimated monthly savings of every opportunity in scope, USD.
    pub fn total_savings_usd(&self) -> f64 {
        self.opportunities.iter().map(|r| r.monthly_savings_usd).sum()
    }
}

/// Plans the rightSizing area; `enforce` false is Audit mode.
pub fn plan(desired: &RightSizingDesired, inventory: &RightSizingInventory, enforce: bool) -> RightSizingPlan {
    let mut drift = Vec::new();
    if desired.enroll {
        let enrolled = matches!(inventory.enrollment, Enrollment::Active | Enrollment::Pending);
        if !enrolled {
            drift.push(RightSizingChange::Enroll { include_member_accounts: desired.enroll_member_accounts });
        } else if desired.enroll_member_accounts && !inventory.member_accounts_enrolled {
            drift.push(RightSizingChange::Enroll { include_member_accounts: true });
        }
    }

    let in_scope: Vec<&Recommendation> = inventory
        .recommendations
        .iter()
        .filter(|r| desired.resources.contains(&r.kind) && crate::api::carries_all(&r.tags, &desired.selector))
        .collect();
    let count = |finding: Finding| in_scope.iter().filter(|r| r.finding == finding).count() as u32;
    // Savings come only from a resource larger or costlier than it needs to be; an
    // underprovisioned one needs more, whatever an option's estimate says.
    let mut opportunities: Vec<Recommendation> = in_scope
        .iter()
        .filter(|r| matches!(r.finding, Finding::Overprovisioned | Finding::NotOptimized) && r.monthly_savings_usd > 0.0)
        .map(|r| (*r).clone())
        .collect();
    opportunities.sort_by(|a, b| b.monthly_savings_usd.total_cmp(&a.monthly_savings_usd).then_with(|| a.id.cmp(&b.id)));
    let mut risks: Vec<Recommendation> = in_scope.iter().filter(|r| r.finding == Finding::Underprovisioned).map(|r| (*r).clone()).collect();
    risks.sort_by(|a, b| a.id.cmp(&b.id));

    RightSizingPlan {
        actions: if enforce { drift.clone() } else { Vec::new() },
        drift,
        enrollment: inventory.enrollment,
        status_reason: inventory.status_reason.clone(),
        evaluated: in_scope.len() as u32,
        overprovisioned: count(Finding::Overprovisioned),
        underprovisioned: count(Finding::Underprovisioned),
        optimized: count(Finding::Optimized),
        not_optimized: count(Finding::NotOptimized),
        opportunities,
        risks,
        min_monthly_savings_usd: desired.min_monthly_savings_usd,
    }
}

#[cfg(test)]
mod tests;
