//! The fake AWS account: an in-memory `Account` behind the `Cloud` trait, recording every call
//! as a `CloudCall` so that scenarios can say which calls happened and which did not, and
//! failing the calls a scenario asks it to (`fail_*`). `FakeConnector` hands it to the
//! reconcile.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;

use super::fixtures::{ACCOUNT, PRIVATE_TABLE, PUBLIC_TABLE, REGION, VPC};
use crate::api::names::TAG_EXPIRES_AT;
use crate::api::validate::{BackupDesired, GatewayEndpointsDesired, SnapshotRetentionDesired, SsmAccessDesired};
use crate::api::{AwsTarget, GatewayService};
use crate::engine::{Cloud, CloudConnector, CloudError, ErrorKind};
use crate::plan::backup::{BackupChange, BackupInventory, BackupVault, ObservedPlan, Selection};
use crate::plan::gateway_endpoints::{GatewayEndpoint, GatewayEndpointsChange, GatewayEndpointsInventory, Route, RouteTable, Vpc};
use crate::plan::snapshot_retention::{SnapshotRetentionChange, SnapshotRetentionInventory};
use crate::plan::ssm_access::{IngressRule, InstanceProfile, PortRange, RuleCall, SsmAccessChange, SsmAccessInventory};
use crate::plan::{Tags, ownership_tags};

/// An AWS call as the domain trait sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CloudCall {
    Connect,
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

#[async_trait]
impl Cloud for FakeCloud {
    async fn observe_gateway_endpoints(&self, _desired: &GatewayEndpointsDesired) -> Result<GatewayEndpointsInventory, CloudError> {
        self.record(CloudCall::ObserveGatewayEndpoints);
        if let Some(error) = &self.fail_observe {
            return Err(error.clone());
        }
        let account = lock(&self.account);
        Ok(GatewayEndpointsInventory {
            vpcs: account.vpcs.clone(),
            route_tables: account.route_tables.clone(),
            endpoints: account.endpoints.clone(),
            nat_bytes_30d: Some(account.vpcs.iter().map(|v| (v.id.clone(), 100 * 1_073_741_824)).collect()),
        })
    }

    async fn apply_gateway_change(&self, change: &GatewayEndpointsChange) -> Result<Option<String>, CloudError> {
        match change {
            GatewayEndpointsChange::CreateEndpoint { vpc_id, service, service_name, route_table_ids, tags, .. } => {
                self.record(CloudCall::CreateEndpoint {
                    vpc_id: vpc_id.clone(),
                    service: *service,
                    route_table_ids: route_table_ids.clone(),
                });
                let mut account = lock(&self.account);
                account.created += 1;
                let id = format!("vpce-fake{:04}", account.created);
                account.endpoints.push(GatewayEndpoint {
                    id: id.clone(),
                    vpc_id: vpc_id.clone(),
                    service_name: service_name.clone(),
                    state: "available".to_string(),
                    route_table_ids: route_table_ids.iter().cloned().collect(),
                    tags: tags.clone(),
                });
                Ok(Some(id))
            }
            GatewayEndpointsChange::AddRouteTables { endpoint_id, route_table_ids, .. } => {
                self.record(CloudCall::AddRouteTables { endpoint_id: endpoint_id.clone(), route_table_ids: route_table_ids.clone() });
                let mut account = lock(&self.account);
                let endpoint = account.endpoints.iter_mut().find(|e| &e.id == endpoint_id);
                let endpoint = endpoint
                    .ok_or_else(|| CloudError::new("ModifyVpcEndpoint", ErrorKind::NotFound, format!("{endpoint_id} not found")))?;
                endpoint.route_table_ids.extend(route_table_ids.iter().cloned());
                Ok(None)
            }
        }
    }

    async fn owned_gateway_endpoints(&self, policy: &str) -> Result<Vec<GatewayEndpoint>, CloudError> {
        self.record(CloudCall::OwnedEndpoints { policy: policy.to_string() });
        let owned = ownership_tags(policy);
        let account = lock(&self.account);
        Ok(account.endpoints.iter().filter(|e| owned.iter().all(|(k, v)| e.tags.get(k) == Some(v))).cloned().collect())
    }

    async fn delete_gateway_endpoints(&self, ids: &[String]) -> Result<(), CloudError> {
        self.record(CloudCall::DeleteEndpoints { ids: ids.to_vec() });
        if let Some(error) = &self.fail_delete {
            return Err(error.clone());
        }
        lock(&self.account).endpoints.retain(|e| !ids.contains(&e.id));
        Ok(())
    }

    /// The account's snapshots: none unless a test seeds them.
    async fn observe_snapshots(&self, _desired: &SnapshotRetentionDesired) -> Result<SnapshotRetentionInventory, CloudError> {
        self.record(CloudCall::ObserveSnapshots);
        if let Some(error) = &self.fail_observe_snapshots {
            return Err(error.clone());
        }
        Ok(lock(&self.account).snapshots.clone())
    }

