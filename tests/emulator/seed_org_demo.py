#!/usr/bin/env python3
"""Seed the emulator with a small AWS Organization for `make demo`'s CostPolicySet part.

    python seed_org_demo.py ENDPOINT_URL [--ids-out F]   seed; prints the organization
    python seed_org_demo.py ENDPOINT_URL --move-out-one  moves one prod account to sandbox

Account 123456789012 (the demo's static credentials) becomes the management account of an
organization (the standard Organizations API, as moto implements it) with three units under
the root and one nested:

  prod        8 accounts (one tagged frugal.dev/skip=true: the set's exclude drops it)
    prod-eu   4 accounts (nested: in scope with includeNestedUnits)
  staging     6 accounts (one closed: SUSPENDED, never governed)
  sandbox     6 accounts (outside the demo set's units)

Every member account gets, in eu-west-1 and us-east-1, its own mess through the bulk-seed
path: 10-60 env=prod snapshots of 100-500 GiB volumes taken over 200 days (most older than
the set's 30 days), a security group open to the world on tcp/22, and a VPC without
gateway endpoints.

--move-out-one moves the first prod account into sandbox (MoveAccount), as a reorganisation
would: the next plan no longer governs it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import urllib.request

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402

REGIONS = ("eu-west-1", "us-east-1")
UNITS = {"prod": 8, "prod-eu": 4, "staging": 6, "sandbox": 6}
PARENT = {"prod-eu": "prod"}


def control(url: str, path: str, body: object) -> dict:
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())


def member_client(url: str, service: str, account: str, region: str):
    """A client in `account`, reached by assuming a role in it (the emulator maps the credentials to it)."""
    sts = boto3.client("sts", endpoint_url=url, region_name=region)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="seed")["Credentials"]
    return boto3.client(service, endpoint_url=url, region_name=region, aws_access_key_id=c["AccessKeyId"],
                        aws_secret_access_key=c["SecretAccessKey"], aws_session_token=c["SessionToken"])


def seed_member(url: str, account: str, rng: random.Random) -> None:
    for n, region in enumerate(REGIONS):
        control(url, "/_frugal/bulk/snapshots", {
            "account": account, "region": region, "count": rng.randrange(10, 61), "volume_count": 4,
            "volume_size": [100, 200, 500], "start_time_spread_days": 200, "tags": {"env": "prod"},
        })
        ec2 = member_client(url, "ec2", account, region)
        vpc = ec2.create_vpc(CidrBlock=f"10.{n}.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "app"}, {"Key": "env", "Value": "prod"}]}])["Vpc"]["VpcId"]
        ec2.create_route_table(VpcId=vpc)
        group = ec2.create_security_group(GroupName="web", Description="web", VpcId=vpc, TagSpecifications=[
            {"ResourceType": "security-group", "Tags": [{"Key": "env", "Value": "prod"}]}])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def seed(url: str, ids_out: str | None) -> int:
    org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    units: dict[str, str] = {}
    for name in UNITS:
        parent = units[PARENT[name]] if name in PARENT else root
        units[name] = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
    rng = random.Random(21)
    accounts: dict[str, list[str]] = {}
    for name, count in UNITS.items():
        for i in range(count):
            status = org.create_account(Email=f"{name}-{i}@example.com", AccountName=f"{name}-{i}")["CreateAccountStatus"]
            account = status["AccountId"]
            org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=units[name])
            accounts.setdefault(name, []).append(account)
            seed_member(url, account, rng)
    org.tag_resource(ResourceId=accounts["prod"][-1], Tags=[{"Key": "frugal.dev/skip", "Value": "true"}])
    org.close_account(AccountId=accounts["staging"][-1])
    for name, ids in accounts.items():
        print(f"  {name:8} {units[name]:22} {' '.join(ids)}")
    print(f"  excluded by tag: {accounts['prod'][-1]}; closed: {accounts['staging'][-1]}")
    if ids_out:
        # The demo's set names its units by id, and the emulator makes ids up.
        with open(ids_out, "w") as f:
            json.dump({"units": units, "accounts": accounts}, f)
    return 0


def move_out_one(url: str) -> int:
    org = boto3.client("organizations", endpoint_url=url, region_name="us-east-1")
    root = org.list_roots()["Roots"][0]["Id"]
    units = {u["Name"]: u["Id"] for u in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    account = org.list_accounts_for_parent(ParentId=units["prod"])["Accounts"][0]["Id"]
    org.move_account(AccountId=account, SourceParentId=units["prod"], DestinationParentId=units["sandbox"])
    print(f"  moved {account} from prod ({units['prod']}) to sandbox ({units['sandbox']})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description="seed the frugal demo organization")
    parser.add_argument("endpoint_url")
    parser.add_argument("--move-out-one", action="store_true", help="move the first prod account into sandbox")
    parser.add_argument("--ids-out", help="write the units' and accounts' ids to this JSON file")
    args = parser.parse_args()
    return move_out_one(args.endpoint_url) if args.move_out_one else seed(args.endpoint_url, args.ids_out)


if __name__ == "__main__":
    sys.exit(main())
