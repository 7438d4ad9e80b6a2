//! The list of areas: the one place that names them all. Adding an area adds its marker
//! and [`AreaKind`] here, a field to [`Areas`] and a line to each function below; the
//! compiler points at every line (struct literals and destructuring without `..`), and at
//! every layer's trait the new marker does not implement yet.

use std::fmt::Debug;

use crate::api::validate::{
    AccessKeysDesired, BackupDesired, CloudWatchDesired, GatewayEndpointsDesired, RightSizingDesired, SnapshotRetentionDesired,
    SsmAccessDesired, ValidatedPolicy,
};
use crate::api::{
    AccessKeysStatus, AreaName, BackupStatus, CloudWatchStatus, GatewayEndpointsStatus, RightSizingStatus, SnapshotRetentionStatus,
    SsmAccessStatus,
};
use crate::plan::access_keys::{AccessKeysChange, AccessKeysInventory, AccessKeysPlan};
use crate::plan::backup::{BackupChange, BackupInventory, BackupPlan};
use crate::plan::cloud_watch::{CloudWatchChange, CloudWatchInventory, CloudWatchPlan};
use crate::plan::conflicts::Peers;
use crate::plan::gateway_endpoints::{GatewayEndpointsChange, GatewayEndpointsInventory, GatewayEndpointsPlan};
use crate::plan::right_sizing::{RightSizingChange, RightSizingInventory, RightSizingPlan};
use crate::plan::snapshot_retention::{SnapshotRetentionChange, SnapshotRetentionInventory, SnapshotRetentionPlan};
use crate::plan::ssm_access::{SsmAccessChange, SsmAccessInventory, SsmAccessPlan};
use crate::pricing::{PriceItem, Prices};

use super::area::{Area, AreaKind, AreaOutcome, AreaPlan, Run};
use super::cloud::{AreaCloud, CloudError, GatewayEndpointsCleanup, PriceLookup, SpendLookup};
use super::run;

/// S3 and DynamoDB gateway endpoints in every VPC in scope.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GatewayEndpoints;

/// EBS snapshots deleted after their retention, with a grace period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SnapshotRetention;

/// Instances reached through SSM, no SSH open to the world.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SsmAccess;

/// An AWS Backup vault, plan and selection as the spec says.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backup;

/// Long-lived IAM user access keys: reported, and unused ones deactivated after a grace period.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AccessKeys;

/// Compute Optimizer kept enrolled; its right-sizing findings reported in dollars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RightSizing;

/// Log retention, instance status-check alarms and alarms of instances that are gone.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CloudWatch;

impl AreaKind for GatewayEndpoints {
    const NAME: AreaName = AreaName::GatewayEndpoints;
    type Desired = GatewayEndpointsDesired;
    type Inventory = GatewayEndpointsInventory;
    type Plan = GatewayEndpointsPlan;
    type Change = GatewayEndpointsChange;
    type Status = GatewayEndpointsStatus;
}

impl AreaKind for SnapshotRetention {
    const NAME: AreaName = AreaName::SnapshotRetention;
    type Desired = SnapshotRetentionDesired;
    type Inventory = SnapshotRetentionInventory;
    type Plan = SnapshotRetentionPlan;
    type Change = SnapshotRetentionChange;
    type Status = SnapshotRetentionStatus;
}

impl AreaKind for SsmAccess {
    const NAME: AreaName = AreaName::SsmAccess;
    type Desired = SsmAccessDesired;
    type Inventory = SsmAccessInventory;
    type Plan = SsmAccessPlan;
    type Change = SsmAccessChange;
    type Status = SsmAccessStatus;
}

impl AreaKind for Backup {
    const NAME: AreaName = AreaName::Backup;
    type Desired = BackupDesired;
    type Inventory = BackupInventory;
    type Plan = BackupPlan;
    type Change = BackupChange;
    type Status = BackupStatus;
}

impl AreaKind for AccessKeys {
    const NAME: AreaName = AreaName::AccessKeys;
    type Desired = AccessKeysDesired;
    type Inventory = AccessKeysInventory;
    type Plan = AccessKeysPlan;
    type Change = AccessKeysChange;
    type Status = AccessKeysStatus;
}

impl AreaKind for RightSizing {
    const NAME: AreaName = AreaName::RightSizing;
    type Desired = RightSizingDesired;
    type Inventory = RightSizingInventory;
    type Plan = RightSizingPlan;
    type Change = RightSizingChange;
    type Status = RightSizingStatus;
}

impl AreaKind for CloudWatch {
    const NAME: AreaName = AreaName::CloudWatch;
    type Desired = CloudWatchDesired;
    type Inventory = CloudWatchInventory;
    type Plan = CloudWatchPlan;
    type Change = CloudWatchChange;
    type Status = CloudWatchStatus;
}

