//! The lean decoders against the SDK's own, through a real SDK client over canned answers:
//! whatever `convert_snapshot`, `convert_instance`, `convert_security_group` and
//! `ingress_rule` make of the SDK's decoding, they make of the lean one.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_credential_types::Credentials;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::config::{BehaviorVersion, Region};
use aws_sdk_ec2::operation::describe_instances::DescribeInstancesOutput;
use aws_sdk_ec2::operation::describe_security_group_rules::DescribeSecurityGroupRulesOutput;
use aws_sdk_ec2::operation::describe_security_groups::DescribeSecurityGroupsOutput;
use aws_sdk_ec2::operation::describe_snapshots::DescribeSnapshotsOutput;
use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use proptest::prelude::*;

use super::*;
use crate::aws::snapshot_retention::convert_snapshot;
use crate::aws::ssm_access::{convert_instance, convert_security_group, ingress_rule};

/// Answers each request with the next canned (status, body); the last one repeats.
#[derive(Clone, Debug)]
struct Canned(Arc<Mutex<VecDeque<(u16, String)>>>);

impl Canned {
    fn new(answers: &[(u16, &str)]) -> Self {
        Self(Arc::new(Mutex::new(answers.iter().map(|(s, b)| (*s, b.to_string())).collect())))
    }
}

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let mut answers = self.0.lock().unwrap();
        let (status, body) = if answers.len() > 1 { answers.pop_front().unwrap() } else { answers[0].clone() };
        let response = HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body));
        HttpConnectorFuture::ready(Ok(response))
    }
}

impl HttpClient for Canned {
    fn http_connector(&self, _settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn ec2(answers: &[(u16, &str)]) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "lean-decode tests"))
        .http_client(Canned::new(answers))
        .retry_config(RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(1)))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

type Answer<T> = Result<T, String>;

/// The SDK's decoding and the lean one of the same answers.
async fn snapshots_both_ways(answers: &[(u16, &str)]) -> (Answer<DescribeSnapshotsOutput>, Answer<DescribeSnapshotsOutput>) {
    let sdk = ec2(answers).describe_snapshots().send().await;
    let lean = ec2(answers).describe_snapshots().customize().interceptor(LeanDecode::snapshots()).send().await;
    let code = |e: aws_sdk_ec2::error::SdkError<_, _>| format!("{:?}", aws_sdk_ec2::error::DisplayErrorContext(e));
    (sdk.map_err(code), lean.map_err(code))
}

async fn instances_both_ways(body: &str) -> (DescribeInstancesOutput, DescribeInstancesOutput) {
    let answers = [(200, body)];
    let sdk = ec2(&answers).describe_instances().send().await.unwrap();
    let lean = ec2(&answers).describe_instances().customize().interceptor(LeanDecode::instances()).send().await.unwrap();
    (sdk, lean)
}

fn converted_snapshots(output: &DescribeSnapshotsOutput) -> (Vec<crate::plan::snapshot_retention::Snapshot>, Option<&str>) {
    let snapshots = output.snapshots().iter().map(|s| convert_snapshot(s).unwrap()).collect();
    (snapshots, output.next_token())
}

fn converted_instances(output: &DescribeInstancesOutput) -> (Vec<crate::plan::ssm_access::Instance>, Option<&str>) {
    let instances = output.reservations().iter().flat_map(|r| r.instances()).filter_map(convert_instance).collect();
    (instances, output.next_token())
}

