//! Least privilege, proven against the emulator: each area runs in a fresh account through
//! every path that calls AWS (Audit, Enforce with drift of every kind, a converged run,
//! deletionPolicy Delete cleanup) while the emulator records every request. The IAM actions
//! invoked must be exactly the actions `frugal iam-policy` grants for that area (with and
//! without `-f`), except the few listed in [`exceptions`], each with its reason.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, RequestLaunchTemplateData};
use common::{REGION, TestAccount, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::validate::validate;
use frugal_operator::engine::areas::SsmAccess;
use frugal_operator::engine::{self, AppliedRun, AreaCloud, CloudConnector};
use frugal_operator::plan::ssm_access::SsmAccessChange;
use k8s_openapi::jiff::Timestamp;

const DAY: i64 = 86_400;

/// Granted but never seen as a request, per area: IAM authorizes them during another call.
fn exceptions(area: &str) -> &'static [&'static str] {
    match area {
        // CreateVpcEndpoint with TagSpecifications is also authorized as ec2:CreateTags
        // (condition ec2:CreateAction).
        "gatewayEndpoints" => &["ec2:CreateTags"],
        "snapshotRetention" => &[],
        "ssmAccess" => &[
            // AuthorizeSecurityGroupIngress with TagSpecifications (split rules).
            "ec2:CreateTags",
            // AssociateIamInstanceProfile / AddRoleToInstanceProfile pass the profile's role to
            // EC2; UpdateServiceSetting of the DHMC setting passes its role to SSM.
            "iam:PassRole",
            // CreateRole / CreateInstanceProfile with Tags.
            "iam:TagRole",
            "iam:TagInstanceProfile",
        ],
        "backup" => &[
            // CreateBackupSelection passes the selection's role to AWS Backup.
            "iam:PassRole",
            // CreateBackupVault: AWS Backup mounts the vault's storage and takes KMS grants on
            // its key on the caller's behalf (kms:ViaService backup); the emulator models
            // neither.
            "backup-storage:MountCapsule",
            "kms:CreateGrant",
            "kms:DescribeKey",
            "kms:GenerateDataKey",
            "kms:Decrypt",
            "kms:RetireGrant",
        ],
        "accessKeys" => &[],
        "rightSizing" => &[
            // Dependent actions of the Get*Recommendations calls (the Service Authorization
            // Reference): Compute Optimizer describes the resources as the caller.
            "ec2:DescribeInstances",
            "ec2:DescribeVolumes",
            // UpdateEnrollmentStatus creates Compute Optimizer's service-linked role.
            "iam:CreateServiceLinkedRole",
        ],
        "cloudWatch" => &[],
        other => panic!("unknown area {other}"),
    }
}

/// The IAM action of a recorded request (the SigV4 signing name is the IAM prefix, except
/// CloudWatch's `monitoring`).
fn iam_action(r: &common::Recorded) -> String {
    assert!(!r.operation.contains(' '), "the recorder could not name an operation: {r:?}");
    let prefix = match r.service.as_str() {
        "monitoring" => "cloudwatch",
        known @ ("ec2" | "backup" | "ssm" | "iam" | "sts" | "compute-optimizer" | "autoscaling" | "logs" | "pricing" | "ce") => known,
        other => panic!("unexpected service {other:?}: {r:?}"),
    };
    format!("{prefix}:{}", r.operation)
}

/// What the operator invoked since the last call (then forgets it, so the test's own seeding
/// calls are never counted).
async fn take_invoked(account: &TestAccount, into: &mut BTreeSet<String>) {
    for request in account.requests().await {
        let action = iam_action(&request);
        // Needs no permission (GetCallerIdentity) or is the operator's own identity's
        // permission, not the target role's (AssumeRole).
        if action == "sts:GetCallerIdentity" || action == "sts:AssumeRole" {
            continue;
        }
        into.insert(action);
    }
    account.clear_requests().await;
}

async fn run_at(account: &TestAccount, policy: &CostPolicy, now: i64) -> AppliedRun {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let validated = validate(&name, &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, now).await;
    engine::act(cloud.as_ref(), planned).await
}

async fn enforce(account: &TestAccount, policy: &CostPolicy, now: i64) {
    let applied = run_at(account, policy, now).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
}