    async fn apply_snapshot_change(&self, change: &SnapshotRetentionChange) -> Result<(), CloudError> {
        self.record(CloudCall::SnapshotRetentionChange(change.describe()));
        let mut account = lock(&self.account);
        let snapshots = std::sync::Arc::make_mut(&mut account.snapshots.snapshots);
        match change {
            SnapshotRetentionChange::TagExpiring { snapshot_ids, expires_at } => {
                for s in snapshots.iter_mut().filter(|s| snapshot_ids.contains(&s.id)) {
                    s.tags.insert(TAG_EXPIRES_AT.to_string(), expires_at.clone());
                }
            }
            SnapshotRetentionChange::RemoveExpiringTag { snapshot_ids } => {
                for s in snapshots.iter_mut().filter(|s| snapshot_ids.contains(&s.id)) {
                    s.tags.remove(TAG_EXPIRES_AT);
                }
            }
            SnapshotRetentionChange::Delete { snapshot_id, .. } => snapshots.retain(|s| &s.id != snapshot_id),
        }
        Ok(())
    }

    /// The account's vault and plan: none unless a test seeds them.
    async fn observe_backup(&self, _policy: &str, _desired: &BackupDesired) -> Result<BackupInventory, CloudError> {
        self.record(CloudCall::ObserveBackup);
        if let Some(error) = &self.fail_observe_backup {
            return Err(error.clone());
        }
        Ok(self.backup())
    }