/// As EC2 documents the answer: every member of a snapshot, entities in texts, an empty
/// description, a snapshot without tags, elements nested under names the decoder reads.
const SNAPSHOTS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <snapshotSet>
        <item>
            <snapshotId>snap-1234567890abcdef0</snapshotId>
            <volumeId>vol-1234567890abcdef0</volumeId>
            <status>completed</status>
            <statusMessage/>
            <startTime>2024-02-28T21:28:32.000Z</startTime>
            <completionTime>2024-02-28T21:40:01.000Z</completionTime>
            <progress>100%</progress>
            <ownerId>111122223333</ownerId>
            <volumeSize>15</volumeSize>
            <description>Nightly &quot;db&quot; &amp; logs &lt;primary&gt; caf&#233; &#x1F4BE;</description>
            <encrypted>true</encrypted>
            <kmsKeyId>arn:aws:kms:eu-west-1:111122223333:key/abcd</kmsKeyId>
            <storageTier>standard</storageTier>
            <restoreExpiryTime>2024-03-01T00:00:00.000Z</restoreExpiryTime>
            <sseType>sse-ebs</sseType>
            <tagSet>
                <item><key>env</key><value>prod</value></item>
                <item><key>team &amp; owner</key><value>a&lt;b</value></item>
                <item><key>empty</key><value/></item>
                <item><key>no-value</key></item>
            </tagSet>
        </item>
        <item>
            <snapshotId>snap-0fedcba0987654321</snapshotId>
            <volumeId>vol-ffffffff</volumeId>
            <status>pending</status>
            <startTime>2024-03-05T08:00:00.123+02:00</startTime>
            <progress>12%</progress>
            <ownerId>111122223333</ownerId>
            <volumeSize>1</volumeSize>
            <description/>
            <encrypted>false</encrypted>
        </item>
        <item>
            <snapshotId>snap-0aaaaaaaaaaaaaaaa</snapshotId>
            <status>error</status>
            <startTime>2023-01-01T00:00:00Z</startTime>
            <!-- a copy of a deleted volume: no volume id -->
            <volumeSize>2048</volumeSize>
            <tagSet/>
        </item>
    </snapshotSet>
    <nextToken>eyJ2IjoxfQ==</nextToken>
</DescribeSnapshotsResponse>"#;

/// Two reservations as EC2 writes them, with every name the decoder reads also nested where
/// it must not read it (an interface's groupSet, a reservation's groupSet, a state reason).
const INSTANCES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>8f7724cf-496f-496e-8fe3-example</requestId>
    <reservationSet>
        <item>
            <reservationId>r-1234567890abcdef0</reservationId>
            <ownerId>123456789012</ownerId>
            <groupSet><item><groupId>sg-reservation</groupId><groupName>classic</groupName></item></groupSet>
            <instancesSet>
                <item>
                    <instanceId>i-1234567890abcdef0</instanceId>
                    <imageId>ami-bff32ccc</imageId>
                    <instanceState><code>16</code><name>running</name></instanceState>
                    <privateDnsName>ip-192-168-1-88.eu-west-1.compute.internal</privateDnsName>
                    <reason/>
                    <keyName>my_key&amp;pair</keyName>
                    <instanceType>t2.micro</instanceType>
                    <launchTime>2024-12-22T10:44:05.000Z</launchTime>
                    <placement><availabilityZone>eu-west-1c</availabilityZone><groupName/><tenancy>default</tenancy></placement>
                    <monitoring><state>disabled</state></monitoring>
                    <groupSet>
                        <item><groupId>sg-e4076980</groupId><groupName>SecurityGroup1</groupName></item>
                        <item><groupName>no-id</groupName></item>
                    </groupSet>
                    <stateReason><code>Client.UserInitiatedShutdown</code><message>name</message></stateReason>
                    <networkInterfaceSet>
                        <item>
                            <networkInterfaceId>eni-551ba033</networkInterfaceId>
                            <groupSet><item><groupId>sg-interface</groupId><groupName>eni</groupName></item></groupSet>
                            <tagSet><item><key>eni-tag</key><value>x</value></item></tagSet>
                        </item>
                    </networkInterfaceSet>
                    <iamInstanceProfile>
                        <arn>arn:aws:iam::123456789012:instance-profile/AmazonSSMRoleForInstancesQuickSetup</arn>
                        <id>AIPAJEDNCAA64SSD265EXAMPLE</id>
                    </iamInstanceProfile>
                    <tagSet>
                        <item><key>Name</key><value>web &lt;1&gt;</value></item>
                        <item><key>env</key><value>prod</value></item>
                    </tagSet>
                </item>
                <item>
                    <instanceId>i-0598c7d356eba48d7</instanceId>
                    <instanceState><code>80</code><name>stopped</name></instanceState>
                    <groupSet/>
                </item>
            </instancesSet>
        </item>
        <item>
            <reservationId>r-2</reservationId>
            <instancesSet>
                <item>
                    <instanceState><code>48</code><name>terminated</name></instanceState>
                </item>
                <item>
                    <instanceId>i-shutting</instanceId>
                    <instanceState><name>shutting-down</name></instanceState>
                    <keyName/>
                    <tagSet><item><key>only-key</key></item></tagSet>
                </item>
            </instancesSet>
        </item>
    </reservationSet>
