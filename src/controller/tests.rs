//! Reconcile against a mocked API server (`tower_test`) and an in-memory AWS account.
//!
//! Each test runs one reconcile while a scenario task answers the requests it expects, in
//! order, asserting method, path and body; a call that never comes fails on a timeout, and a
//! call nobody expected is answered with a 500 and fails the test. The fake account records
//! every AWS call, so tests can say which calls happened and which did not.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_trait::async_trait;
use http::{Method, Request, Response, StatusCode};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::client::Body;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::{Context, ReconcileError, error_policy, reconcile};
use crate::api::names::{FIELD_MANAGER, FINALIZER, TAG_EXPIRES_AT, TAG_POLICY};
use crate::api::validate::{BackupDesired, GatewayEndpointsDesired, SnapshotRetentionDesired, SsmAccessDesired};
use crate::api::{AwsTarget, BackupSpec, CostPolicy, CostPolicySpec, DeletionPolicy, GatewayService, SsmAccessSpec};
use crate::engine::{Cloud, CloudConnector, CloudError, ErrorKind};
use crate::metrics::Metrics;
use crate::plan::backup::{BackupChange, BackupInventory, BackupVault, ObservedPlan, PlanRule, Selection};
use crate::plan::gateway_endpoints::{GatewayEndpoint, GatewayEndpointsChange, GatewayEndpointsInventory, Route, RouteTable, Vpc};
use crate::plan::snapshot_retention::{SnapshotRetentionChange, SnapshotRetentionInventory};
use crate::plan::ssm_access::{
    IngressRule, Instance, InstanceProfile, PortRange, RuleCall, SecurityGroup, Source, SsmAccessChange, SsmAccessInventory,
};
use crate::plan::{Tags, ownership_tags};

const NAME: &str = "team-a";
const GENERATION: i64 = 3;
const REGION: &str = "eu-west-1";
const VPC: &str = "vpc-0a1b2c3d";
const PRIVATE_TABLE: &str = "rtb-private1";
const PUBLIC_TABLE: &str = "rtb-public1";
const POLICY_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a";
const STATUS_PATH: &str = "/apis/frugal.dev/v1alpha1/costpolicies/team-a/status";
const EVENTS_PATH: &str = "/apis/events.k8s.io/v1/namespaces/default/events";
const ACCOUNT: &str = "111122223333";
/// The instance profile the ssmAccess fixture attaches.
const SSM_PROFILE: &str = "frugal-ssm";
const BACKUP_VAULT: &str = "prod-vault";
const BACKUP_PLAN: &str = "prod-daily";
const BACKUP_ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";
/// How long a reconcile may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long the scenario may still wait for a call once the reconcile has ended.
const SETTLE: Duration = Duration::from_secs(1);

// ---------------------------------------------------------------------------------------------
// Fixtures

trait PolicyFixture: Sized {
    /// An Audit policy for S3 endpoints in every VPC of eu-west-1, at generation 3.
    fn test() -> Self;
    fn with_finalizer(self) -> Self;
    fn enforce(self) -> Self;
    fn deletion_policy(self, policy: DeletionPolicy) -> Self;
    fn deleting(self) -> Self;
    fn with_spec(self, change: impl FnOnce(&mut CostPolicySpec)) -> Self;
    /// The ssmAccess area alone: revoke SSH from the world in every group of the region, and
    /// attach the existing `frugal-ssm` profile to instances without one.
    fn ssm_access_only(self) -> Self;
    /// The backup area alone: vault `prod-vault` (created when missing), plan `prod-daily`
    /// with one daily rule kept 35 days, selection `prod-…` of the resources tagged backup=daily.
    fn backup_only(self) -> Self;
}

impl PolicyFixture for CostPolicy {
    fn test() -> Self {
        let spec: CostPolicySpec =
            serde_yaml::from_str(&format!("aws: {{region: {REGION}}}\ngatewayEndpoints: {{services: [s3]}}\n")).expect("fixture parses");
        let mut policy = CostPolicy::new(NAME, spec);
        policy.metadata.generation = Some(GENERATION);
        policy.metadata.uid = Some("0b5e4d1c-7a43-4d3a-9a63-3e1f0c9d2b11".to_string());
        policy.metadata.resource_version = Some("100".to_string());
        policy
    }

    fn with_finalizer(mut self) -> Self {
        self.metadata.finalizers.get_or_insert_with(Vec::new).push(FINALIZER.to_string());
        self
    }

    fn enforce(self) -> Self {
        self.with_spec(|spec| spec.mode = crate::api::Mode::Enforce)
    }

    fn deletion_policy(self, policy: DeletionPolicy) -> Self {
        self.with_spec(|spec| spec.deletion_policy = policy)
    }

    fn deleting(mut self) -> Self {
        self.metadata.deletion_timestamp = Some(Time(k8s_openapi::jiff::Timestamp::now()));
        self
    }

    fn with_spec(mut self, change: impl FnOnce(&mut CostPolicySpec)) -> Self {
        change(&mut self.spec);
        self
    }

    fn ssm_access_only(self) -> Self {
        let section: SsmAccessSpec =
            serde_yaml::from_str(&format!("{{revokeWorldSsh: true, instanceProfile: {{name: {SSM_PROFILE}, attachWhenMissing: true}}}}"))
                .expect("ssmAccess fixture parses");
        self.with_spec(|spec| {
            spec.gateway_endpoints = None;
            spec.ssm_access = Some(section);
        })
    }

    fn backup_only(self) -> Self {
        let section: BackupSpec = serde_yaml::from_str(&format!(
            "vault: {{name: {BACKUP_VAULT}, create: true}}
plan:
  name: {BACKUP_PLAN}
  rules:
    - {{name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}}
selection: {{name: prod, iamRoleArn: '{BACKUP_ROLE}', tags: {{backup: daily}}}}
"
        ))
        .expect("backup fixture parses");
        self.with_spec(|spec| {
            spec.gateway_endpoints = None;
            spec.backup = Some(section);
        })
    }
}

/// The validated backup section of `policy`.
fn backup_desired(policy: &CostPolicy) -> BackupDesired {
    crate::api::validate::validate(NAME, &policy.spec).expect("a valid policy").backup.expect("a backup section")
}

fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("status has no {type_} condition: {status:#}"))
}

fn assert_condition(status: &Value, type_: &str, expected_status: &str, reason: &str) {
    let c = condition(status, type_);
    assert_eq!((c["status"].as_str(), c["reason"].as_str()), (Some(expected_status), Some(reason)), "{type_}: {c:#}");
    assert_eq!(c["observedGeneration"], status["observedGeneration"], "{type_}: {c:#}");
}

fn note(event: &Value) -> &str {
    event["note"].as_str().unwrap_or_default()
}

