//! The messy account of the reliability tests (faults, crashes): three prod VPCs (no
//! endpoints; our S3 endpoint on one of two tables; a hand-made DynamoDB endpoint) and a dev
//! VPC; expired, young, AMI-backed and excluded snapshots; security groups open to the
//! world on tcp/22; a volume to back up. With what each safety check reads back from AWS.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{IpPermission, IpRange};
use frugal_operator::api::CostPolicy;
use k8s_openapi::jiff::Timestamp;

use super::{REGION, TestAccount, policy_for};

pub const BACKUP_ROLE: &str = "arn:aws:iam::111122223333:role/service-role/AWSBackupDefaultServiceRole";
/// metadata.name of the messy account's policy (the frugal.dev/policy tag of what it made).
pub const POLICY_NAME: &str = "soak";

/// The policy of the reliability tests, every area enabled, as YAML (for `frugal -f`).
pub fn policy_yaml(account: &TestAccount, mode: &str) -> String {
    format!(
        "apiVersion: frugal.dev/v1alpha1
kind: CostPolicy
metadata: {{name: {POLICY_NAME}}}
spec:
  mode: {mode}
  aws: {{region: {REGION}, roleArn: '{role}'}}
  gatewayEndpoints: {{services: [s3, dynamodb], vpcSelector: {{tags: {{env: prod}}}}}}
  snapshotRetention:
    maxAgeDays: 30
    maxDeletionsPerRun: 2
    gracePeriod: 24h
    exclude: {{tags: {{frugal.dev/keep: 'true'}}}}
  ssmAccess: {{revokeWorldSsh: true, allowedSshCidrs: ['10.0.0.0/8']}}
  backup:
    vault: {{name: soak-vault, create: true}}
    plan:
      name: soak-daily
      rules:
        - {{name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}}
    selection: {{iamRoleArn: '{BACKUP_ROLE}', tags: {{backup: daily}}}}
",
        role = account.role_arn
    )
}

pub fn policy(account: &TestAccount, mode: &str) -> CostPolicy {
    policy_for(account, &policy_yaml(account, mode))
}

/// The messy account: three prod VPCs (no endpoints; our S3 endpoint on one of two
/// tables; a hand-made DynamoDB endpoint) and a dev VPC; expired, young, AMI-backed and
/// excluded snapshots; security groups open to the world on tcp/22; a volume to back up.
pub struct Messy {
    pub account: TestAccount,
    pub prod_vpcs: Vec<super::SeededVpc>,
    pub dev_vpc: super::SeededVpc,
    /// Expired and unprotected: the only snapshots that may ever be deleted.
    pub expired: BTreeSet<String>,
    /// Young, AMI-backed or excluded: never deleted.
    pub protected: BTreeSet<String>,
    pub sg_ssh: String,
    pub sg_wide: String,
}

pub fn tcp(from: i32, to: i32, cidr: &str) -> IpPermission {
    IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to).ip_ranges(IpRange::builder().cidr_ip(cidr).build()).build()
}

pub async fn seed() -> Messy {
    let account = TestAccount::new().await;
    let app = account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 2).await;
    let data = account.seed_vpc("10.2.0.0/16", &[("env", "prod")], 2).await;
    let legacy = account.seed_vpc("10.3.0.0/16", &[("env", "prod")], 1).await;
    let dev_vpc = account.seed_vpc("10.4.0.0/16", &[("env", "dev")], 1).await;
    account
        .hand_made_endpoint(
            &data.vpc_id,
            "s3",
            &data.private_route_tables[..1],
            &[("frugal.dev/managed-by", "frugal"), ("frugal.dev/policy", "soak")],
        )
        .await;
    account.hand_made_endpoint(&legacy.vpc_id, "dynamodb", &legacy.private_route_tables, &[]).await;

    let (_, expired) = account.snapshots_of_new_volume(5, 10).await;
    account.age_snapshots(&expired, 40).await;
    let (_, young) = account.snapshots_of_new_volume(2, 10).await;
    account.age_snapshots(&young, 5).await;
    let (_, old_protected) = account.snapshots_of_new_volume(2, 10).await;
    account.age_snapshots(&old_protected, 400).await;
    let [ami, excluded] = old_protected.as_slice() else { panic!("two snapshots") };
    account.register_ami("golden", ami).await;
    account
        .ec2
        .create_tags()
        .resources(excluded)
        .tags(aws_sdk_ec2::types::Tag::builder().key("frugal.dev/keep").value("true").build())
        .send()
        .await
        .expect("CreateTags");

    let group = |name: &'static str| {
        let ec2 = account.ec2.clone();
        async move {
            let created = ec2.create_security_group().group_name(name).description(name).send().await.expect("CreateSecurityGroup");
            created.group_id().expect("group id").to_string()
        }
    };
    let sg_ssh = group("ssh-open").await;
    let sg_wide = group("wide-open").await;
    for (sg, permission) in [
        (&sg_ssh, tcp(22, 22, "0.0.0.0/0")),
        (&sg_ssh, tcp(22, 22, "10.0.0.0/8")),
        (&sg_ssh, tcp(443, 443, "0.0.0.0/0")),
        (&sg_wide, tcp(0, 65535, "0.0.0.0/0")),
    ] {
        account.ec2.authorize_security_group_ingress().group_id(sg).ip_permissions(permission).send().await.expect("Authorize");
    }

    let volume = account.ec2.create_volume().availability_zone(format!("{REGION}a")).size(100).send().await.expect("CreateVolume");
    account
        .ec2
        .create_tags()
        .resources(volume.volume_id().expect("id"))
        .tags(aws_sdk_ec2::types::Tag::builder().key("backup").value("daily").build())
        .send()
        .await
        .expect("CreateTags");

    let protected = young.iter().chain(&old_protected).cloned().collect();
    Messy { account, prod_vpcs: vec![app, data, legacy], dev_vpc, expired: expired.into_iter().collect(), protected, sg_ssh, sg_wide }
}