/// An Audit run over the seeded drift: only reads.
async fn audit(account: &TestAccount, policy: &CostPolicy, invoked: &mut BTreeSet<String>) {
    account.clear_requests().await;
    let mut audit = policy.clone();
    audit.spec.mode = frugal_operator::api::Mode::Audit;
    let applied = run_at(account, &audit, Timestamp::now().as_second()).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let mutating = account.mutating_requests().await;
    assert!(mutating.is_empty(), "Audit mode must not mutate: {mutating:?}");
    take_invoked(account, invoked).await;
}

async fn cleanup(account: &TestAccount, policy: &CostPolicy) -> Vec<String> {
    let name = policy.metadata.name.clone().unwrap_or_default();
    let validated = validate(&name, &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    engine::cleanup(cloud.as_ref(), &validated).await.expect("cleanup")
}

/// A policy of `sections` that also reads its spend from Cost Explorer (a priced area then
/// calls it).
fn policy(account: &TestAccount, name: &str, mode: &str, sections: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: {name}}}\nspec:\n  mode: {mode}\n  deletionPolicy: Delete\n  aws: {{region: {REGION}}}\n  pricing: {{costExplorer: true}}\n{sections}"
        ),
    )
}

/// `frugal iam-policy ARGS [-f FILE]`: the document.
fn iam_policy(args: &[&str], file: Option<&CostPolicy>) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = Command::new(env!("CARGO_BIN_EXE_frugal"));
    command.arg("iam-policy").args(args);
    if let Some(policy) = file {
        let path = dir.path().join("policy.yaml");
        std::fs::write(&path, serde_yaml::to_string(policy).expect("policy YAML")).expect("write policy");
        command.arg("-f").arg(&path);
    }
    let output = command.output().expect("run frugal iam-policy");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("iam-policy prints JSON")
}

fn statements(document: &serde_json::Value) -> Vec<serde_json::Value> {
    document["Statement"].as_array().cloned().expect("Statement array")
}

fn granted(document: &serde_json::Value) -> BTreeSet<String> {
    statements(document)
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect()
}

/// Resources of the statements granting `action`.
fn resources_of(document: &serde_json::Value, action: &str) -> Vec<String> {
    statements(document)
        .iter()
        .filter(|s| s["Action"].as_array().is_some_and(|a| a.iter().any(|x| x == action)))
        .flat_map(|s| match &s["Resource"] {
            serde_json::Value::Array(many) => many.iter().filter_map(|r| r.as_str().map(str::to_string)).collect(),
            one => one.as_str().map(str::to_string).into_iter().collect::<Vec<_>>(),
        })
        .collect()
}

/// Invoked ⊆ granted and granted ⊆ invoked ∪ exceptions, for the policy without `-f` and
/// for the one made from the area's policy file; the Audit file grants only reads.
fn check(area: &str, invoked: &BTreeSet<String>, file: &CostPolicy) {
    let allowed_extra: BTreeSet<String> = exceptions(area).iter().map(|s| s.to_string()).collect();
    for (label, document) in [("--areas", iam_policy(&["--areas", area], None)), ("-f", iam_policy(&[], Some(file)))] {
        let granted = granted(&document);
        let missing: Vec<&String> = invoked.difference(&granted).collect();
        assert!(missing.is_empty(), "{area} ({label}): invoked but not granted: {missing:?}");
        let unused: Vec<&String> = granted.difference(invoked).filter(|a| !allowed_extra.contains(*a)).collect();
        assert!(unused.is_empty(), "{area} ({label}): granted but never invoked: {unused:?}\ninvoked: {invoked:?}");
        let stale: Vec<&String> = allowed_extra.difference(&granted).collect();
        assert!(stale.is_empty(), "{area} ({label}): exceptions no longer granted: {stale:?}");
    }
    let mut audit_file = file.clone();
    audit_file.spec.mode = frugal_operator::api::Mode::Audit;
    let read_only = granted(&iam_policy(&[], Some(&audit_file)));
    let writes: Vec<&String> = read_only
        .iter()
        .filter(|a| {
            let operation = a.split_once(':').map(|(_, o)| o).unwrap_or(a);
            !["Describe", "List", "Get"].iter().any(|p| operation.starts_with(p))
        })
        .collect();
    assert!(writes.is_empty(), "{area}: an Audit policy file grants {writes:?}");
    assert!(
        read_only.iter().all(|a| invoked.contains(a) || allowed_extra.contains(a)),
        "{area}: Audit grants a read never invoked: {read_only:?}"
    );
}