/// The delay of a requeue; `Action` keeps it private, its Debug output shows it.
fn requeue_after(action: &Action) -> Option<Duration> {
    let debug = format!("{action:?}");
    let inner = debug.split("Some(").nth(1)?.split(')').next()?;
    let split = inner.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = inner.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit {
        "s" => number,
        "ms" => number / 1e3,
        "µs" => number / 1e6,
        "ns" => number / 1e9,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

// ---------------------------------------------------------------------------------------------
// The fake AWS account

/// An AWS call as the domain trait sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
enum CloudCall {
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
    fn is_mutating(&self) -> bool {
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
struct Account {
    vpcs: Vec<Vpc>,
    route_tables: Vec<RouteTable>,
    endpoints: Vec<GatewayEndpoint>,
    created: u32,
    ssm: SsmAccessInventory,
    backup: BackupInventory,
    snapshots: SnapshotRetentionInventory,
}

#[derive(Default)]
struct FakeCloud {
    account: Mutex<Account>,
    calls: Mutex<Vec<CloudCall>>,
    fail_observe: Option<CloudError>,
    fail_delete: Option<CloudError>,
    fail_observe_ssm: Option<CloudError>,
    fail_observe_snapshots: Option<CloudError>,
    fail_observe_backup: Option<CloudError>,
    /// The ssmAccess or backup call whose operation is this error's fails with it.
    fail_call: Option<CloudError>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
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
    fn with_drift() -> Self {
        Self::default().with_vpc(VPC, PRIVATE_TABLE, PUBLIC_TABLE)
    }

    /// A VPC with a private and a public route table, and no endpoint.
    fn with_vpc(self, vpc_id: &str, private_table: &str, public_table: &str) -> Self {
        {
            let mut account = lock(&self.account);
            account.vpcs.push(Vpc { id: vpc_id.to_string(), tags: Tags::new() });
            account.route_tables.push(route_table(vpc_id, private_table, Some("nat-0123456789")));
            account.route_tables.push(route_table(vpc_id, public_table, None));
        }
        self
    }

    /// Endpoints `ids` added to the account with `tags`.
    fn with_endpoints(self, ids: &[&str], tags: Tags) -> Self {
        lock(&self.account).endpoints.extend(ids.iter().map(|id| endpoint(id, tags.clone())));
        self
    }

    fn calls(&self) -> Vec<CloudCall> {
        lock(&self.calls).clone()
    }

    fn endpoint_ids(&self) -> Vec<String> {
        lock(&self.account).endpoints.iter().map(|e| e.id.clone()).collect()
    }

    fn record(&self, call: CloudCall) {
        lock(&self.calls).push(call);
    }

    fn with_ssm(self, ssm: SsmAccessInventory) -> Self {
        lock(&self.account).ssm = ssm;
        self
    }

    fn with_backup(self, backup: BackupInventory) -> Self {
        lock(&self.account).backup = backup;
        self
    }

    fn ssm(&self) -> SsmAccessInventory {
        lock(&self.account).ssm.clone()
    }

    fn backup(&self) -> BackupInventory {
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

fn ingress(rule_id: &str, from: i32, to: i32, source: Source, description: Option<&str>) -> IngressRule {
    IngressRule {
        rule_id: rule_id.to_string(),
        protocol: "tcp".to_string(),
        from_port: from,
        to_port: to,
        source,
        description: description.map(str::to_string),
    }
}

fn world_v4() -> Source {
    Source::Ipv4("0.0.0.0/0".to_string())
}

/// sg-0ssh lets the world reach tcp/22 (next to rules that must stay), sg-1wide lets ::/0
/// reach tcp 0-65535; i-bare (in sg-0ssh) has no instance profile; `frugal-ssm` exists.
fn ssm_drift() -> SsmAccessInventory {
    SsmAccessInventory {
        security_groups: vec![
            SecurityGroup {
                id: "sg-0ssh".to_string(),
                name: "ssh-open".to_string(),
                tags: Tags::new(),
                ingress: vec![
                    ingress("sgr-https", 443, 443, world_v4(), None),
                    ingress("sgr-ssh-office", 22, 22, Source::Ipv4("10.0.0.0/8".to_string()), None),
                    ingress("sgr-ssh-world", 22, 22, world_v4(), None),
                ],
            },
            SecurityGroup {
                id: "sg-1wide".to_string(),
                name: "wide-open".to_string(),
                tags: Tags::new(),
                ingress: vec![ingress("sgr-wide6", 0, 65535, Source::Ipv6("::/0".to_string()), Some("legacy"))],
            },
        ],
        instances: vec![Instance {
            id: "i-bare".to_string(),
            state: "running".to_string(),
            key_name: None,
            security_group_ids: vec!["sg-0ssh".to_string()],
            profile_arn: None,
        }],
        profiles: BTreeMap::from([(
            SSM_PROFILE.to_string(),
            InstanceProfile {
                name: SSM_PROFILE.to_string(),
                arn: format!("arn:aws:iam::{ACCOUNT}:instance-profile/{SSM_PROFILE}"),
                grants_ssm: true,
                tags: Default::default(),
            },
        )]),
        ..SsmAccessInventory::default()
    }
}

/// (rule id, ports, source, description) of a group's ingress rules in the fake account.
fn rules_of(inventory: &SsmAccessInventory, group_id: &str) -> Vec<(String, String, String, Option<String>)> {
    let group = inventory.security_groups.iter().find(|g| g.id == group_id).unwrap_or_else(|| panic!("no group {group_id}"));
    group
        .ingress
        .iter()
        .map(|r| (r.rule_id.clone(), format!("{}-{}", r.from_port, r.to_port), r.source.to_string(), r.description.clone()))
        .collect()
}

fn owned_vault() -> BackupVault {
    BackupVault {
        name: BACKUP_VAULT.to_string(),
        arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{BACKUP_VAULT}"),
        tags: ownership_tags(NAME),
        recovery_points: 0,
    }
}

/// The spec's daily rule as AWS holds it, kept `delete_after_days`.
fn daily_rule(delete_after_days: u32) -> PlanRule {
    PlanRule {
        name: "daily".to_string(),
        target_vault: BACKUP_VAULT.to_string(),
        schedule: "cron(0 5 ? * * *)".to_string(),
        timezone: None,
        start_window_minutes: Some(60),
        completion_window_minutes: Some(180),
        delete_after_days: Some(delete_after_days),
        cold_after_days: None,
    }
}

fn selection(id: &str, name: &str, tag_value: &str) -> Selection {
    Selection {
        id: id.to_string(),
        name: name.to_string(),
        iam_role_arn: BACKUP_ROLE.to_string(),
        tags: BTreeMap::from([("backup".to_string(), tag_value.to_string())]),
        resources: Vec::new(),
        other_conditions: false,
    }
}

/// Our vault, and our plan `plan-0001` with `rules` and `selections`.
fn backup_account(rules: Vec<PlanRule>, selections: Vec<Selection>) -> BackupInventory {
    BackupInventory {
        vault: Some(owned_vault()),
        plan: Some(ObservedPlan {
            id: "plan-0001".to_string(),
            arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-plan:plan-0001"),
            name: BACKUP_PLAN.to_string(),
            version_id: "version-a".to_string(),
            tags: ownership_tags(NAME),
            rules,
            selections,
        }),
        resources: Vec::new(),
    }
}

/// Someone shortened the daily rule to 14 days in the console; two selections of an earlier
/// spec (prefix `prod`) and one someone else added are attached to the plan.
fn backup_drift() -> BackupInventory {
    backup_account(
        vec![daily_rule(14)],
        vec![
            selection("sel-old1", "prod-0badc0de", "weekly"),
            selection("sel-old2", "prod-1badc0de", "hourly"),
            selection("sel-theirs", "someone-elses", "daily"),
        ],
    )
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

struct FakeConnector {
    cloud: Arc<FakeCloud>,
}

#[async_trait]
impl CloudConnector for FakeConnector {
    async fn connect(&self, target: &AwsTarget) -> Result<Arc<dyn Cloud>, CloudError> {
        assert_eq!(target.region, REGION, "the policy's region reaches the connector");
        self.cloud.record(CloudCall::Connect);
        Ok(self.cloud.clone())
    }
}

// ---------------------------------------------------------------------------------------------
// The mocked API server

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;
type Responder = tower_test::mock::SendResponse<Response<Body>>;

/// One request as the API server received it.
struct Received {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    content_type: String,
    body: Value,
    respond: Responder,
}

impl Received {
    fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    fn answer(self, body: &impl serde::Serialize) {
        let bytes = serde_json::to_vec(body).expect("response serializes");
        self.respond.send_response(Response::builder().status(StatusCode::OK).body(Body::from(bytes)).expect("response builds"));
    }
}

/// The scenario's side of the mock: answers expected requests and keeps the object the
/// server would hold.
struct ApiServer {
    handle: Handle,
    object: CostPolicy,
    waiting_for: Arc<Mutex<&'static str>>,
}

impl ApiServer {
    async fn next(&mut self, what: &'static str) -> Received {
        *lock(&self.waiting_for) = what;
        let (request, respond) = self.handle.next_request().await.unwrap_or_else(|| panic!("the client went away before {what}"));
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("request body is JSON") };
        let query = parts.uri.query().map(form_pairs).unwrap_or_default();
        let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        Received { method: parts.method, path: parts.uri.path().to_string(), query, content_type, body, respond }
    }

    /// The finalizer helper's JSON patch that adds `frugal.dev/cleanup`.
    async fn expect_add_finalizer(&mut self) -> Value {
        let request = self.next("the JSON patch adding the finalizer").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        let ops = request.body.as_array().expect("a JSON patch is a list of operations");
        assert!(ops.iter().any(|op| op["op"] == "test" && op["path"] == "/metadata/finalizers"), "guarded by a test op: {ops:?}");
        let add = ops.iter().find(|op| op["op"] == "add").expect("an add op");
        assert!(add["value"] == json!([FINALIZER]) || add["value"] == FINALIZER, "adds {FINALIZER}: {add}");
        self.object.metadata.finalizers.get_or_insert_with(Vec::new).push(FINALIZER.to_string());
        let body = request.body.clone();
        request.answer(&self.object);
        body
    }

    /// The finalizer helper's JSON patch that removes `frugal.dev/cleanup`.
    async fn expect_remove_finalizer(&mut self) {
        let request = self.next("the JSON patch removing the finalizer").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, POLICY_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        let index = self.object.metadata.finalizers.iter().flatten().position(|f| f == FINALIZER).expect("the object has the finalizer");
        let path = format!("/metadata/finalizers/{index}");
        assert_eq!(
            request.body,
            json!([{"op": "test", "path": path, "value": FINALIZER}, {"op": "remove", "path": path}]),
            "removes exactly our finalizer"
        );
        if let Some(finalizers) = self.object.metadata.finalizers.as_mut() {
            finalizers.remove(index);
        }
        request.answer(&self.object);
    }

    /// The JSON patch of the status subresource, guarded by the policy's uid; returns the
    /// written `status`.
    async fn expect_status_patch(&mut self) -> Value {
        let request = self.next("the status patch").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::PATCH, STATUS_PATH));
        assert_eq!(request.content_type, "application/json-patch+json");
        assert_eq!(request.query("fieldManager"), Some(FIELD_MANAGER));
        let uid = self.object.metadata.uid.clone().expect("the served object has a uid");
        assert_eq!(request.body[0], json!({"op": "test", "path": "/metadata/uid", "value": uid}), "only to the object of that uid");
        assert_eq!((request.body[1]["op"].as_str(), request.body[1]["path"].as_str()), (Some("add"), Some("/status")), "{}", request.body);
        let status = request.body[1]["value"].clone();
        assert_eq!(status["observedGeneration"], json!(self.object.metadata.generation), "status describes metadata.generation");
        self.object.status = Some(serde_json::from_value(status.clone()).expect("the written status is a CostPolicyStatus"));
        request.answer(&self.object);
        status
    }

    /// An events.k8s.io/v1 Event about the policy, created in `default` (the policy is
    /// cluster-scoped); returns the Event.
    async fn expect_event(&mut self, type_: &str, reason: &str) -> Value {
        let request = self.next("an Event").await;
        assert_eq!((&request.method, request.path.as_str()), (&Method::POST, EVENTS_PATH), "{}", request.body);
        let event = request.body.clone();
        assert_eq!((event["type"].as_str(), event["reason"].as_str()), (Some(type_), Some(reason)), "{event:#}");
        assert_eq!((event["regarding"]["kind"].as_str(), event["regarding"]["name"].as_str()), (Some("CostPolicy"), Some(NAME)));
        assert_eq!(event["reportingController"], "frugal-operator");
        request.answer(&event);
        event
    }
}

fn form_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_string(), value.to_string())
        })
        .collect()
}

