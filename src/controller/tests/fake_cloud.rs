//! The fake AWS account: an in-memory `Account` behind every area's `AreaCloud` (one file per
//! area in `fake_cloud/`, so it answers exactly what the engine asks), recording every call
//! as a `CloudCall` so that scenarios can say which calls happened and which did not, and
//! failing the calls a scenario asks it to (`fail_*`). `FakeConnector` hands it to the
//! reconcile.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::fixtures::{PRIVATE_TABLE, PUBLIC_TABLE, REGION, VPC};

mod access_keys;
mod backup;
mod cloud_watch;
mod gateway_endpoints;
mod right_sizing;
mod snapshot_retention;
mod ssm_access;

use crate::api::{AwsTarget, GatewayService};
use crate::engine::{Cloud, CloudConnector, CloudError, PriceLookup, SpendLookup};
use crate::plan::Tags;
use crate::plan::access_keys::AccessKeysInventory;
use crate::plan::backup::BackupInventory;
use crate::plan::cloud_watch::CloudWatchInventory;
use crate::plan::gateway_endpoints::{GatewayEndpoint, Route, RouteTable, Vpc};
use crate::plan::right_sizing::RightSizingInventory;
use crate::plan::snapshot_retention::SnapshotRetentionInventory;
use crate::plan::ssm_access::{PortRange, SsmAccessInventory};
use crate::pricing::spend::{Months, Spend};
use crate::pricing::{PriceItem, Prices};

/// An AWS call as the domain trait sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CloudCall {
    Connect,
    /// Cost Explorer read (spec.pricing.costExplorer).
    Spend,
    ObserveGatewayEndpoints,
    CreateEndpoint {
        vpc_id: String,
        service: GatewayService,
        route_table_ids: Vec<String>,
    },
    AddRouteTables {
        endpoint_id: String,
        route_table_ids: Vec<String>,
    },
    OwnedEndpoints {
        policy: String,
    },
    DeleteEndpoints {
        ids: Vec<String>,
    },
    ObserveSnapshots,
    SnapshotRetentionChange(String),
    ObserveSsm,
    /// One AuthorizeSecurityGroupIngress (the remainder of a split).
    AuthorizeIngress {
        group_id: String,
        ranges: Vec<PortRange>,
    },
    /// One RevokeSecurityGroupIngress, by rule id.
    RevokeIngress {
        group_id: String,
        rule_id: String,
    },
    /// Any other ssmAccess change, as `describe()` says it.
    SsmAccessChange(String),
    ObserveBackup,
    /// One AWS Backup call and what it names (vault or plan name, plan, selection or selection name).
    Backup {
        operation: &'static str,
        target: String,
    },
    ObserveAccessKeys,
    /// An accessKeys change, as `describe()` says it.
    AccessKeysChange(String),
    ObserveRightSizing,
    ObserveCloudWatch,
    /// A cloudWatch change, as `describe()` says it.
    CloudWatchChange(String),
    /// A rightSizing change, as `describe()` says it.
    RightSizingChange(String),
}

impl CloudCall {
    pub(super) fn is_mutating(&self) -> bool {
        matches!(
            self,
            CloudCall::CreateEndpoint { .. }
                | CloudCall::AddRouteTables { .. }
                | CloudCall::DeleteEndpoints { .. }
                | CloudCall::SnapshotRetentionChange(_)
                | CloudCall::AuthorizeIngress { .. }
                | CloudCall::RevokeIngress { .. }
                | CloudCall::SsmAccessChange(_)
                | CloudCall::Backup { .. }
                | CloudCall::AccessKeysChange(_)
                | CloudCall::RightSizingChange(_)
                | CloudCall::CloudWatchChange(_)
        )
    }
}

#[derive(Default)]
pub(super) struct Account {
    vpcs: Vec<Vpc>,
    route_tables: Vec<RouteTable>,
    endpoints: Vec<GatewayEndpoint>,
    created: u32,
    ssm: SsmAccessInventory,
    backup: BackupInventory,
    pub(super) access_keys: AccessKeysInventory,
    pub(super) right_sizing: RightSizingInventory,
    pub(super) cloud_watch: CloudWatchInventory,
    pub(super) snapshots: SnapshotRetentionInventory,
}

#[derive(Default)]
pub(super) struct FakeCloud {
    pub(super) account: Mutex<Account>,
    calls: Mutex<Vec<CloudCall>>,
    pub(super) fail_observe: Option<CloudError>,
    pub(super) fail_delete: Option<CloudError>,
    pub(super) fail_observe_ssm: Option<CloudError>,
    pub(super) fail_observe_snapshots: Option<CloudError>,
    pub(super) fail_observe_backup: Option<CloudError>,
    /// The ssmAccess or backup call whose operation is this error's fails with it.
    pub(super) fail_call: Option<CloudError>,
    /// What the account's Price List answers; None: the built-in table for the region.
    pub(super) prices: Option<Prices>,
    /// What Cost Explorer answers; None: no spend at all.
    pub(super) spend: Option<Result<Spend, CloudError>>,
}