/// Snapshots of the account with their expiry tag, read directly (not through the proxy).
pub async fn snapshot_tags(account: &TestAccount) -> BTreeMap<String, Option<i64>> {
    let mut snapshots = BTreeMap::new();
    let mut pages = account.ec2.describe_snapshots().owner_ids("self").max_results(1000).into_paginator().send();
    while let Some(page) = pages.next().await {
        for s in page.expect("DescribeSnapshots").snapshots() {
            let expires = s
                .tags()
                .iter()
                .find(|t| t.key() == Some(frugal_operator::api::names::TAG_EXPIRES_AT))
                .and_then(|t| t.value()?.parse::<Timestamp>().ok())
                .map(|t| t.as_second());
            snapshots.insert(s.snapshot_id().expect("id").to_string(), expires);
        }
    }
    snapshots
}

/// No duplicate endpoint per service per VPC, plan, selection; read directly.
pub async fn assert_no_duplicates(m: &Messy, run: usize) {
    for vpc in m.prod_vpcs.iter().chain([&m.dev_vpc]) {
        let mut per_service: BTreeMap<String, usize> = BTreeMap::new();
        for endpoint in m.account.endpoints(&vpc.vpc_id).await {
            *per_service.entry(endpoint.service_name().unwrap_or_default().to_string()).or_default() += 1;
        }
        assert!(per_service.values().all(|n| *n <= 1), "run {run}: duplicate endpoints in {}: {per_service:?}", vpc.vpc_id);
    }
    let backup = aws_sdk_backup::Client::new(&m.account.config);
    let plans = backup.list_backup_plans().send().await.expect("ListBackupPlans");
    let ours: Vec<_> = plans.backup_plans_list().iter().filter(|p| p.backup_plan_name() == Some("soak-daily")).collect();
    assert!(ours.len() <= 1, "run {run}: duplicate backup plans: {ours:?}");
    if let Some(plan_id) = ours.first().and_then(|p| p.backup_plan_id()) {
        let selections = backup.list_backup_selections().backup_plan_id(plan_id).send().await.expect("ListBackupSelections");
        assert!(selections.backup_selections_list().len() <= 1, "run {run}: duplicate selections: {selections:?}");
    }
    let vaults = backup.list_backup_vaults().send().await.expect("ListBackupVaults");
    assert!(vaults.backup_vault_list().iter().filter(|v| v.backup_vault_name() == Some("soak-vault")).count() <= 1);
}

/// (protocol, from, to, cidr) of a group's IPv4 ingress rules, sorted.
pub async fn rules(account: &TestAccount, group_id: &str) -> Vec<(String, i32, i32, String)> {
    let answer = account.ec2.describe_security_groups().group_ids(group_id).send().await.expect("DescribeSecurityGroups");
    let mut rules: Vec<_> = answer.security_groups()[0]
        .ip_permissions()
        .iter()
        .flat_map(|p| {
            p.ip_ranges().iter().map(|r| {
                (
                    p.ip_protocol().unwrap_or_default().to_string(),
                    p.from_port().unwrap_or(-1),
                    p.to_port().unwrap_or(-1),
                    r.cidr_ip().unwrap_or_default().to_string(),
                )
            })
        })
        .collect();
    rules.sort();
    rules
}

/// Every prod VPC has one S3 and one DynamoDB endpoint routing all its private route
/// tables; the dev VPC (out of scope) has none.
pub async fn assert_endpoints_converged(m: &Messy) {
    for vpc in &m.prod_vpcs {
        let endpoints = m.account.endpoints(&vpc.vpc_id).await;
        assert_eq!(endpoints.len(), 2, "one S3 and one DynamoDB endpoint in {}", vpc.vpc_id);
        for endpoint in &endpoints {
            let routed = m.account.routed_tables(endpoint.vpc_endpoint_id().expect("id")).await;
            for table in &vpc.private_route_tables {
                assert!(routed.contains(table), "{table} routes through {:?}", endpoint.vpc_endpoint_id());
            }
        }
    }
    assert!(m.account.endpoints(&m.dev_vpc.vpc_id).await.is_empty(), "the dev VPC is out of scope");
}