/// A Context over the mocked API server and the fake account.
struct Harness {
    ctx: Arc<Context>,
    cloud: Arc<FakeCloud>,
    handle: Option<Handle>,
}

impl Harness {
    fn new(cloud: FakeCloud) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let ctx = Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// The same, with the operator restricted to these role ARN patterns.
    fn with_allowed_roles(cloud: FakeCloud, patterns: &[&str]) -> Self {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let cloud = Arc::new(cloud);
        let allowed = crate::api::allowlist::RoleAllowlist::new(patterns.iter().map(|p| p.to_string()).collect());
        let ctx =
            Arc::new(Context::new(client, Arc::new(FakeConnector { cloud: cloud.clone() }), Metrics::new()).with_allowed_roles(allowed));
        Self { ctx, cloud, handle: Some(handle) }
    }

    /// Reconciles `policy` while `scenario` answers the requests it expects.
    async fn reconcile<S, F>(&mut self, policy: CostPolicy, scenario: S) -> Result<Action, ReconcileError>
    where
        S: FnOnce(ApiServer) -> F + Send + 'static,
        F: Future<Output = ApiServer> + Send + 'static,
    {
        let handle = self.handle.take().expect("one reconcile at a time");
        let waiting_for = Arc::new(Mutex::new("the first request"));
        let server = ApiServer { handle, object: policy.clone(), waiting_for: waiting_for.clone() };
        let unexpected = Arc::new(Mutex::new(Vec::<String>::new()));
        let (done_tx, done_rx) = oneshot::channel();
        let (stop_tx, mut stop_rx) = oneshot::channel::<()>();
        let refused = unexpected.clone();
        let task = tokio::spawn(async move {
            let mut server = scenario(server).await;
            let _ = done_tx.send(());
            // Every further request is one the scenario did not expect.
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    next = server.handle.next_request() => {
                        let Some((request, respond)) = next else { break };
                        lock(&refused).push(format!("{} {}", request.method(), request.uri()));
                        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "unexpected", "code": 500});
                        let bytes = serde_json::to_vec(&status).expect("status serializes");
                        respond.send_response(Response::builder().status(500).body(Body::from(bytes)).expect("response builds"));
                    }
                }
            }
            server.handle
        });

        let result = tokio::time::timeout(TIMEOUT, reconcile(Arc::new(policy), self.ctx.clone())).await;
        match tokio::time::timeout(SETTLE, done_rx).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => match task.await {
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                other => panic!("the scenario ended without finishing: {other:?}"),
            },
            Err(_) => panic!("the scenario was still waiting for {} when the reconcile ended", lock(&waiting_for)),
        }
        let _ = stop_tx.send(());
        self.handle = Some(task.await.expect("the mock server stops"));
        let unexpected = lock(&unexpected).clone();
        assert!(unexpected.is_empty(), "requests the scenario did not expect: {unexpected:?}");
        result.expect("reconcile finished in time")
    }

    fn metrics(&self) -> String {
        self.ctx.metrics.encode()
    }
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[tokio::test]
async fn a_new_policy_first_gets_the_cleanup_finalizer_and_aws_is_not_touched() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().enforce(), |mut api| async move {
            let patch = api.expect_add_finalizer().await;
            assert!(patch.to_string().contains(FINALIZER), "{patch}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(action, Action::await_change(), "the patch itself triggers the next reconcile");
    assert_eq!(harness.cloud.calls(), [], "no AWS call before the finalizer is in place");
}

#[tokio::test]
async fn enforce_with_drift_creates_the_endpoint_reports_it_in_status_and_requeues() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Ready", "True", "Reconciled");
            assert_condition(&status, "GatewayEndpointsInSync", "True", "Reconciled");
            assert_condition(&status, "Reconciling", "False", "Idle");
            assert_condition(&status, "Stalled", "False", "Idle");
            let ge = &status["gatewayEndpoints"];
            assert_eq!((ge["endpointsCreated"].as_u64(), ge["routeTablesAssociated"].as_u64()), (Some(1), Some(1)), "{ge:#}");
            assert_eq!(ge["missingEndpoints"], 0);
            assert_eq!(ge["vpcs"][0]["endpoints"][0]["endpointId"], "vpce-fake0001");
            assert_eq!(status["findings"], 0);
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert_eq!(event["action"], "CreateVpcEndpoint");
            assert!(note(&event).contains("vpce-fake0001") && note(&event).contains(VPC), "{event:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveGatewayEndpoints,
            CloudCall::CreateEndpoint {
                vpc_id: VPC.to_string(),
                service: GatewayService::S3,
                route_table_ids: vec![PRIVATE_TABLE.to_string()]
            },
        ]
    );
    let delay = requeue_after(&action).expect("a successful run requeues for the resync");
    assert!(delay >= Duration::from_secs(600) && delay <= Duration::from_secs(660), "resyncInterval 10m plus up to 10%: {delay:?}");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_reconciles_total{result="success"} 1"#), "{metrics}");
    assert!(
        metrics.contains(r#"frugal_actions_total{policy="team-a",area="gatewayEndpoints",action="create_endpoint",outcome="success"} 1"#),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_invalid_resync_interval_stalls_the_policy_without_any_aws_call() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert_condition(&status, "Ready", "False", "InvalidSpec");
            assert_condition(&status, "Reconciling", "False", "InvalidSpec");
            let message = condition(&status, "Stalled")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("spec.resyncInterval"), "the message names the field: {message}");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change(), "invalid objects wait for a change of the spec");
    assert_eq!(harness.cloud.calls(), [], "not even connect");
    let metrics = harness.metrics();
    assert!(metrics.contains(r#"frugal_reconciles_total{result="invalid_spec"} 1"#), "{metrics}");
}

#[tokio::test]
async fn an_invalid_spec_reconcile_is_counted_once() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());

    harness
        .reconcile(policy, |mut api| async move {
            api.expect_status_patch().await;
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    let metrics = harness.metrics();
    let results: Vec<&str> = metrics.lines().filter(|l| l.starts_with("frugal_reconciles_total{")).collect();
    assert_eq!(results, [r#"frugal_reconciles_total{result="invalid_spec"} 1"#], "one reconcile, one result");
}

#[tokio::test]
async fn an_invalid_region_names_the_field_in_status_and_event() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let policy = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.aws.region = "Europe".to_string());

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("spec.aws.region")), "{status:#}");
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("an invalid spec is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
}

