#!/usr/bin/env python3
"""Tests for the frugal AWS emulator (launcher.py + frugal_emulator extensions).

Run:  .venv/bin/python tests/emulator/test_launcher.py   (after tests/emulator/setup.sh)
Exits non-zero on failure. Each test works in its own AWS account, reached
through STS AssumeRole, the way the Rust integration tests isolate themselves.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import unittest
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import EXIT_TIMEOUT, LauncherTestCase, NO_RETRY, REGION, run_as_script, start_launcher, stop_launcher  # noqa: E402

import boto3  # noqa: E402
import botocore.model  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

S3 = f"com.amazonaws.{REGION}.s3"
DDB = f"com.amazonaws.{REGION}.dynamodb"


class EmulatorTest(LauncherTestCase):
    _next_account = 200000000000

    # helpers ---------------------------------------------------------------
    def default_client(self, service: str, **kw: Any) -> Any:
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, config=NO_RETRY, **kw)

    def account_session(self, account: str | None = None) -> tuple[str, boto3.Session]:
        if account is None:
            EmulatorTest._next_account += 1
            account = str(EmulatorTest._next_account)
        creds = self.default_client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )
        return account, session

    def client(self, session: boto3.Session, service: str) -> Any:
        return session.client(service, endpoint_url=self.url, config=NO_RETRY)

    def control(self, method: str, account: str | None = None) -> Any:
        url = f"{self.url}/_frugal/requests" + (f"?account={account}" if account else "")
        req = urllib.request.Request(url, method=method)
        with urllib.request.urlopen(req, timeout=10) as resp:
            return json.loads(resp.read())

    def vpc_with_tables(self, ec2: Any, n: int) -> tuple[str, list[str]]:
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        tables = [ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"] for _ in range(n)]
        return vpc, tables

    def prefix_list_id(self, ec2: Any, service: str) -> str:
        lists = ec2.describe_managed_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": [service]}]
        )["PrefixLists"]
        self.assertEqual(len(lists), 1, lists)
        return lists[0]["PrefixListId"]

    def endpoint_routes(self, ec2: Any, table: str) -> list[dict[str, Any]]:
        routes = ec2.describe_route_tables(RouteTableIds=[table])["RouteTables"][0]["Routes"]
        return [r for r in routes if r.get("DestinationPrefixListId")]

    def assertErrorCode(self, ctx: Any, code: str, status: int = 400) -> None:
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)

    # E1 --------------------------------------------------------------------
    def test_e1_create_vpc_endpoint_client_token(self) -> None:
        _, session = self.account_session()
        ec2 = self.client(session, "ec2")
        vpc, (rt,) = self.vpc_with_tables(ec2, 1)
        raw: list[bytes] = []
        ec2.meta.events.register(
            "before-parse.ec2.CreateVpcEndpoint",
            lambda response_dict, **_: raw.append(response_dict["body"]),
        )
        args = dict(VpcId=vpc, ServiceName=S3, VpcEndpointType="Gateway", RouteTableIds=[rt])
        first = ec2.create_vpc_endpoint(ClientToken="token-1", **args)
        second = ec2.create_vpc_endpoint(ClientToken="token-1", **args)
        self.assertEqual(first["ClientToken"], "token-1")
        self.assertEqual(second["ClientToken"], "token-1")
        self.assertIn(b"<clientToken>token-1</clientToken>", raw[0])
        self.assertIn(b"<routeTableIdSet>", raw[0])
        vpce = first["VpcEndpoint"]["VpcEndpointId"]
        self.assertEqual(second["VpcEndpoint"]["VpcEndpointId"], vpce)
        endpoints = ec2.describe_vpc_endpoints()["VpcEndpoints"]
        self.assertEqual([e["VpcEndpointId"] for e in endpoints], [vpce])
        self.assertEqual(len(self.endpoint_routes(ec2, rt)), 1)

        with self.assertRaises(ClientError) as ctx:
            ec2.create_vpc_endpoint(ClientToken="token-1", **{**args, "ServiceName": DDB})
        self.assertErrorCode(ctx, "IdempotentParameterMismatch")
        with self.assertRaises(ClientError) as ctx:
            ec2.create_vpc_endpoint(ClientToken="token-1", **{**args, "RouteTableIds": []})
        self.assertErrorCode(ctx, "IdempotentParameterMismatch")
        # Without a token every call is a new endpoint (and a DynamoDB one may share rt).
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=DDB, RouteTableIds=[rt])
        self.assertEqual(len(ec2.describe_vpc_endpoints()["VpcEndpoints"]), 2)
        # Tokens are per account: another account may reuse the same token.
        _, other = self.account_session()
        ec2b = self.client(other, "ec2")
        vpc_b, (rt_b,) = self.vpc_with_tables(ec2b, 1)
        b = ec2b.create_vpc_endpoint(
            ClientToken="token-1", VpcId=vpc_b, ServiceName=S3, RouteTableIds=[rt_b]
        )
        self.assertNotEqual(b["VpcEndpoint"]["VpcEndpointId"], vpce)

    # E2 --------------------------------------------------------------------
    def test_e2_modify_vpc_endpoint_route_tables(self) -> None:
        _, session = self.account_session()
        ec2 = self.client(session, "ec2")
        vpc, (rt1, rt2, rt3) = self.vpc_with_tables(ec2, 3)
        pl = self.prefix_list_id(ec2, S3)
        vpce = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=S3, RouteTableIds=[rt1])[
            "VpcEndpoint"
        ]["VpcEndpointId"]
        self.assertEqual(self.endpoint_routes(ec2, rt1)[0]["DestinationPrefixListId"], pl)

        ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddRouteTableIds=[rt2, rt3])
        for rt in (rt2, rt3):
            routes = self.endpoint_routes(ec2, rt)
            self.assertEqual(len(routes), 1, routes)
            self.assertEqual(routes[0]["DestinationPrefixListId"], pl)
            self.assertEqual(routes[0]["GatewayId"], vpce)
        endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
        self.assertEqual(sorted(endpoint["RouteTableIds"]), sorted([rt1, rt2, rt3]))

        ec2.modify_vpc_endpoint(VpcEndpointId=vpce, RemoveRouteTableIds=[rt2])
        self.assertEqual(self.endpoint_routes(ec2, rt2), [])
        endpoint = ec2.describe_vpc_endpoints(VpcEndpointIds=[vpce])["VpcEndpoints"][0]
        self.assertEqual(sorted(endpoint["RouteTableIds"]), sorted([rt1, rt3]))

        # A second S3 gateway endpoint may not take a table the first one has.
        with self.assertRaises(ClientError) as ctx:
            ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=S3, RouteTableIds=[rt2, rt3])
        self.assertErrorCode(ctx, "RouteAlreadyExists")
        self.assertEqual(len(ec2.describe_vpc_endpoints()["VpcEndpoints"]), 1)
        self.assertEqual(self.endpoint_routes(ec2, rt2), [])  # nothing half-made
        other = ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=S3, RouteTableIds=[rt2])[
            "VpcEndpoint"
        ]["VpcEndpointId"]
        with self.assertRaises(ClientError) as ctx:
            ec2.modify_vpc_endpoint(VpcEndpointId=other, AddRouteTableIds=[rt1])
        self.assertErrorCode(ctx, "RouteAlreadyExists")
        with self.assertRaises(ClientError) as ctx:
            ec2.modify_vpc_endpoint(VpcEndpointId=vpce, AddRouteTableIds=["rtb-0000000000000dead"])
        self.assertErrorCode(ctx, "InvalidRouteTableID.NotFound")
        # DynamoDB is another service: the same table is fine.
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=DDB, RouteTableIds=[rt1])

        result = ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce, other])
        self.assertEqual(result.get("Unsuccessful", []), [])
        for rt in (rt1, rt2, rt3):
            self.assertEqual(
                [r for r in self.endpoint_routes(ec2, rt) if r["DestinationPrefixListId"] == pl], []
            )
        # Deleting again must not blow up on the already removed routes.
        ec2.delete_vpc_endpoints(VpcEndpointIds=[vpce])

    # Shapes the operator relies on -------------------------------------------
    def test_describe_vpc_endpoints_filters_and_tags(self) -> None:
        _, session = self.account_session()
        ec2 = self.client(session, "ec2")
        vpc, (rt1, rt2) = self.vpc_with_tables(ec2, 2)
        vpc2, _ = self.vpc_with_tables(ec2, 0)
        tags = [{"Key": "frugal.dev/managed-by", "Value": "frugal"}, {"Key": "frugal.dev/policy", "Value": "p"}]
        raw: list[bytes] = []
        ec2.meta.events.register(
            "before-parse.ec2.DescribeVpcEndpoints",
            lambda response_dict, **_: raw.append(response_dict["body"]),
        )
        s3 = ec2.create_vpc_endpoint(
            VpcId=vpc,
            ServiceName=S3,
            VpcEndpointType="Gateway",
            RouteTableIds=[rt1],
            TagSpecifications=[{"ResourceType": "vpc-endpoint", "Tags": tags}],
        )["VpcEndpoint"]
        self.assertEqual(sorted(s3["Tags"], key=lambda t: t["Key"]), tags)
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=DDB, RouteTableIds=[rt2])
        ec2.create_vpc_endpoint(VpcId=vpc2, ServiceName=S3)

        def ids(filters: list[dict[str, Any]]) -> list[str]:
            return [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints(Filters=filters)["VpcEndpoints"]]

        found = ec2.describe_vpc_endpoints(
            Filters=[
                {"Name": "vpc-id", "Values": [vpc]},
                {"Name": "service-name", "Values": [S3]},
                {"Name": "vpc-endpoint-type", "Values": ["Gateway"]},
            ]
        )["VpcEndpoints"]
        self.assertEqual([e["VpcEndpointId"] for e in found], [s3["VpcEndpointId"]])
        self.assertEqual(found[0]["RouteTableIds"], [rt1])
        self.assertEqual(found[0]["VpcEndpointType"], "Gateway")
        self.assertEqual(found[0]["State"].lower(), "available")
        self.assertEqual(sorted(found[0]["Tags"], key=lambda t: t["Key"]), tags)
        self.assertEqual(len(ids([{"Name": "vpc-id", "Values": [vpc]}])), 2)
        self.assertEqual(len(ids([{"Name": "service-name", "Values": [S3]}])), 2)
        self.assertEqual(len(ids([{"Name": "vpc-endpoint-type", "Values": ["Interface"]}])), 0)
        self.assertEqual(
            ids([{"Name": "tag:frugal.dev/managed-by", "Values": ["frugal"]}]), [s3["VpcEndpointId"]]
        )
        body = raw[0]
        for element in (b"<vpcEndpointSet>", b"<routeTableIdSet>", b"<tagSet>", b"<vpcEndpointType>"):
            self.assertIn(element, body)

    def test_nat_gateway_routes_and_filters(self) -> None:
        _, session = self.account_session()
        ec2 = self.client(session, "ec2")
        vpc, (rt,) = self.vpc_with_tables(ec2, 1)
        other_vpc, _ = self.vpc_with_tables(ec2, 0)
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        alloc = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=subnet, AllocationId=alloc)["NatGateway"]["NatGatewayId"]
        ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", NatGatewayId=nat)

        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
        self.assertIn(rt, [t["RouteTableId"] for t in tables])
        self.assertTrue(all(t["VpcId"] == vpc for t in tables))
        routes = [t for t in tables if t["RouteTableId"] == rt][0]["Routes"]
        default = [r for r in routes if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
        self.assertEqual(default[0]["NatGatewayId"], nat)
        self.assertEqual(
            ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [other_vpc]}])["RouteTables"][0][
                "VpcId"
            ],
            other_vpc,
        )
        nats = ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["NatGateways"]
        self.assertEqual([n["NatGatewayId"] for n in nats], [nat])
        self.assertEqual(nats[0]["VpcId"], vpc)
        self.assertEqual(ec2.describe_nat_gateways(Filters=[{"Name": "vpc-id", "Values": [other_vpc]}])["NatGateways"], [])

    # CloudWatch --------------------------------------------------------------
    def _put_nat_bytes(self, cw: Any, nat: str, days: int = 30) -> float:
        now = dt.datetime.now(dt.timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
        total = 0.0
        data = []
        for d in range(1, days + 1):
            value = float(50e9 + d * 1e9)
            total += value
            data.append(
                {
                    "MetricName": "BytesOutToDestination",
                    "Dimensions": [{"Name": "NatGatewayId", "Value": nat}],
                    "Timestamp": now - dt.timedelta(days=d),
                    "Value": value,
                    "Unit": "Bytes",
                }
            )
        for i in range(0, len(data), 20):
            cw.put_metric_data(Namespace="AWS/NATGateway", MetricData=data[i : i + 20])
        return total

    def _read_nat_bytes(self, cw: Any, nat: str) -> tuple[float, float]:
        end = dt.datetime.now(dt.timezone.utc)
        start = end - dt.timedelta(days=31)
        dims = [{"Name": "NatGatewayId", "Value": nat}]
        stats = cw.get_metric_statistics(
            Namespace="AWS/NATGateway",
            MetricName="BytesOutToDestination",
            Dimensions=dims,
            StartTime=start,
            EndTime=end,
            Period=86400,
            Statistics=["Sum"],
        )["Datapoints"]
        data = cw.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "bytes",
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/NATGateway",
                            "MetricName": "BytesOutToDestination",
                            "Dimensions": dims,
                        },
                        "Period": 86400,
                        "Stat": "Sum",
                    },
                }
            ],
            StartTime=start,
            EndTime=end,
        )["MetricDataResults"][0]
        for point in stats:
            self.assertIsInstance(point["Timestamp"], dt.datetime)
        return sum(p["Sum"] for p in stats), sum(data["Values"])

    def test_nat_metric_readback_json(self) -> None:
        _, session = self.account_session()
        cw = self.client(session, "cloudwatch")
        total = self._put_nat_bytes(cw, "nat-0123456789abcdef0")
        by_stats, by_data = self._read_nat_bytes(cw, "nat-0123456789abcdef0")
        self.assertAlmostEqual(by_stats, total, delta=1)
        self.assertAlmostEqual(by_data, total, delta=1)

    def test_nat_metric_readback_rpcv2_cbor(self) -> None:
        """The Rust aws-sdk-cloudwatch speaks Smithy RPC v2 CBOR: force boto3 to as well."""
        account, session = self.account_session()
        saved = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + saved
        try:
            cw = self.client(session, "cloudwatch")
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = saved
        self.assertEqual(cw.meta.service_model.resolved_protocol, "smithy-rpc-v2-cbor")
        seen: list[tuple[str, str]] = []
        cw.meta.events.register(
            "before-send.cloudwatch.*",
            lambda request, **_: seen.append((request.url, request.headers.get("smithy-protocol", b""))),
        )
        self.control("DELETE", account)
        total = self._put_nat_bytes(cw, "nat-0fedcba9876543210")
        by_stats, by_data = self._read_nat_bytes(cw, "nat-0fedcba9876543210")
        self.assertAlmostEqual(by_stats, total, delta=1)
        self.assertAlmostEqual(by_data, total, delta=1)
        self.assertTrue(seen[0][0].endswith("/service/GraniteServiceVersion20100801/operation/PutMetricData"), seen)
        ops = [(r["service"], r["operation"]) for r in self.control("GET", account)]
        self.assertEqual(
            ops,
            [("monitoring", "PutMetricData")] * 2
            + [("monitoring", "GetMetricStatistics"), ("monitoring", "GetMetricData")],
        )
        # Errors come back as CBOR too, with the modelled code.
        with self.assertRaises(ClientError) as ctx:
            cw.get_metric_statistics(
                Namespace="AWS/NATGateway",
                MetricName="BytesOutToDestination",
                StartTime=dt.datetime.now(dt.timezone.utc),
                EndTime=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=1),
                Period=86400,
            )
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)

    # Recorder ----------------------------------------------------------------
    def test_recorder_per_account(self) -> None:
        account = "111111111111"
        self.control("DELETE", account)
        default = "123456789012"
        self.control("DELETE", default)
        _, session = self.account_session(account)
        ec2 = self.client(session, "ec2")
        ec2.describe_vpcs()
        ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": ["vpc-1"]}])
        self.client(session, "sts").get_caller_identity()
        self.client(session, "ssm").describe_parameters()
        self.client(session, "backup").list_backup_vaults()
        self.client(session, "backup").list_backup_plans()
        self.client(session, "iam").list_roles()
        self.assertEqual(
            self.client(session, "sts").get_caller_identity()["Account"], account
        )
        records = self.control("GET", account)
        self.assertEqual(
            [(r["service"], r["operation"]) for r in records],
            [
                ("ec2", "DescribeVpcs"),
                ("ec2", "DescribeRouteTables"),
                ("sts", "GetCallerIdentity"),
                ("ssm", "DescribeParameters"),
                ("backup", "ListBackupVaults"),
                ("backup", "ListBackupPlans"),
                ("iam", "ListRoles"),
                ("sts", "GetCallerIdentity"),
            ],
        )
        self.assertTrue(all(r["account"] == account for r in records))
        self.assertEqual({r["region"] for r in records if r["service"] == "ec2"}, {REGION})
        # The AssumeRole call itself was made with the default credentials.
        default_ops = [r["operation"] for r in self.control("GET", default)]
        self.assertIn("AssumeRole", default_ops)
        self.assertNotIn("DescribeVpcs", default_ops)
        all_records = self.control("GET")
        self.assertGreaterEqual(len(all_records), len(records) + 1)
        self.control("DELETE", account)
        self.assertEqual(self.control("GET", account), [])
        self.assertTrue(self.control("GET", default))  # other accounts untouched

    def test_moto_api_still_works(self) -> None:
        with urllib.request.urlopen(f"{self.url}/_frugal/health", timeout=10) as resp:
            self.assertEqual(json.loads(resp.read()), {"ok": True})
        with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=30) as resp:
            self.assertEqual(resp.status, 200)


class ParentDeathTest(unittest.TestCase):
    def test_exits_when_parent_dies(self) -> None:
        parent = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        proc, url = start_launcher(parent.pid)
        try:
            with urllib.request.urlopen(f"{url}/_frugal/health", timeout=10) as resp:
                self.assertEqual(resp.status, 200)
            parent.kill()
            parent.wait()
            proc.wait(timeout=EXIT_TIMEOUT)
            self.assertEqual(proc.returncode, 0)
            self.assertEqual(proc.stdout.read(), "")  # READY was the only stdout line
        finally:
            parent.kill()
            stop_launcher(proc)

    def test_exits_on_sigterm(self) -> None:
        proc, _ = start_launcher(os.getpid())
        try:
            proc.terminate()
            proc.wait(timeout=EXIT_TIMEOUT)
            self.assertEqual(proc.returncode, 0)
        finally:
            stop_launcher(proc)


if __name__ == "__main__":
    run_as_script("emulator tests")