#[async_trait]
impl SpendLookup for FakeCloud {
    async fn spend(&self, items: &[PriceItem]) -> Result<Spend, CloudError> {
        self.record(CloudCall::Spend);
        let months = Months::around("2026-12-03".parse().expect("a date"));
        self.spend.clone().unwrap_or_else(|| Ok(Spend::from_rows(REGION, "2026-12-03", &months, &[], items)))
    }
}

#[async_trait::async_trait]
impl PriceLookup for FakeCloud {
    async fn prices(&self, _items: &[PriceItem]) -> Prices {
        self.prices.clone().unwrap_or_else(|| Prices::built_in(REGION, None))
    }
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn route_table(vpc_id: &str, id: &str, nat: Option<&str>) -> RouteTable {
    RouteTable {
        id: id.to_string(),
        vpc_id: vpc_id.to_string(),
        routes: vec![Route {
            destination_cidr: Some("0.0.0.0/0".to_string()),
            nat_gateway_id: nat.map(str::to_string),
            state: "active".to_string(),
        }],
    }
}

fn endpoint(id: &str, tags: Tags) -> GatewayEndpoint {
    GatewayEndpoint {
        id: id.to_string(),
        vpc_id: VPC.to_string(),
        service_name: GatewayService::S3.service_name(REGION),
        state: "available".to_string(),
        route_table_ids: BTreeSet::from([PRIVATE_TABLE.to_string()]),
        tags,
    }
}

impl FakeCloud {
    /// One VPC whose private route table sends S3 traffic through a NAT gateway: no endpoint yet.
    pub(super) fn with_drift() -> Self {
        Self::default().with_vpc(VPC, PRIVATE_TABLE, PUBLIC_TABLE)
    }

    /// A VPC with a private and a public route table, and no endpoint.
    pub(super) fn with_vpc(self, vpc_id: &str, private_table: &str, public_table: &str) -> Self {
        {
            let mut account = lock(&self.account);
            account.vpcs.push(Vpc { id: vpc_id.to_string(), tags: Tags::new() });
            account.route_tables.push(route_table(vpc_id, private_table, Some("nat-0123456789")));
            account.route_tables.push(route_table(vpc_id, public_table, None));
        }
        self
    }

    /// Endpoints `ids` added to the account with `tags`.
    pub(super) fn with_endpoints(self, ids: &[&str], tags: Tags) -> Self {
        lock(&self.account).endpoints.extend(ids.iter().map(|id| endpoint(id, tags.clone())));
        self
    }

    pub(super) fn calls(&self) -> Vec<CloudCall> {
        lock(&self.calls).clone()
    }

    pub(super) fn endpoint_ids(&self) -> Vec<String> {
        lock(&self.account).endpoints.iter().map(|e| e.id.clone()).collect()
    }

    fn record(&self, call: CloudCall) {
        lock(&self.calls).push(call);
    }

    pub(super) fn with_ssm(self, ssm: SsmAccessInventory) -> Self {
        lock(&self.account).ssm = ssm;
        self
    }

    pub(super) fn with_backup(self, backup: BackupInventory) -> Self {
        lock(&self.account).backup = backup;
        self
    }

    pub(super) fn with_access_keys(self, access_keys: AccessKeysInventory) -> Self {
        lock(&self.account).access_keys = access_keys;
        self
    }

    pub(super) fn with_right_sizing(self, right_sizing: RightSizingInventory) -> Self {
        lock(&self.account).right_sizing = right_sizing;
        self
    }

    pub(super) fn with_cloud_watch(self, cloud_watch: CloudWatchInventory) -> Self {
        lock(&self.account).cloud_watch = cloud_watch;
        self
    }

    pub(super) fn cloud_watch(&self) -> CloudWatchInventory {
        lock(&self.account).cloud_watch.clone()
    }

    pub(super) fn right_sizing(&self) -> RightSizingInventory {
        lock(&self.account).right_sizing.clone()
    }

    pub(super) fn access_keys(&self) -> AccessKeysInventory {
        lock(&self.account).access_keys.clone()
    }

    pub(super) fn ssm(&self) -> SsmAccessInventory {
        lock(&self.account).ssm.clone()
    }

    pub(super) fn backup(&self) -> BackupInventory {
        lock(&self.account).backup.clone()
    }

    /// The error `fail_call` holds when it is for `operation`.
    fn failure(&self, operation: &str) -> Result<(), CloudError> {
        match &self.fail_call {
            Some(error) if error.operation == operation => Err(error.clone()),
            _ => Ok(()),
        }
    }

    fn next_id(&self, prefix: &str) -> String {
        let mut account = lock(&self.account);
        account.created += 1;
        format!("{prefix}-fake{:04}", account.created)
    }
}

pub(super) struct FakeConnector {
    pub(super) cloud: Arc<FakeCloud>,
}

#[async_trait]
impl CloudConnector for FakeConnector {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError> {
        assert_eq!(target.region, REGION, "the policy's region reaches the connector");
        self.cloud.record(CloudCall::Connect);
        Ok(self.cloud.clone())
    }

    /// The fake account is the operator's own.
    async fn own_account(&self, _region: &str) -> Result<String, CloudError> {
        Ok(OWN_ACCOUNT.to_string())
    }
}

/// The account of the operator's own credentials in these tests.
pub(super) const OWN_ACCOUNT: &str = "123456789012";
