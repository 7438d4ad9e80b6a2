#!/usr/bin/env python3
"""Seed the emulator with a realistic, messy account for `make demo`.

    python seed_demo.py ENDPOINT_URL [--region eu-west-1]

Account 123456789012 (static test credentials) gets four VPCs:
  prod-app     env=prod  2 private route tables via NAT, 1 public via IGW, no endpoints
  prod-data    env=prod  3 private route tables via NAT, S3 gateway endpoint (frugal-tagged)
                         covering only 1 of them, no DynamoDB endpoint
  prod-legacy  env=prod  1 private route table via NAT, hand-made DynamoDB gateway endpoint
                         (no frugal tags), no S3 endpoint
  dev-sandbox  env=dev   1 private route table via NAT, no endpoints (out of the demo policy)
plus 30 days of AWS/NATGateway BytesOutToDestination (50-400 GB/day) per NAT gateway.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402

GB = 1_000_000_000


def main() -> int:
    parser = argparse.ArgumentParser(description="seed the frugal demo account")
    parser.add_argument("endpoint_url")
    parser.add_argument("--region", default="eu-west-1")
    args = parser.parse_args()
    region = args.region
    ec2 = boto3.client("ec2", endpoint_url=args.endpoint_url, region_name=region)
    cw = boto3.client("cloudwatch", endpoint_url=args.endpoint_url, region_name=region)
    account = boto3.client("sts", endpoint_url=args.endpoint_url, region_name=region).get_caller_identity()[
        "Account"
    ]
    rng = random.Random(42)
    nats: list[tuple[str, str]] = []
    summary: list[str] = [f"account {account} region {region}"]

    def make_vpc(name: str, env: str, cidr_second_octet: int) -> tuple[str, str, str]:
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
        return vpc, igw, nat

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
    vpc, igw, nat = make_vpc("prod-app", "prod", 10)
    private = private_tables(vpc, "prod-app", nat, 2, 10)
    public = ec2.create_route_table(
        VpcId=vpc, TagSpecifications=[{"ResourceType": "route-table", "Tags": [{"Key": "Name", "Value": "prod-app-public"}]}]
    )["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    summary.append(f"prod-app     {vpc}  private {' '.join(private)}  public {public}  nat {nat}  endpoints: none")

    # (b) prod-data
    vpc, _, nat = make_vpc("prod-data", "prod", 20)
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
    vpc, _, nat = make_vpc("prod-legacy", "prod", 30)
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
    vpc, _, nat = make_vpc("dev-sandbox", "dev", 40)
    private = private_tables(vpc, "dev-sandbox", nat, 1, 40)
    summary.append(f"dev-sandbox  {vpc}  private {' '.join(private)}  nat {nat}  endpoints: none (env=dev)")

    # 30 days of NAT traffic, one point per day.
    today = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    for name, nat in nats:
        data = [
            {
                "MetricName": "BytesOutToDestination",
                "Dimensions": [{"Name": "NatGatewayId", "Value": nat}],
                "Timestamp": today - dt.timedelta(days=day) + dt.timedelta(hours=12),
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