</DescribeInstancesResponse>"#;

#[tokio::test]
async fn lean_and_sdk_decoding_give_the_same_snapshots() {
    let (sdk, lean) = snapshots_both_ways(&[(200, SNAPSHOTS)]).await;
    let (sdk, lean) = (sdk.unwrap(), lean.unwrap());
    let (snapshots, token) = converted_snapshots(&lean);
    assert_eq!(converted_snapshots(&sdk), (snapshots.clone(), token));
    assert_eq!(token, Some("eyJ2IjoxfQ=="));
    assert_eq!(snapshots.len(), 3);
    assert_eq!(snapshots[0].description, "Nightly \"db\" & logs <primary> café 💾");
    assert_eq!(snapshots[0].tags.get("team & owner").map(String::as_str), Some("a<b"));
    assert_eq!(snapshots[0].state, "completed");
    assert_eq!(snapshots[1].start_time, 1_709_618_400);
    assert_eq!(snapshots[2].volume_id, None);
    assert_eq!(snapshots[2].volume_size_gib, 2048);
}

#[tokio::test]
async fn lean_and_sdk_decoding_give_the_same_instances() {
    let (sdk, lean) = instances_both_ways(INSTANCES).await;
    let (instances, token) = converted_instances(&lean);
    assert_eq!(converted_instances(&sdk), (instances.clone(), token));
    assert_eq!(instances.iter().map(|i| i.id.as_str()).collect::<Vec<_>>(), ["i-1234567890abcdef0", "i-0598c7d356eba48d7", "i-shutting"]);
    assert_eq!(instances[0].security_group_ids, ["sg-e4076980"]);
    assert_eq!(instances[0].key_name.as_deref(), Some("my_key&pair"));
    assert_eq!(instances[0].tags.get("Name").map(String::as_str), Some("web <1>"));
    assert!(!instances[0].tags.contains_key("eni-tag"));
    assert_eq!(instances[2].state, "shutting-down");
    assert_eq!(token, None);
}