#[tokio::test]
async fn gateway_endpoints_invoke_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    let vpc = account.seed_vpc("10.1.0.0/16", &[("env", "prod")], 2).await;
    // S3: a hand-made endpoint on one private table (route tables are added); DynamoDB: none.
    account.hand_made_endpoint(&vpc.vpc_id, "s3", &vpc.private_route_tables[..1], &[]).await;
    account.seed_nat_metrics(&vpc.nat_gateway_id, 100.0).await;
    let p = policy(&account, "gw", "Enforce", "  gatewayEndpoints: {services: [s3, dynamodb], vpcSelector: {tags: {env: prod}}}\n");

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    enforce(&account, &p, Timestamp::now().as_second()).await;
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert!(operations.contains(&"CreateVpcEndpoint".into()) && operations.contains(&"ModifyVpcEndpoint".into()), "{operations:?}");
    take_invoked(&account, &mut invoked).await;
    assert_eq!(cleanup(&account, &p).await.len(), 1, "our DynamoDB endpoint");
    take_invoked(&account, &mut invoked).await;

    check("gatewayEndpoints", &invoked, &p);
    let document = iam_policy(&[], Some(&p));
    let prefix = format!("arn:aws:ec2:{REGION}:{}:", account.id);
    assert!(resources_of(&document, "ec2:DeleteVpcEndpoints").iter().all(|r| r.starts_with(&prefix)), "region and account in ARNs");
}

#[tokio::test]
async fn snapshot_retention_invokes_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    let (_, ids) = account.snapshots_of_new_volume(2, 10).await;
    account.age_snapshots(&ids[..1], 40).await;
    account.age_snapshots(&ids[1..], 50).await;
    // A launch template, so that its versions are read.
    account
        .ec2
        .create_launch_template()
        .launch_template_name("web")
        .launch_template_data(RequestLaunchTemplateData::builder().image_id("ami-12345678").build())
        .send()
        .await
        .expect("CreateLaunchTemplate");
    let section = |days: u32| format!("  snapshotRetention: {{maxAgeDays: {days}, maxDeletionsPerRun: 10, gracePeriod: 24h}}\n");
    let p = policy(&account, "snaps", "Enforce", &section(30));

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // Both are expired: tagged.
    enforce(&account, &p, Timestamp::now().as_second()).await;
    take_invoked(&account, &mut invoked).await;
    // Two days later with 45 days: the 42-day-old one is untagged, the 52-day-old one deleted.
    enforce(&account, &policy(&account, "snaps", "Enforce", &section(45)), Timestamp::now().as_second() + 2 * DAY).await;
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert!(operations.contains(&"DeleteTags".into()) && operations.contains(&"DeleteSnapshot".into()), "{operations:?}");
    take_invoked(&account, &mut invoked).await;
    assert!(invoked.contains("ec2:CreateTags"));
    // deletionPolicy Delete: snapshots are never the policy's own objects; cleanup reads nothing.
    cleanup(&account, &p).await;
    take_invoked(&account, &mut invoked).await;

    check("snapshotRetention", &invoked, &p);
}

fn tcp(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to)
}