#[tokio::test]
async fn a_role_outside_the_allowed_patterns_is_stalled_without_any_aws_call() {
    let mut harness = Harness::with_allowed_roles(FakeCloud::with_drift(), &["arn:aws:iam::*:role/frugal-*"]);
    let policy = CostPolicy::test()
        .with_finalizer()
        .enforce()
        .with_spec(|spec| spec.aws.role_arn = Some("arn:aws:iam::999999999999:role/admin".to_string()));

    let action = harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "RoleNotAllowed");
            assert_condition(&status, "Ready", "False", "RoleNotAllowed");
            assert!(condition(&status, "Stalled")["message"].as_str().is_some_and(|m| m.contains("role/admin")), "{status:#}");
            api.expect_event("Warning", "RoleNotAllowed").await;
            api
        })
        .await
        .expect("a disallowed role is not a reconcile error");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "not even credentials are fetched");
}

#[tokio::test]
async fn an_invalid_spec_already_reported_at_this_generation_publishes_no_new_event() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let invalid = CostPolicy::test().with_finalizer().enforce().with_spec(|spec| spec.resync_interval = "10s".to_string());
    let reported = Arc::new(Mutex::new(None));
    let slot = reported.clone();
    harness
        .reconcile(invalid.clone(), |mut api| async move {
            *lock(&slot) = Some(api.expect_status_patch().await);
            api.expect_event("Warning", "InvalidSpec").await;
            api
        })
        .await
        .expect("first reconcile");
    let previous = lock(&reported).take().expect("status was applied");
    let mut again = invalid;
    again.status = Some(serde_json::from_value(previous.clone()).expect("a CostPolicyStatus"));

    let action = harness
        .reconcile(again, move |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            assert_eq!(
                condition(&status, "Stalled")["lastTransitionTime"],
                condition(&previous, "Stalled")["lastTransitionTime"],
                "nothing changed, so the transition time stays"
            );
            api
        })
        .await
        .expect("second reconcile");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), []);
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="invalid_spec"} 2"#));
}