/// moto's answers (captured from the emulator the tests run on) carry members in another
/// order and empty elements AWS leaves out.
#[tokio::test]
async fn lean_and_sdk_decoding_agree_on_moto_answers() {
    let snapshots = r#"<?xml version="1.0" encoding="utf-8"?>
<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><nextToken>eyJ2IjoxLCJrIjoic25hcHNob3RzIn0</nextToken><snapshotSet><item><tagSet><item><key>env</key><value>prod</value></item></tagSet><storageTier>standard</storageTier><snapshotId>snap-000a25dce7746fd8a</snapshotId><volumeId>vol-cd1033df17263b2bc</volumeId><status>completed</status><startTime>2026-07-24T17:39:23.000Z</startTime><progress>100%</progress><ownerId>981707372259</ownerId><description/><volumeSize>8</volumeSize><encrypted>false</encrypted></item></snapshotSet><requestId>request-id</requestId></DescribeSnapshotsResponse>"#;
    let (sdk, lean) = snapshots_both_ways(&[(200, snapshots)]).await;
    let (sdk, lean) = (sdk.unwrap(), lean.unwrap());
    assert_eq!(converted_snapshots(&sdk), converted_snapshots(&lean));
    assert_eq!(converted_snapshots(&lean).0.len(), 1);

    let instances = r#"<?xml version="1.0" encoding="utf-8"?>
<DescribeInstancesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><nextToken>r-678a2b7f0f957ceba</nextToken><reservationSet><item><reservationId>r-afb10ac2b3f3aebdb</reservationId><ownerId>981707372259</ownerId><groupSet/><instancesSet><item><architecture>x86_64</architecture><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><attachTime>2026-12-03T16:03:24.000Z</attachTime><deleteOnTermination>true</deleteOnTermination><status>attached</status><volumeId>vol-bf93f224c0433a6f2</volumeId></ebs></item></blockDeviceMapping><clientToken>320648e2-7d89-4712-8480-31b76c5f866a</clientToken><ebsOptimized>false</ebsOptimized><hypervisor>xen</hypervisor><networkInterfaceSet><item><association/><attachment><attachTime>2026-12-03T16:03:24.000Z</attachTime><attachmentId>eni-attach-96c683dfa48415502</attachmentId><deleteOnTermination>false</deleteOnTermination><deviceIndex>0</deviceIndex><status>attached</status><networkCardIndex>0</networkCardIndex></attachment><description>Primary network interface</description><groupSet><item><groupId>sg-6eda084aa3dd91a2d</groupId><groupName>bench-0</groupName></item></groupSet><ipv6AddressesSet/><macAddress>02:00:00:c7:d7:22</macAddress><networkInterfaceId>eni-21ee0a2c2010823bd</networkInterfaceId><ownerId>981707372259</ownerId><privateIpAddress>10.0.0.4</privateIpAddress><privateIpAddressesSet><item><primary>true</primary><privateIpAddress>10.0.0.4</privateIpAddress></item></privateIpAddressesSet><sourceDestCheck>true</sourceDestCheck><status>in-use</status><subnetId>subnet-fdef4dda35de9c845</subnetId><vpcId>vpc-f9468c20fdd2be379</vpcId><interfaceType>interface</interfaceType></item></networkInterfaceSet><rootDeviceName>/dev/xvda</rootDeviceName><rootDeviceType>ebs</rootDeviceType><groupSet><item><groupId>sg-6eda084aa3dd91a2d</groupId><groupName>bench-0</groupName></item></groupSet><sourceDestCheck>true</sourceDestCheck><sriovNetSupport>simple</sriovNetSupport><stateReason><code/><message/></stateReason><tagSet><item><key>env</key><value>prod</value></item></tagSet><virtualizationType>hvm</virtualizationType><hibernationOptions/><metadataOptions><state>applied</state><httpTokens>optional</httpTokens></metadataOptions><instanceId>i-d88eab6d618eca226</instanceId><imageId>ami-7a3f43500066e8fdd</imageId><instanceState><code>16</code><name>running</name></instanceState><reason/><amiLaunchIndex>0</amiLaunchIndex><productCodes/><instanceType>t3.micro</instanceType></item></instancesSet></item></reservationSet></DescribeInstancesResponse>"#;
    let (sdk, lean) = instances_both_ways(instances).await;
    assert_eq!(converted_instances(&sdk), converted_instances(&lean));
    assert_eq!(converted_instances(&lean).0[0].security_group_ids, ["sg-6eda084aa3dd91a2d"]);
}

async fn security_groups_both_ways(body: &str) -> (DescribeSecurityGroupsOutput, DescribeSecurityGroupsOutput) {
    let answers = [(200, body)];
    let sdk = ec2(&answers).describe_security_groups().send().await.unwrap();
    let lean = ec2(&answers).describe_security_groups().customize().interceptor(LeanDecode::security_groups()).send().await.unwrap();
    (sdk, lean)
}

fn converted_security_groups(output: &DescribeSecurityGroupsOutput) -> (Vec<crate::plan::ssm_access::SecurityGroup>, Option<&str>) {
    (output.security_groups().iter().filter_map(convert_security_group).collect(), output.next_token())
}

/// As EC2 documents the answer: permissions that name other groups (a `groupId` nested
/// under `ipPermissions`, which is not the group's), entities in names and tags, a group
/// without tags.
const SECURITY_GROUPS: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>edb7c570-be05-4192-bd1b-example</requestId>
    <securityGroupInfo>
        <item>
            <ownerId>123456789012</ownerId>
            <groupId>sg-1a2b3c4d</groupId>
            <groupName>web &amp; api</groupName>
            <groupDescription>Web servers</groupDescription>
            <vpcId>vpc-1a2b3c4d</vpcId>
            <ipPermissions>
                <item>
                    <ipProtocol>tcp</ipProtocol>
                    <fromPort>22</fromPort>
                    <toPort>22</toPort>
                    <groups>
                        <item>
                            <userId>123456789012</userId>
                            <groupId>sg-referenced</groupId>
                        </item>
                    </groups>
                    <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
                    <ipv6Ranges/>
                    <prefixListIds/>
                </item>
            </ipPermissions>
            <ipPermissionsEgress>
                <item>
                    <ipProtocol>-1</ipProtocol>
                    <groups/>
                    <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
                </item>
            </ipPermissionsEgress>
            <tagSet>
                <item><key>env</key><value>prod</value></item>
                <item><key>owner</key><value>a&lt;b</value></item>
            </tagSet>
        </item>
        <item>
            <ownerId>123456789012</ownerId>
            <groupId>sg-untagged</groupId>
            <groupName>default</groupName>
            <groupDescription>default VPC security group</groupDescription>
            <ipPermissions/>
        </item>
    </securityGroupInfo>
    <nextToken>eyJ2IjoxfQ==</nextToken>
