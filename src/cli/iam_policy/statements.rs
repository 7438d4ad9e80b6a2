//! The one table of the IAM policy: every area and the statements it needs, given a
//! [`Scope`] (where the operator acts and which optional behaviours are on).
//!
//! Decisions, checked against the AWS Service Authorization Reference:
//! - Describe*/List* calls without resource-level permissions get `"Resource": "*"`
//!   (ec2:Describe*, ec2:DescribeLockedSnapshots, cloudwatch:GetMetricData,
//!   ssm:DescribeInstanceInformation, backup:ListBackupPlans, backup:ListTags).
//! - sts:GetCallerIdentity needs no permission (AWS allows it even under an explicit deny),
//!   so it has no statement. sts:AssumeRole of `aws.roleArn` is a permission of the
//!   operator's own identity, not of the target role this policy is for.
//! - Creating tagged EC2 resources is also authorized as ec2:CreateTags: allowed only with
//!   ec2:CreateAction naming the create call. IAM authorizes tags on create as
//!   iam:TagRole / iam:TagInstanceProfile.
//! - iam:PassRole is required by ec2:AssociateIamInstanceProfile and
//!   iam:AddRoleToInstanceProfile (to EC2), ssm:UpdateServiceSetting of the Default Host
//!   Management setting (to SSM) and backup:CreateBackupSelection (to AWS Backup).
//! - backup:CreateBackupVault also needs backup-storage:MountCapsule and KMS grants on the
//!   vault's key, only through AWS Backup (kms:ViaService).
//! - EC2 evaluates request-tag and service-name conditions per resource, so the resources
//!   they do not apply to (the VPC, route tables, security groups) get statements of
//!   their own without them.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::api::names::{MANAGED_BY_VALUE, TAG_EXPIRES_AT, TAG_MANAGED_BY, TAG_POLICY};

use crate::api::{AreaName, RightSizingResource};
use crate::engine::areas::prices_of;
use crate::plan::access_keys::MARK_PREFIX;

/// The statements an area needs in a scope.
pub type AreaStatements = fn(&Scope) -> Vec<Statement>;

/// The statements an area needs; every area has its own (the match is exhaustive).
pub fn of(area: AreaName) -> AreaStatements {
    match area {
        AreaName::GatewayEndpoints => gateway_endpoints,
        AreaName::SnapshotRetention => snapshot_retention,
        AreaName::SsmAccess => ssm_access,
        AreaName::Backup => backup,
        AreaName::AccessKeys => access_keys,
        AreaName::RightSizing => right_sizing,
        AreaName::CloudWatch => cloud_watch,
    }
}