#[tokio::test]
async fn deleting_with_retain_leaves_aws_alone_and_releases_the_finalizer() {
    let cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Retain).deleting();

    let action = harness
        .reconcile(policy, |mut api| async move {
            api.expect_event("Normal", "Retained").await;
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    assert_eq!(harness.cloud.calls(), [], "Retain needs no AWS call");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
}

#[tokio::test]
async fn deleting_with_delete_removes_only_the_endpoints_this_policy_created() {
    let cloud = FakeCloud::with_drift()
        .with_endpoints(&["vpce-ours1", "vpce-ours2"], ownership_tags(NAME))
        .with_endpoints(&["vpce-other-policy"], ownership_tags("team-b"))
        .with_endpoints(&["vpce-hand-made"], Tags::from([(TAG_POLICY.to_string(), NAME.to_string())]));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let action = harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains("vpce-ours1") && note(&event).contains("vpce-ours2"), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::OwnedEndpoints { policy: NAME.to_string() },
            CloudCall::DeleteEndpoints { ids: vec!["vpce-ours1".to_string(), "vpce-ours2".to_string()] },
        ]
    );
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-other-policy", "vpce-hand-made"]);
}

#[tokio::test]
async fn a_failed_delete_keeps_the_finalizer_and_backs_off_longer_each_time() {
    let mut cloud = FakeCloud::with_drift().with_endpoints(&["vpce-ours"], ownership_tags(NAME));
    cloud.fail_delete = Some(CloudError::new("DeleteVpcEndpoints", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);
    let policy = CostPolicy::test().with_finalizer().enforce().deletion_policy(DeletionPolicy::Delete).deleting();

    let error = harness
        .reconcile(policy.clone(), |mut api| async move {
            let event = api.expect_event("Warning", "CleanupFailed").await;
            assert!(note(&event).contains("DeleteVpcEndpoints"), "{event:#}");
            // No finalizer patch follows: the harness fails on any further request.
            api
        })
        .await
        .expect_err("a failed cleanup is a reconcile error");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "DeleteVpcEndpoints"), "{error:?}");
    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-ours"]);
    let policy = Arc::new(policy);
    let delays: Vec<Duration> =
        (0..3).map(|_| requeue_after(&error_policy(policy.clone(), &error, harness.ctx.clone())).expect("errors are retried")).collect();
    assert!(delays[0] >= Duration::from_secs(4) && delays[0] <= Duration::from_secs(6), "{delays:?}");
    assert!(delays[0] < delays[1] && delays[1] < delays[2], "the delay grows: {delays:?}");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn a_throttled_observation_reports_the_failure_changes_nothing_and_returns_an_error() {
    let mut cloud = FakeCloud::with_drift();
    cloud.fail_observe = Some(CloudError::new("DescribeRouteTables", ErrorKind::Throttled, "Rate exceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "GatewayEndpointsInSync", "False", "ObservationFailed");
            assert!(
                condition(&status, "GatewayEndpointsInSync")["message"].as_str().is_some_and(|m| m.contains("DescribeRouteTables")),
                "{status:#}"
            );
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            assert_condition(&status, "Reconciling", "True", "Retrying");
            assert_condition(&status, "Stalled", "False", "Idle");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("DescribeRouteTables"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.kind == ErrorKind::Throttled), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveGatewayEndpoints], "no create after a failed read");
    assert!(harness.metrics().contains(r#"frugal_reconciles_total{result="error"} 1"#));
}

#[tokio::test]
async fn audit_mode_reports_drift_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::with_drift());

    let action = harness
        .reconcile(CostPolicy::test().with_finalizer(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Ready", "True", "DriftFound");
            assert_condition(&status, "GatewayEndpointsInSync", "False", "DriftFound");
            assert_condition(&status, "Stalled", "False", "Idle");
            let ge = &status["gatewayEndpoints"];
            assert_eq!((ge["missingEndpoints"].as_u64(), ge["endpointsCreated"].as_u64()), (Some(1), Some(0)), "{ge:#}");
            assert_eq!(status["findings"], 1);
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveGatewayEndpoints]);
    assert!(harness.cloud.endpoint_ids().is_empty());
    assert!(requeue_after(&action).is_some(), "Audit keeps watching for drift");
}