</DescribeSecurityGroupsResponse>"#;

#[tokio::test]
async fn lean_and_sdk_decoding_give_the_same_security_groups() {
    let (sdk, lean) = security_groups_both_ways(SECURITY_GROUPS).await;
    let (groups, token) = converted_security_groups(&lean);
    assert_eq!(converted_security_groups(&sdk), (groups.clone(), token));
    assert_eq!(groups.iter().map(|g| g.id.as_str()).collect::<Vec<_>>(), ["sg-1a2b3c4d", "sg-untagged"]);
    assert_eq!(groups[0].name, "web & api");
    assert_eq!(groups[0].tags.get("owner").map(String::as_str), Some("a<b"));
    assert!(groups[1].tags.is_empty());
    assert_eq!(token, Some("eyJ2IjoxfQ=="));
    assert!(lean.security_groups()[0].ip_permissions().is_empty(), "the permissions are skipped, not read");

    // moto's answer, as the emulator the tests run on writes it.
    let moto = r#"<?xml version="1.0" encoding="utf-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><securityGroupInfo><item><groupId>sg-7b7667929e454bb91</groupId><ipPermissionsEgress><item><ipProtocol>-1</ipProtocol><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissionsEgress><tagSet><item><key>env</key><value>prod</value></item></tagSet><vpcId>vpc-2f0708ca81da2c335</vpcId><securityGroupArn>arn:aws:ec2:eu-west-1:612827827843:security-group/sg-7b7667929e454bb91</securityGroupArn><ownerId>612827827843</ownerId><groupName>bench-0</groupName><groupDescription>bench</groupDescription><ipPermissions><item><ipProtocol>tcp</ipProtocol><fromPort>8001</fromPort><toPort>8001</toPort><groups/><ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges><ipv6Ranges/><prefixListIds/></item></ipPermissions></item><item><groupId>sg-1c270a5482e6b9fba</groupId><ipPermissionsEgress/><tagSet/><vpcId>vpc-c8a9a2cd747cdb621</vpcId><ownerId>612827827843</ownerId><groupName>default</groupName><groupDescription>default VPC security group</groupDescription><ipPermissions/></item></securityGroupInfo></DescribeSecurityGroupsResponse>"#;
    let (sdk, lean) = security_groups_both_ways(moto).await;
    assert_eq!(converted_security_groups(&sdk), converted_security_groups(&lean));
    assert_eq!(converted_security_groups(&lean).0.len(), 2);
}

async fn security_group_rules_both_ways(body: &str) -> (DescribeSecurityGroupRulesOutput, DescribeSecurityGroupRulesOutput) {
    let answers = [(200, body)];
    let sdk = ec2(&answers).describe_security_group_rules().send().await.unwrap();
    let lean =
        ec2(&answers).describe_security_group_rules().customize().interceptor(LeanDecode::security_group_rules()).send().await.unwrap();
    (sdk, lean)
}

type GroupRule = (String, crate::plan::ssm_access::IngressRule);

fn converted_rules(output: &DescribeSecurityGroupRulesOutput) -> (Vec<GroupRule>, Option<&str>) {
    let rules = output.security_group_rules().iter().filter_map(ingress_rule).map(|(g, r)| (g.to_string(), r)).collect();
    (rules, output.next_token())
}

