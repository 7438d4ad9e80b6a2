//! ssmAccess against the AWS emulator: a messy account converges in one apply, the second
//! apply makes no mutating call, and Audit mode changes nothing.

mod common;

use aws_sdk_ec2::types::{AddPrefixListEntry, IpPermission, IpRange, Ipv6Range, PrefixListId, UserIdGroupPair};
use common::{TestAccount, policy_for};
use frugal_operator::api::CostPolicy;
use frugal_operator::api::conditions::{self, reason};
use frugal_operator::api::validate::validate;
use frugal_operator::engine::areas::SsmAccess;
use frugal_operator::engine::{self, AppliedRun, AreaCloud, AreaPlan, CloudConnector, report};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

const CORE: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore";
const EC2_TRUST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const DHMC_SETTING: &str = "/ssm/managed-instance/default-ec2-instance-management-role";
const DHMC_POLICY: &str = "arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy";
const SSM_TRUST: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ssm.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn policy(account: &TestAccount, mode: &str, section: &str) -> CostPolicy {
    policy_for(
        account,
        &format!(
            "apiVersion: frugal.dev/v1alpha1\nkind: CostPolicy\nmetadata: {{name: ssm}}\nspec:\n  mode: {mode}\n  aws: {{region: eu-west-1}}\n  ssmAccess: {section}\n"
        ),
    )
}

const ENFORCE_ALL: &str = "{revokeWorldSsh: true, revokeAllTrafficFromWorld: true, allowedSshCidrs: ['10.0.0.0/8'], \
    instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}, \
    defaultHostManagement: {enabled: true, roleName: frugal-dhmc}, keyPairs: DeleteUnused}";

async fn run(account: &TestAccount, policy: &CostPolicy) -> AppliedRun {
    let validated = validate("ssm", &policy.spec).expect("valid policy");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let planned = engine::observe_and_plan(cloud.as_ref(), validated, Timestamp::now().as_second()).await;
    engine::act(cloud.as_ref(), planned).await
}

fn tcp(from: i32, to: i32) -> aws_sdk_ec2::types::builders::IpPermissionBuilder {
    IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to)
}

/// The messy account's ids.
struct Messy {
    sg_ssh: String,
    sg_wide: String,
    sg_all: String,
    prefix_list: String,
    bare: String,
    plain: String,
    managed: String,
    stopped: String,
}

async fn group(account: &TestAccount, name: &str) -> String {
    let created = account.ec2.create_security_group().group_name(name).description(name).send().await.expect("CreateSecurityGroup");
    created.group_id().expect("group id").to_string()
}

async fn allow(account: &TestAccount, group_id: &str, permission: IpPermission) {
    account.ec2.authorize_security_group_ingress().group_id(group_id).ip_permissions(permission).send().await.expect("Authorize");
}

async fn role_with_profile(iam: &aws_sdk_iam::Client, name: &str, policies: &[&str]) {
    iam.create_role().role_name(name).assume_role_policy_document(EC2_TRUST).send().await.expect("CreateRole");
    for arn in policies {
        iam.attach_role_policy().role_name(name).policy_arn(*arn).send().await.expect("AttachRolePolicy");
    }
    iam.create_instance_profile().instance_profile_name(name).send().await.expect("CreateInstanceProfile");
    iam.add_role_to_instance_profile().instance_profile_name(name).role_name(name).send().await.expect("AddRoleToInstanceProfile");
}

async fn launch(account: &TestAccount, groups: &[&str], profile: Option<&str>, key: Option<&str>) -> String {
    let mut request = account
        .ec2
        .run_instances()
        .image_id("ami-12345678")
        .min_count(1)
        .max_count(1)
        .set_security_group_ids(Some(groups.iter().map(|g| g.to_string()).collect()))
        .set_key_name(key.map(str::to_string));
    if let Some(name) = profile {
        request = request.iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name(name).build());
    }
    let answer = request.send().await.expect("RunInstances");
    answer.instances()[0].instance_id().expect("instance id").to_string()
}

