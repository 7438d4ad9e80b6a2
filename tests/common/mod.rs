//! Test harness: the AWS emulator (moto plus the project's extensions, started once per
//! test binary on a free loopback port) and per-test AWS accounts.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use frugal_operator::aws::{AwsConnector, PacingConfig};
use frugal_operator::metrics::Metrics;

pub const REGION: &str = "eu-west-1";

/// A running emulator.
pub struct Emulator {
    pub url: String,
    _child: Option<Mutex<Child>>,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared emulator: `FRUGAL_EMULATOR_URL` when set (e.g. by `make test`), else one
/// started for this test binary that exits when the binary does.
pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(|| {
        if let Ok(url) = std::env::var("FRUGAL_EMULATOR_URL") {
            return Emulator { url, _child: None };
        }
        let root = repo_root();
        let setup = Command::new("bash").arg(root.join("tests/emulator/setup.sh")).status().expect("run tests/emulator/setup.sh");
        assert!(setup.success(), "tests/emulator/setup.sh failed");
        let mut launcher = Command::new(root.join(".venv/bin/python"));
        // boto3 inside moto would read AWS_PROFILE and the like, and fail on a profile it lacks.
        without_environment(&mut launcher, is_aws_setting);
        launcher.arg(root.join("tests/emulator/launcher.py")).args(["--port", "0", "--parent-pid", &std::process::id().to_string()]);
        let (child, url) = start_launcher(&mut launcher, "the emulator launcher");
        Emulator { url, _child: Some(Mutex::new(child)) }
    })
}

/// Starts a launcher script (tests/emulator/, tests/api_server/) and waits for the one line
/// it prints when its server answers, `READY <what the tests need>`; returns the child and
/// that value.
pub fn start_launcher(launcher: &mut Command, what: &str) -> (Child, String) {
    let mut child = launcher.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().unwrap_or_else(|e| panic!("start {what}: {e}"));
    let stdout = child.stdout.take().expect("launcher stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap_or_else(|e| panic!("read the READY line of {what}: {e}"));
    let ready = line.trim().strip_prefix("READY ").unwrap_or_else(|| panic!("{what} said {line:?}")).to_string();
    (child, ready)
}

/// One recorded AWS request.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Recorded {
    pub account: String,
    pub region: Option<String>,
    pub service: String,
    pub operation: String,
}

impl Recorded {
    /// Read-only operations by naming convention of the AWS APIs the operator uses.
    pub fn is_mutating(&self) -> bool {
        const READ_PREFIXES: [&str; 4] = ["Describe", "List", "Get", "AssumeRole"];
        !READ_PREFIXES.iter().any(|p| self.operation.starts_with(p))
    }
}

/// A fresh AWS account of the emulator, reached by assuming a role in it (as a policy's
/// `aws.roleArn` does).
pub struct TestAccount {
    pub id: String,
    pub role_arn: String,
    pub config: SdkConfig,
    pub ec2: aws_sdk_ec2::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
}

pub fn base_credentials() -> SharedCredentialsProvider {
    SharedCredentialsProvider::new(Credentials::new("testing", "testing", None, None, "frugal-tests"))
}

/// A random account id, so that tests never share AWS state.
pub fn random_account_id() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    format!("{:012}", rng.random_range(100_000_000_000u64..999_999_999_999u64))
}

impl TestAccount {
    pub async fn new() -> Self {
        Self::in_region(REGION).await
    }