/// Where the operator acts and what it may do there. [`Scope::everything`] without a policy
/// file; from a file, only what its policies enable.
#[derive(Clone, Debug)]
pub struct Scope {
    pub partition: String,
    /// `*` when unknown or when the policies name several.
    pub region: String,
    pub account: String,
    /// Names of the policies (their objects carry frugal.dev/policy=<name>); empty: any.
    pub policies: BTreeSet<String>,
    /// Enforce mode (Audit: read-only).
    pub enforce: bool,
    /// deletionPolicy Delete: cleanup deletes what the policy created.
    pub cleanup: bool,
    /// spec.pricing.costExplorer: the account's spend is read from Cost Explorer.
    pub cost_explorer: bool,
    /// Gateway endpoint services, e.g. s3, dynamodb.
    pub gateway_services: BTreeSet<String>,
    /// ssmAccess revokes (and splits) permissions from the world.
    pub ssm_close_world: bool,
    /// ssmAccess associates an instance profile with instances that have none.
    pub ssm_attach: bool,
    /// Roles ([path/]name) of instance profiles the operator attaches or creates.
    pub ssm_profile_roles: BTreeSet<String>,
    /// Instance profiles (and roles) the operator creates; `*`: any name.
    pub ssm_created_profiles: BTreeSet<String>,
    /// Default Host Management roles ([path/]name) the operator sets.
    pub ssm_dhmc_roles: BTreeSet<String>,
    pub ssm_delete_key_pairs: bool,
    /// Backup vault names; `*`: any.
    pub backup_vaults: BTreeSet<String>,
    pub backup_create_vault: bool,
    /// KMS keys of created vaults; empty: the account's keys (AWS Backup's default key).
    pub backup_kms_keys: BTreeSet<String>,
    /// A policy adopts a plan it did not create (no tag condition possible on plan changes).
    pub backup_adopt: bool,
    /// Role ARNs of backup selections.
    pub backup_selection_roles: BTreeSet<String>,
    /// accessKeys marks users and deactivates their unused keys.
    pub access_keys_deactivate: bool,
    /// The kinds of resources rightSizing reads recommendations of.
    pub right_sizing_resources: BTreeSet<RightSizingResource>,
    /// rightSizing reads Auto Scaling groups' tags (a selector with AutoScalingGroups).
    pub right_sizing_group_tags: bool,
    /// rightSizing enrolls the account (Enforce with enroll).
    pub right_sizing_enroll: bool,
    /// cloudWatch sets log retention (logRetention).
    pub cloud_watch_logs: bool,
    /// cloudWatch keeps instance alarms (instanceAlarms).
    pub cloud_watch_alarms: bool,
    /// cloudWatch deletes orphan alarms (orphanAlarms Delete or DeleteAll).
    pub cloud_watch_delete_orphans: bool,
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

impl Scope {
    /// Every area's every behaviour, in any region and account. Roles are placeholders.
    pub fn everything() -> Self {
        Scope {
            partition: "aws".into(),
            region: "*".into(),
            account: "*".into(),
            policies: BTreeSet::new(),
            enforce: true,
            cleanup: true,
            cost_explorer: true,
            gateway_services: set(&["dynamodb", "s3"]),
            ssm_close_world: true,
            ssm_attach: true,
            ssm_profile_roles: set(&[PLACEHOLDER_SSM_PROFILE_ROLE]),
            ssm_created_profiles: set(&["*"]),
            ssm_dhmc_roles: set(&[crate::api::validate::DEFAULT_DHMC_ROLE]),
            ssm_delete_key_pairs: true,
            backup_vaults: set(&["*"]),
            backup_create_vault: true,
            backup_kms_keys: BTreeSet::new(),
            backup_adopt: true,
            backup_selection_roles: BTreeSet::from([format!("arn:aws:iam::*:role/{PLACEHOLDER_BACKUP_ROLE}")]),
            access_keys_deactivate: true,
            right_sizing_resources: RightSizingResource::ALL.into_iter().collect(),
            right_sizing_group_tags: true,
            right_sizing_enroll: true,
            cloud_watch_logs: true,
            cloud_watch_alarms: true,
            cloud_watch_delete_orphans: true,
        }
    }

    fn arn(&self, service: &str, account: bool, resource: &str) -> String {
        let account = if account { self.account.as_str() } else { "" };
        let region = if service == "iam" { "" } else { self.region.as_str() };
        format!("arn:{}:{service}:{region}:{account}:{resource}", self.partition)
    }

    fn ec2(&self, resource: &str) -> String {
        self.arn("ec2", true, resource)
    }

    fn iam(&self, resource: &str) -> String {
        self.arn("iam", true, resource)
    }

    fn role_arn(&self, name: &str) -> String {
        self.iam(&format!("role/{name}"))
    }

    fn vault_arns(&self) -> Vec<String> {
        self.backup_vaults.iter().map(|v| self.arn("backup", true, &format!("backup-vault:{v}"))).collect()
    }

    fn plan_arn(&self) -> String {
        self.arn("backup", true, "backup-plan:*")
    }

