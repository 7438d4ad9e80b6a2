#!/usr/bin/env python3
"""Seed the emulator with a small, messy AWS Organization for `make demo`'s CostPolicySet part.

    python seed_org_demo.py ENDPOINT_URL --ids-out FILE

The organization is seed_organization.py's (in account 123456789012, the demo's static
credentials): units prod (18 accounts: one closed, one tagged frugal.dev/skip=true), prod-eu
nested under it (2) and dev (2). Every ACTIVE member account then gets, in eu-west-1 and
us-east-1, its own mess through the bulk-seed path: 10-60 env=prod snapshots of 100-500 GiB
volumes taken over 200 days (most older than the demo set's 30 days), a security group open
to the world on tcp/22, and a VPC without gateway endpoints.

Writes seed_organization.py's JSON (units, accounts, closed, tagged) to FILE: the demo's set
names its unit by id, and the emulator makes ids up. To move an account out of a unit
afterwards: `seed_organization.py ENDPOINT_URL move ACCOUNT --to OU_ID`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import boto3  # noqa: E402

import seed_organization  # noqa: E402 (also sets the static credentials)

REGIONS = ("eu-west-1", "us-east-1")
MEMBERS = 22


def control(url: str, path: str, body: object) -> dict:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def member_ec2(url: str, account: str, region: str):
    """EC2 in `account`, reached by assuming a role in it (the emulator maps the credentials to it)."""
    sts = boto3.client("sts", endpoint_url=url, region_name=region)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed")["Credentials"]
    return boto3.client("ec2", endpoint_url=url, region_name=region, aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def seed_member(url: str, account: str, snapshots: int, region: str, octet: int) -> None:
    control(url, "/_frugal/bulk/snapshots", {
        "account": account, "region": region, "count": snapshots, "volume_count": 4,
        "volume_size": [100, 200, 500], "start_time_spread_days": 200, "tags": {"env": "prod"},
    })
    ec2 = member_ec2(url, account, region)
    vpc = ec2.create_vpc(CidrBlock=f"10.{octet}.0.0/16", TagSpecifications=[
        {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}, {"Key": "env", "Value": "prod"}]}])["Vpc"]["VpcId"]
    ec2.create_route_table(VpcId=vpc)
    group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc, TagSpecifications=[
        {"ResourceType": "security-group", "Tags": [{"Key": "env", "Value": "prod"}]}])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def main() -> int:
    parser = argparse.ArgumentParser(description="seed the frugal demo organization")
    parser.add_argument("endpoint_url")
    parser.add_argument("--ids-out", required=True, help="write the organization's ids to this JSON file")
    args = parser.parse_args()
    url = args.endpoint_url
    client, role_arn = seed_organization.organizations(url, "123456789012")
    org = seed_organization.seed(client, role_arn, MEMBERS)
    active = [a["id"] for accounts in org["accounts"].values() for a in accounts if a["state"] == "ACTIVE"]
    rng = random.Random(21)
    work = [(account, rng.randrange(10, 61), region, n) for account in active for n, region in enumerate(REGIONS)]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda w: seed_member(url, *w), work))
    for name, unit in org["units"].items():
        print(f"  {name:8} {unit:22} {' '.join(a['id'] for a in org['accounts'][name])}")
    print(f"  closed: {org['closed']}; tagged frugal.dev/skip=true: {org['tagged']}; "
          f"each ACTIVE account seeded in {', '.join(REGIONS)}")
    Path(args.ids_out).write_text(json.dumps(org))
    return 0


if __name__ == "__main__":
    sys.exit(main())