    /// An account whose test clients (EC2, CloudWatch) work in `region`.
    pub async fn in_region(region: &str) -> Self {
        let url = &emulator().url;
        let id = random_account_id();
        let role_arn = format!("arn:aws:iam::{id}:role/frugal-test");
        let base = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .endpoint_url(url)
            .credentials_provider(base_credentials())
            .load()
            .await;
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn.clone()).session_name("tests").configure(&base).build().await;
        let config = base.to_builder().credentials_provider(SharedCredentialsProvider::new(provider)).build();
        let ec2 = aws_sdk_ec2::Client::new(&config);
        let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
        Self { id, role_arn, config, ec2, cloudwatch }
    }

    /// A connector like the operator's, pointed at the emulator, with fast pacing so tests
    /// stay short.
    pub fn connector(&self) -> Arc<AwsConnector> {
        Arc::new(AwsConnector::new(Metrics::new(), fast_pacing()).with_overrides(Some(emulator().url.clone()), Some(base_credentials())))
    }

    /// Every AWS request recorded for this account so far.
    pub async fn requests(&self) -> Vec<Recorded> {
        let url = format!("{}/_frugal/requests?account={}", emulator().url, self.id);
        let body = tokio::task::spawn_blocking(move || http_get(&url)).await.expect("join");
        serde_json::from_str(&body).expect("recorder answers JSON")
    }

    pub async fn mutating_requests(&self) -> Vec<Recorded> {
        self.requests().await.into_iter().filter(Recorded::is_mutating).collect()
    }

    pub async fn clear_requests(&self) {
        let url = format!("{}/_frugal/requests?account={}", emulator().url, self.id);
        tokio::task::spawn_blocking(move || http_request("DELETE", &url)).await.expect("join");
    }
}

/// Pacing far above EC2's buckets, so tests stay short; pacing itself has its own tests.
pub fn fast_pacing() -> PacingConfig {
    let mut pacing = PacingConfig::default();
    for rate in pacing.rates.values_mut() {
        *rate = (1000.0, 1000.0);
    }
    pacing
}

fn http_get(url: &str) -> String {
    http_request("GET", url)
}

fn http_request(method: &str, url: &str) -> String {
    http_send(method, url, "")
}

/// POSTs JSON to one of the emulator's control endpoints and returns the answer.
pub async fn control(path: &str, body: serde_json::Value) -> serde_json::Value {
    let url = format!("{}{path}", emulator().url);
    let text = tokio::task::spawn_blocking(move || http_send("POST", &url, &body.to_string())).await.expect("join");
    serde_json::from_str(&text).expect("control endpoint answers JSON")
}

/// A minimal HTTP/1.0 client for the emulator's control endpoints.
fn http_send(method: &str, url: &str, body: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = std::net::TcpStream::connect(host).expect("connect to emulator");
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("write request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    assert!(head.contains(" 200 "), "{method} {url}: {head}");
    body.to_string()
}

/// A VPC seeded for a test.
#[derive(Debug, Clone)]
pub struct SeededVpc {
    pub vpc_id: String,
    pub nat_gateway_id: String,
    pub private_route_tables: Vec<String>,
    pub public_route_table: String,
}

fn ec2_tags(resource: aws_sdk_ec2::types::ResourceType, tags: &[(&str, &str)]) -> aws_sdk_ec2::types::TagSpecification {
    aws_sdk_ec2::types::TagSpecification::builder()
        .resource_type(resource)
        .set_tags(Some(tags.iter().map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build()).collect()))
        .build()
}