#[tokio::test]
async fn ssm_access_invokes_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    let ec2 = &account.ec2;
    let group = |name: &'static str| async move {
        ec2.create_security_group()
            .group_name(name)
            .description(name)
            .send()
            .await
            .expect("CreateSecurityGroup")
            .group_id()
            .expect("id")
            .to_string()
    };
    let allow = |group_id: String, permission: IpPermission| async move {
        ec2.authorize_security_group_ingress().group_id(group_id).ip_permissions(permission).send().await.expect("Authorize");
    };
    let world = IpRange::builder().cidr_ip("0.0.0.0/0").build();
    // Revoke tcp/22, split a wide range, revoke all traffic from the world.
    let sg_ssh = group("ssh-open").await;
    allow(sg_ssh.clone(), tcp(22, 22).ip_ranges(world.clone()).build()).await;
    let sg_wide = group("wide-open").await;
    allow(sg_wide.clone(), tcp(0, 65535).ip_ranges(world.clone()).build()).await;
    allow(sg_wide.clone(), tcp(20, 25).ipv6_ranges(Ipv6Range::builder().cidr_ipv6("::/0").build()).build()).await;
    allow(sg_wide.clone(), IpPermission::builder().ip_protocol("-1").ip_ranges(world).build()).await;
    // A key pair in use, a stray one; a launch template naming nothing.
    for name in ["used", "stray"] {
        ec2.create_key_pair().key_name(name).send().await.expect("CreateKeyPair");
    }
    ec2.create_launch_template()
        .launch_template_name("web")
        .launch_template_data(RequestLaunchTemplateData::builder().image_id("ami-12345678").build())
        .send()
        .await
        .expect("CreateLaunchTemplate");
    // An instance without a profile.
    let bare = ec2
        .run_instances()
        .image_id("ami-12345678")
        .min_count(1)
        .max_count(1)
        .security_group_ids(&sg_ssh)
        .key_name("used")
        .send()
        .await
        .expect("RunInstances");
    let bare = bare.instances().first().and_then(|i| i.instance_id()).expect("instance id").to_string();
    // An instance whose profile's role grants SSM through a customer managed and an inline
    // policy: their documents are read to judge it.
    let iam = aws_sdk_iam::Client::new(&account.config);
    let agent = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:*"],"Resource":"*"}]}"#;
    iam.create_role()
        .role_name("app")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .expect("CreateRole");
    let custom = iam.create_policy().policy_name("app-agent").policy_document(agent).send().await.expect("CreatePolicy");
    let custom_arn = custom.policy().and_then(|p| p.arn()).expect("policy arn").to_string();
    iam.attach_role_policy().role_name("app").policy_arn(&custom_arn).send().await.expect("AttachRolePolicy");
    iam.put_role_policy().role_name("app").policy_name("agent").policy_document(agent).send().await.expect("PutRolePolicy");
    iam.create_instance_profile().instance_profile_name("app").send().await.expect("CreateInstanceProfile");
    iam.add_role_to_instance_profile().instance_profile_name("app").role_name("app").send().await.expect("AddRoleToInstanceProfile");
    ec2.run_instances()
        .image_id("ami-12345678")
        .min_count(1)
        .max_count(1)
        .iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name("app").build())
        .send()
        .await
        .expect("RunInstances");
    let p = policy(
        &account,
        "ssm",
        "Enforce",
        "  ssmAccess: {revokeWorldSsh: true, revokeAllTrafficFromWorld: true, \
         instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}, \
         defaultHostManagement: {enabled: true, roleName: frugal-dhmc}, keyPairs: DeleteUnused}\n",
    );

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // The role of an earlier try that died after CreateRole: its tags are read before it is completed.
    let own_tags: Vec<aws_sdk_iam::types::Tag> = frugal_operator::plan::ownership_tags(p.metadata.name.as_deref().expect("name"))
        .into_iter()
        .map(|(k, v)| aws_sdk_iam::types::Tag::builder().key(k).value(v).build().expect("tag"))
        .collect();
    iam.create_role()
        .role_name("frugal-ssm")
        .assume_role_policy_document(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .set_tags(Some(own_tags))
        .send()
        .await
        .expect("CreateRole");
    account.clear_requests().await;
    enforce(&account, &p, Timestamp::now().as_second()).await;
    let operations: BTreeSet<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    for expected in [
        "AuthorizeSecurityGroupIngress",
        "RevokeSecurityGroupIngress",
        "CreateRole",
        "AttachRolePolicy",
        "CreateInstanceProfile",
        "AddRoleToInstanceProfile",
        "AssociateIamInstanceProfile",
        "UpdateServiceSetting",
        "DeleteKeyPair",
    ] {
        assert!(operations.contains(expected), "{expected} not in {operations:?}");
    }
    take_invoked(&account, &mut invoked).await;
    // The SDK's retry of an association whose answer was lost: the association it meets is
    // read to check it is the planned profile's.
    let validated = validate("ssm", &p.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let attach = SsmAccessChange::AttachInstanceProfile { instance_id: bare, profile_name: "frugal-ssm".to_string() };
    AreaCloud::<SsmAccess>::apply(&*cloud, "ssm", &attach).await.expect("associated as planned already: done");
    take_invoked(&account, &mut invoked).await;
    // Converged: the profile now exists and its role's policies are read.
    enforce(&account, &p, Timestamp::now().as_second()).await;
    assert!(account.mutating_requests().await.is_empty());
    take_invoked(&account, &mut invoked).await;
    cleanup(&account, &p).await;
    take_invoked(&account, &mut invoked).await;

    check("ssmAccess", &invoked, &p);
    let document = iam_policy(&[], Some(&p));
    let mut pass = resources_of(&document, "iam:PassRole");
    pass.sort();
    assert_eq!(
        pass,
        [format!("arn:aws:iam::{}:role/frugal-dhmc", account.id), format!("arn:aws:iam::{}:role/frugal-ssm", account.id)],
        "PassRole only for the roles the policy names"
    );
}

#[tokio::test]
async fn backup_invokes_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    let role = format!("arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole", account.id);
    let section = |tags: &str| {
        format!(
            "  backup:\n    vault: {{name: prod-vault, create: true}}\n    plan:\n      name: prod-daily\n      rules:\n        - {{name: daily, schedule: 'cron(0 5 ? * * *)', startWindowMinutes: 60, completionWindowMinutes: 180, deleteAfterDays: 35}}\n    selection: {{iamRoleArn: '{role}', tags: {tags}}}\n"
        )
    };
    let p = policy(&account, "backups", "Enforce", &section("{backup: daily}"));

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // Vault, plan and selection are created.
    enforce(&account, &p, Timestamp::now().as_second()).await;
    take_invoked(&account, &mut invoked).await;

    // Someone shortens retention in the console; the selection's tags change in the spec.
    let client = aws_sdk_backup::Client::new(&account.config);
    let plans = client.list_backup_plans().send().await.expect("ListBackupPlans");
    let id = plans.backup_plans_list().iter().find_map(|p| p.backup_plan_id()).expect("plan").to_string();
    let rule = aws_sdk_backup::types::BackupRuleInput::builder()
        .rule_name("daily")
        .target_backup_vault_name("prod-vault")
        .schedule_expression("cron(0 5 ? * * *)")
        .lifecycle(aws_sdk_backup::types::Lifecycle::builder().delete_after_days(14).build())
        .build()
        .expect("rule");
    let input = aws_sdk_backup::types::BackupPlanInput::builder().backup_plan_name("prod-daily").rules(rule).build().expect("plan");
    client.update_backup_plan().backup_plan_id(&id).backup_plan(input).send().await.expect("UpdateBackupPlan");
    account.clear_requests().await;

    enforce(&account, &policy(&account, "backups", "Enforce", &section("{backup: hourly}")), Timestamp::now().as_second()).await;
    let operations: BTreeSet<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    for expected in ["UpdateBackupPlan", "CreateBackupSelection", "DeleteBackupSelection"] {
        assert!(operations.contains(expected), "{expected} not in {operations:?}");
    }
    take_invoked(&account, &mut invoked).await;
    assert_eq!(cleanup(&account, &p).await.len(), 3, "selection, plan and vault");
    take_invoked(&account, &mut invoked).await;

    check("backup", &invoked, &p);
    let document = iam_policy(&[], Some(&p));
    assert_eq!(resources_of(&document, "iam:PassRole"), [role], "PassRole only for the selection's role");
    assert_eq!(
        resources_of(&document, "backup:DescribeBackupVault"),
        [format!("arn:aws:backup:{REGION}:{}:backup-vault:prod-vault", account.id)]
    );
}

