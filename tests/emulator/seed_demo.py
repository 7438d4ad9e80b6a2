#!/usr/bin/env python3
"""Seed the emulator with a realistic, messy account for `make demo`.

    python seed_demo.py ENDPOINT_URL [--region eu-west-1]
    python seed_demo.py ENDPOINT_URL --fast-forward-grace   (the demo's "a day later")

Account 123456789012 (static test credentials) gets four VPCs:
  prod-app     env=prod  2 private route tables via NAT, 1 public via IGW, no endpoints
  prod-data    env=prod  3 private route tables via NAT, S3 gateway endpoint (frugal-tagged)
                         covering only 1 of them, no DynamoDB endpoint
  prod-legacy  env=prod  1 private route table via NAT, hand-made DynamoDB gateway endpoint
                         (no frugal tags), no S3 endpoint
  dev-sandbox  env=dev   1 private route table via NAT, no endpoints (out of the demo policy)
plus 30 days of AWS/NATGateway BytesOutToDestination (50-400 GB/day) per NAT gateway, and
in prod-app the workloads of the other three areas:
  snapshots    24 env=prod snapshots of 6 volumes (100 GiB each) taken over 120 days; the
               oldest backs a registered AMI, another carries frugal.dev/keep=true
  groups       prod-web (tcp/22 and tcp/443 from the world), prod-admin (tcp 0-65535 from
               0.0.0.0/0 and ::/0), prod-bastion (tcp/22 from 10.0.0.0/8 only)
  instances    3 env=prod instances without an instance profile, 2 of them tagged
               backup=daily, one launched with key pair deploy-2019
  key pairs    deploy-2019 (in use) and old-laptop (used by nothing)
  IAM          the AWS Backup service role the demo's selection names
and IAM users with one access key each (dates set with POST /_frugal/iam/access-key):
  ci-deploy      created 400 days ago, last used 200 days ago (s3)  old and unused: marked, then deactivated
  laptop-alice   created 30 days ago, never used                     reported (never used)
  etl-nightly    created 200 days ago, used yesterday (s3)           reported (old), left active
  app-reporting  created 20 days ago, used yesterday (dynamodb)      fresh: nothing to say
  break-glass    created 500 days ago, never used                    excluded by name in the demo policy

and, for the rightSizing and cloudWatch areas (no new instances or volumes):
  Compute Optimizer recommendations (POST /_frugal/compute-optimizer/recommendations) for the
  three instances and their root volumes, the account NOT opted in (the operator opts it in,
  then they appear): prod-app-1 Overprovisioned t3.small -> t3.micro ($8.32/month),
  prod-app-2 Underprovisioned -> t3.medium, prod-app-3 Optimized; the first two root volumes
  gp2 -> gp3 NotOptimized (dollar savings), the third Optimized
  log groups  /aws/lambda/orders-api  never expire, 120 GB stored
              /ecs/checkout           never expire, 35 GB
              /aws/lambda/audit       365 days, 8 GB
              /app/legacy             never expire, 2 GB (outside /aws/lambda/ and /ecs/)
  alarms      2 orphan StatusCheckFailed alarms (INSUFFICIENT_DATA) on instance ids that do
              not exist, one tagged frugal.dev/managed-by=frugal, frugal.dev/policy=demo

--fast-forward-grace moves every frugal.dev/expires-at snapshot tag and every
frugal.dev/deactivate-<AccessKeyId> user tag 24 hours back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

import urllib.request  # noqa: E402

import boto3  # noqa: E402

GB = 1_000_000_000
PROD = [{"Key": "env", "Value": "prod"}]
BACKUP_ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "backup.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


# The billing region prefix of EC2 usage types (none in us-east-1).
BILLING_PREFIX = {"eu-west-1": "EU-", "ap-northeast-2": "APN2-", "us-west-2": "USW2-"}


def control(endpoint_url: str, path: str, body: object) -> dict:
    """One of the emulator's control endpoints (tests/emulator/README.md)."""
    request = urllib.request.Request(
        endpoint_url + path, data=json.dumps(body).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def day_earlier(value: str) -> str:
    """The time that starts `value` 24 hours back; the rest (an access key mark's
    " by <policy>") is kept."""
    time, sep, rest = value.partition(" ")
    earlier = dt.datetime.fromisoformat(time.replace("Z", "+00:00")) - dt.timedelta(hours=24)
    return earlier.strftime("%Y-%m-%dT%H:%M:%SZ") + sep + rest


def fast_forward_grace(ec2, iam, cw) -> int:
    """Rewrites each snapshot's and alarm's frugal.dev/expires-at tag and each user's
    frugal.dev/deactivate-<AccessKeyId> tag as if a day had passed since frugal set it: the
    same time minus 24 hours (a plain CreateTags / TagResource / TagUser, as a person could do)."""
    key = "frugal.dev/expires-at"
    pages = ec2.get_paginator("describe_snapshots").paginate(OwnerIds=["self"], Filters=[{"Name": "tag-key", "Values": [key]}])
    moved = 0
    for page in pages:
        for snapshot in page["Snapshots"]:
            value = next(t["Value"] for t in snapshot.get("Tags", []) if t["Key"] == key)
            ec2.create_tags(Resources=[snapshot["SnapshotId"]], Tags=[{"Key": key, "Value": day_earlier(value)}])
            moved += 1
    print(f"{moved} snapshots: {key} moved 24 hours back")
    prefix = "frugal.dev/deactivate-"
    marks = 0
    for page in iam.get_paginator("list_users").paginate():
        for user in page["Users"]:
            name = user["UserName"]
            tags = [t for t in iam.list_user_tags(UserName=name)["Tags"] if t["Key"].startswith(prefix)]
            if tags:
                iam.tag_user(UserName=name, Tags=[{"Key": t["Key"], "Value": day_earlier(t["Value"])} for t in tags])
                marks += len(tags)
    print(f"{marks} user marks: {prefix}<AccessKeyId> moved 24 hours back")
    alarms = 0
    for page in cw.get_paginator("describe_alarms").paginate(AlarmTypes=["MetricAlarm"]):
        for alarm in page["MetricAlarms"]:
            tags = cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
            value = next((t["Value"] for t in tags if t["Key"] == key), None)
            if value is not None:
                cw.tag_resource(ResourceARN=alarm["AlarmArn"], Tags=[{"Key": key, "Value": day_earlier(value)}])
                alarms += 1
    print(f"{alarms} alarms: {key} moved 24 hours back")
    return 0


# (user, days since creation, days since last use or None for never, service)
DEMO_USERS = [
    ("ci-deploy", 400, 200, "s3"),
    ("laptop-alice", 30, None, None),
    ("etl-nightly", 200, 1, "s3"),
    ("app-reporting", 20, 1, "dynamodb"),
    ("break-glass", 500, None, None),
]


def seed_users(iam, endpoint_url: str, account: str, region: str) -> list[str]:
    """IAM users with one access key each, made old / used in the past by the emulator's
    /_frugal/iam/access-key control endpoint."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def ago(days: int) -> str:
        return (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")

    lines = []
    for name, created, used, service in DEMO_USERS:
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        last_used = None if used is None else {"date": ago(used), "service": service, "region": region}
        control(endpoint_url, "/_frugal/iam/access-key",
                {"accessKeyId": key, "account": account, "createDate": ago(created), "lastUsed": last_used})
        use = "never used" if used is None else f"last used {used} days ago ({service})"
        lines.append(f"iam user     {name:<14} key {key} created {created} days ago, {use}")
    return lines


def seed_workloads(ec2, iam, endpoint_url: str, account: str, region: str, vpc: str, subnet: str) -> list[str]:
    """Snapshots, security groups, instances, key pairs and the Backup role in prod-app."""
    made = control(endpoint_url, "/_frugal/bulk/snapshots", {
        "account": account, "region": region, "count": 24, "volume_count": 6, "volume_size": 100,
        "start_time_spread_days": 120, "tags": {"env": "prod"},
    })
    snapshots = made["snapshot_ids"]
    ami = ec2.register_image(
        Name="prod-app-golden", RootDeviceName="/dev/xvda", Architecture="x86_64", VirtualizationType="hvm",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snapshots[0]}}],
    )["ImageId"]
    ec2.create_tags(Resources=[snapshots[1]], Tags=[{"Key": "frugal.dev/keep", "Value": "true"}])

    def group(name: str, permissions: list[dict]) -> str:
        gid = ec2.create_security_group(
            GroupName=name, Description=name, VpcId=vpc,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": PROD + [{"Key": "Name", "Value": name}]}],
        )["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=permissions)
        return gid

    world = {"IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    web = group("prod-web", [
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, **world},
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, **world},
    ])
    admin = group("prod-admin", [
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, **world, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ])
    bastion = group("prod-bastion", [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    ec2.create_key_pair(KeyName="deploy-2019")
    ec2.create_key_pair(KeyName="old-laptop")
    instances = []
    for i, (backup, key) in enumerate(((True, "deploy-2019"), (True, None), (False, None))):
        tags = PROD + [{"Key": "Name", "Value": f"prod-app-{i + 1}"}] + ([{"Key": "backup", "Value": "daily"}] if backup else [])
        extra = {"KeyName": key} if key else {}
        instances.append(ec2.run_instances(
            ImageId=ami, MinCount=1, MaxCount=1, InstanceType="t3.small", SubnetId=subnet, SecurityGroupIds=[web],
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}], **extra,
        )["Instances"][0]["InstanceId"])
    iam.create_role(RoleName="AWSBackupDefaultServiceRole", Path="/service-role/",
                    AssumeRolePolicyDocument=json.dumps(BACKUP_ROLE_TRUST))
    iam.attach_role_policy(RoleName="AWSBackupDefaultServiceRole",
                           PolicyArn="arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup")
    return [
        f"snapshots    {len(snapshots)} over 6 volumes, 120 days; {snapshots[0]} backs {ami}, {snapshots[1]} has frugal.dev/keep",
        f"groups       prod-web {web} (22+443 world)  prod-admin {admin} (0-65535 world)  prod-bastion {bastion} (22 from 10/8)",
        f"instances    {' '.join(instances)} (no instance profile; first two backup=daily; first uses key deploy-2019)",
        "key pairs    deploy-2019 (in use), old-laptop (unused)",
    ]


# eu-west-1 on-demand list prices (USD): t3.micro $0.0114/h, t3.small $0.0228/h;
# gp2 $0.11 and gp3 $0.088 per GB-month. 730 hours a month.
HOURS = 730
GP2, GP3 = 0.11, 0.088


def seed_rightsizing(ec2, endpoint_url: str, account: str, region: str) -> list[str]:
    """Compute Optimizer recommendations for the demo's existing instances (by Name tag) and
    their root volumes; the account stays not opted in."""
    instances = {}
    for page in ec2.get_paginator("describe_instances").paginate():
        for reservation in page["Reservations"]:
            for instance in reservation["Instances"]:
                name = next((t["Value"] for t in instance.get("Tags", []) if t["Key"] == "Name"), "")
                instances[name] = instance
    one, two, three = (instances[f"prod-app-{i}"] for i in (1, 2, 3))

    def root_volume(instance: dict) -> dict:
        volume_id = next(m["Ebs"]["VolumeId"] for m in instance["BlockDeviceMappings"])
        return ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]

    base = {"account": account, "region": region}
    small_to_micro = round((0.0228 - 0.0114) * HOURS, 2)
    items = [
        {**base, "instanceId": one["InstanceId"], "finding": "Overprovisioned", "recommendedType": "t3.micro",
         "findingReasonCodes": ["CPUOverprovisioned", "MemoryOverprovisioned"], "estimatedMonthlySavingsUsd": small_to_micro,
         "savingsOpportunityPercentage": 50.0, "performanceRisk": 1.0, "currentPerformanceRisk": "VeryLow",
         "utilizationMetrics": [{"name": "Cpu", "statistic": "Maximum", "value": 9.5}]},
        {**base, "instanceId": two["InstanceId"], "finding": "Underprovisioned", "recommendedType": "t3.medium",
         "findingReasonCodes": ["CPUUnderprovisioned"], "estimatedMonthlySavingsUsd": 0, "savingsOpportunityPercentage": 0,
         "performanceRisk": 1.0, "currentPerformanceRisk": "High",
         "utilizationMetrics": [{"name": "Cpu", "statistic": "Maximum", "value": 98.7}]},
        {**base, "instanceId": three["InstanceId"], "finding": "Optimized", "currentPerformanceRisk": "Low",
         "utilizationMetrics": [{"name": "Cpu", "statistic": "Maximum", "value": 55.0}]},
    ]
    lines = [
        f"rightsizing  {one['InstanceId']} Overprovisioned t3.small -> t3.micro ${small_to_micro}/month; "
        f"{two['InstanceId']} Underprovisioned -> t3.medium; {three['InstanceId']} Optimized",
    ]
    volumes = []
    for instance, optimized in ((one, False), (two, False), (three, True)):
        volume = root_volume(instance)
        if optimized or volume["VolumeType"] != "gp2":
            items.append({**base, "volumeId": volume["VolumeId"], "finding": "Optimized"})
            volumes.append(f"{volume['VolumeId']} Optimized")
            continue
        savings = round(volume["Size"] * (GP2 - GP3), 2)
        items.append({**base, "volumeId": volume["VolumeId"], "finding": "NotOptimized",
                      "recommendedVolume": {"volumeType": "gp3", "volumeSize": volume["Size"]},
                      "estimatedMonthlySavingsUsd": savings, "savingsOpportunityPercentage": 20.0, "performanceRisk": 0.0})
        volumes.append(f"{volume['VolumeId']} gp2 -> gp3 ${savings}/month")
    control(endpoint_url, "/_frugal/compute-optimizer/recommendations", items)
    lines.append(f"rightsizing  volumes {'; '.join(volumes)}; account not opted in to Compute Optimizer")
    return lines


# (log group, retention days or None for never expire, GB stored)
DEMO_LOG_GROUPS = [
    ("/aws/lambda/orders-api", None, 120),
    ("/ecs/checkout", None, 35),
    ("/aws/lambda/audit", 365, 8),
    ("/app/legacy", None, 2),
]


def seed_cloudwatch(logs, cw, endpoint_url: str, account: str, region: str) -> list[str]:
    """Log groups with stored sizes (/_frugal/logs/stored-bytes) and two alarms left behind
    for instances that no longer exist."""
    lines = []
    for name, retention, gb in DEMO_LOG_GROUPS:
        logs.create_log_group(logGroupName=name)
        if retention is not None:
            logs.put_retention_policy(logGroupName=name, retentionInDays=retention)
        control(endpoint_url, "/_frugal/logs/stored-bytes",
                {"account": account, "region": region, "logGroupName": name, "storedBytes": gb * GB})
        kept = "never expire" if retention is None else f"{retention} days"
        lines.append(f"log group    {name:<24} {kept}, {gb} GB stored")
    frugal_tags = [{"Key": "frugal.dev/managed-by", "Value": "frugal"}, {"Key": "frugal.dev/policy", "Value": "demo"}]
    for instance_id, tags in (("i-0a1b2c3d4e5f60718", frugal_tags), ("i-0badc0ffee0ddf00d", [])):
        name = f"status-check-{instance_id}"
        cw.put_metric_alarm(
            AlarmName=name, Namespace="AWS/EC2", MetricName="StatusCheckFailed",
            Dimensions=[{"Name": "InstanceId", "Value": instance_id}], Statistic="Maximum", Period=60,
            EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[f"arn:aws:automate:{region}:ec2:recover"], **({"Tags": tags} if tags else {}),
        )
        owner = " (frugal-tagged)" if tags else ""
        lines.append(f"alarm        {name} on missing instance {instance_id}, INSUFFICIENT_DATA{owner}")
    return lines


def seed_bill(endpoint_url: str, account: str, region: str, prefix: str, cw_prefix: str) -> list[str]:
    """What the account paid (/_frugal/ce/usage), for pricing.costExplorer: NAT gateway data
    processing every day of last month and of this month so far, and snapshot storage."""
    today = dt.datetime.now(dt.timezone.utc).date()
    first = today.replace(day=1)
    last_month = (first - dt.timedelta(days=1)).replace(day=1)
    days = [last_month + dt.timedelta(days=i) for i in range((first - last_month).days)]
    days += [first + dt.timedelta(days=i) for i in range((today - first).days + 1)]
    records = []
    for day in days:
        records.append({"date": day.isoformat(), "usageType": f"{prefix}NatGateway-Bytes", "region": region,
                        "service": "EC2 - Other", "amountUsd": "28.80", "usageQuantity": "600", "usageUnit": "GB"})
        records.append({"date": day.isoformat(), "usageType": f"{prefix}EBS:SnapshotUsage", "region": region,
                        "service": "EC2 - Other", "amountUsd": "1.70", "usageQuantity": "34", "usageUnit": "GB-Mo"})
        records.append({"date": day.isoformat(), "usageType": f"{cw_prefix}TimedStorage-ByteHrs", "region": region,
                        "service": "AmazonCloudWatch", "amountUsd": "0.16", "usageQuantity": "5.3", "usageUnit": "GB-Mo"})
    control(endpoint_url, "/_frugal/ce/usage", {"account": account, "records": records, "replace": True})
    return [f"bill         {len(days)} days of {prefix}NatGateway-Bytes ($28.80/day), {prefix}EBS:SnapshotUsage ($1.70/day) and "
            f"{cw_prefix}TimedStorage-ByteHrs ($0.16/day) in Cost Explorer"]


def main() -> int:
    parser = argparse.ArgumentParser(description="seed the frugal demo account")
    parser.add_argument("endpoint_url")
    parser.add_argument("--region", default="eu-west-1")
    parser.add_argument("--fast-forward-grace", action="store_true",
                        help="move every frugal.dev/expires-at and frugal.dev/deactivate-* tag 24 hours back instead of seeding")
    args = parser.parse_args()
    region = args.region
    ec2 = boto3.client("ec2", endpoint_url=args.endpoint_url, region_name=region)
    iam = boto3.client("iam", endpoint_url=args.endpoint_url, region_name=region)
    cw = boto3.client("cloudwatch", endpoint_url=args.endpoint_url, region_name=region)
    if args.fast_forward_grace:
        return fast_forward_grace(ec2, iam, cw)
    account = boto3.client("sts", endpoint_url=args.endpoint_url, region_name=region).get_caller_identity()[
        "Account"
    ]
    rng = random.Random(42)
    nats: list[tuple[str, str]] = []
    summary: list[str] = [f"account {account} region {region}"]

    def make_vpc(name: str, env: str, cidr_second_octet: int) -> tuple[str, str, str, str]:
        vpc = ec2.create_vpc(
            CidrBlock=f"10.{cidr_second_octet}.0.0/16",
            TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}, {"Key": "env", "Value": env}]}],
        )["Vpc"]["VpcId"]
        public = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{cidr_second_octet}.0.0/24")["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(
            SubnetId=public,
            AllocationId=alloc,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": [{"Key": "Name", "Value": f"{name}-nat"}]}],
        )["NatGateway"]["NatGatewayId"]
        nats.append((name, nat))
        return vpc, igw, nat, public

    def private_tables(vpc: str, name: str, nat: str, count: int, octet: int) -> list[str]:
        tables = []
        for i in range(count):
            rt = ec2.create_route_table(
                VpcId=vpc,
                TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": f"{name}-private-{i + 1}"}]}],
            )["RouteTable"]["RouteTableId"]
            ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{octet}.{10 + i}.0/24")["Subnet"]["SubnetId"]
            ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)
            tables.append(rt)
        return tables

    # (a) prod-app
    vpc, igw, nat, app_subnet = make_vpc("prod-app", "prod", 10)
    private = private_tables(vpc, "prod-app", nat, 2, 10)
    public = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "prod-app-public"}]}]
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    summary.append(f"prod-app     {vpc}  private {' '.join(private)}  public {public}  nat {nat}  endpoints: none")
    summary += seed_workloads(ec2, iam, args.endpoint_url, account, region, vpc, app_subnet)
    summary += seed_users(iam, args.endpoint_url, account, region)
    summary += seed_rightsizing(ec2, args.endpoint_url, account, region)
    logs = boto3.client("logs", endpoint_url=args.endpoint_url, region_name=region)
    summary += seed_cloudwatch(logs, cw, args.endpoint_url, account, region)
    summary += seed_bill(args.endpoint_url, account, region, BILLING_PREFIX.get(region, ""), BILLING_PREFIX.get(region, "USE1-"))

    # (b) prod-data
    vpc, _, nat, _ = make_vpc("prod-data", "prod", 20)
    private = private_tables(vpc, "prod-data", nat, 3, 20)
    s3 = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{region}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[private[0]],
        TagSpecifications=[
            {
                "ResourceType": "vpc-endpoint",
                "Tags": [
                    {"Key": "frugal.dev/managed-by", "Value": "frugal"},
                    {"Key": "frugal.dev/policy", "Value": "demo"},
                ],
            }
        ],
    )["VpcEndpoint"]["VpcEndpointId"]
    summary.append(
        f"prod-data    {vpc}  private {' '.join(private)}  nat {nat}  endpoints: s3 {s3} (frugal) on {private[0]} only"
    )

    # (c) prod-legacy
    vpc, _, nat, _ = make_vpc("prod-legacy", "prod", 30)
    private = private_tables(vpc, "prod-legacy", nat, 1, 30)
    ddb = ec2.create_vpc_endpoint(
        VpcId=vpc,
        ServiceName=f"com.amazonaws.{region}.dynamodb",
        VpcEndpointType="Gateway",
        RouteTableIds=private,
        TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": [{"Key": "Name", "Value": "legacy-ddb"}]}],
    )["VpcEndpoint"]["VpcEndpointId"]
    summary.append(f"prod-legacy  {vpc}  private {' '.join(private)}  nat {nat}  endpoints: dynamodb {ddb} (hand-made)")

    # (d) dev-sandbox
    vpc, _, nat, _ = make_vpc("dev-sandbox", "dev", 40)
    private = private_tables(vpc, "dev-sandbox", nat, 1, 40)
    summary.append(f"dev-sandbox  {vpc}  private {' '.join(private)}  nat {nat}  endpoints: none (env=dev)")

    # 30 days of NAT traffic, one point per day, each an hour inside the 30-day window that
    # frugal reads (ending when it runs): every point counts whatever the time of day, so the
    # dollar figures are the README's. (Points at noon of each day fell out of the window in
    # the afternoon.)
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for name, nat in nats:
        data = [
            {
                "MetricName": "BytesOutToDestination",
                "Dimensions": [{"Name": "NatGatewayId", "Value": nat}],
                "Timestamp": now - dt.timedelta(days=day) + dt.timedelta(hours=1),
                "Value": float(rng.randint(50, 400) * GB),
                "Unit": "Bytes",
            }
            for day in range(1, 31)
        ]
        for i in range(0, len(data), 20):
            cw.put_metric_data(Namespace="AWS/NATGateway", MetricData=data[i : i + 20])
        total = sum(d["Value"] for d in data) / GB
        summary.append(f"metrics      {nat} ({name}): 30 days BytesOutToDestination, {total:.0f} GB total")

    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
