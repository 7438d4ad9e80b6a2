//! The `rightSizing` spec section: size what runs to what it uses, from AWS Compute
//! Optimizer's findings, with the money in the policy's status.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::TagSelector;

/// Compute Optimizer's recommendations, in dollars, where the platform team looks. The
/// operator keeps the account enrolled (Enforce with enroll) and never resizes, stops or
/// modifies a resource: that needs a person and a maintenance window.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RightSizingSpec {
    /// In Enforce mode, opt the account in to Compute Optimizer when it is not
    /// (UpdateEnrollmentStatus Active). Compute Optimizer is free; recommendations appear up
    /// to a day after enrolling.
    #[serde(default = "enabled")]
    pub enroll: bool,

    /// Enroll every member account of the organization too (only from the management
    /// account; default: this account only).
    #[serde(default)]
    pub enroll_member_accounts: bool,

    /// The kinds of resources whose recommendations are read.
    #[serde(default = "all_resources")]
    #[schemars(length(min = 1, max = 3), extend("x-kubernetes-list-type" = "set"))]
    pub resources: Vec<RightSizingResource>,

    /// Opportunities saving less than this many whole USD a month are counted in the total but
    /// not listed one by one, and do not make the area out of sync.
    #[serde(default)]
    #[schemars(range(min = 0, max = 1_000_000))]
    pub min_monthly_savings_usd: u32,

    /// Only resources carrying these tags; empty: every resource of the account and region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<TagSelector>,
}

/// A kind of resource Compute Optimizer makes recommendations for.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, JsonSchema)]
pub enum RightSizingResource {
    Ec2Instances,
    EbsVolumes,
    AutoScalingGroups,
}

impl RightSizingResource {
    pub const ALL: [RightSizingResource; 3] =
        [RightSizingResource::Ec2Instances, RightSizingResource::EbsVolumes, RightSizingResource::AutoScalingGroups];

    /// The spec's name.
    pub fn as_str(self) -> &'static str {
        match self {
            RightSizingResource::Ec2Instances => "Ec2Instances",
            RightSizingResource::EbsVolumes => "EbsVolumes",
            RightSizingResource::AutoScalingGroups => "AutoScalingGroups",
        }
    }

    /// What one resource of the kind is called in a sentence.
    pub fn noun(self) -> &'static str {
        match self {
            RightSizingResource::Ec2Instances => "instance",
            RightSizingResource::EbsVolumes => "volume",
            RightSizingResource::AutoScalingGroups => "Auto Scaling group",
        }
    }
}

fn enabled() -> bool {
    true
}

fn all_resources() -> Vec<RightSizingResource> {
    RightSizingResource::ALL.to_vec()
}