impl TestAccount {
    /// A VPC with an internet gateway, a NAT gateway, `private` route tables whose default
    /// route goes to the NAT gateway and one public route table.
    pub async fn seed_vpc(&self, cidr: &str, tags: &[(&str, &str)], private: usize) -> SeededVpc {
        use aws_sdk_ec2::types::ResourceType;
        let ec2 = &self.ec2;
        let vpc = ec2.create_vpc().cidr_block(cidr).tag_specifications(ec2_tags(ResourceType::Vpc, tags)).send().await.expect("CreateVpc");
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("vpc id").to_string();
        let prefix = cidr.rsplit_once(".0.0/").map(|(p, _)| p).expect("cidr like 10.1.0.0/16");
        let subnet = ec2.create_subnet().vpc_id(&vpc_id).cidr_block(format!("{prefix}.0.0/24")).send().await.expect("CreateSubnet");
        let subnet_id = subnet.subnet().and_then(|s| s.subnet_id()).expect("subnet id").to_string();
        let igw = ec2.create_internet_gateway().send().await.expect("CreateInternetGateway");
        let igw_id = igw.internet_gateway().and_then(|i| i.internet_gateway_id()).expect("igw id").to_string();
        ec2.attach_internet_gateway().internet_gateway_id(&igw_id).vpc_id(&vpc_id).send().await.expect("AttachInternetGateway");
        let eip = ec2.allocate_address().domain(aws_sdk_ec2::types::DomainType::Vpc).send().await.expect("AllocateAddress");
        let nat = ec2
            .create_nat_gateway()
            .subnet_id(&subnet_id)
            .allocation_id(eip.allocation_id().expect("allocation id"))
            .send()
            .await
            .expect("CreateNatGateway");
        let nat_gateway_id = nat.nat_gateway().and_then(|n| n.nat_gateway_id()).expect("nat id").to_string();
        let mut private_route_tables = Vec::new();
        for _ in 0..private {
            let rt = ec2.create_route_table().vpc_id(&vpc_id).send().await.expect("CreateRouteTable");
            let rt_id = rt.route_table().and_then(|r| r.route_table_id()).expect("rt id").to_string();
            ec2.create_route()
                .route_table_id(&rt_id)
                .destination_cidr_block("0.0.0.0/0")
                .nat_gateway_id(&nat_gateway_id)
                .send()
                .await
                .expect("CreateRoute nat");
            private_route_tables.push(rt_id);
        }
        let rt = ec2.create_route_table().vpc_id(&vpc_id).send().await.expect("CreateRouteTable");
        let public_route_table = rt.route_table().and_then(|r| r.route_table_id()).expect("rt id").to_string();
        ec2.create_route()
            .route_table_id(&public_route_table)
            .destination_cidr_block("0.0.0.0/0")
            .gateway_id(&igw_id)
            .send()
            .await
            .expect("CreateRoute igw");
        SeededVpc { vpc_id, nat_gateway_id, private_route_tables, public_route_table }
    }

    /// Creates a gateway endpoint by hand (as someone in the console would).
    pub async fn hand_made_endpoint(&self, vpc_id: &str, service: &str, route_tables: &[String], tags: &[(&str, &str)]) -> String {
        let mut request = self
            .ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(aws_sdk_ec2::types::VpcEndpointType::Gateway)
            .vpc_id(vpc_id)
            .service_name(format!("com.amazonaws.{REGION}.{service}"))
            .set_route_table_ids(Some(route_tables.to_vec()));
        if !tags.is_empty() {
            request = request.tag_specifications(ec2_tags(aws_sdk_ec2::types::ResourceType::VpcEndpoint, tags));
        }
        let created = request.send().await.expect("CreateVpcEndpoint");
        created.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()).expect("endpoint id").to_string()
    }

    /// Live gateway endpoints of a VPC.
    pub async fn endpoints(&self, vpc_id: &str) -> Vec<aws_sdk_ec2::types::VpcEndpoint> {
        let answer = self
            .ec2
            .describe_vpc_endpoints()
            .filters(aws_sdk_ec2::types::Filter::builder().name("vpc-id").values(vpc_id).build())
            .send()
            .await
            .expect("DescribeVpcEndpoints");
        answer
            .vpc_endpoints()
            .iter()
            .filter(|e| e.state().map(|s| s.as_str().to_ascii_lowercase()) != Some("deleted".into()))
            .cloned()
            .collect()
    }

    /// Route tables that route the service's prefix list to a gateway endpoint.
    pub async fn routed_tables(&self, endpoint_id: &str) -> Vec<String> {
        let answer = self
            .ec2
            .describe_route_tables()
            .filters(aws_sdk_ec2::types::Filter::builder().name("route.gateway-id").values(endpoint_id).build())
            .send()
            .await
            .expect("DescribeRouteTables");
        let mut ids: Vec<String> = answer
            .route_tables()
            .iter()
            .filter(|rt| rt.routes().iter().any(|r| r.gateway_id() == Some(endpoint_id)))
            .filter_map(|rt| rt.route_table_id().map(str::to_string))
            .collect();
        ids.sort();
        ids
    }

    /// Puts 30 daily NAT byte counts into CloudWatch, `gb_per_day` each.
    pub async fn seed_nat_metrics(&self, nat_gateway_id: &str, gb_per_day: f64) {
        use aws_sdk_cloudwatch::types::{Dimension, MetricDatum};
        let now = std::time::SystemTime::now();
        let data: Vec<MetricDatum> = (1..=30u64)
            .map(|day| {
                MetricDatum::builder()
                    .metric_name("BytesOutToDestination")
                    .dimensions(Dimension::builder().name("NatGatewayId").value(nat_gateway_id).build())
                    .timestamp(aws_sdk_cloudwatch::primitives::DateTime::from(now - std::time::Duration::from_secs(day * 86_400 - 3600)))
                    .value(gb_per_day * 1_073_741_824.0)
                    .build()
            })
            .collect();
        self.cloudwatch.put_metric_data().namespace("AWS/NATGateway").set_metric_data(Some(data)).send().await.expect("PutMetricData");
    }
}