#[tokio::test]
async fn every_endpoint_created_in_one_run_is_named_in_an_event() {
    let cloud = FakeCloud::with_drift().with_vpc("vpc-0e0f0a0b", "rtb-private2", "rtb-public2");
    let mut harness = Harness::new(cloud);

    harness
        .reconcile(CostPolicy::test().with_finalizer().enforce(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_eq!(status["gatewayEndpoints"]["endpointsCreated"], 2);
            let event = api.expect_event("Normal", "EndpointCreated").await;
            assert!(note(&event).contains("vpce-fake0001") && note(&event).contains("vpce-fake0002"), "{event:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    assert_eq!(harness.cloud.endpoint_ids(), ["vpce-fake0001", "vpce-fake0002"]);
}

#[tokio::test]
async fn a_spec_invalid_in_another_field_at_the_next_generation_gets_an_event_naming_that_field() {
    let mut harness = Harness::new(FakeCloud::with_drift());
    let first = CostPolicy::test().with_finalizer().with_spec(|spec| spec.resync_interval = "10s".to_string());
    harness
        .reconcile(first.clone(), |mut api| async move {
            api.expect_status_patch().await;
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("first reconcile");

    let mut second = first.with_spec(|spec| {
        spec.resync_interval = "10m".to_string();
        spec.aws.region = "Europe".to_string();
    });
    second.metadata.generation = Some(GENERATION + 1);
    harness
        .reconcile(second, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "Stalled", "True", "InvalidSpec");
            let event = api.expect_event("Warning", "InvalidSpec").await;
            assert!(note(&event).contains("spec.aws.region") && !note(&event).contains("spec.resyncInterval"), "{event:#}");
            api
        })
        .await
        .expect("second reconcile");

    assert_eq!(harness.cloud.calls(), []);
}

// ---------------------------------------------------------------------------------------------
// ssmAccess

#[tokio::test]
async fn ssm_enforce_revokes_world_ssh_splits_the_wide_range_attaches_the_profile_and_the_next_run_changes_nothing() {
    let mut harness = Harness::new(FakeCloud::default().with_ssm(ssm_drift()));
    let policy = CostPolicy::test().with_finalizer().enforce().ssm_access_only();
    let applied = Arc::new(Mutex::new(None));
    let slot = applied.clone();

    let action = harness
        .reconcile(policy.clone(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "True", "Reconciled");
            assert_condition(&status, "Ready", "True", "Reconciled");
            assert_condition(&status, "Reconciling", "False", "Idle");
            let ssm = &status["ssmAccess"];
            assert_eq!(ssm["securityGroupsInScope"], 2, "{ssm:#}");
            assert_eq!(
                (ssm["worldSshFound"].as_u64(), ssm["worldSshRevoked"].as_u64(), ssm["worldSshSplit"].as_u64()),
                (Some(2), Some(1), Some(1))
            );
            let outcomes = permission_outcomes(ssm, "ruleId");
            // The split leaves every other port of the range open to the world: a finding.
            assert_eq!(outcomes, [("sgr-ssh-world", "Revoked"), ("sgr-wide6", "Split"), ("sgr-wide6", "Reported")]);
            assert_eq!(ssm["wideRangesFromWorld"], 1);
            let instances = &ssm["instances"];
            assert_eq!(
                (instances["inScope"].as_u64(), instances["attachedLastRun"].as_u64(), instances["profileAttachedByUs"].as_u64()),
                (Some(1), Some(1), Some(1)),
                "{instances:#}"
            );
            assert_eq!(
                (instances["noProfile"].as_u64(), instances["notReporting"].as_u64()),
                (Some(0), Some(1)),
                "attached, not yet reporting"
            );
            assert_eq!(ssm["findings"], 1, "the split range's other ports");
            assert_eq!(status["findings"], 1);
            let revoked = api.expect_event("Normal", "WorldSshRevoked").await;
            assert_eq!(revoked["action"], "RevokeSecurityGroupIngress");
            assert!(note(&revoked).contains("sg-0ssh") && note(&revoked).contains("sgr-ssh-world"), "{revoked:#}");
            let split = api.expect_event("Normal", "WorldSshSplit").await;
            assert!(note(&split).contains("sgr-wide6") && note(&split).contains("tcp 0-21, tcp 23-65535"), "{split:#}");
            let attached = api.expect_event("Normal", "InstanceProfileAttached").await;
            assert!(note(&attached).contains("i-bare") && note(&attached).contains(SSM_PROFILE), "{attached:#}");
            *lock(&slot) = Some(status);
            api
        })
        .await
        .expect("reconcile succeeds");

    assert!(requeue_after(&action).is_some());
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveSsm,
            CloudCall::RevokeIngress { group_id: "sg-0ssh".to_string(), rule_id: "sgr-ssh-world".to_string() },
            // The split: the remainder is authorized before the wide rule is revoked.
            CloudCall::AuthorizeIngress {
                group_id: "sg-1wide".to_string(),
                ranges: vec![PortRange { from: 0, to: 21 }, PortRange { from: 23, to: 65535 }]
            },
            CloudCall::RevokeIngress { group_id: "sg-1wide".to_string(), rule_id: "sgr-wide6".to_string() },
            CloudCall::SsmAccessChange(format!("attach instance profile {SSM_PROFILE} to i-bare")),
        ]
    );
    let account = harness.cloud.ssm();
    assert_eq!(
        rules_of(&account, "sg-0ssh"),
        [
            ("sgr-https".to_string(), "443-443".to_string(), "0.0.0.0/0".to_string(), None),
            ("sgr-ssh-office".to_string(), "22-22".to_string(), "10.0.0.0/8".to_string(), None)
        ],
        "only tcp 22 from the world is revoked"
    );
    let wide: Vec<(String, String, Option<String>)> =
        rules_of(&account, "sg-1wide").into_iter().map(|(_, ports, source, d)| (ports, source, d)).collect();
    let described = Some("legacy (split by frugal)".to_string());
    assert_eq!(
        wide,
        [("0-21".to_string(), "::/0".to_string(), described.clone()), ("23-65535".to_string(), "::/0".to_string(), described)]
    );

    // The next run observes the fixed account: nothing to change, no Event.
    let mut again = policy;
    again.status = Some(serde_json::from_value(lock(&applied).take().expect("status was applied")).expect("a CostPolicyStatus"));
    let before = harness.cloud.calls().len();
    harness
        .reconcile(again, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "True", "InSync");
            assert_eq!(status["ssmAccess"]["worldSshFound"], 0);
            assert_eq!(status["ssmAccess"]["instances"]["profileAttachedByUs"], 1);
            api
        })
        .await
        .expect("second reconcile succeeds");
    assert_eq!(harness.cloud.calls()[before..], [CloudCall::Connect, CloudCall::ObserveSsm]);
}

/// `status.ssmAccess.permissions` as (`by` field, outcome) pairs.
fn permission_outcomes<'a>(ssm: &'a serde_json::Value, by: &str) -> Vec<(&'a str, &'a str)> {
    let permissions = ssm["permissions"].as_array().expect("permissions");
    permissions.iter().map(|p| (p[by].as_str().unwrap_or_default(), p["outcome"].as_str().unwrap_or_default())).collect()
}

#[tokio::test]
async fn ssm_audit_reports_the_open_permissions_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::default().with_ssm(ssm_drift()));

    harness
        .reconcile(CostPolicy::test().with_finalizer().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "DriftFound");
            assert_condition(&status, "Ready", "True", "DriftFound");
            let ssm = &status["ssmAccess"];
            assert_eq!(
                (ssm["worldSshFound"].as_u64(), ssm["worldSshRevoked"].as_u64(), ssm["worldSshSplit"].as_u64()),
                (Some(2), Some(0), Some(0))
            );
            let outcomes = permission_outcomes(ssm, "kind");
            assert_eq!(outcomes, [("WorldSsh", "Planned"), ("WorldSsh", "Planned"), ("WideRangeFromWorld", "Reported")], "{ssm:#}");
            assert_eq!((ssm["instances"]["noProfile"].as_u64(), ssm["instances"]["attachedLastRun"].as_u64()), (Some(1), Some(0)));
            assert_eq!(ssm["findings"], 4, "two open permissions, the ports a split would leave open, one instance without a profile");
            // No change, so no Event.
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveSsm]);
    assert_eq!(harness.cloud.ssm(), ssm_drift(), "the account is untouched");
}

