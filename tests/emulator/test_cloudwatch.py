#!/usr/bin/env python3
"""Tests for W1-W5 (frugal_emulator/cloudwatch_logs_alarms.py, cloudwatch_logs_control.py):
CloudWatch Logs log groups and CloudWatch metric alarms as the cloudWatch area reads them.

Run:  .venv/bin/python tests/emulator/test_cloudwatch.py   (after tests/emulator/setup.sh)
Starts its own launcher; each test works in its own account (STS AssumeRole). Alarm
tests run twice: awsJson1_0 (boto3's choice) and Smithy RPC v2 CBOR (the Rust
aws-sdk-cloudwatch's protocol, through E3). Exits non-zero on failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
import unittest
import urllib.error
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LauncherTestCase, NO_RETRY, REGION, run_as_script  # noqa: E402

import boto3  # noqa: E402
import botocore.model  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

STORED = "/_frugal/logs/stored-bytes"
GB = 1_000_000_000


class CloudWatchTestBase(LauncherTestCase):
    _next_account = 600000000000

    def session(self) -> tuple[str, boto3.Session]:
        CloudWatchTestBase._next_account += 1
        account = str(CloudWatchTestBase._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name=REGION, config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")["Credentials"]
        return account, boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    def client(self, session: boto3.Session, service: str, cbor: bool = False) -> Any:
        if not cbor:
            return session.client(service, endpoint_url=self.url, config=NO_RETRY)
        saved = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + saved
        try:
            client = session.client(service, endpoint_url=self.url, config=NO_RETRY)
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = saved
        self.assertEqual(client.meta.service_model.resolved_protocol, "smithy-rpc-v2-cbor")
        return client

    def post(self, path: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path, data=raw if raw is not None else json.dumps(body).encode(),
            method="POST", headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def assert_error(self, call: Any, code: str, http_status: int, **kwargs: Any) -> ClientError:
        with self.assertRaises(ClientError) as ctx:
            call(**kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], http_status)
        return ctx.exception


class LogsTest(CloudWatchTestBase):
    def test_log_groups_paging_retention_tags(self) -> None:
        account, session = self.session()
        logs = self.client(session, "logs")
        for i in range(53):
            logs.create_log_group(logGroupName=f"/aws/lambda/fn-{i:02d}")
        logs.create_log_group(logGroupName="/app/legacy", tags={"team": "old"})
        # Default page 50, limit 1..50, ASCII order, nextToken absent on the last page.
        first = logs.describe_log_groups()
        self.assertEqual(len(first["logGroups"]), 50)
        second = logs.describe_log_groups(nextToken=first["nextToken"])
        self.assertEqual(len(second["logGroups"]), 4)
        self.assertNotIn("nextToken", second)
        names = [g["logGroupName"] for g in first["logGroups"] + second["logGroups"]]
        self.assertEqual(names, sorted(names))
        self.assertEqual(names[0], "/app/legacy")
        pages = list(logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": 20}))
        self.assertEqual([len(p["logGroups"]) for p in pages], [20, 20, 14])
        self.assert_error(logs.describe_log_groups, "InvalidParameterException", 400, limit=51)
        [group] = logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"]
        self.assertEqual(group["arn"], f"arn:aws:logs:{REGION}:{account}:log-group:/app/legacy:*")
        self.assertEqual(group["logGroupArn"], f"arn:aws:logs:{REGION}:{account}:log-group:/app/legacy")
        self.assertIsInstance(group["creationTime"], int)
        self.assertEqual(group["storedBytes"], 0)
        self.assertNotIn("retentionInDays", group)  # never expire

        # W2: only the documented retention values.
        logs.put_retention_policy(logGroupName="/app/legacy", retentionInDays=365)
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0]["retentionInDays"], 365)
        for bad in (8, 366, 5000):
            err = self.assert_error(logs.put_retention_policy, "InvalidParameterException", 400,
                                    logGroupName="/app/legacy", retentionInDays=bad)
            self.assertIn("retentionInDays", err.response["Error"]["Message"])
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0]["retentionInDays"], 365)
        self.assert_error(logs.put_retention_policy, "ResourceNotFoundException", 400, logGroupName="/nope", retentionInDays=7)
        logs.delete_retention_policy(logGroupName="/app/legacy")
        self.assertNotIn("retentionInDays", logs.describe_log_groups(logGroupNamePrefix="/app/")["logGroups"][0])

        # Tags: both calls (ListTagsForResource takes the ARN without ":*").
        self.assertEqual(logs.list_tags_log_group(logGroupName="/app/legacy")["tags"], {"team": "old"})
        self.assertEqual(logs.list_tags_for_resource(resourceArn=group["logGroupArn"])["tags"], {"team": "old"})
        logs.tag_resource(resourceArn=group["logGroupArn"], tags={"frugal.dev/managed-by": "frugal"})
        self.assertEqual(logs.list_tags_log_group(logGroupName="/app/legacy")["tags"],
                         {"team": "old", "frugal.dev/managed-by": "frugal"})
        # The recorder names the awsJson1_1 operations (X-Amz-Target Logs_20140328.<Op>).
        with urllib.request.urlopen(self.url + f"/_frugal/requests?account={account}") as resp:
            ops = {(r["service"], r["operation"]) for r in json.loads(resp.read())}
        self.assertLessEqual({("logs", "DescribeLogGroups"), ("logs", "PutRetentionPolicy"), ("logs", "ListTagsForResource"),
                              ("logs", "ListTagsLogGroup")}, ops)

    def test_stored_bytes_control(self) -> None:
        account, session = self.session()
        logs = self.client(session, "logs")
        logs.create_log_group(logGroupName="/aws/lambda/orders-api")
        logs.create_log_group(logGroupName="/ecs/checkout")
        status, body = self.post(STORED, [
            {"account": account, "region": REGION, "logGroupName": "/aws/lambda/orders-api", "storedBytes": 120 * GB},
            {"account": account, "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": 35 * GB},
        ])
        self.assertEqual(status, 200, body)
        self.assertEqual([u["storedBytes"] for u in body["updated"]], [120 * GB, 35 * GB])
        sizes = {g["logGroupName"]: g["storedBytes"] for g in logs.describe_log_groups()["logGroups"]}
        self.assertEqual(sizes, {"/aws/lambda/orders-api": 120 * GB, "/ecs/checkout": 35 * GB})
        # Events put later add to it.
        logs.create_log_stream(logGroupName="/ecs/checkout", logStreamName="s")
        logs.put_log_events(logGroupName="/ecs/checkout", logStreamName="s",
                            logEvents=[{"timestamp": int(time.time() * 1000), "message": "hello"}])
        stored = logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"][0]["storedBytes"]
        self.assertGreater(stored, 35 * GB)
        # Errors: nothing changes when one item is bad.
        for case in ({}, [], {"account": account, "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": -1},
                     {"account": account, "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": 1.5},
                     {"account": account, "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": 1, "x": 1},
                     [{"account": account, "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": 1},
                      {"account": account, "region": REGION, "logGroupName": "", "storedBytes": 1}]):
            status, body = self.post(STORED, case)
            self.assertEqual(status, 400, (case, body))
        status, body = self.post(STORED, None, raw=b"nope")
        self.assertEqual(status, 400, body)
        for case in ({"account": account, "region": REGION, "logGroupName": "/nope", "storedBytes": 1},
                     {"account": account, "region": "us-west-2", "logGroupName": "/ecs/checkout", "storedBytes": 1},
                     {"account": "999999999999", "region": REGION, "logGroupName": "/ecs/checkout", "storedBytes": 1}):
            status, body = self.post(STORED, case)
            self.assertEqual(status, 404, (case, body))
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/ecs/")["logGroups"][0]["storedBytes"], stored)


class AlarmsJsonTest(CloudWatchTestBase):
    cbor = False

    def put_alarm(self, cw: Any, name: str, instance: str = "i-0123456789abcdef0", **extra: Any) -> None:
        cw.put_metric_alarm(
            AlarmName=name, Namespace="AWS/EC2", MetricName="StatusCheckFailed_System",
            Dimensions=[{"Name": "InstanceId", "Value": instance}], Statistic="Maximum", Period=60,
            EvaluationPeriods=2, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[f"arn:aws:automate:{REGION}:ec2:recover", f"arn:aws:sns:{REGION}:123456789012:ops"], **extra,
        )

    def test_put_describe_overwrite(self) -> None:
        account, session = self.session()
        cw = self.client(session, "cloudwatch", self.cbor)
        tags = [{"Key": "frugal.dev/managed-by", "Value": "frugal"}, {"Key": "frugal.dev/policy", "Value": "demo"}]
        self.put_alarm(cw, "recover-i-1", Tags=tags)
        [alarm] = cw.describe_alarms(AlarmNames=["recover-i-1"])["MetricAlarms"]
        arn = f"arn:aws:cloudwatch:{REGION}:{account}:alarm:recover-i-1"
        self.assertEqual(alarm["AlarmArn"], arn)
        self.assertEqual(alarm["StateValue"], "INSUFFICIENT_DATA")
        self.assertEqual(alarm["StateReason"], "Unchecked: Initial alarm creation")
        self.assertEqual(alarm["AlarmActions"], [f"arn:aws:automate:{REGION}:ec2:recover", f"arn:aws:sns:{REGION}:123456789012:ops"])
        self.assertEqual((alarm["Namespace"], alarm["MetricName"], alarm["Dimensions"]),
                         ("AWS/EC2", "StatusCheckFailed_System", [{"Name": "InstanceId", "Value": "i-0123456789abcdef0"}]))
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=arn)["Tags"], tags)
        # SetAlarmState (AWS's own) moves it; an update keeps the state and ignores Tags.
        cw.set_alarm_state(AlarmName="recover-i-1", StateValue="ALARM", StateReason="test")
        self.put_alarm(cw, "recover-i-1", instance="i-0fedcba9876543210", Tags=[{"Key": "other", "Value": "x"}])
        [alarm] = cw.describe_alarms(AlarmNames=["recover-i-1"])["MetricAlarms"]
        self.assertEqual((alarm["StateValue"], alarm["StateReason"]), ("ALARM", "test"))
        self.assertEqual(alarm["Dimensions"], [{"Name": "InstanceId", "Value": "i-0fedcba9876543210"}])
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=arn)["Tags"], tags)
        # TagResource / UntagResource; an alarm created without tags can be tagged and untagged.
        self.put_alarm(cw, "plain")
        plain = f"arn:aws:cloudwatch:{REGION}:{account}:alarm:plain"
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=plain)["Tags"], [])
        cw.untag_resource(ResourceARN=plain, TagKeys=["nothing"])
        cw.tag_resource(ResourceARN=plain, Tags=[{"Key": "a", "Value": "b"}])
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=plain)["Tags"], [{"Key": "a", "Value": "b"}])
        # Unknown alarms.
        missing = f"arn:aws:cloudwatch:{REGION}:{account}:alarm:missing"
        self.assert_error(cw.list_tags_for_resource, "ResourceNotFoundException", 404, ResourceARN=missing)
        self.assert_error(cw.tag_resource, "ResourceNotFoundException", 404, ResourceARN=missing, Tags=[{"Key": "a", "Value": "b"}])
        self.assert_error(cw.untag_resource, "ResourceNotFoundException", 404, ResourceARN=missing, TagKeys=["a"])
        self.assert_error(cw.set_alarm_state, "ResourceNotFound", 404, AlarmName="missing", StateValue="OK", StateReason="x")
        # DeleteAlarms: unknown names are skipped, the known ones go (API reference); tags go with them.
        cw.delete_alarms(AlarmNames=["recover-i-1", "missing"])
        self.assertEqual(cw.describe_alarms(AlarmNames=["recover-i-1"])["MetricAlarms"], [])
        self.assert_error(cw.list_tags_for_resource, "ResourceNotFoundException", 404, ResourceARN=arn)
        self.put_alarm(cw, "recover-i-1")
        self.assertEqual(cw.list_tags_for_resource(ResourceARN=arn)["Tags"], [])
        self.assertEqual(cw.describe_alarms(AlarmNames=["recover-i-1"])["MetricAlarms"][0]["StateValue"], "INSUFFICIENT_DATA")

    def test_describe_alarms_paging_and_filters(self) -> None:
        _, session = self.session()
        cw = self.client(session, "cloudwatch", self.cbor)
        names = [f"frugal-{i}" for i in range(7)]
        for name in reversed(names):
            self.put_alarm(cw, name)
        self.put_alarm(cw, "other")
        cw.set_alarm_state(AlarmName="frugal-3", StateValue="ALARM", StateReason="t")
        cw.set_alarm_state(AlarmName="other", StateValue="ALARM", StateReason="t")
        pages, token = [], None
        while True:
            answer = cw.describe_alarms(AlarmNamePrefix="frugal-", MaxRecords=3, **({"NextToken": token} if token else {}))
            pages.append([a["AlarmName"] for a in answer["MetricAlarms"]])
            self.assertEqual(answer["CompositeAlarms"], [])
            token = answer.get("NextToken")
            if token is None:
                break
        self.assertEqual(pages, [names[0:3], names[3:6], names[6:7]])
        answer = cw.describe_alarms(MaxRecords=8)
        self.assertEqual(len(answer["MetricAlarms"]), 8)
        self.assertNotIn("NextToken", answer)
        paged = [a["AlarmName"] for p in cw.get_paginator("describe_alarms").paginate(PaginationConfig={"PageSize": 2}) for a in p["MetricAlarms"]]
        self.assertEqual(paged, sorted(names + ["other"]))
        # Filters combine.
        both = cw.describe_alarms(AlarmNamePrefix="frugal-", StateValue="ALARM")["MetricAlarms"]
        self.assertEqual([a["AlarmName"] for a in both], ["frugal-3"])
        self.assertEqual(len(cw.describe_alarms(ActionPrefix="arn:aws:automate:")["MetricAlarms"]), 8)
        # AlarmTypes: metric alarms unless asked for composite ones only.
        self.assertEqual(len(cw.describe_alarms(AlarmTypes=["MetricAlarm"])["MetricAlarms"]), 8)
        composite = cw.describe_alarms(AlarmTypes=["CompositeAlarm"])
        self.assertEqual((composite["MetricAlarms"], composite["CompositeAlarms"]), ([], []))
        self.assertEqual(len(cw.describe_alarms(AlarmTypes=["CompositeAlarm", "MetricAlarm"])["MetricAlarms"]), 8)
        # Errors.
        self.assert_error(cw.describe_alarms, "ValidationError", 400, MaxRecords=101)
        self.assert_error(cw.describe_alarms, "InvalidNextToken", 400, NextToken="not-a-token")
        self.assert_error(cw.describe_alarms, "InvalidParameterCombination", 400, AlarmNames=["other"], AlarmNamePrefix="o")

    def test_recorded_and_isolated(self) -> None:
        account, session = self.session()
        other_account, other = self.session()
        cw = self.client(session, "cloudwatch", self.cbor)
        urllib.request.urlopen(urllib.request.Request(self.url + f"/_frugal/requests?account={account}", method="DELETE"))
        self.put_alarm(cw, "mine")
        cw.describe_alarms()
        self.assertEqual(self.client(other, "cloudwatch", self.cbor).describe_alarms()["MetricAlarms"], [])
        self.assert_error(self.client(other, "cloudwatch", self.cbor).list_tags_for_resource, "ResourceNotFoundException", 404,
                          ResourceARN=f"arn:aws:cloudwatch:{REGION}:{account}:alarm:mine")
        with urllib.request.urlopen(self.url + f"/_frugal/requests?account={account}") as resp:
            ops = [(r["service"], r["operation"]) for r in json.loads(resp.read())]
        self.assertEqual(ops, [("monitoring", "PutMetricAlarm"), ("monitoring", "DescribeAlarms")])


class AlarmsCborTest(AlarmsJsonTest):
    """The same over Smithy RPC v2 CBOR (the Rust aws-sdk-cloudwatch's protocol, via E3)."""

    cbor = True


def load_tests(loader: unittest.TestLoader, tests: Any, pattern: Any) -> unittest.TestSuite:
    suite = unittest.TestSuite()
    for case in (LogsTest, AlarmsJsonTest, AlarmsCborTest):
        suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


if __name__ == "__main__":
    run_as_script("cloudwatch tests")