/// A policy from YAML, aimed at `account` (its role, the test region).
pub fn policy_for(account: &TestAccount, yaml: &str) -> frugal_operator::api::CostPolicy {
    let mut policy: frugal_operator::api::CostPolicy = serde_yaml::from_str(yaml).expect("policy YAML parses");
    policy.spec.aws.region = REGION.to_string();
    policy.spec.aws.role_arn = Some(account.role_arn.clone());
    policy.spec.aws.external_id = None;
    policy
}

impl TestAccount {
    /// Creates `count` completed snapshots of one new volume; returns their ids.
    pub async fn snapshots_of_new_volume(&self, count: usize, size_gib: i32) -> (String, Vec<String>) {
        let volume = self.ec2.create_volume().availability_zone(format!("{REGION}a")).size(size_gib).send().await.expect("CreateVolume");
        let volume_id = volume.volume_id().expect("volume id").to_string();
        let mut ids = Vec::new();
        for _ in 0..count {
            let snapshot = self.ec2.create_snapshot().volume_id(&volume_id).send().await.expect("CreateSnapshot");
            ids.push(snapshot.snapshot_id().expect("snapshot id").to_string());
        }
        (volume_id, ids)
    }

    /// Sets snapshots' start time to `days_ago` days before now (emulator control endpoint).
    pub async fn age_snapshots(&self, ids: &[String], days_ago: i64) {
        let when = k8s_openapi::jiff::Timestamp::now() - k8s_openapi::jiff::SignedDuration::from_hours(24 * days_ago);
        let answer = control(
            "/_frugal/snapshots/start-time",
            serde_json::json!({"account": self.id, "region": REGION, "snapshot_ids": ids, "start_time": when.to_string()}),
        )
        .await;
        assert!(answer.get("updated").is_some(), "{answer}");
    }

    /// Registers AMI `name` whose root volume comes from `snapshot_id`.
    pub async fn register_ami(&self, name: &str, snapshot_id: &str) -> String {
        let root = aws_sdk_ec2::types::BlockDeviceMapping::builder()
            .device_name("/dev/xvda")
            .ebs(aws_sdk_ec2::types::EbsBlockDevice::builder().snapshot_id(snapshot_id).build())
            .build();
        let answer = self
            .ec2
            .register_image()
            .name(name)
            .root_device_name("/dev/xvda")
            .block_device_mappings(root)
            .send()
            .await
            .expect("RegisterImage");
        answer.image_id().expect("image id").to_string()
    }