/// As EC2 documents the answer, with each kind of source (IPv4, IPv6, prefix list, another
/// group, whose `groupId` is nested and not the rule's), an egress rule, tags and entities.
const SECURITY_GROUP_RULES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupRulesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>c3d3f7a1-2f45-4b8e-9b0d-example</requestId>
    <securityGroupRuleSet>
        <item>
            <securityGroupRuleId>sgr-0000000000000ipv4</securityGroupRuleId>
            <groupId>sg-1a2b3c4d</groupId>
            <groupOwnerId>123456789012</groupOwnerId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>22</fromPort>
            <toPort>22</toPort>
            <cidrIpv4>0.0.0.0/0</cidrIpv4>
            <description>ssh &amp; more</description>
            <tagSet>
                <item><key>groupId</key><value>sg-not-the-rules</value></item>
            </tagSet>
            <securityGroupRuleArn>arn:aws:ec2:eu-west-1:123456789012:security-group-rule/sgr-0000000000000ipv4</securityGroupRuleArn>
        </item>
        <item>
            <securityGroupRuleId>sgr-0000000000000ipv6</securityGroupRuleId>
            <groupId>sg-1a2b3c4d</groupId>
            <isEgress>false</isEgress>
            <ipProtocol>-1</ipProtocol>
            <fromPort>-1</fromPort>
            <toPort>-1</toPort>
            <cidrIpv6>::/0</cidrIpv6>
            <tagSet/>
        </item>
        <item>
            <securityGroupRuleId>sgr-00000000000prefix</securityGroupRuleId>
            <groupId>sg-1a2b3c4d</groupId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>443</fromPort>
            <toPort>443</toPort>
            <prefixListId>pl-63a5400a</prefixListId>
        </item>
        <item>
            <securityGroupRuleId>sgr-0000000000000group</securityGroupRuleId>
            <groupId>sg-1a2b3c4d</groupId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>5432</fromPort>
            <toPort>5432</toPort>
            <referencedGroupInfo>
                <groupId>sg-referenced</groupId>
                <userId>123456789012</userId>
                <vpcId>vpc-1a2b3c4d</vpcId>
            </referencedGroupInfo>
            <description/>
        </item>
        <item>
            <securityGroupRuleId>sgr-000000000000egress</securityGroupRuleId>
            <groupId>sg-1a2b3c4d</groupId>
            <isEgress>true</isEgress>
            <ipProtocol>-1</ipProtocol>
            <cidrIpv4>0.0.0.0/0</cidrIpv4>
        </item>
    </securityGroupRuleSet>
    <nextToken>eyJ2IjoyfQ==</nextToken>
</DescribeSecurityGroupRulesResponse>"#;

#[tokio::test]
async fn lean_and_sdk_decoding_give_the_same_security_group_rules() {
    use crate::plan::ssm_access::Source;

    let (sdk, lean) = security_group_rules_both_ways(SECURITY_GROUP_RULES).await;
    let (rules, token) = converted_rules(&lean);
    assert_eq!(converted_rules(&sdk), (rules.clone(), token));
    assert_eq!(token, Some("eyJ2IjoyfQ=="));
    assert!(rules.iter().all(|(group, _)| group == "sg-1a2b3c4d"));
    let sources: Vec<_> = rules.iter().map(|(_, r)| r.source.clone()).collect();
    assert_eq!(
        sources,
        [
            Source::Ipv4("0.0.0.0/0".into()),
            Source::Ipv6("::/0".into()),
            Source::PrefixList("pl-63a5400a".into()),
            Source::Group("sg-referenced".into()),
        ],
        "each ingress rule with its source; the egress rule is not one"
    );
    assert_eq!(rules[0].1.description.as_deref(), Some("ssh & more"));
    assert_eq!((rules[1].1.protocol.as_str(), rules[1].1.from_port, rules[1].1.to_port), ("-1", -1, -1));
    assert_eq!(lean.security_group_rules()[4].is_egress(), Some(true));
    assert!(lean.security_group_rules()[0].tags().is_empty(), "the tags are skipped, not read");

    // moto's answer, as the emulator the tests run on writes it.
    let moto = r#"<?xml version="1.0" encoding="utf-8"?>
<DescribeSecurityGroupRulesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15"><securityGroupRuleSet><item><securityGroupRuleId>sgr-09a1ef62f2f06e859</securityGroupRuleId><groupId>sg-ce6a35fb3d0a64d02</groupId><isEgress>true</isEgress><ipProtocol>-1</ipProtocol><fromPort>-1</fromPort><toPort>-1</toPort><cidrIpv4>0.0.0.0/0</cidrIpv4><tagSet/></item><item><securityGroupRuleId>sgr-5c7f1450a58b4cfa3</securityGroupRuleId><groupId>sg-ce6a35fb3d0a64d02</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv4>0.0.0.0/0</cidrIpv4><description>ssh &amp; more</description><tagSet/></item><item><securityGroupRuleId>sgr-15b0bb4bc10e1c71a</securityGroupRuleId><groupId>sg-ce6a35fb3d0a64d02</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>22</fromPort><toPort>22</toPort><cidrIpv6>::/0</cidrIpv6><tagSet/></item><item><securityGroupRuleId>sgr-654ca08b61c9aa0fc</securityGroupRuleId><groupId>sg-ce6a35fb3d0a64d02</groupId><isEgress>false</isEgress><ipProtocol>tcp</ipProtocol><fromPort>5432</fromPort><toPort>5432</toPort><referencedGroupInfo><groupId>sg-d79ee8642cbe50986</groupId><userId>111122223333</userId></referencedGroupInfo><tagSet/></item></securityGroupRuleSet><requestId>request-id</requestId></DescribeSecurityGroupRulesResponse>"#;
    let (sdk, lean) = security_group_rules_both_ways(moto).await;
    assert_eq!(converted_rules(&sdk), converted_rules(&lean));
    assert_eq!(converted_rules(&lean).0.len(), 3);
}