/// One account and region, reached with the policy's credentials: every area's
/// [`AreaCloud`], and what gateway endpoint cleanup needs.
pub trait Cloud:
    AreaCloud<GatewayEndpoints>
    + AreaCloud<SnapshotRetention>
    + AreaCloud<SsmAccess>
    + AreaCloud<Backup>
    + AreaCloud<AccessKeys>
    + AreaCloud<RightSizing>
    + AreaCloud<CloudWatch>
    + GatewayEndpointsCleanup
    + PriceLookup
    + SpendLookup
{
}

impl<T> Cloud for T where
    T: AreaCloud<GatewayEndpoints>
        + AreaCloud<SnapshotRetention>
        + AreaCloud<SsmAccess>
        + AreaCloud<Backup>
        + AreaCloud<AccessKeys>
        + AreaCloud<RightSizing>
        + AreaCloud<CloudWatch>
        + GatewayEndpointsCleanup
        + PriceLookup
        + SpendLookup
{
}

/// What [`Areas`] holds for each area: a plan before the act step, an outcome after it.
pub trait Family: Clone + Debug + PartialEq {
    type Of<A: Area>: Clone + Debug + PartialEq + Send + Sync;
}

/// Areas before the act step.
#[derive(Clone, Debug, PartialEq)]
pub struct Planned;

impl Family for Planned {
    type Of<A: Area> = AreaPlan<A>;
}

/// Areas after the act step.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied;

impl Family for Applied {
    type Of<A: Area> = AreaOutcome<A>;
}

/// One value per area; None where the policy does not enable the area.
#[derive(Clone, Debug, PartialEq)]
pub struct Areas<F: Family> {
    pub gateway_endpoints: Option<F::Of<GatewayEndpoints>>,
    pub snapshot_retention: Option<F::Of<SnapshotRetention>>,
    pub ssm_access: Option<F::Of<SsmAccess>>,
    pub backup: Option<F::Of<Backup>>,
    pub access_keys: Option<F::Of<AccessKeys>>,
    pub right_sizing: Option<F::Of<RightSizing>>,
    pub cloud_watch: Option<F::Of<CloudWatch>>,
}

/// Code that runs once per enabled area, generic over the area.
/// `'r` lets a visitor keep what it is shown.
pub trait Visit<'r, F: Family> {
    fn visit<A: Area>(&mut self, area: &'r F::Of<A>);
}

impl<F: Family> Areas<F> {
    /// Visits every enabled area, in the order of the spec's sections.
    pub fn each<'r>(&'r self, visitor: &mut impl Visit<'r, F>) {
        let Areas { gateway_endpoints, snapshot_retention, ssm_access, backup, access_keys, right_sizing, cloud_watch } = self;
        if let Some(area) = gateway_endpoints {
            visitor.visit::<GatewayEndpoints>(area);
        }
        if let Some(area) = snapshot_retention {
            visitor.visit::<SnapshotRetention>(area);
        }
        if let Some(area) = ssm_access {
            visitor.visit::<SsmAccess>(area);
        }
        if let Some(area) = backup {
            visitor.visit::<Backup>(area);
        }
        if let Some(area) = access_keys {
            visitor.visit::<AccessKeys>(area);
        }
        if let Some(area) = right_sizing {
            visitor.visit::<RightSizing>(area);
        }
        if let Some(area) = cloud_watch {
            visitor.visit::<CloudWatch>(area);
        }
    }
}

impl Areas<Planned> {
    /// Observes and plans every area the policy enables.
    pub(super) async fn observe_and_plan(cloud: &dyn Cloud, policy: &ValidatedPolicy, peers: &Peers, prices: &Prices, now: i64) -> Self {
        Areas {
            gateway_endpoints: run::observe_and_plan_area::<GatewayEndpoints>(cloud, policy, peers, prices, now).await,
            snapshot_retention: run::observe_and_plan_area::<SnapshotRetention>(cloud, policy, peers, prices, now).await,
            ssm_access: run::observe_and_plan_area::<SsmAccess>(cloud, policy, peers, prices, now).await,
            backup: run::observe_and_plan_area::<Backup>(cloud, policy, peers, prices, now).await,
            access_keys: run::observe_and_plan_area::<AccessKeys>(cloud, policy, peers, prices, now).await,
            right_sizing: run::observe_and_plan_area::<RightSizing>(cloud, policy, peers, prices, now).await,
            cloud_watch: run::observe_and_plan_area::<CloudWatch>(cloud, policy, peers, prices, now).await,
        }
    }

    /// Executes every area's actions, one area after the other.
    pub(super) async fn act(self, cloud: &dyn Cloud, policy: &str) -> Areas<Applied> {
        let Areas { gateway_endpoints, snapshot_retention, ssm_access, backup, access_keys, right_sizing, cloud_watch } = self;
        Areas {
            gateway_endpoints: run::act_area::<GatewayEndpoints>(cloud, policy, gateway_endpoints).await,
            snapshot_retention: run::act_area::<SnapshotRetention>(cloud, policy, snapshot_retention).await,
            ssm_access: run::act_area::<SsmAccess>(cloud, policy, ssm_access).await,
            backup: run::act_area::<Backup>(cloud, policy, backup).await,
            access_keys: run::act_area::<AccessKeys>(cloud, policy, access_keys).await,
            right_sizing: run::act_area::<RightSizing>(cloud, policy, right_sizing).await,
            cloud_watch: run::act_area::<CloudWatch>(cloud, policy, cloud_watch).await,
        }
    }