    /// Ids of the account's snapshots that still exist.
    pub async fn snapshot_ids(&self) -> std::collections::BTreeSet<String> {
        let mut ids = std::collections::BTreeSet::new();
        let mut pages = self.ec2.describe_snapshots().owner_ids("self").max_results(1000).into_paginator().send();
        while let Some(page) = pages.next().await {
            ids.extend(page.expect("DescribeSnapshots").snapshots().iter().filter_map(|s| s.snapshot_id().map(str::to_string)));
        }
        ids
    }
}
/// The `frugal` binary as a child process talking to the emulator with test credentials, so
/// none of the developer's AWS environment leaks in. Callers add arguments and may override
/// any of these variables.
pub fn frugal_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_frugal"));
    // `frugal run` also takes its flags' defaults from FRUGAL_*, POD_NAME and POD_NAMESPACE
    // (FRUGAL_ALLOWED_ROLE_ARNS alone would refuse every test account's role).
    without_environment(&mut command, |key| {
        is_aws_setting(key) || key.starts_with("FRUGAL_") || key == "POD_NAME" || key == "POD_NAMESPACE"
    });
    command
        .env("AWS_ENDPOINT_URL", &emulator().url)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("RUST_LOG", "info");
    command
}

/// Removes the settings of the developer's shell that `unwanted` names from a child's
/// environment.
fn without_environment(command: &mut Command, unwanted: impl Fn(&str) -> bool) {
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(&unwanted) {
            command.env_remove(key);
        }
    }
}

/// AWS_ENDPOINT_URL_EC2 and the like take precedence over AWS_ENDPOINT_URL,
/// AWS_USE_FIPS_ENDPOINT changes the endpoint, AWS_PROFILE names a profile that may not exist.
fn is_aws_setting(key: &str) -> bool {
    key.starts_with("AWS_")
}

pub mod api_server;
pub mod bad_specs;
pub mod cluster;
pub mod election;
pub mod fault_proxy;
pub mod messy;
pub mod organization;
pub mod rbac;
pub mod secrets_proxy;

/// (protocol, from port, to port, source, description) of an ingress rule.
pub type RuleRow = (String, i32, i32, String, String);

pub fn rule_row(protocol: &str, from: i32, to: i32, source: &str, description: &str) -> RuleRow {
    (protocol.to_string(), from, to, source.to_string(), description.to_string())
}

impl TestAccount {
    /// A security group of the default VPC; returns its id.
    pub async fn security_group(&self, name: &str) -> String {
        let created = self.ec2.create_security_group().group_name(name).description(name).send().await.expect("CreateSecurityGroup");
        created.group_id().expect("group id").to_string()
    }

