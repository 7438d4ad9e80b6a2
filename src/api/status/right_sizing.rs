//! `status.rightSizing`: what Compute Optimizer says about the account, in dollars.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Compute Optimizer's enrollment and findings for the resources in scope.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RightSizingStatus {
    /// Open findings: not enrolled, opportunities at or above minMonthlySavingsUsd, and
    /// underprovisioned resources.
    pub findings: u32,
    /// Compute Optimizer's enrollment of the account after the last run: Active, Inactive,
    /// Pending or Failed.
    pub enrollment: String,
    /// When the last run enrolled the account (RFC 3339): recommendations take up to a day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrolled_at: Option<String>,
    /// Resources in scope with a recommendation (of any finding).
    pub resources_evaluated: u32,
    /// Resources that are larger than they need to be (EBS and Auto Scaling groups:
    /// NotOptimized with savings).
    pub overprovisioned: u32,
    /// Resources that are too small for their load: a risk, never counted as savings.
    pub underprovisioned: u32,
    pub optimized: u32,
    /// EBS volumes and Auto Scaling groups with a better configuration (cheaper or faster).
    pub not_optimized: u32,
    /// Opportunities at or above minMonthlySavingsUsd (listed).
    pub opportunities: u32,
    /// Opportunities below minMonthlySavingsUsd: in the total, not listed.
    pub opportunities_below_threshold: u32,
    /// Sum of Compute Optimizer's estimated monthly savings of every opportunity in scope,
    /// USD.
    pub estimated_monthly_savings_usd: String,
    /// The largest opportunities first, then underprovisioned resources; at most 20
    /// (resourcesNotListed counts the rest).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<RightSizingResourceStatus>,
    #[serde(default)]
    pub resources_not_listed: u32,
}

/// One resource with an opportunity or a risk.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RightSizingResourceStatus {
    /// Ec2Instances, EbsVolumes or AutoScalingGroups.
    pub kind: String,
    /// Instance or volume id, Auto Scaling group name.
    pub id: String,
    /// Compute Optimizer's finding: Overprovisioned, Underprovisioned, NotOptimized.
    pub finding: String,
    /// The current type or size, e.g. m5.2xlarge or gp2 100 GiB.
    pub current: String,
    /// The top recommendation option.
    pub recommended: String,
    /// USD a month; 0.00 for an underprovisioned resource.
    pub estimated_monthly_savings_usd: String,
    /// Of the recommended option, 0 (very low) to 4 (very high): the likelihood that it does
    /// not meet the workload's needs.
    pub performance_risk: String,
}
