//! What the operator found, did and saved, as written to `.status`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;
pub use access_keys::*;
pub use backup::*;
pub use cloud_watch::*;
pub use gateway_endpoints::*;
pub use right_sizing::*;
pub use snapshot_retention::*;
pub use ssm_access::*;

/// Observed state of a CostPolicy.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostPolicyStatus {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, one <Area>InSync per enabled area, Reconciling and Stalled (kstatus).
    #[serde(default)]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// When a reconcile last changed this status (RFC 3339). A reconcile that finds
    /// everything as it was writes nothing, so the API server sees no write in steady state;
    /// the metric frugal_last_reconcile_timestamp_seconds says when each policy was last
    /// reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_change_time: Option<String>,

    /// Open findings over all areas (drift that still needs a change).
    #[serde(default)]
    pub findings: u32,

    /// Gateway endpoint details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_endpoints: Option<GatewayEndpointsStatus>,

    /// EBS snapshot retention details (the key is the spec's, as for every area).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_retention: Option<SnapshotRetentionStatus>,

    /// SSM-only access details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssm_access: Option<SsmAccessStatus>,

    /// AWS Backup vault, plan and selection details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<BackupStatus>,

    /// IAM user access key details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_keys: Option<AccessKeysStatus>,

    /// Compute Optimizer enrollment and right-sizing findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub right_sizing: Option<RightSizingStatus>,

    /// Log retention, instance alarms and orphan alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_watch: Option<CloudWatchStatus>,

    /// Estimated monthly cost of findings and savings of actions, in USD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<CostStatus>,
}

/// Money, as estimated by the operator. Amounts are USD strings with two decimals.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CostStatus {
    /// Estimated monthly cost of the open findings.
    pub monthly_waste_usd: String,
    /// Estimated monthly savings of what the operator changed.
    pub monthly_savings_usd: String,
    /// Estimated monthly cost of what the spec itself keeps running (backup storage): cost is
    /// reported beside savings, never netted against them.
    #[serde(default)]
    pub monthly_cost_usd: String,
    /// The same, per area, with the basis of each estimate.
    #[serde(default)]
    pub areas: Vec<AreaCost>,
    /// Where the prices of these estimates come from: `AWS Price List, ap-northeast-2,
    /// fetched 2026-12-03`, or the built-in list prices and why the Price List was not used;
    /// with the private discount (spec.pricing.discountPercent) when there is one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prices: String,
    /// Where the areas' `measured` spend comes from (`AWS Cost Explorer, unblended cost in
    /// ap-northeast-2, read 2026-12-03`), or why it could not be read; empty unless
    /// spec.pricing.costExplorer is set.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub measured: String,
}

/// Cost estimate of one area.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AreaCost {
    /// The spec section it prices: gatewayEndpoints, snapshotRetention, ssmAccess, backup,
    /// accessKeys, rightSizing or cloudWatch.
    pub area: String,
    /// Estimated monthly cost of the open findings.
    pub monthly_waste_usd: String,
    /// Estimated monthly savings of what the operator changed.
    pub monthly_savings_usd: String,
    /// Estimated monthly cost of what the spec itself keeps running (backup storage).
    #[serde(default)]
    pub monthly_cost_usd: String,
    /// How the estimate is made and whether it is an upper bound.
    pub basis: String,
    /// What the account paid for the usage types this area changes, from AWS Cost Explorer
    /// (spec.pricing.costExplorer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<MeasuredSpend>,
}

/// What AWS billed, by Cost Explorer: unblended cost of some usage types in one region.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeasuredSpend {
    /// The usage types counted, without their region prefix (NatGateway-Bytes).
    pub usage_types: Vec<String>,
    /// The last full month, YYYY-MM.
    pub last_month: String,
    pub last_month_usd: String,
    /// This month through today, YYYY-MM.
    pub month_to_date: String,
    pub month_to_date_usd: String,
    /// True while Cost Explorer may still revise last month's figure (the first days of a
    /// month); the month so far is always an estimate.
    pub last_month_estimated: bool,
}

/// Formats a USD amount the way status shows it.
pub fn usd(amount: f64) -> String {
    format!("{amount:.2}")
}