    /// The tags every object the operator creates must carry, and no others.
    fn request_tags(&self) -> Value {
        let mut equals = Map::new();
        equals.insert(format!("aws:RequestTag/{TAG_MANAGED_BY}"), json!(MANAGED_BY_VALUE));
        if !self.policies.is_empty() {
            equals.insert(format!("aws:RequestTag/{TAG_POLICY}"), json!(self.policies));
        }
        json!({
            "StringEquals": equals,
            "ForAllValues:StringEquals": { "aws:TagKeys": [TAG_MANAGED_BY, TAG_POLICY] }
        })
    }

    /// Only objects the operator created (tagged as this file's policies' when known).
    fn own_resources(&self) -> Value {
        let mut equals = Map::new();
        equals.insert(format!("aws:ResourceTag/{TAG_MANAGED_BY}"), json!(MANAGED_BY_VALUE));
        if !self.policies.is_empty() {
            equals.insert(format!("aws:ResourceTag/{TAG_POLICY}"), json!(self.policies));
        }
        json!({ "StringEquals": equals })
    }

    fn endpoint_service_names(&self) -> Value {
        let names: Vec<String> = self.gateway_services.iter().map(|s| format!("com.amazonaws.{}.{s}", self.region)).collect();
        let operator = if self.region == "*" { "StringLike" } else { "StringEquals" };
        json!({ operator: { "ec2:VpceServiceName": names } })
    }
}

/// Placeholder role names of [`Scope::everything`], replaced by the policy file's roles.
pub const PLACEHOLDER_SSM_PROFILE_ROLE: &str = "REPLACE-WITH-ssmAccess.instanceProfile-ROLE";
pub const PLACEHOLDER_BACKUP_ROLE: &str = "REPLACE-WITH-backup.selection.iamRoleArn";

/// One Allow statement.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub sid: &'static str,
    pub actions: Vec<&'static str>,
    pub resources: Vec<String>,
    pub condition: Option<Value>,
}

fn allow(sid: &'static str, actions: &[&'static str], resources: impl IntoIterator<Item = String>) -> Statement {
    Statement { sid, actions: actions.to_vec(), resources: resources.into_iter().collect(), condition: None }
}

fn anywhere() -> Vec<String> {
    vec!["*".to_string()]
}

impl Statement {
    fn when(mut self, condition: Value) -> Self {
        self.condition = Some(condition);
        self
    }

    /// A statement on every resource without condition: its actions are granted everywhere.
    pub fn is_unconditional(&self) -> bool {
        self.resources == anywhere() && self.condition.is_none()
    }

    pub fn to_json(&self) -> Value {
        let resource = match self.resources.as_slice() {
            [one] => json!(one),
            many => json!(many),
        };
        let mut statement = json!({ "Sid": self.sid, "Effect": "Allow", "Action": self.actions, "Resource": resource });
        if let Some(condition) = &self.condition {
            statement["Condition"] = condition.clone();
        }
        statement
    }
}

fn gateway_endpoints(s: &Scope) -> Vec<Statement> {
    let mut statements = vec![allow(
        "GatewayEndpointsRead",
        &["ec2:DescribeVpcs", "ec2:DescribeRouteTables", "ec2:DescribeVpcEndpoints", "ec2:DescribeNatGateways", "cloudwatch:GetMetricData"],
        anywhere(),
    )];
    if !s.enforce {
        return statements;
    }
    let endpoints = s.ec2("vpc-endpoint/*");
    let mut create_condition = s.request_tags();
    merge(&mut create_condition, s.endpoint_service_names());
    statements.extend([
        allow("GatewayEndpointsCreate", &["ec2:CreateVpcEndpoint"], [endpoints.clone()]).when(create_condition),
        allow("GatewayEndpointsTagOnCreate", &["ec2:CreateTags"], [endpoints.clone()])
            .when(json!({ "StringEquals": { "ec2:CreateAction": "CreateVpcEndpoint" } })),
        // Endpoints made by hand are adopted (route tables are only ever added), so no tag
        // condition; only S3/DynamoDB gateway endpoints.
        allow("GatewayEndpointsAddRouteTables", &["ec2:ModifyVpcEndpoint"], [endpoints.clone()]).when(s.endpoint_service_names()),
        allow("GatewayEndpointsInVpcs", &["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint"], [s.ec2("vpc/*"), s.ec2("route-table/*")]),
    ]);
    if s.cleanup {
        statements.push(allow("GatewayEndpointsDeleteOwn", &["ec2:DeleteVpcEndpoints"], [endpoints]).when(s.own_resources()));
    }
    statements
}