#[tokio::test]
async fn access_keys_invoke_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    iam.create_user().user_name("ci").send().await.expect("CreateUser");
    iam.create_access_key().user_name("ci").send().await.expect("CreateAccessKey");
    let p = policy(&account, "keys", "Enforce", "  accessKeys: {deactivateUnused: true, gracePeriod: 168h}\n");
    let later = Timestamp::now().as_second() + 100 * DAY;

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // The first run marks the user (TagUser), the one after the grace period deactivates the
    // key (UpdateAccessKey) and removes the mark (UntagUser).
    enforce(&account, &p, later).await;
    enforce(&account, &p, later + 8 * DAY).await;
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(operations, ["TagUser", "UpdateAccessKey", "UntagUser"]);
    take_invoked(&account, &mut invoked).await;
    assert_eq!(cleanup(&account, &p).await, Vec::<String>::new(), "nothing of accessKeys is removed");
    take_invoked(&account, &mut invoked).await;

    check("accessKeys", &invoked, &p);
}

#[tokio::test]
async fn right_sizing_invokes_exactly_what_the_policy_grants() {
    let account = TestAccount::new().await;
    account.auto_scaling_group("web", "prod").await;
    let instance = account.launch_instance(&[], None).await;
    let volume = account.ec2.create_volume().availability_zone(format!("{REGION}a")).size(8).send().await.expect("CreateVolume");
    let volume = volume.volume_id().expect("volume id").to_string();
    let seeds = serde_json::json!([
        {"account": account.id, "region": REGION, "autoScalingGroupName": "web", "finding": "NotOptimized", "recommendedType": "m5.large", "estimatedMonthlySavingsUsd": 140.0},
        {"account": account.id, "region": REGION, "instanceId": instance, "finding": "Overprovisioned", "recommendedType": "t3.micro", "estimatedMonthlySavingsUsd": 8.0},
        {"account": account.id, "region": REGION, "volumeId": volume, "finding": "NotOptimized", "estimatedMonthlySavingsUsd": 0.5},
    ]);
    common::control("/_frugal/compute-optimizer/recommendations", seeds).await;
    let p = policy(&account, "sizing", "Enforce", "  rightSizing: {selector: {tags: {env: prod}}}\n");

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // The first run enrolls; the next reads every kind of recommendation and the groups' tags.
    enforce(&account, &p, Timestamp::now().as_second()).await;
    enforce(&account, &p, Timestamp::now().as_second()).await;
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(operations, ["UpdateEnrollmentStatus"], "the enrollment is the only change");
    take_invoked(&account, &mut invoked).await;
    assert_eq!(cleanup(&account, &p).await, Vec::<String>::new(), "the account stays enrolled");
    take_invoked(&account, &mut invoked).await;

    check("rightSizing", &invoked, &p);
}