    /// The same areas with no change made (`frugal plan`).
    pub(super) fn without_acting(self) -> Areas<Applied> {
        let Areas { gateway_endpoints, snapshot_retention, ssm_access, backup, access_keys, right_sizing, cloud_watch } = self;
        Areas {
            gateway_endpoints: gateway_endpoints.map(run::unchanged),
            snapshot_retention: snapshot_retention.map(run::unchanged),
            ssm_access: ssm_access.map(run::unchanged),
            backup: backup.map(run::unchanged),
            access_keys: access_keys.map(run::unchanged),
            right_sizing: right_sizing.map(run::unchanged),
            cloud_watch: cloud_watch.map(run::unchanged),
        }
    }
}

/// Whether the policy enables each area.
#[derive(Clone, Debug, PartialEq)]
pub struct Enabled;

impl Family for Enabled {
    type Of<A: Area> = ();
}

/// The areas a policy enables, in the order of the spec's sections.
pub fn enabled(policy: &ValidatedPolicy) -> Vec<AreaName> {
    struct Names(Vec<AreaName>);
    impl Visit<'_, Enabled> for Names {
        fn visit<A: Area>(&mut self, _: &()) {
            self.0.push(A::NAME);
        }
    }
    let mut names = Names(Vec::new());
    enabled_areas(policy).each(&mut names);
    names.0
}

fn enabled_areas(policy: &ValidatedPolicy) -> Areas<Enabled> {
    Areas::<Enabled> {
        gateway_endpoints: GatewayEndpoints::desired(policy).map(|_| ()),
        snapshot_retention: SnapshotRetention::desired(policy).map(|_| ()),
        ssm_access: SsmAccess::desired(policy).map(|_| ()),
        backup: Backup::desired(policy).map(|_| ()),
        access_keys: AccessKeys::desired(policy).map(|_| ()),
        right_sizing: RightSizing::desired(policy).map(|_| ()),
        cloud_watch: CloudWatch::desired(policy).map(|_| ()),
    }
}

/// The prices an area's estimates use ([`Run::PRICES`]), by the area's name.
pub fn prices_of(area: AreaName) -> &'static [PriceItem] {
    match area {
        AreaName::GatewayEndpoints => GatewayEndpoints::PRICES,
        AreaName::SnapshotRetention => SnapshotRetention::PRICES,
        AreaName::SsmAccess => SsmAccess::PRICES,
        AreaName::Backup => Backup::PRICES,
        AreaName::AccessKeys => AccessKeys::PRICES,
        AreaName::RightSizing => RightSizing::PRICES,
        AreaName::CloudWatch => CloudWatch::PRICES,
    }
}

/// The prices the areas a policy enables use, each once.
pub fn price_items(policy: &ValidatedPolicy) -> Vec<PriceItem> {
    struct Items(Vec<PriceItem>);
    impl Visit<'_, Enabled> for Items {
        fn visit<A: Area>(&mut self, _: &()) {
            for item in A::PRICES {
                if !self.0.contains(item) {
                    self.0.push(*item);
                }
            }
        }
    }
    let mut items = Items(Vec::new());
    enabled_areas(policy).each(&mut items);
    items.0
}

/// What each area deleted when its policy went away (deletionPolicy Delete).
#[derive(Clone, Debug, PartialEq)]
pub struct Deleted;

impl Family for Deleted {
    type Of<A: Area> = Vec<String>;
}

impl Areas<Deleted> {
    /// Removes what the policy created in every area, gateway endpoints first; the first
    /// failure stops the cleanup (the finalizer stays and it is retried).
    pub(super) async fn cleanup(cloud: &dyn Cloud, policy: &ValidatedPolicy) -> Result<Self, CloudError> {
        Ok(Areas {
            gateway_endpoints: Some(<GatewayEndpoints as Run>::cleanup(cloud, policy).await?),
            snapshot_retention: Some(<SnapshotRetention as Run>::cleanup(cloud, policy).await?),
            ssm_access: Some(<SsmAccess as Run>::cleanup(cloud, policy).await?),
            backup: Some(<Backup as Run>::cleanup(cloud, policy).await?),
            access_keys: Some(<AccessKeys as Run>::cleanup(cloud, policy).await?),
            right_sizing: Some(<RightSizing as Run>::cleanup(cloud, policy).await?),
            cloud_watch: Some(<CloudWatch as Run>::cleanup(cloud, policy).await?),
        })
    }
}