fn snapshot_retention(s: &Scope) -> Vec<Statement> {
    let mut statements = vec![allow(
        "SnapshotRetentionRead",
        &[
            "ec2:DescribeSnapshots",
            "ec2:DescribeImages",
            "ec2:DescribeLaunchTemplates",
            "ec2:DescribeLaunchTemplateVersions",
            "ec2:DescribeLockedSnapshots",
        ],
        anywhere(),
    )];
    if !s.enforce {
        return statements;
    }
    // Snapshot ARNs have no account.
    let snapshots = s.arn("ec2", false, "snapshot/*");
    statements.extend([
        allow("SnapshotRetentionMarkExpiring", &["ec2:CreateTags", "ec2:DeleteTags"], [snapshots.clone()])
            .when(json!({ "ForAllValues:StringEquals": { "aws:TagKeys": [TAG_EXPIRES_AT] } })),
        // The planner always tags before it deletes.
        allow("SnapshotRetentionDeleteExpired", &["ec2:DeleteSnapshot"], [snapshots])
            .when(json!({ "Null": { format!("aws:ResourceTag/{TAG_EXPIRES_AT}"): "false" } })),
    ]);
    statements
}

fn ssm_access(s: &Scope) -> Vec<Statement> {
    let setting = s.arn("ssm", true, "servicesetting/ssm/managed-instance/default-ec2-instance-management-role");
    let mut statements = vec![
        allow(
            "SsmAccessRead",
            &[
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeInstances",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeLaunchTemplateVersions",
                "ssm:DescribeInstanceInformation",
            ],
            anywhere(),
        ),
        allow(
            "SsmAccessReadProfiles",
            &["iam:GetInstanceProfile", "iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:GetRolePolicy"],
            [s.iam("instance-profile/*"), s.iam("role/*")],
        ),
        // Customer managed policies of a profile's role, read to judge whether they grant SSM.
        allow("SsmAccessReadRolePolicies", &["iam:GetPolicy", "iam:GetPolicyVersion"], [s.iam("policy/*")]),
        allow("SsmAccessReadDefaultHostManagement", &["ssm:GetServiceSetting"], [setting.clone()]),
    ];
    if !s.enforce {
        return statements;
    }
    if s.ssm_close_world {
        statements.extend([
            // Groups belong to others: no tag condition. The planner touches only permissions
            // from 0.0.0.0/0 or ::/0 (DESIGN.md rule 4).
            allow(
                "SsmAccessCloseWorldSsh",
                &["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
                [s.ec2("security-group/*")],
            ),
            // The remainder of a split is authorized as new rules tagged as the operator's.
            allow("SsmAccessAuthorizeSplitRules", &["ec2:AuthorizeSecurityGroupIngress"], [s.ec2("security-group-rule/*")])
                .when(s.request_tags()),
            allow("SsmAccessTagSplitRulesOnCreate", &["ec2:CreateTags"], [s.ec2("security-group-rule/*")])
                .when(json!({ "StringEquals": { "ec2:CreateAction": "AuthorizeSecurityGroupIngress" } })),
        ]);
    }
    if !s.ssm_created_profiles.is_empty() {
        let roles: Vec<String> = s.ssm_created_profiles.iter().map(|n| s.role_arn(n)).collect();
        let profiles: Vec<String> = s.ssm_created_profiles.iter().map(|n| s.iam(&format!("instance-profile/{n}"))).collect();
        statements.extend([
            allow("SsmAccessCreateRole", &["iam:CreateRole", "iam:TagRole"], roles.clone()).when(s.request_tags()),
            // A role of that name that already exists is completed only when its tags say it is ours.
            allow("SsmAccessReadExistingRole", &["iam:GetRole"], roles.clone()),
            allow("SsmAccessCreateInstanceProfile", &["iam:CreateInstanceProfile", "iam:TagInstanceProfile"], profiles.clone())
                .when(s.request_tags()),
            allow("SsmAccessAttachCorePolicy", &["iam:AttachRolePolicy"], roles).when({
                let mut condition = s.own_resources();
                merge(
                    &mut condition,
                    json!({ "ArnEquals": { "iam:PolicyARN": format!("arn:{}:iam::aws:policy/AmazonSSMManagedInstanceCore", s.partition) } }),
                );
                condition
            }),
            allow("SsmAccessAddRoleToOwnProfile", &["iam:AddRoleToInstanceProfile"], profiles).when(s.own_resources()),
        ]);
    }
    if s.ssm_attach {
        statements.extend([
            allow("SsmAccessAttachProfile", &["ec2:AssociateIamInstanceProfile"], [s.ec2("instance/*")]),
            // A retried association that meets one (its first answer lost) is done only when
            // the existing association is of the planned profile.
            allow("SsmAccessCheckAssociation", &["ec2:DescribeIamInstanceProfileAssociations"], anywhere()),
        ]);
    }
    if !s.ssm_profile_roles.is_empty() {
        // Associating a profile, and adding a role to a profile, pass the role to EC2.
        statements.push(
            allow("SsmAccessPassProfileRole", &["iam:PassRole"], s.ssm_profile_roles.iter().map(|r| s.role_arn(r)))
                .when(json!({ "StringEquals": { "iam:PassedToService": "ec2.amazonaws.com" } })),
        );
    }
    if !s.ssm_dhmc_roles.is_empty() {
        statements.extend([
            allow("SsmAccessSetDefaultHostManagement", &["ssm:UpdateServiceSetting"], [setting]),
            allow("SsmAccessPassDefaultHostManagementRole", &["iam:PassRole"], s.ssm_dhmc_roles.iter().map(|r| s.role_arn(r)))
                .when(json!({ "StringEquals": { "iam:PassedToService": "ssm.amazonaws.com" } })),
        ]);
    }
    if s.ssm_delete_key_pairs {
        // The planner deletes only key pairs no instance and no launch template version names.
        statements.push(allow("SsmAccessDeleteUnusedKeyPairs", &["ec2:DeleteKeyPair"], [s.ec2("key-pair/*")]));
    }
    statements
}

fn backup(s: &Scope) -> Vec<Statement> {
    let plans = s.plan_arn();
    let mut statements = vec![
        allow("BackupRead", &["backup:ListBackupPlans", "backup:ListTags", "ec2:DescribeInstances", "ec2:DescribeVolumes"], anywhere()),
        allow("BackupReadVaults", &["backup:DescribeBackupVault"], s.vault_arns()),
        allow("BackupReadPlans", &["backup:GetBackupPlan", "backup:ListBackupSelections", "backup:GetBackupSelection"], [plans.clone()]),
    ];
    if !s.enforce {
        return statements;
    }
    if s.backup_create_vault {
        let keys: Vec<String> =
            if s.backup_kms_keys.is_empty() { vec![s.arn("kms", true, "key/*")] } else { s.backup_kms_keys.iter().cloned().collect() };
        let via_backup = format!("backup.{}.amazonaws.com", s.region);
        let via = if s.region == "*" { "StringLike" } else { "StringEquals" };
        statements.extend([
            allow("BackupCreateVault", &["backup:CreateBackupVault"], s.vault_arns()).when(s.request_tags()),
            // CreateBackupVault's storage and encryption, only through AWS Backup.
            allow("BackupCreateVaultStorage", &["backup-storage:MountCapsule"], anywhere()),
            allow(
                "BackupCreateVaultEncryption",
                &["kms:CreateGrant", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Decrypt", "kms:RetireGrant"],
                keys,
            )
            .when(json!({ via: { "kms:ViaService": via_backup } })),
        ]);
    }
    let plan_changes = allow(
        "BackupAlignPlans",
        &["backup:UpdateBackupPlan", "backup:CreateBackupSelection", "backup:DeleteBackupSelection"],
        [plans.clone()],
    );
    statements.extend([
        allow("BackupCreatePlan", &["backup:CreateBackupPlan"], [plans.clone()]).when(s.request_tags()),
        // An adopted plan carries no frugal tags: then plan changes cannot be narrowed by tag.
        if s.backup_adopt { plan_changes } else { plan_changes.when(s.own_resources()) },
        allow("BackupPassSelectionRole", &["iam:PassRole"], s.backup_selection_roles.iter().cloned())
            .when(json!({ "StringEquals": { "iam:PassedToService": "backup.amazonaws.com" } })),
    ]);
    if s.cleanup {
        let mut own = s.vault_arns();
        own.push(plans);
        statements.push(allow("BackupDeleteOwn", &["backup:DeleteBackupPlan", "backup:DeleteBackupVault"], own).when(s.own_resources()));
    }
    statements
}

fn access_keys(s: &Scope) -> Vec<Statement> {
    let users = s.iam("user/*");
    let mut statements = vec![allow(
        "AccessKeysRead",
        &["iam:ListUsers", "iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:ListUserTags"],
        [users.clone()],
    )];
    if !s.enforce || !s.access_keys_deactivate {
        return statements;
    }
    statements.extend([
        // Only the operator's marks: frugal.dev/deactivate-<AccessKeyId>.
        allow("AccessKeysMarkUsers", &["iam:TagUser", "iam:UntagUser"], [users.clone()])
            .when(json!({ "ForAllValues:StringLike": { "aws:TagKeys": [format!("{MARK_PREFIX}*")] } })),
        // Users and keys belong to others: no tag condition. The planner deactivates only keys
        // unused for maxUnusedDays after their grace period, never the operator's own, and
        // never deletes one (DESIGN.md rule 8).
        allow("AccessKeysDeactivateUnused", &["iam:UpdateAccessKey"], [users]),
    ]);
    statements
}

/// Compute Optimizer has no resource-level permissions: every action is on `*`. Each Get*
/// action also needs the describe action of its resources (the Service Authorization
/// Reference's dependent actions).
fn right_sizing(s: &Scope) -> Vec<Statement> {
    let mut read = vec!["compute-optimizer:GetEnrollmentStatus"];
    for kind in &s.right_sizing_resources {
        read.extend(match kind {
            RightSizingResource::Ec2Instances => ["compute-optimizer:GetEC2InstanceRecommendations", "ec2:DescribeInstances"],
            RightSizingResource::EbsVolumes => ["compute-optimizer:GetEBSVolumeRecommendations", "ec2:DescribeVolumes"],
            RightSizingResource::AutoScalingGroups => {
                ["compute-optimizer:GetAutoScalingGroupRecommendations", "autoscaling:DescribeAutoScalingGroups"]
            }
        });
    }
    if s.right_sizing_group_tags && !read.contains(&"autoscaling:DescribeAutoScalingGroups") {
        read.push("autoscaling:DescribeAutoScalingGroups");
    }
    let mut statements = vec![allow("RightSizingRead", &read, anywhere())];
    if s.enforce && s.right_sizing_enroll {
        statements.extend([
            allow("RightSizingEnroll", &["compute-optimizer:UpdateEnrollmentStatus"], anywhere()),
            // Enrolling creates Compute Optimizer's service-linked role the first time.
            allow(
                "RightSizingServiceLinkedRole",
                &["iam:CreateServiceLinkedRole"],
                [s.role_arn("aws-service-role/compute-optimizer.amazonaws.com/AWSServiceRoleForComputeOptimizer")],
            )
            .when(json!({ "StringLike": { "iam:AWSServiceName": "compute-optimizer.amazonaws.com" } })),
        ]);
    }
    statements
}

/// CloudWatch alarms are scoped by ARN; CloudWatch Logs' DescribeLogGroups is not
/// resource-scoped, PutRetentionPolicy is (log-group ARNs).
fn cloud_watch(s: &Scope) -> Vec<Statement> {
    let alarms = s.arn("cloudwatch", true, "alarm:*");
    let mut statements = vec![
        allow("CloudWatchReadAlarms", &["cloudwatch:DescribeAlarms", "ec2:DescribeInstances"], anywhere()),
        allow("CloudWatchReadAlarmTags", &["cloudwatch:ListTagsForResource"], [alarms.clone()]),
    ];
    if s.cloud_watch_logs {
        statements.push(allow("CloudWatchReadLogGroups", &["logs:DescribeLogGroups"], anywhere()));
    }
    if !s.enforce {
        return statements;
    }
    if s.cloud_watch_logs {
        statements.push(allow("CloudWatchSetLogRetention", &["logs:PutRetentionPolicy"], [s.arn("logs", true, "log-group:*")]));
    }
    if s.cloud_watch_alarms {
        // PutMetricAlarm with Tags is also authorized as cloudwatch:TagResource.
        statements.push(allow(
            "CloudWatchPutInstanceAlarms",
            &["cloudwatch:PutMetricAlarm", "cloudwatch:TagResource"],
            [s.arn("cloudwatch", true, "alarm:frugal-*")],
        ));
    }
    if s.cloud_watch_delete_orphans || s.cleanup {
        statements.push(allow(
            "CloudWatchDeleteAlarms",
            &["cloudwatch:DeleteAlarms", "cloudwatch:TagResource", "cloudwatch:UntagResource"],
            [alarms],
        ));
    }
    statements
}

/// Adds the operators of `extra` to `condition` (keys of the same operator are combined).
fn merge(condition: &mut Value, extra: Value) {
    let (Some(target), Value::Object(extra)) = (condition.as_object_mut(), extra) else { return };
    for (operator, keys) in extra {
        match (target.get_mut(&operator), keys) {
            (Some(Value::Object(existing)), Value::Object(keys)) => existing.extend(keys),
            (_, keys) => {
                target.insert(operator, keys);
            }
        }
    }
}

/// The statements of each area with its scope, in table order; an action already granted
/// on every resource without condition by an earlier statement is not repeated.
pub fn statements(scopes: &BTreeMap<AreaName, Scope>) -> Vec<Statement> {
    let mut granted: BTreeSet<&'static str> = BTreeSet::new();
    let mut all = Vec::new();
    for area in AreaName::ALL {
        let build = of(area);
        let Some(scope) = scopes.get(&area) else { continue };
        for mut statement in build(scope) {
            if statement.is_unconditional() {
                statement.actions.retain(|a| granted.insert(*a));
                if statement.actions.is_empty() {
                    continue;
                }
            }
            all.push(statement);
        }
    }
    // The prices of the policies' regions, from AWS's Price List, for every area that prices
    // its findings: global, with no resource or account to name.
    if scopes.keys().any(|area| !prices_of(*area).is_empty()) {
        all.push(allow("PriceList", &["pricing:GetProducts"], anywhere()));
        // What the account paid, when a policy asks (global too: Cost Explorer has no
        // resources).
        if scopes.iter().any(|(area, scope)| scope.cost_explorer && !prices_of(*area).is_empty()) {
            all.push(allow("CostExplorerSpend", &["ce:GetCostAndUsage"], anywhere()));
        }
    }
    // Cleanup (deletionPolicy Delete) looks for the policy's gateway endpoints whatever
    // areas the policy enables, in case a removed gatewayEndpoints section left some.
    if scopes.values().any(|s| s.enforce && s.cleanup) && granted.insert("ec2:DescribeVpcEndpoints") {
        all.push(allow("CleanupFindOwnEndpoints", &["ec2:DescribeVpcEndpoints"], anywhere()));
    }
    all
}
