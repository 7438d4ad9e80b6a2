//! What the scenarios reconcile, what the fake account holds, and how they read the result:
//! the names and ids the tests share, the policy builders (`PolicyFixture`), the seed
//! inventories of ssmAccess and backup, and helpers over the written status (`condition`,
//! `assert_condition`), Events (`note`) and the returned `Action` (`requeue_after`).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::runtime::controller::Action;
use serde_json::Value;

use crate::api::names::FINALIZER;
use crate::api::validate::BackupDesired;
use crate::api::{BackupSpec, CostPolicy, CostPolicySpec, DeletionPolicy, SsmAccessSpec};
use crate::plan::backup::{BackupInventory, BackupVault, ObservedPlan, PlanRule, Selection};
use crate::plan::ssm_access::{IngressRule, Instance, InstanceProfile, SecurityGroup, Source, SsmAccessInventory};
use crate::plan::{Tags, ownership_tags};

pub(super) const NAME: &str = "team-a";
pub(super) const GENERATION: i64 = 3;
pub(super) const REGION: &str = "eu-west-1";
pub(super) const VPC: &str = "vpc-0a1b2c3d";
pub(super) const PRIVATE_TABLE: &str = "rtb-private1";
pub(super) const PUBLIC_TABLE: &str = "rtb-public1";
pub(super) const ACCOUNT: &str = "111122223333";
/// The instance profile the ssmAccess fixture attaches.
pub(super) const SSM_PROFILE: &str = "frugal-ssm";
pub(super) const BACKUP_VAULT: &str = "prod-vault";
pub(super) const BACKUP_PLAN: &str = "prod-daily";
const BACKUP_ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";

pub(super) trait PolicyFixture: Sized {
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
pub(super) fn backup_desired(policy: &CostPolicy) -> BackupDesired {
    crate::api::validate::validate(NAME, &policy.spec).expect("a valid policy").backup.expect("a backup section")
}

pub(super) fn condition<'a>(status: &'a Value, type_: &str) -> &'a Value {
    status["conditions"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["type"] == type_))
        .unwrap_or_else(|| panic!("status has no {type_} condition: {status:#}"))
}

pub(super) fn assert_condition(status: &Value, type_: &str, expected_status: &str, reason: &str) {
    let c = condition(status, type_);
    assert_eq!((c["status"].as_str(), c["reason"].as_str()), (Some(expected_status), Some(reason)), "{type_}: {c:#}");
    assert_eq!(c["observedGeneration"], status["observedGeneration"], "{type_}: {c:#}");
}

pub(super) fn note(event: &Value) -> &str {
    event["note"].as_str().unwrap_or_default()
}

/// The delay of a requeue; `Action` keeps it private, its Debug output shows it.
pub(super) fn requeue_after(action: &Action) -> Option<Duration> {
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
pub(super) fn ssm_drift() -> SsmAccessInventory {
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
            tags: Tags::new(),
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

pub(super) fn owned_vault() -> BackupVault {
    BackupVault {
        name: BACKUP_VAULT.to_string(),
        arn: format!("arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{BACKUP_VAULT}"),
        tags: ownership_tags(NAME),
        recovery_points: 0,
    }
}

/// The spec's daily rule as AWS holds it, kept `delete_after_days`.
pub(super) fn daily_rule(delete_after_days: u32) -> PlanRule {
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

pub(super) fn selection(id: &str, name: &str, tag_value: &str) -> Selection {
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
pub(super) fn backup_account(rules: Vec<PlanRule>, selections: Vec<Selection>) -> BackupInventory {
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
pub(super) fn backup_drift() -> BackupInventory {
    backup_account(
        vec![daily_rule(14)],
        vec![
            selection("sel-old1", "prod-0badc0de", "weekly"),
            selection("sel-old2", "prod-1badc0de", "hourly"),
            selection("sel-theirs", "someone-elses", "daily"),
        ],
    )
}