#[tokio::test]
async fn cloud_watch_invokes_exactly_what_the_policy_grants() {
    use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Tag};
    let account = TestAccount::new().await;
    aws_sdk_cloudwatchlogs::Client::new(&account.config)
        .create_log_group()
        .log_group_name("/aws/lambda/f")
        .send()
        .await
        .expect("CreateLogGroup");
    account.launch_instance(&[], None).await;
    for name in ["frugal-keys-i-00000000000000001-status-check", "frugal-keys-i-00000000000000002-status-check"] {
        account
            .cloudwatch
            .put_metric_alarm()
            .alarm_name(name)
            .namespace("AWS/EC2")
            .metric_name("StatusCheckFailed")
            .dimensions(
                Dimension::builder().name("InstanceId").value(name.replace("frugal-keys-", "").replace("-status-check", "")).build(),
            )
            .period(60)
            .evaluation_periods(1)
            .threshold(1.0)
            .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
            .tags(Tag::builder().key("frugal.dev/managed-by").value("frugal").build())
            .tags(Tag::builder().key("frugal.dev/policy").value("keys").build())
            .send()
            .await
            .expect("PutMetricAlarm");
    }
    let section = |orphans: &str| {
        format!(
            "  cloudWatch: {{logRetention: {{days: 30}}, instanceAlarms: {{notify: 'arn:aws:sns:{REGION}:111122223333:ops'}}, orphanAlarms: {orphans}}}\n"
        )
    };
    let p = policy(&account, "keys", "Enforce", &section("Delete"));
    let report_only = policy(&account, "keys", "Enforce", &section("Report"));
    let now = Timestamp::now().as_second();

    let mut invoked = BTreeSet::new();
    audit(&account, &p, &mut invoked).await;
    // Retention, the instance's alarm, the orphans tagged; untagged when deletion is no longer
    // asked; tagged again and deleted after the grace period.
    enforce(&account, &p, now).await;
    enforce(&account, &report_only, now).await;
    enforce(&account, &p, now).await;
    enforce(&account, &p, now + 2 * DAY).await;
    let operations: Vec<String> = account.mutating_requests().await.into_iter().map(|r| r.operation).collect();
    assert_eq!(
        operations,
        [
            "PutRetentionPolicy",
            "PutMetricAlarm",
            "TagResource",
            "TagResource",
            "UntagResource",
            "UntagResource",
            "TagResource",
            "TagResource",
            "DeleteAlarms",
            "DeleteAlarms"
        ]
    );
    take_invoked(&account, &mut invoked).await;
    assert_eq!(cleanup(&account, &p).await.len(), 1, "the instance's alarm");
    take_invoked(&account, &mut invoked).await;

    check("cloudWatch", &invoked, &p);
}