#[tokio::test]
async fn a_failed_ssm_observation_names_the_operation_and_changes_nothing() {
    let mut cloud = FakeCloud::default().with_ssm(ssm_drift());
    cloud.fail_observe_ssm = Some(CloudError::new("DescribeSecurityGroupRules", ErrorKind::AccessDenied, "not authorized"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "ObservationFailed");
            let message = condition(&status, "SsmAccessInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("DescribeSecurityGroupRules"), "{message}");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            assert_condition(&status, "Reconciling", "True", "Retrying");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("ssmAccess") && note(&event).contains("DescribeSecurityGroupRules"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "DescribeSecurityGroupRules"), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveSsm], "no change after a failed read");
    assert_eq!(harness.cloud.ssm(), ssm_drift());
}

#[tokio::test]
async fn a_failed_authorization_leaves_the_wide_rule_in_place() {
    let mut cloud = FakeCloud::default().with_ssm(ssm_drift());
    cloud.fail_call =
        Some(CloudError::new("AuthorizeSecurityGroupIngress", ErrorKind::InvalidRequest, "RulesPerSecurityGroupLimitExceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().ssm_access_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "SsmAccessInSync", "False", "ActionFailed");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            let outcomes: Vec<&str> =
                status["ssmAccess"]["permissions"].as_array().expect("permissions").iter().filter_map(|p| p["outcome"].as_str()).collect();
            assert_eq!(outcomes, ["Revoked", "Failed", "Reported"], "the wide range stays a finding too");
            api.expect_event("Normal", "WorldSshRevoked").await;
            let failed = api.expect_event("Warning", "ActionFailed").await;
            assert_eq!(failed["action"], "AuthorizeSecurityGroupIngress");
            assert!(note(&failed).contains("sgr-wide6") && note(&failed).contains("RulesPerSecurityGroupLimitExceeded"), "{failed:#}");
            api.expect_event("Normal", "InstanceProfileAttached").await;
            api
        })
        .await
        .expect_err("a failed change is retried");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "AuthorizeSecurityGroupIngress"), "{error:?}");
    let calls = harness.cloud.calls();
    assert!(
        !calls.contains(&CloudCall::RevokeIngress { group_id: "sg-1wide".to_string(), rule_id: "sgr-wide6".to_string() }),
        "the wide rule is revoked only after its remainder was authorized: {calls:?}"
    );
    assert_eq!(rules_of(&harness.cloud.ssm(), "sg-1wide"), rules_of(&ssm_drift(), "sg-1wide"));
}

// ---------------------------------------------------------------------------------------------
// backup

#[tokio::test]
async fn backup_enforce_restores_the_edited_plan_and_creates_the_new_selection_before_deleting_the_old_ones() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));

    let expected_name = selection_name.clone();
    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "True", "Reconciled");
            assert_condition(&status, "Ready", "True", "Reconciled");
            let backup = &status["backup"];
            assert_eq!(backup["planId"], "plan-0001", "{backup:#}");
            assert_eq!(backup["planVersionId"], "version-fake0001", "the version id UpdateBackupPlan returned");
            assert_eq!(backup["planOwnership"], "Managed");
            assert_eq!(backup["selectionId"], "sel-fake0002");
            assert_eq!(backup["selectionName"], expected_name.as_str());
            assert_eq!(backup["vaultArn"], owned_vault().arn.as_str());
            let corrected = &backup["lastDriftCorrected"];
            assert_eq!(corrected["versionId"], "version-fake0001");
            assert_eq!(corrected["differences"], json!(["rule daily: deleteAfterDays 14 → 35"]));
            assert_eq!((backup["rules"][0]["name"].as_str(), backup["rules"][0]["retentionDays"].as_u64()), (Some("daily"), Some(35)));
            assert_eq!(backup["findings"], 0);
            let corrected = api.expect_event("Normal", "BackupPlanDriftCorrected").await;
            assert_eq!(corrected["action"], "UpdateBackupPlan");
            assert!(note(&corrected).contains("deleteAfterDays 14 → 35") && note(&corrected).contains("version-fake0001"), "{corrected:#}");
            let created = api.expect_event("Normal", "BackupSelectionCreated").await;
            assert!(note(&created).contains(&expected_name) && note(&created).contains("sel-fake0002"), "{created:#}");
            // Both old selections in one Event: a second Event of the same kind would be folded
            // into the first by the Recorder, and its note lost.
            let replaced = api.expect_event("Normal", "BackupSelectionReplaced").await;
            assert!(note(&replaced).contains("sel-old1") && note(&replaced).contains("sel-old2"), "{replaced:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveBackup,
            backup_call("UpdateBackupPlan", "plan-0001"),
            backup_call("CreateBackupSelection", &selection_name),
            backup_call("DeleteBackupSelection", "sel-old1"),
            backup_call("DeleteBackupSelection", "sel-old2"),
        ],
        "the replacement exists before the old selections go; someone else's selection stays"
    );
    let plan = harness.cloud.backup().plan.expect("the plan stays");
    assert_eq!(plan.rules, [daily_rule(35)]);
    let names: Vec<&str> = plan.selections.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["someone-elses", selection_name.as_str()]);
}

#[tokio::test]
async fn backup_enforce_on_a_fresh_account_creates_the_vault_then_the_plan_then_its_selection() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut harness = Harness::new(FakeCloud::default());

    harness
        .reconcile(policy, |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "True", "Reconciled");
            let backup = &status["backup"];
            assert_eq!(backup["vaultArn"], owned_vault().arn.as_str(), "{backup:#}");
            assert_eq!(backup["planId"], "plan-fake0001");
            assert_eq!(backup["selectionId"], "sel-fake0003");
            assert_eq!(backup["planOwnership"], "Managed");
            api.expect_event("Normal", "BackupVaultCreated").await;
            let plan = api.expect_event("Normal", "BackupPlanCreated").await;
            assert!(note(&plan).contains("plan-fake0001"), "{plan:#}");
            api.expect_event("Normal", "BackupSelectionCreated").await;
            api
        })
        .await
        .expect("reconcile succeeds");

    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::ObserveBackup,
            backup_call("CreateBackupVault", BACKUP_VAULT),
            backup_call("CreateBackupPlan", BACKUP_PLAN),
            backup_call("CreateBackupSelection", &selection_name),
        ]
    );
    let account = harness.cloud.backup();
    assert_eq!(account.vault.map(|v| v.tags), Some(ownership_tags(NAME)), "the vault is tagged as ours");
    let plan = account.plan.expect("the plan exists");
    assert_eq!((plan.tags, plan.selections.len()), (ownership_tags(NAME), 1));
}