    /// Behaves as AWS Backup does where the order of calls matters: a selection needs a live
    /// plan, a plan with selections cannot be deleted, nor a vault with recovery points.
    async fn apply_backup_change(&self, change: &BackupChange) -> Result<Option<String>, CloudError> {
        let (operation, target) = match change {
            BackupChange::CreateVault { name, .. } => ("CreateBackupVault", name.clone()),
            BackupChange::CreatePlan { name, .. } => ("CreateBackupPlan", name.clone()),
            BackupChange::UpdatePlan { plan_id, .. } => ("UpdateBackupPlan", plan_id.clone()),
            BackupChange::CreateSelection { selection, .. } => ("CreateBackupSelection", selection.name.clone()),
            BackupChange::DeleteSelection { selection_id, .. } => ("DeleteBackupSelection", selection_id.clone()),
            BackupChange::DeletePlan { plan_id, .. } => ("DeleteBackupPlan", plan_id.clone()),
            BackupChange::DeleteVault { name } => ("DeleteBackupVault", name.clone()),
        };
        self.record(CloudCall::Backup { operation, target });
        self.failure(operation)?;
        let refused = |message: &str| CloudError::new(operation, ErrorKind::InvalidRequest, message);
        let missing = |what: &str| CloudError::new(operation, ErrorKind::NotFound, format!("{what} not found"));
        match change {
            BackupChange::CreateVault { name, tags, .. } => {
                let arn = format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}");
                let vault = BackupVault { name: name.clone(), arn: arn.clone(), tags: tags.clone(), recovery_points: 0 };
                lock(&self.account).backup.vault = Some(vault);
                Ok(Some(arn))
            }
            BackupChange::CreatePlan { name, rules, tags, .. } => {
                let id = self.next_id("plan");
                let plan = ObservedPlan {
                    id: id.clone(),
                    arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:{id}"),
                    name: name.clone(),
                    version_id: self.next_id("version"),
                    tags: tags.clone(),
                    rules: rules.clone(),
                    selections: Vec::new(),
                };
                lock(&self.account).backup.plan = Some(plan);
                Ok(Some(id))
            }
            BackupChange::UpdatePlan { plan_id, rules, .. } => {
                let version = self.next_id("version");
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                plan.rules = rules.clone();
                plan.version_id = version.clone();
                Ok(Some(version))
            }
            BackupChange::CreateSelection { plan_id, selection, .. } => {
                let plan_id = plan_id.as_deref().ok_or_else(|| refused("the plan of the selection was not created"))?;
                let id = self.next_id("sel");
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                plan.selections.push(Selection { id: id.clone(), ..selection.clone() });
                Ok(Some(id))
            }
            BackupChange::DeleteSelection { plan_id, selection_id, .. } => {
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_mut().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                let before = plan.selections.len();
                plan.selections.retain(|s| &s.id != selection_id);
                if plan.selections.len() == before {
                    return Err(missing(selection_id));
                }
                Ok(None)
            }
            BackupChange::DeletePlan { plan_id, .. } => {
                let mut account = lock(&self.account);
                let plan = account.backup.plan.as_ref().filter(|p| &p.id == plan_id).ok_or_else(|| missing(plan_id))?;
                if !plan.selections.is_empty() {
                    return Err(refused("Related backup plan selections must be deleted prior to backup plan deletion"));
                }
                account.backup.plan = None;
                Ok(None)
            }
            BackupChange::DeleteVault { name } => {
                let mut account = lock(&self.account);
                let vault = account.backup.vault.as_ref().filter(|v| &v.name == name).ok_or_else(|| missing(name))?;
                if vault.recovery_points > 0 {
                    return Err(refused("Backup vault cannot be deleted because it contains recovery points"));
                }
                account.backup.vault = None;
                Ok(None)
            }
        }
    }

    /// The account's ssmAccess inventory: empty unless a test seeds it.
    async fn observe_ssm_access(&self, _desired: &SsmAccessDesired) -> Result<SsmAccessInventory, CloudError> {
        self.record(CloudCall::ObserveSsm);
        if let Some(error) = &self.fail_observe_ssm {
            return Err(error.clone());
        }
        Ok(self.ssm())
    }

    /// Security group changes make their EC2 calls in `rule_calls()` order, as the real
    /// adapter does, and stop at the first failure.
    async fn apply_ssm_change(&self, policy: &str, change: &SsmAccessChange) -> Result<Option<String>, CloudError> {
        if !change.is_security_group_change() {
            self.record(CloudCall::SsmAccessChange(change.describe()));
            let mut account = lock(&self.account);
            let ssm = &mut account.ssm;
            match change {
                SsmAccessChange::AttachInstanceProfile { instance_id, profile_name } => {
                    let instance = ssm.instances.iter_mut().find(|i| &i.id == instance_id);
                    let instance = instance.ok_or_else(|| {
                        CloudError::new("AssociateIamInstanceProfile", ErrorKind::NotFound, format!("{instance_id} not found"))
                    })?;
                    instance.profile_arn = Some(format!("arn:aws:iam::{ACCOUNT}:instance-profile/{profile_name}"));
                }
                SsmAccessChange::CreateInstanceProfile { name } => {
                    let arn = format!("arn:aws:iam::{ACCOUNT}:instance-profile/{name}");
                    let tags = crate::plan::ownership_tags(policy);
                    ssm.profiles.insert(name.clone(), InstanceProfile { name: name.clone(), arn, grants_ssm: true, tags: tags.clone() });
                    ssm.configured_role = Some(tags);
                }
                SsmAccessChange::SetDefaultHostManagementRole { role, .. } => ssm.default_host_management_role = Some(role.clone()),
                SsmAccessChange::DeleteKeyPair { key_pair_id, .. } => ssm.key_pairs.retain(|k| &k.id != key_pair_id),
                SsmAccessChange::RevokeIngress { .. } | SsmAccessChange::SplitIngress { .. } => {}
            }
            return Ok(None);
        }
        let mut created = Vec::new();
        for call in change.rule_calls() {
            match call {
                RuleCall::Authorize { group_id, protocol, ranges, source, description } => {
                    self.record(CloudCall::AuthorizeIngress { group_id: group_id.to_string(), ranges: ranges.to_vec() });
                    self.failure("AuthorizeSecurityGroupIngress")?;
                    let ids: Vec<String> = ranges.iter().map(|_| self.next_id("sgr")).collect();
                    let mut account = lock(&self.account);
                    let group = account.ssm.security_groups.iter_mut().find(|g| g.id == group_id).ok_or_else(|| {
                        CloudError::new("AuthorizeSecurityGroupIngress", ErrorKind::NotFound, format!("{group_id} not found"))
                    })?;
                    for (id, range) in ids.iter().zip(ranges) {
                        group.ingress.push(IngressRule {
                            rule_id: id.clone(),
                            protocol: protocol.to_string(),
                            from_port: range.from,
                            to_port: range.to,
                            source: source.clone(),
                            description: Some(description.to_string()),
                        });
                    }
                    created.extend(ids);
                }
                RuleCall::Revoke { group_id, rule_id } => {
                    self.record(CloudCall::RevokeIngress { group_id: group_id.to_string(), rule_id: rule_id.to_string() });
                    self.failure("RevokeSecurityGroupIngress")?;
                    let mut account = lock(&self.account);
                    let group = account.ssm.security_groups.iter_mut().find(|g| g.id == group_id);
                    let rules = group.map(|g| &mut g.ingress);
                    match rules {
                        Some(rules) if rules.iter().any(|r| r.rule_id == rule_id) => rules.retain(|r| r.rule_id != rule_id),
                        _ => {
                            return Err(CloudError::new("RevokeSecurityGroupIngress", ErrorKind::NotFound, format!("{rule_id} not found")));
                        }
                    }
                }
            }
        }
        Ok(if created.is_empty() { None } else { Some(created.join(",")) })
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
}