/// A boolean EC2 would not write is the SDK's to refuse: the lean decoder gives the answer up.
#[test]
fn a_rule_whose_direction_is_not_a_boolean_is_given_up() {
    let odd = SECURITY_GROUP_RULES.replacen("<isEgress>false</isEgress>", "<isEgress>no</isEgress>", 1);
    assert_eq!(describe_security_group_rules(odd.as_bytes()).unwrap_err().to_string(), "<isEgress> is not a boolean: \"no\"");
}

/// The lean decoder is the one that answered: a member it does not read is absent.
#[tokio::test]
async fn the_lean_decoder_answers_in_place_of_the_sdks() {
    let (sdk, lean) = snapshots_both_ways(&[(200, SNAPSHOTS)]).await;
    assert_eq!(sdk.unwrap().snapshots()[0].owner_id(), Some("111122223333"));
    assert_eq!(lean.unwrap().snapshots()[0].owner_id(), None);
}

/// Markup the lean decoder does not read (a CDATA section) goes to the SDK's decoder.
#[tokio::test]
async fn an_answer_the_lean_decoder_cannot_read_is_decoded_by_the_sdk() {
    let body = SNAPSHOTS.replace("<description/>", "<description><![CDATA[made by <script>]]></description>");
    assert!(describe_snapshots(body.as_bytes()).is_err());
    let (sdk, lean) = snapshots_both_ways(&[(200, &body)]).await;
    let lean = lean.unwrap();
    assert_eq!(converted_snapshots(&sdk.unwrap()), converted_snapshots(&lean));
    assert_eq!(lean.snapshots()[0].owner_id(), Some("111122223333"), "decoded by the SDK");
}

/// An end tag that closes another element than the one open is refused, not read past.
#[test]
fn an_end_tag_of_another_element_is_refused() {
    let crossed = SNAPSHOTS.replacen("</tagSet>\n        </item>", "</item>\n        </tagSet>", 1);
    assert_ne!(crossed, SNAPSHOTS);
    let error = describe_snapshots(crossed.as_bytes()).unwrap_err();
    assert_eq!(error.to_string(), "ill-formed document: expected `</tagSet>`, but `</item>` was found");
    let unclosed = SNAPSHOTS.replacen("</volumeId>", "</volume>", 1);
    assert!(describe_snapshots(unclosed.as_bytes()).is_err());
}

#[tokio::test]
async fn an_error_answer_is_the_sdks_error() {
    let error = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>ab12</RequestID></Response>"#;
    let (sdk, lean) = snapshots_both_ways(&[(403, error)]).await;
    let lean = lean.unwrap_err();
    assert_eq!(sdk.unwrap_err(), lean);
    assert!(lean.contains("UnauthorizedOperation"), "{lean}");
}