#[tokio::test]
async fn backup_audit_reports_the_edited_plan_and_never_calls_a_mutating_api() {
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));

    harness
        .reconcile(CostPolicy::test().with_finalizer().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "DriftFound");
            assert_condition(&status, "Ready", "True", "DriftFound");
            let message = condition(&status, "BackupInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("deleteAfterDays 14 → 35") && message.contains("nothing was changed"), "{message}");
            let backup = &status["backup"];
            assert_eq!(backup["planVersionId"], "version-a", "{backup:#}");
            assert_eq!(backup["rules"][0]["retentionDays"], 14, "the rules as AWS holds them");
            assert_eq!(backup["findings"], 4, "the update, the new selection and the two old ones");
            assert!(backup.get("lastDriftCorrected").is_none(), "{backup:#}");
            api
        })
        .await
        .expect("reconcile succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(CloudCall::is_mutating), "{calls:?}");
    assert_eq!(calls, [CloudCall::Connect, CloudCall::ObserveBackup]);
    assert_eq!(harness.cloud.backup(), backup_drift());
}

#[tokio::test]
async fn a_failed_backup_observation_names_the_operation_and_changes_nothing() {
    let mut cloud = FakeCloud::default().with_backup(backup_drift());
    cloud.fail_observe_backup = Some(CloudError::new("ListBackupPlans", ErrorKind::Throttled, "Rate exceeded"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "ObservationFailed");
            assert!(condition(&status, "BackupInSync")["message"].as_str().is_some_and(|m| m.contains("ListBackupPlans")), "{status:#}");
            assert_condition(&status, "Ready", "False", "AreasNotInSync");
            let event = api.expect_event("Warning", "ObservationFailed").await;
            assert!(note(&event).contains("backup") && note(&event).contains("ListBackupPlans"), "{event:#}");
            api
        })
        .await
        .expect_err("so that backoff applies");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.kind == ErrorKind::Throttled), "{error:?}");
    assert_eq!(harness.cloud.calls(), [CloudCall::Connect, CloudCall::ObserveBackup]);
    assert_eq!(harness.cloud.backup(), backup_drift());
}

#[tokio::test]
async fn a_failed_selection_create_never_deletes_the_old_selection() {
    let mut cloud = FakeCloud::default().with_backup(backup_drift());
    cloud.fail_call = Some(CloudError::new("CreateBackupSelection", ErrorKind::AccessDenied, "not authorized to perform iam:PassRole"));
    let mut harness = Harness::new(cloud);

    let error = harness
        .reconcile(CostPolicy::test().with_finalizer().enforce().backup_only(), |mut api| async move {
            let status = api.expect_status_patch().await;
            assert_condition(&status, "BackupInSync", "False", "ActionFailed");
            let message = condition(&status, "BackupInSync")["message"].as_str().unwrap_or_default().to_string();
            assert!(message.contains("iam:PassRole") && message.contains("2 later changes wait"), "{message}");
            assert_eq!(status["backup"]["planVersionId"], "version-fake0001", "the update that succeeded is recorded");
            api.expect_event("Normal", "BackupPlanDriftCorrected").await;
            let failed = api.expect_event("Warning", "ActionFailed").await;
            assert!(note(&failed).contains("CreateBackupSelection"), "{failed:#}");
            api
        })
        .await
        .expect_err("a failed change is retried");

    assert!(matches!(&error, ReconcileError::Aws(e) if e.operation == "CreateBackupSelection"), "{error:?}");
    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(|c| matches!(c, CloudCall::Backup { operation: "DeleteBackupSelection", .. })), "{calls:?}");
    let ids: Vec<String> = harness.cloud.backup().plan.expect("plan").selections.into_iter().map(|s| s.id).collect();
    assert_eq!(ids, ["sel-old1", "sel-old2", "sel-theirs"], "never a moment without a selection");
}

#[tokio::test]
async fn deleting_a_backup_policy_with_delete_removes_the_selections_then_the_plan_then_our_empty_vault() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Delete).deleting();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let cloud =
        FakeCloud::default().with_backup(backup_account(vec![daily_rule(35)], vec![selection("sel-ours", &selection_name, "daily")]));
    let mut harness = Harness::new(cloud);

    let expected_name = selection_name.clone();
    let action = harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            for what in
                [format!("backup selection {expected_name}"), format!("backup plan {BACKUP_PLAN}"), format!("backup vault {BACKUP_VAULT}")]
            {
                assert!(note(&event).contains(&what), "{what}: {event:#}");
            }
            assert!(!note(&event).contains("gateway"), "no gateway endpoint was deleted: {event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(action, Action::await_change());
    let backup_call = |operation, target: &str| CloudCall::Backup { operation, target: target.to_string() };
    assert_eq!(
        harness.cloud.calls(),
        [
            CloudCall::Connect,
            CloudCall::OwnedEndpoints { policy: NAME.to_string() },
            CloudCall::ObserveBackup,
            backup_call("DeleteBackupSelection", "sel-ours"),
            backup_call("DeleteBackupPlan", "plan-0001"),
            backup_call("DeleteBackupVault", BACKUP_VAULT),
        ]
    );
    assert_eq!(harness.cloud.backup(), BackupInventory::default());
}

#[tokio::test]
async fn deleting_with_delete_keeps_a_vault_that_holds_recovery_points() {
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Delete).deleting();
    let selection_name = crate::plan::backup::selection_name(&backup_desired(&policy).selection);
    let mut account = backup_account(vec![daily_rule(35)], vec![selection("sel-ours", &selection_name, "daily")]);
    if let Some(vault) = account.vault.as_mut() {
        vault.recovery_points = 12;
    }
    let mut harness = Harness::new(FakeCloud::default().with_backup(account));

    harness
        .reconcile(policy, |mut api| async move {
            let event = api.expect_event("Normal", "Deleted").await;
            assert!(note(&event).contains(&format!("backup plan {BACKUP_PLAN}")) && !note(&event).contains("vault"), "{event:#}");
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    let calls = harness.cloud.calls();
    assert!(!calls.iter().any(|c| matches!(c, CloudCall::Backup { operation: "DeleteBackupVault", .. })), "{calls:?}");
    let left = harness.cloud.backup();
    assert!(left.plan.is_none(), "the plan is gone");
    assert_eq!(left.vault.map(|v| v.recovery_points), Some(12), "the vault and its recovery points stay");
}

#[tokio::test]
async fn deleting_a_backup_policy_with_retain_leaves_vault_plan_and_selection_alone() {
    let mut harness = Harness::new(FakeCloud::default().with_backup(backup_drift()));
    let policy = CostPolicy::test().with_finalizer().enforce().backup_only().deletion_policy(DeletionPolicy::Retain).deleting();

    harness
        .reconcile(policy, |mut api| async move {
            api.expect_event("Normal", "Retained").await;
            api.expect_remove_finalizer().await;
            api
        })
        .await
        .expect("cleanup succeeds");

    assert_eq!(harness.cloud.calls(), [], "Retain needs no AWS call");
    assert_eq!(harness.cloud.backup(), backup_drift());
}

mod conflicts;
mod kube_faults;
mod snapshot_retention;