async fn seed(account: &TestAccount) -> Messy {
    let ec2 = &account.ec2;
    let iam = aws_sdk_iam::Client::new(&account.config);
    let world = IpRange::builder().cidr_ip("0.0.0.0/0").build();
    let world6 = Ipv6Range::builder().cidr_ipv6("::/0").build();

    // tcp 22 from the world, next to rules that must stay.
    let sg_ssh = group(account, "ssh-open").await;
    allow(account, &sg_ssh, tcp(22, 22).ip_ranges(world.clone()).build()).await;
    allow(account, &sg_ssh, tcp(22, 22).ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/8").build()).build()).await;
    allow(account, &sg_ssh, tcp(443, 443).ip_ranges(world.clone()).build()).await;

    // Wide tcp ranges from the world, IPv4 and IPv6.
    let sg_wide = group(account, "wide-open").await;
    allow(account, &sg_wide, tcp(0, 65535).ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").description("legacy").build()).build()).await;
    allow(account, &sg_wide, tcp(22, 22).ipv6_ranges(world6.clone()).build()).await;
    allow(account, &sg_wide, tcp(20, 25).ipv6_ranges(world6).build()).await;

    // All traffic from the world, and sources that are never touched.
    let sg_all = group(account, "all-open").await;
    allow(account, &sg_all, IpPermission::builder().ip_protocol("-1").ip_ranges(world).build()).await;
    let prefix_list = ec2
        .create_managed_prefix_list()
        .prefix_list_name("office")
        .max_entries(5)
        .address_family("IPv4")
        .entries(AddPrefixListEntry::builder().cidr("192.0.2.0/24").build())
        .send()
        .await
        .expect("CreateManagedPrefixList");
    let prefix_list = prefix_list.prefix_list().and_then(|p| p.prefix_list_id()).expect("prefix list id").to_string();
    allow(account, &sg_all, tcp(22, 22).prefix_list_ids(PrefixListId::builder().prefix_list_id(&prefix_list).build()).build()).await;
    allow(account, &sg_all, tcp(0, 65535).user_id_group_pairs(UserIdGroupPair::builder().group_id(&sg_ssh).build()).build()).await;

    // The Default Host Management role, as Quick Setup makes it.
    iam.create_role().role_name("frugal-dhmc").assume_role_policy_document(SSM_TRUST).send().await.expect("CreateRole");
    iam.attach_role_policy().role_name("frugal-dhmc").policy_arn(DHMC_POLICY).send().await.expect("AttachRolePolicy");

    // Profiles: one with the SSM policy, one without.
    role_with_profile(&iam, "app-ssm", &[CORE]).await;
    role_with_profile(&iam, "app-plain", &[]).await;

    // Key pairs: used by an instance, used only by a launch template, used by nothing.
    for name in ["used-by-instance", "used-by-template", "stray"] {
        ec2.create_key_pair().key_name(name).send().await.expect("CreateKeyPair");
    }
    ec2.create_launch_template()
        .launch_template_name("web")
        .launch_template_data(aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id("ami-12345678").build())
        .send()
        .await
        .expect("CreateLaunchTemplate");
    ec2.create_launch_template_version()
        .launch_template_name("web")
        .launch_template_data(aws_sdk_ec2::types::RequestLaunchTemplateData::builder().key_name("used-by-template").build())
        .send()
        .await
        .expect("CreateLaunchTemplateVersion");
    // A newer version without the key: the older version still names it.
    ec2.create_launch_template_version()
        .launch_template_name("web")
        .launch_template_data(aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id("ami-12345678").build())
        .send()
        .await
        .expect("CreateLaunchTemplateVersion");

    let bare = launch(account, &[&sg_ssh], None, Some("used-by-instance")).await;
    let plain = launch(account, &[&sg_wide], Some("app-plain"), None).await;
    let managed = launch(account, &[&sg_all], Some("app-ssm"), None).await;
    // Stopped instances are in scope too: they get the profile for when they start.
    let stopped = launch(account, &[&sg_ssh], None, None).await;
    ec2.stop_instances().instance_ids(&stopped).send().await.expect("StopInstances");
    Messy { sg_ssh, sg_wide, sg_all, prefix_list, bare, plain, managed, stopped }
}

/// (protocol, from, to, source, description) of a group's ingress rules, sorted.
async fn rules(account: &TestAccount, group_id: &str) -> Vec<(String, i32, i32, String, String)> {
    let answer = account
        .ec2
        .describe_security_group_rules()
        .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(group_id).build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    let mut rules: Vec<_> = answer
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .map(|r| {
            let source = r
                .cidr_ipv4()
                .or(r.cidr_ipv6())
                .or(r.prefix_list_id())
                .or(r.referenced_group_info().and_then(|g| g.group_id()))
                .unwrap_or_default()
                .to_string();
            (
                r.ip_protocol().unwrap_or_default().to_string(),
                r.from_port().unwrap_or(-1),
                r.to_port().unwrap_or(-1),
                source,
                r.description().unwrap_or_default().to_string(),
            )
        })
        .collect();
    rules.sort();
    rules
}

fn rule(protocol: &str, from: i32, to: i32, source: &str, description: &str) -> (String, i32, i32, String, String) {
    (protocol.to_string(), from, to, source.to_string(), description.to_string())
}

async fn profile_of(account: &TestAccount, instance_id: &str) -> Option<String> {
    let answer = account.ec2.describe_instances().instance_ids(instance_id).send().await.expect("DescribeInstances");
    let instance = answer.reservations().iter().flat_map(|r| r.instances()).next().cloned().expect("instance");
    instance.iam_instance_profile().and_then(|p| p.arn()).map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string())
}

async fn key_names(account: &TestAccount) -> Vec<String> {
    let answer = account.ec2.describe_key_pairs().send().await.expect("DescribeKeyPairs");
    let mut names: Vec<String> = answer.key_pairs().iter().filter_map(|k| k.key_name().map(str::to_string)).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_messy_account_converges_in_one_apply_and_the_second_apply_changes_nothing() {
    let account = TestAccount::new().await;
    let messy = seed(&account).await;
    let p = policy(&account, "Enforce", ENFORCE_ALL);

    let first = run(&account, &p).await;
    assert!(first.succeeded(), "{:?}", first.first_error());

    assert_eq!(
        rules(&account, &messy.sg_ssh).await,
        [rule("tcp", 22, 22, "10.0.0.0/8", ""), rule("tcp", 443, 443, "0.0.0.0/0", "")],
        "only tcp 22 from the world is revoked"
    );
    assert_eq!(
        rules(&account, &messy.sg_wide).await,
        [
            rule("tcp", 0, 21, "0.0.0.0/0", "legacy (split by frugal)"),
            rule("tcp", 20, 21, "::/0", "(split by frugal)"),
            rule("tcp", 23, 25, "::/0", "(split by frugal)"),
            rule("tcp", 23, 65535, "0.0.0.0/0", "legacy (split by frugal)"),
        ],
        "wide ranges are split, IPv4 and IPv6"
    );
    assert_eq!(
        rules(&account, &messy.sg_all).await,
        [rule("tcp", 0, 65535, &messy.sg_ssh, ""), rule("tcp", 22, 22, &messy.prefix_list, "")],
        "all traffic from the world is revoked; prefix lists and group references stay"
    );
    // The rules a split created carry the policy's tags.
    let tagged = account
        .ec2
        .describe_security_group_rules()
        .filters(aws_sdk_ec2::types::Filter::builder().name("tag:frugal.dev/policy").values("ssm").build())
        .send()
        .await
        .expect("DescribeSecurityGroupRules");
    assert_eq!(tagged.security_group_rules().len(), 4);

    assert_eq!(profile_of(&account, &messy.bare).await.as_deref(), Some("frugal-ssm"), "a bare instance gets the profile");
    assert_eq!(profile_of(&account, &messy.stopped).await.as_deref(), Some("frugal-ssm"), "so does a stopped one");
    assert_eq!(profile_of(&account, &messy.plain).await.as_deref(), Some("app-plain"), "someone's profile is never replaced");
    assert_eq!(profile_of(&account, &messy.managed).await.as_deref(), Some("app-ssm"));
    let iam = aws_sdk_iam::Client::new(&account.config);
    let attached = iam.list_attached_role_policies().role_name("frugal-ssm").send().await.expect("ListAttachedRolePolicies");
    assert_eq!(attached.attached_policies().iter().filter_map(|p| p.policy_arn()).collect::<Vec<_>>(), [CORE]);

    assert_eq!(key_names(&account).await, ["used-by-instance", "used-by-template"], "only the unused key pair is deleted");
    let ssm = aws_sdk_ssm::Client::new(&account.config);
    let setting = ssm.get_service_setting().setting_id(DHMC_SETTING).send().await.expect("GetServiceSetting");
    assert_eq!(setting.service_setting().and_then(|s| s.setting_value()), Some("frugal-dhmc"));

    let status = report::status(&first, None, Some(1), &Time(Timestamp::now()));
    let ssm_status = status.ssm_access.as_ref().expect("status.ssmAccess");
    assert_eq!((ssm_status.world_ssh_found, ssm_status.world_ssh_revoked, ssm_status.world_ssh_split), (4, 2, 2));
    assert_eq!((ssm_status.all_traffic_from_world_found, ssm_status.all_traffic_from_world_revoked), (1, 1));
    assert_eq!(ssm_status.instances.attached_last_run, 2);
    assert_eq!(ssm_status.instances.profile_without_ssm_policy, 1);
    assert_eq!((ssm_status.key_pairs.total, ssm_status.key_pairs.deleted_last_run), (3, 1));
    assert_eq!(ssm_status.default_host_management_problem, None, "frugal-dhmc trusts SSM and has its policy");
    let condition = conditions::find(&status.conditions, conditions::SSM_ACCESS_IN_SYNC).expect("condition");
    assert_eq!(condition.reason, reason::RECONCILED);

    account.clear_requests().await;
    let second = run(&account, &p).await;
    assert!(second.succeeded(), "{:?}", second.first_error());
    let Some(AreaPlan::Planned(plan)) = &second.areas.ssm_access.as_ref().map(|a| a.plan.clone()) else { panic!("planned") };
    assert!(plan.drift.is_empty(), "second plan: {:?}", plan.drift);
    assert_eq!(account.mutating_requests().await.len(), 0, "{:?}", account.mutating_requests().await);
}

#[tokio::test]
async fn audit_mode_reports_the_same_account_and_changes_nothing() {
    let account = TestAccount::new().await;
    let messy = seed(&account).await;
    let before = rules(&account, &messy.sg_wide).await;
    account.clear_requests().await;

    let applied = run(&account, &policy(&account, "Audit", ENFORCE_ALL)).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    assert!(account.mutating_requests().await.is_empty(), "{:?}", account.mutating_requests().await);
    assert_eq!(rules(&account, &messy.sg_wide).await, before);
    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let condition = conditions::find(&status.conditions, conditions::SSM_ACCESS_IN_SYNC).expect("condition");
    assert_eq!((condition.status.as_str(), condition.reason.as_str()), ("False", reason::DRIFT_FOUND));
    let ssm = status.ssm_access.expect("status.ssmAccess");
    assert_eq!(ssm.world_ssh_found, 4);
    assert_eq!(ssm.unused_key_pairs, ["stray"]);
}

#[tokio::test]
async fn all_traffic_from_the_world_is_only_reported_by_default() {
    let account = TestAccount::new().await;
    let messy = seed(&account).await;
    let applied = run(&account, &policy(&account, "Enforce", "{revokeWorldSsh: true}")).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    assert!(rules(&account, &messy.sg_all).await.contains(&rule("-1", -1, -1, "0.0.0.0/0", "")));
    assert_eq!(profile_of(&account, &messy.bare).await, None, "no instanceProfile section: nothing attached");
    assert_eq!(key_names(&account).await.len(), 3, "Report mode deletes no key pair");
}

#[tokio::test]
async fn instances_in_scope_follow_the_security_group_selector() {
    let account = TestAccount::new().await;
    let messy = seed(&account).await;
    let section = format!(
        "{{revokeWorldSsh: true, securityGroupIds: [{}], instanceProfile: {{name: frugal-ssm, attachWhenMissing: true, create: true}}}}",
        messy.sg_wide
    );
    let applied = run(&account, &policy(&account, "Enforce", &section)).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    assert!(rules(&account, &messy.sg_ssh).await.contains(&rule("tcp", 22, 22, "0.0.0.0/0", "")), "out of scope: untouched");
    assert_eq!(profile_of(&account, &messy.bare).await, None, "its group is out of scope");
}

#[tokio::test]
async fn an_instance_selector_scopes_instances_by_their_own_tags_whatever_their_groups() {
    let account = TestAccount::new().await;
    let default_group = group(&account, "untagged-default").await;
    let prod = launch(&account, &[&default_group], None, None).await;
    let dev = launch(&account, &[&default_group], None, None).await;
    for (id, env) in [(&prod, "prod"), (&dev, "dev")] {
        let tag = aws_sdk_ec2::types::Tag::builder().key("env").value(env).build();
        account.ec2.create_tags().resources(id.as_str()).tags(tag).send().await.expect("CreateTags");
    }
    // The groups in scope hold no instance: only the instanceSelector brings prod's in.
    let section = "{securityGroupSelector: {tags: {env: prod}}, instanceSelector: {tags: {env: prod}}, \
                   instanceProfile: {name: frugal-ssm, attachWhenMissing: true, create: true}}";
    let applied = run(&account, &policy(&account, "Enforce", section)).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    assert_eq!(profile_of(&account, &prod).await.as_deref(), Some("frugal-ssm"));
    assert_eq!(profile_of(&account, &dev).await, None, "a dev instance is out of scope");
}

#[tokio::test]
async fn a_same_named_role_someone_else_owns_is_reported_and_never_modified() {
    let account = TestAccount::new().await;
    let messy = seed(&account).await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    iam.create_role().role_name("frugal-ssm").assume_role_policy_document(EC2_TRUST).send().await.expect("CreateRole");
    account.clear_requests().await;

    let applied = run(&account, &policy(&account, "Enforce", ENFORCE_ALL)).await;
    assert!(applied.succeeded(), "{:?}", applied.first_error());
    let attached = iam.list_attached_role_policies().role_name("frugal-ssm").send().await.expect("ListAttachedRolePolicies");
    assert!(attached.attached_policies().is_empty(), "the foreign role got {:?}", attached.attached_policies());
    assert!(iam.get_instance_profile().instance_profile_name("frugal-ssm").send().await.is_err(), "no profile was created");
    assert_eq!(profile_of(&account, &messy.bare).await, None);
    let iam_calls: Vec<String> = account
        .mutating_requests()
        .await
        .into_iter()
        .map(|r| r.operation)
        .filter(|o| o.contains("Role") || o.contains("InstanceProfile"))
        .collect();
    assert!(iam_calls.is_empty(), "{iam_calls:?}");

    let status = report::status(&applied, None, Some(1), &Time(Timestamp::now()));
    let ssm = status.ssm_access.as_ref().expect("status.ssmAccess");
    let conflict = ssm.instance_profile_conflict.as_deref().expect("conflict in status");
    assert!(conflict.starts_with("role frugal-ssm exists and is not managed by this policy"), "{conflict}");
    let condition = conditions::find(&status.conditions, conditions::SSM_ACCESS_IN_SYNC).expect("condition");
    assert!(condition.message.contains(conflict), "{}", condition.message);
}

#[tokio::test]
async fn inline_and_customer_managed_policies_with_the_agent_actions_grant_ssm() {
    let account = TestAccount::new().await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    let agent = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ssm:UpdateInstanceInformation","ssmmessages:*"],"Resource":"*"}]}"#;
    role_with_profile(&iam, "inline-ssm", &[]).await;
    iam.put_role_policy().role_name("inline-ssm").policy_name("agent").policy_document(agent).send().await.expect("PutRolePolicy");
    let created = iam.create_policy().policy_name("agent").policy_document(agent).send().await.expect("CreatePolicy");
    let arn = created.policy().and_then(|p| p.arn()).expect("policy arn").to_string();
    role_with_profile(&iam, "custom-ssm", &[&arn]).await;
    role_with_profile(&iam, "half-ssm", &[]).await;
    let half = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ssm:*","Resource":"*"}]}"#;
    iam.put_role_policy().role_name("half-ssm").policy_name("ssm").policy_document(half).send().await.expect("PutRolePolicy");

    // Stopped, so SSM does not list them Online and the profile decides their state.
    let sg = group(&account, "plain").await;
    let mut ids = Vec::new();
    for profile in ["inline-ssm", "custom-ssm", "half-ssm"] {
        let id = launch(&account, &[&sg], Some(profile), None).await;
        account.ec2.stop_instances().instance_ids(&id).send().await.expect("StopInstances");
        ids.push(id);
    }
    let p = policy(&account, "Audit", "{revokeWorldSsh: false}");
    let validated = validate("ssm", &p.spec).expect("valid policy");
    let desired = validated.ssm_access.clone().expect("ssmAccess");
    let cloud = account.connector().connect(&validated.aws).await.expect("connect");
    let inventory = AreaCloud::<SsmAccess>::observe(&*cloud, &validated, &desired).await.expect("observe");
    let grants: Vec<(&str, bool)> = inventory.profiles.values().map(|p| (p.name.as_str(), p.grants_ssm)).collect();
    assert_eq!(grants, [("custom-ssm", true), ("half-ssm", false), ("inline-ssm", true)]);
}

#[tokio::test]
async fn a_default_host_management_role_that_cannot_work_is_reported() {
    let account = TestAccount::new().await;
    let iam = aws_sdk_iam::Client::new(&account.config);
    let section = "{defaultHostManagement: {enabled: true, roleName: frugal-dhmc}}";
    let problem = |applied: &AppliedRun| {
        let status = report::status(applied, None, Some(1), &Time(Timestamp::now()));
        let ssm = status.ssm_access.clone().expect("status.ssmAccess");
        let condition = conditions::find(&status.conditions, conditions::SSM_ACCESS_IN_SYNC).expect("condition").clone();
        (ssm.default_host_management_problem, ssm.findings, condition.message)
    };

    let (missing, findings, message) = problem(&run(&account, &policy(&account, "Audit", section)).await);
    let missing = missing.expect("a missing role is a problem");
    assert!(missing.contains("frugal-dhmc does not exist"), "{missing}");
    assert_eq!(findings, 1);
    assert!(message.contains(&missing), "{message}");

    // Trusted by EC2 instead of SSM: SSM cannot assume it.
    iam.create_role().role_name("frugal-dhmc").assume_role_policy_document(EC2_TRUST).send().await.expect("CreateRole");
    iam.attach_role_policy().role_name("frugal-dhmc").policy_arn(DHMC_POLICY).send().await.expect("AttachRolePolicy");
    let (untrusted, ..) = problem(&run(&account, &policy(&account, "Audit", section)).await);
    assert!(untrusted.is_some_and(|p| p.contains("does not trust ssm.amazonaws.com")));

    iam.update_assume_role_policy().role_name("frugal-dhmc").policy_document(SSM_TRUST).send().await.expect("UpdateAssumeRolePolicy");
    let (fixed, findings, _) = problem(&run(&account, &policy(&account, "Audit", section)).await);
    assert_eq!((fixed, findings), (None, 0));
}
