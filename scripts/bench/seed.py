"""Seeds one emulator account with the benchmark workload of issue #8.

Used by scripts/bench/compare.py; also runnable alone:

    .venv/bin/python scripts/bench/seed.py URL ACCOUNT [small|large]

Everything lives in eu-west-1 unless another region is given. Snapshots come from the emulator's bulk control endpoint
(`POST /_frugal/bulk/snapshots`); the rest through the EC2 API (moto), a few threads wide.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3

REGION = "eu-west-1"

# The two sizes of issue #8. Security group rules: every group gets `rules_per_group`
# ingress permissions; one in `world_ssh_every` groups has tcp/22 from 0.0.0.0/0.
SIZES = {
    "small": dict(snapshots=1000, volumes=100, security_groups=50, rules_per_group=2, vpcs=10, extra_route_tables=1,
                  instances=100, key_pairs=0, amis=5, world_ssh_every=5, endpoint_every=3),
    # One account-region of the organization benchmark (scripts/bench/org_compare.py).
    "org": dict(snapshots=100, volumes=10, security_groups=5, rules_per_group=2, vpcs=2, extra_route_tables=1,
                instances=10, key_pairs=0, amis=2, world_ssh_every=5, endpoint_every=3),
    "large": dict(snapshots=10000, volumes=1000, security_groups=500, rules_per_group=4, vpcs=100, extra_route_tables=2,
                  instances=1000, key_pairs=200, amis=20, world_ssh_every=5, endpoint_every=3),
}
SNAPSHOT_SPREAD_DAYS = 200
PROD = [{"Key": "env", "Value": "prod"}]


def credentials(url: str, account: str) -> dict[str, str]:
    """Credentials of `account` (sts:AssumeRole into it; the emulator maps them to it)."""
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/bench", RoleSessionName="bench")["Credentials"]
    return {"AWS_ACCESS_KEY_ID": c["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": c["SecretAccessKey"], "AWS_SESSION_TOKEN": c["SessionToken"]}


def control(url: str, path: str, body: object, method: str = "POST") -> object:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def seed(url: str, account: str, size: str, region: str = REGION) -> dict[str, int]:
    """Seeds the account in `region`; returns what was made (counts the benchmark's minimum is computed from)."""
    s = SIZES[size]
    creds = credentials(url, account)
    ec2 = boto3.client("ec2", endpoint_url=url, region_name=region, aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                       aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"], aws_session_token=creds["AWS_SESSION_TOKEN"])
    started = time.monotonic()
    snaps = control(url, "/_frugal/bulk/snapshots", {
        "account": account, "region": region, "count": s["snapshots"], "volume_count": s["volumes"],
        "start_time_spread_days": SNAPSHOT_SPREAD_DAYS, "tags": {"env": "prod"},
    })["snapshot_ids"]
    # AMIs backed by the oldest snapshots (both tools must skip them).
    ami_ids = []
    for i in range(s["amis"]):
        ami = ec2.register_image(Name=f"bench-{i}", RootDeviceName="/dev/xvda", Architecture="x86_64",
                                 VirtualizationType="hvm",
                                 BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": snaps[i]}}])
        ami_ids.append(ami["ImageId"])

    def make_vpc(i: int) -> tuple[str, str, list[str]]:
        tags = [{"ResourceType": "vpc", "Tags": PROD + [{"Key": "Name", "Value": f"bench-{i}"}]}]
        vpc = ec2.create_vpc(CidrBlock=f"10.{i}.0.0/16", TagSpecifications=tags)["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.{i}.0.0/20")["Subnet"]["SubnetId"]
        tables = [ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in range(s["extra_route_tables"])]
        if i % s["endpoint_every"] == 0:
            ec2.create_vpc_endpoint(VpcId=vpc, VpcEndpointType="Gateway", ServiceName=f"com.amazonaws.{region}.s3", RouteTableIds=tables)
        return vpc, subnet, tables

    with ThreadPoolExecutor(4) as pool:
        vpcs = list(pool.map(make_vpc, range(s["vpcs"])))
    vpc0, subnet0, _ = vpcs[0]

    def make_group(i: int) -> str:
        gid = ec2.create_security_group(GroupName=f"bench-{i}", Description="bench", VpcId=vpcs[i % len(vpcs)][0],
                                        TagSpecifications=[{"ResourceType": "security-group", "Tags": PROD}])["GroupId"]
        perms = []
        if i % s["world_ssh_every"] == 0:
            perms.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
        else:
            perms.append({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]})
        for r in range(1, s["rules_per_group"]):
            perms.append({"IpProtocol": "tcp", "FromPort": 8000 + r, "ToPort": 8000 + r, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=perms)
        return gid

    with ThreadPoolExecutor(4) as pool:
        groups = list(pool.map(make_group, range(s["security_groups"])))

    def make_key(i: int) -> None:
        ec2.create_key_pair(KeyName=f"bench-{i}")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(make_key, range(s["key_pairs"])))
    # Instances in batches of 100, each in one of the first groups of VPC 0.
    vpc0_groups = [g for i, g in enumerate(groups) if i % len(vpcs) == 0]
    made = 0
    while made < s["instances"]:
        n = min(100, s["instances"] - made)
        ec2.run_instances(ImageId=ami_ids[0], MinCount=n, MaxCount=n, InstanceType="t3.micro", SubnetId=subnet0,
                          SecurityGroupIds=[vpc0_groups[(made // 100) % len(vpc0_groups)]],
                          TagSpecifications=[{"ResourceType": "instance", "Tags": PROD}])
        made += n
    return {
        "snapshots": s["snapshots"], "volumes": s["volumes"], "amis": s["amis"], "security_groups": s["security_groups"],
        "world_ssh_groups": len(range(0, s["security_groups"], s["world_ssh_every"])),
        "ingress_rules": s["security_groups"] * s["rules_per_group"], "vpcs": s["vpcs"],
        "route_tables": s["vpcs"] * (1 + s["extra_route_tables"]), "instances": s["instances"], "key_pairs": s["key_pairs"],
        "seconds": round(time.monotonic() - started, 2),
    }


if __name__ == "__main__":
    print(json.dumps(seed(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "small")))