    /// Authorizes tcp `from`-`to` from `cidr` (IPv6 when it contains a colon), as someone in
    /// the console would.
    pub async fn allow_tcp(&self, group_id: &str, from: i32, to: i32, cidr: &str, description: Option<&str>) {
        use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range};
        let permission = IpPermission::builder().ip_protocol("tcp").from_port(from).to_port(to);
        let permission = if cidr.contains(':') {
            permission.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).set_description(description.map(str::to_string)).build())
        } else {
            permission.ip_ranges(IpRange::builder().cidr_ip(cidr).set_description(description.map(str::to_string)).build())
        };
        self.ec2
            .authorize_security_group_ingress()
            .group_id(group_id)
            .ip_permissions(permission.build())
            .send()
            .await
            .expect("AuthorizeSecurityGroupIngress");
    }

    /// A group's ingress rules, sorted.
    pub async fn ingress_rules(&self, group_id: &str) -> Vec<RuleRow> {
        let answer = self
            .ec2
            .describe_security_group_rules()
            .filters(aws_sdk_ec2::types::Filter::builder().name("group-id").values(group_id).build())
            .send()
            .await
            .expect("DescribeSecurityGroupRules");
        let mut rules: Vec<RuleRow> = answer
            .security_group_rules()
            .iter()
            .filter(|r| r.is_egress() == Some(false))
            .map(|r| {
                let source = r
                    .cidr_ipv4()
                    .or(r.cidr_ipv6())
                    .or(r.prefix_list_id())
                    .or(r.referenced_group_info().and_then(|g| g.group_id()))
                    .unwrap_or_default();
                rule_row(
                    r.ip_protocol().unwrap_or_default(),
                    r.from_port().unwrap_or(-1),
                    r.to_port().unwrap_or(-1),
                    source,
                    r.description().unwrap_or_default(),
                )
            })
            .collect();
        rules.sort();
        rules
    }

    /// Launches one instance in `group_ids`, with the instance profile `profile` if given.
    pub async fn launch_instance(&self, group_ids: &[&str], profile: Option<&str>) -> String {
        let mut request = self
            .ec2
            .run_instances()
            .image_id("ami-12345678")
            .min_count(1)
            .max_count(1)
            .set_security_group_ids(Some(group_ids.iter().map(|g| g.to_string()).collect()));
        if let Some(name) = profile {
            request = request.iam_instance_profile(aws_sdk_ec2::types::IamInstanceProfileSpecification::builder().name(name).build());
        }
        let answer = request.send().await.expect("RunInstances");
        answer.instances().first().and_then(|i| i.instance_id()).expect("instance id").to_string()
    }

    /// An Auto Scaling group of no instances (a launch template of m5.2xlarge) tagged `env`.
    pub async fn auto_scaling_group(&self, name: &str, env: &str) {
        use aws_sdk_autoscaling::types::{LaunchTemplateSpecification, Tag as GroupTag};
        let data =
            aws_sdk_ec2::types::RequestLaunchTemplateData::builder().image_id("ami-12345678").instance_type("m5.2xlarge".into()).build();
        let template = self.ec2.create_launch_template().launch_template_name(name).launch_template_data(data).send().await;
        let template = template.expect("CreateLaunchTemplate");
        let template_id = template.launch_template().and_then(|t| t.launch_template_id()).expect("template id").to_string();
        aws_sdk_autoscaling::Client::new(&self.config)
            .create_auto_scaling_group()
            .auto_scaling_group_name(name)
            .launch_template(LaunchTemplateSpecification::builder().launch_template_id(template_id).build())
            .min_size(0)
            .max_size(1)
            .desired_capacity(0)
            .availability_zones(format!("{REGION}a"))
            .tags(GroupTag::builder().key("env").value(env).propagate_at_launch(true).build())
            .send()
            .await
            .expect("CreateAutoScalingGroup");
    }

    /// The name of the instance profile associated with an instance.
    pub async fn instance_profile_name(&self, instance_id: &str) -> Option<String> {
        let answer = self.ec2.describe_instances().instance_ids(instance_id).send().await.expect("DescribeInstances");
        let instance = answer.reservations().iter().flat_map(|r| r.instances()).next().cloned().expect("the instance exists");
        instance.iam_instance_profile().and_then(|p| p.arn()).map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string())
    }

    pub fn backup(&self) -> aws_sdk_backup::Client {
        aws_sdk_backup::Client::new(&self.config)
    }

    /// (id, version id) of the live (not deleted) backup plan of this name.
    pub async fn live_backup_plan(&self, name: &str) -> Option<(String, String)> {
        let plans = self.backup().list_backup_plans().send().await.expect("ListBackupPlans");
        let id = plans
            .backup_plans_list()
            .iter()
            .find(|p| p.backup_plan_name() == Some(name) && p.deletion_date().is_none())
            .and_then(|p| p.backup_plan_id())?
            .to_string();
        let plan = self.backup().get_backup_plan().backup_plan_id(&id).send().await.expect("GetBackupPlan");
        Some((id, plan.version_id().expect("version id").to_string()))
    }

    /// (selection id, selection name) of a plan's selections; empty once the plan is gone.
    pub async fn backup_selections(&self, plan_id: &str) -> Vec<(String, String)> {
        match self.backup().list_backup_selections().backup_plan_id(plan_id).send().await {
            Ok(answer) => answer
                .backup_selections_list()
                .iter()
                .map(|s| (s.selection_id().unwrap_or_default().to_string(), s.selection_name().unwrap_or_default().to_string()))
                .collect(),
            Err(error) => {
                let not_found = error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception());
                assert!(not_found, "ListBackupSelections of {plan_id}: {error:?}");
                Vec::new()
            }
        }
    }
}