/// The lean decoder is installed once per call, so an attempt after a throttled one finds it.
#[tokio::test]
async fn a_retried_call_is_decoded_leanly() {
    let throttled = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>cd34</RequestID></Response>"#;
    let (sdk, lean) = snapshots_both_ways(&[(503, throttled), (200, SNAPSHOTS)]).await;
    let lean = lean.unwrap();
    assert_eq!(converted_snapshots(&sdk.unwrap()), converted_snapshots(&lean));
    assert_eq!(lean.snapshots()[0].owner_id(), None, "decoded leanly");
}

/// Text as EC2 escapes it: the five predefined entities, and some characters as references.
fn escaped(text: &str, as_reference: &[bool]) -> String {
    text.chars()
        .zip(as_reference.iter().cycle())
        .map(|(c, reference)| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c if *reference => format!("&#{};", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

#[derive(Clone, Debug)]
struct GeneratedSnapshot {
    id: String,
    volume: Option<String>,
    size: Option<i32>,
    start: i64,
    state: &'static str,
    description: Option<String>,
    tags: Option<Vec<(String, Option<String>)>>,
}

fn generated_snapshot() -> impl Strategy<Value = GeneratedSnapshot> {
    // Characters XML 1.0 allows in text, carriage returns aside (XML parsers may normalise them).
    let text = "[\\t\\n\\x20-\\x7e\u{a0}-\u{d7ff}\u{e000}-\u{fffd}\u{10000}-\u{10ffff}]{0,40}";
    (
        "snap-[0-9a-f]{8,17}",
        proptest::option::of("vol-[0-9a-f]{8}"),
        proptest::option::of(0..70_000i32),
        0..4_102_444_800i64,
        prop::sample::select(vec!["pending", "completed", "error", "recoverable", "recovering", "future-state"]),
        proptest::option::of(text),
        proptest::option::of(proptest::collection::vec((text, proptest::option::of(text)), 0..4)),
    )
        .prop_map(|(id, volume, size, start, state, description, tags)| GeneratedSnapshot {
            id,
            volume,
            size,
            start,
            state,
            description,
            tags,
        })
}

fn rendered(snapshots: &[GeneratedSnapshot], as_reference: &[bool]) -> String {
    let text = |t: &str| escaped(t, as_reference);
    let mut body = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeSnapshotsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><snapshotSet>",
    );
    for s in snapshots {
        body.push_str("<item>");
        body.push_str(&format!("<snapshotId>{}</snapshotId><progress>100%</progress>", s.id));
        if let Some(volume) = &s.volume {
            body.push_str(&format!("<volumeId>{volume}</volumeId>"));
        }
        if let Some(size) = s.size {
            body.push_str(&format!("<volumeSize>{size}</volumeSize>"));
        }
        let start = jiff::Timestamp::from_second(s.start).unwrap();
        body.push_str(&format!("<startTime>{start}</startTime><status>{}</status>", s.state));
        if let Some(description) = &s.description {
            body.push_str(&format!("<description>{}</description>", text(description)));
        }
        if let Some(tags) = &s.tags {
            body.push_str("<tagSet>");
            for (key, value) in tags {
                let value = value.as_ref().map(|v| format!("<value>{}</value>", text(v))).unwrap_or_default();
                body.push_str(&format!("<item><key>{}</key>{value}</item>", text(key)));
            }
            body.push_str("</tagSet>");
        }
        body.push_str("</item>");
    }
    body.push_str("</snapshotSet></DescribeSnapshotsResponse>");
    body
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_snapshots_decode_leanly_as_the_sdk_decodes_them(
        snapshots in proptest::collection::vec(generated_snapshot(), 0..6),
        as_reference in proptest::collection::vec(proptest::bool::weighted(0.1), 1..8),
    ) {
        let body = rendered(&snapshots, &as_reference);
        let lean = describe_snapshots(body.as_bytes()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let sdk = runtime.block_on(ec2(&[(200, &body)]).describe_snapshots().send()).unwrap();
        prop_assert_eq!(converted_snapshots(&sdk), converted_snapshots(&lean));
        prop_assert_eq!(lean.snapshots().len(), snapshots.len());
    }
}
