#!/usr/bin/env python3
"""Tests for P2, Cost Explorer GetCostAndUsage (frugal_emulator/cost_explorer.py and
cost_explorer_control.py).

Run:  .venv/bin/python tests/emulator/test_cost_explorer.py   (after tests/emulator/setup.sh)
Starts its own launcher; each test works in its own account (STS AssumeRole). Dates are
relative to today (UTC), since Estimated depends on it. Exits non-zero on failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LauncherTestCase, run_as_script  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

USAGE = "/_frugal/ce/usage"
RESET = "/_frugal/ce/reset"
DENY = "/_frugal/ce/deny"
PAGE_SIZE = "/_frugal/ce/page-size"
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})
NO_VALIDATION = Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=False)
EC2_OTHER = "EC2 - Other"
CLOUDWATCH = "AmazonCloudWatch"


def month_start(day: dt.date, months_back: int = 0) -> dt.date:
    year, month = day.year, day.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    return dt.date(year, month, 1)


def record(day: dt.date, usage: str, amount: str, quantity: str = "0", unit: str = "N/A",
           region: str = "ap-northeast-2", service: str = EC2_OTHER) -> dict[str, Any]:
    return {"date": day.isoformat(), "usageType": usage, "region": region, "service": service,
            "amountUsd": amount, "usageQuantity": quantity, "usageUnit": unit}


class CostExplorerTest(LauncherTestCase):
    # Two accounts for the whole class, reset before every test: every new account makes
    # moto build IAM backends (with the managed policies) on the recorder's account lookup,
    # which takes seconds on a loaded machine.
    ACCOUNTS = ("700000000001", "700000000002")
    # One boto3 session for every client: a new Session reloads botocore's models (slow).
    boto = boto3.Session(region_name="us-east-1")
    clients: dict[tuple[str, str], Any]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.clients = {}
        sts = cls.boto.client("sts", endpoint_url=cls.url, config=ONE_ATTEMPT)
        for account in cls.ACCOUNTS:
            creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")["Credentials"]
            for name, config in (("ce", ONE_ATTEMPT), ("raw", NO_VALIDATION)):
                cls.clients[(account, name)] = cls.boto.client(
                    "ce", endpoint_url=cls.url, config=config, aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])

    def setUp(self) -> None:
        self._taken = 0
        for account in self.ACCOUNTS:
            self.assertEqual(self.post(RESET, {"account": account})[0], 200)

    def session(self) -> tuple[str, Any]:
        """The next of the class's accounts (fresh: reset in setUp) and its ce client."""
        account = self.ACCOUNTS[self._taken]
        self._taken += 1
        return account, self.clients[(account, "ce")]

    def raw_client(self, account: str) -> Any:
        """A client that skips botocore's parameter validation (to send what AWS would refuse)."""
        return self.clients[(account, "raw")]

    def post(self, path: str, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path,
            data=raw if raw is not None else json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def seed(self, account: str, records: list[dict[str, Any]], replace: bool = False) -> None:
        status, answer = self.post(USAGE, {"account": account, "records": records, "replace": replace})
        self.assertEqual(status, 200, answer)

    def assert_error(self, call: Any, code: str, **kwargs: Any) -> ClientError:
        with self.assertRaises(ClientError) as ctx:
            call(**kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], 400)
        self.assertTrue(ctx.exception.response["Error"]["Message"])
        return ctx.exception

    def check_model(self, client: Any, prefix: str) -> list[str]:
        """Every field of every raw JSON answer must be a member of the botocore output shape
        (the Rust SDK is generated from the same model and drops unknown names)."""
        checked: list[str] = []

        def walk(value: Any, shape: Any, where: str) -> None:
            if shape.type_name == "structure":
                self.assertIsInstance(value, dict, where)
                for key, item in value.items():
                    self.assertIn(key, shape.members, f"{where}.{key} is not in {shape.name}")
                    walk(item, shape.members[key], f"{where}.{key}")
            elif shape.type_name == "list":
                self.assertIsInstance(value, list, where)
                for i, item in enumerate(value):
                    walk(item, shape.member, f"{where}[{i}]")
            elif shape.type_name == "map":
                self.assertIsInstance(value, dict, where)
                for key, item in value.items():
                    walk(key, shape.key, f"{where} key")
                    walk(item, shape.value, f"{where}.{key}")
            elif shape.type_name == "string":
                self.assertIsInstance(value, str, where)
                if shape.enum:
                    self.assertIn(value, shape.enum, where)
            elif shape.type_name == "integer":
                self.assertIsInstance(value, int, where)
            elif shape.type_name == "boolean":
                self.assertIsInstance(value, bool, where)

        def after_call(http_response: Any, model: Any, **_: Any) -> None:
            if http_response.status_code == 200:
                walk(json.loads(http_response.content), model.output_shape, model.name)
                checked.append(model.name)

        client.meta.events.register(f"after-call.{prefix}.*", after_call)
        return checked

    @staticmethod
    def groups(result: dict[str, Any], metric: str = "UnblendedCost") -> dict[tuple[str, ...], str]:
        return {tuple(g["Keys"]): g["Metrics"][metric]["Amount"] for g in result["Groups"]}

    # tests -----------------------------------------------------------------
    def test_monthly_grouped_by_usage_type_with_filter(self) -> None:
        """The operator's query: MONTHLY, UnblendedCost, GroupBy USAGE_TYPE, Filter USAGE_TYPE EQUALS."""
        account, ce = self.session()
        today = dt.datetime.now(dt.timezone.utc).date()
        this_month, last_month, two_back = month_start(today), month_start(today, 1), month_start(today, 2)
        self.seed(account, [
            record(two_back + dt.timedelta(days=27), "APN2-NatGateway-Bytes", "0.59", "10", "GB"),
            record(last_month, "APN2-NatGateway-Bytes", "1.23", "20.8", "GB"),
            record(last_month + dt.timedelta(days=1), "APN2-NatGateway-Bytes", "2.10", "35.6", "GB"),
            record(last_month + dt.timedelta(days=1), "APN2-NatGateway-Hours", "1.416", "24", "Hrs"),
            record(last_month + dt.timedelta(days=2), "APN2-EBS:SnapshotUsage", "9.99", "199.8", "GB-Mo"),  # filtered out
            record(this_month, "APN2-NatGateway-Bytes", "0.5", "8.47", "GB"),
            record(today, "APN2-NatGateway-Bytes", "0.25", "4.2", "GB"),
        ])
        answer = ce.get_cost_and_usage(
            TimePeriod={"Start": last_month.isoformat(), "End": (today + dt.timedelta(days=1)).isoformat()},
            Granularity="MONTHLY",
            Metrics=["UnblendedCost"],
            GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
            Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["APN2-NatGateway-Bytes", "APN2-NatGateway-Hours"],
                                   "MatchOptions": ["EQUALS"]}},
        )
        self.assertEqual(answer["GroupDefinitions"], [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
        self.assertEqual(answer["DimensionValueAttributes"], [])
        self.assertNotIn("NextPageToken", answer)
        last, current = answer["ResultsByTime"]
        self.assertEqual(last["TimePeriod"], {"Start": last_month.isoformat(), "End": this_month.isoformat()})
        self.assertEqual(current["TimePeriod"], {"Start": this_month.isoformat(), "End": (today + dt.timedelta(days=1)).isoformat()})
        self.assertEqual(last["Total"], {})
        self.assertEqual(self.groups(last), {("APN2-NatGateway-Bytes",): "3.33", ("APN2-NatGateway-Hours",): "1.416"})
        self.assertEqual(last["Groups"][0]["Metrics"]["UnblendedCost"]["Unit"], "USD")
        self.assertEqual(set(last["Groups"][0]["Metrics"]), {"UnblendedCost"})
        self.assertFalse(last["Estimated"])
        self.assertEqual(self.groups(current), {("APN2-NatGateway-Bytes",): "0.75"})  # on the 1st both records are today's
        self.assertTrue(current["Estimated"])
        # End is exclusive: up to (not including) today drops today's record (not testable on the 1st,
        # when End = today would leave the current month out altogether).
        answer = ce.get_cost_and_usage(
            TimePeriod={"Start": last_month.isoformat(), "End": today.isoformat()}, Granularity="MONTHLY",
            Metrics=["UnblendedCost", "UsageQuantity"], GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}],
            Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["APN2-NatGateway-Bytes"]}},
        ) if today != this_month else None
        if answer is not None:
            last, current = answer["ResultsByTime"]
            self.assertEqual(current["TimePeriod"]["End"], today.isoformat())
            self.assertEqual(self.groups(current), {("APN2-NatGateway-Bytes",): "0.5"})
            self.assertEqual(last["Groups"][0]["Metrics"]["UsageQuantity"], {"Amount": "56.4", "Unit": "GB"})
            self.assertTrue(current["Estimated"])  # the month's bill is not final yet
        # Start mid-month: the first period starts there.
        mid = last_month + dt.timedelta(days=1)
        [first, _] = ce.get_cost_and_usage(
            TimePeriod={"Start": mid.isoformat(), "End": (this_month + dt.timedelta(days=1)).isoformat()},
            Granularity="MONTHLY", Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(first["TimePeriod"]["Start"], mid.isoformat())
        self.assertEqual(first["Total"], {"UnblendedCost": {"Amount": "13.506", "Unit": "USD"}})  # 2.10 + 1.416 + 9.99
        self.assertEqual(first["Groups"], [])

    def test_daily_filters_and_groups(self) -> None:
        account, ce = self.session()
        day = month_start(dt.datetime.now(dt.timezone.utc).date(), 3) + dt.timedelta(days=9)
        d = [day + dt.timedelta(days=i) for i in range(3)]
        self.seed(account, [
            record(d[0], "APN2-NatGateway-Bytes", "1.00", "16.95", "GB"),
            record(d[0], "APN2-NatGateway-Bytes", "0.50", "8.47", "GB"),  # same day and usage type: summed
            record(d[0], "EU-NatGateway-Bytes", "0.48", "10", "GB", region="eu-west-1"),
            record(d[1], "NatGateway-Bytes", "0.45", "10", "GB", region="us-east-1"),
            record(d[1], "APN2-TimedStorage-ByteHrs", "3.14", "100", "GB-Mo", service=CLOUDWATCH),
            record(d[2], "EU-CW:AlarmMonitorUsage", "0.20", "2", "Alarms", region="eu-west-1", service=CLOUDWATCH),
        ])
        checked = self.check_model(ce, "ce")
        period = {"Start": d[0].isoformat(), "End": (d[2] + dt.timedelta(days=1)).isoformat()}
        daily = ce.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost", "BlendedCost"])
        self.assertNotIn("GroupDefinitions", daily)
        self.assertEqual([r["TimePeriod"]["Start"] for r in daily["ResultsByTime"]], [x.isoformat() for x in d])
        self.assertEqual([r["Total"]["UnblendedCost"]["Amount"] for r in daily["ResultsByTime"]], ["1.98", "3.59", "0.20"])
        self.assertEqual(daily["ResultsByTime"][0]["Total"]["BlendedCost"], {"Amount": "1.98", "Unit": "USD"})
        self.assertFalse(any(r["Estimated"] for r in daily["ResultsByTime"]))

        def total(flt: dict[str, Any]) -> str:
            [r] = ce.get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                                        Filter=flt)["ResultsByTime"]
            return r["Total"]["UnblendedCost"]["Amount"]

        self.assertEqual(total({"Dimensions": {"Key": "REGION", "Values": ["ap-northeast-2"]}}), "4.64")
        self.assertEqual(total({"Dimensions": {"Key": "SERVICE", "Values": [CLOUDWATCH]}}), "3.34")
        self.assertEqual(total({"Dimensions": {"Key": "USAGE_TYPE", "Values": ["NatGateway-Bytes"]}}), "0.45")
        self.assertEqual(total({"Dimensions": {"Key": "USAGE_TYPE", "Values": ["natgateway-bytes"]}}), "0")  # case-sensitive
        self.assertEqual(total({"And": [{"Dimensions": {"Key": "REGION", "Values": ["eu-west-1"]}},
                                        {"Dimensions": {"Key": "SERVICE", "Values": [EC2_OTHER]}}]}), "0.48")
        self.assertEqual(total({"Or": [{"Dimensions": {"Key": "REGION", "Values": ["eu-west-1"]}},
                                       {"Dimensions": {"Key": "USAGE_TYPE", "Values": ["NatGateway-Bytes"]}}]}), "1.13")
        self.assertEqual(total({"Not": {"Dimensions": {"Key": "SERVICE", "Values": [EC2_OTHER]}}}), "3.34")
        self.assertEqual(total({"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [account]}}), "5.77")

        grouped = ce.get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost", "UsageQuantity"],
                                        GroupBy=[{"Type": "DIMENSION", "Key": "REGION"}, {"Type": "DIMENSION", "Key": "SERVICE"}])
        [r] = grouped["ResultsByTime"]
        self.assertEqual(self.groups(r), {
            ("ap-northeast-2", CLOUDWATCH): "3.14", ("ap-northeast-2", EC2_OTHER): "1.50",
            ("eu-west-1", CLOUDWATCH): "0.20", ("eu-west-1", EC2_OTHER): "0.48", ("us-east-1", EC2_OTHER): "0.45"})
        units = {tuple(g["Keys"]): g["Metrics"]["UsageQuantity"]["Unit"] for g in r["Groups"]}
        self.assertEqual(units[("ap-northeast-2", EC2_OTHER)], "GB")
        self.assertEqual(units[("eu-west-1", CLOUDWATCH)], "Alarms")
        self.assertEqual([g["Keys"] for g in r["Groups"]], sorted(g["Keys"] for g in r["Groups"]))
        # Daily groups: a day without data has no groups.
        by_usage = ce.get_cost_and_usage(
            TimePeriod={"Start": (d[0] - dt.timedelta(days=1)).isoformat(), "End": period["End"]}, Granularity="DAILY",
            Metrics=["UnblendedCost"], GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])
        self.assertEqual([len(x["Groups"]) for x in by_usage["ResultsByTime"]], [0, 2, 2, 1])
        self.assertEqual(self.groups(by_usage["ResultsByTime"][1])[("APN2-NatGateway-Bytes",)], "1.50")
        linked = ce.get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                                       GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}])
        self.assertEqual(self.groups(linked["ResultsByTime"][0]), {(account,): "5.77"})
        self.assertEqual(len(checked), 12)  # every answer above fits the model
        self.assertEqual(linked["DimensionValueAttributes"], [{"Value": account, "Attributes": {"description": account}}])
        tagged = ce.get_cost_and_usage(TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"],
                                       GroupBy=[{"Type": "TAG", "Key": "team"}])
        self.assertEqual(self.groups(tagged["ResultsByTime"][0]), {("team$",): "5.77"})

    def test_empty_account_and_isolation(self) -> None:
        account_a, ce_a = self.session()
        account_b, ce_b = self.session()
        day = month_start(dt.datetime.now(dt.timezone.utc).date(), 2)
        self.seed(account_a, [record(day, "APN2-NatGateway-Bytes", "5")])
        period = {"Start": day.isoformat(), "End": (day + dt.timedelta(days=1)).isoformat()}
        [r] = ce_b.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"], {"UnblendedCost": {"Amount": "0", "Unit": "USD"}})
        [r] = ce_b.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost"],
                                      GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}])["ResultsByTime"]
        self.assertEqual((r["Total"], r["Groups"]), ({}, []))
        [r] = ce_a.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"]["UnblendedCost"]["Amount"], "5")
        # replace, reset
        self.seed(account_a, [record(day, "APN2-NatGateway-Bytes", "7")], replace=True)
        [r] = ce_a.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"]["UnblendedCost"]["Amount"], "7")
        self.assertEqual(self.post(RESET, {"account": account_a}), (200, {"account": account_a}))
        [r] = ce_a.get_cost_and_usage(TimePeriod=period, Granularity="DAILY", Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"]["UnblendedCost"]["Amount"], "0")

    def test_pagination(self) -> None:
        account, ce = self.session()
        start = month_start(dt.datetime.now(dt.timezone.utc).date(), 4)
        self.seed(account, [record(start + dt.timedelta(days=i), f"APN2-Usage-{u}", "1") for i in range(3) for u in range(3)])
        self.assertEqual(self.post(PAGE_SIZE, {"account": account, "groups": 4})[0], 200)
        request = {"TimePeriod": {"Start": start.isoformat(), "End": (start + dt.timedelta(days=3)).isoformat()},
                   "Granularity": "DAILY", "Metrics": ["UnblendedCost"], "GroupBy": [{"Type": "DIMENSION", "Key": "USAGE_TYPE"}]}
        pages, token = [], None
        while True:
            answer = ce.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
            pages.append([(r["TimePeriod"]["Start"], len(r["Groups"])) for r in answer["ResultsByTime"]])
            token = answer.get("NextPageToken")
            if not token:
                break
        d = [(start + dt.timedelta(days=i)).isoformat() for i in range(3)]
        self.assertEqual(pages, [[(d[0], 3), (d[1], 1)], [(d[1], 2), (d[2], 2)], [(d[2], 1)]])
        first = ce.get_cost_and_usage(**request)
        changed = dict(request, Metrics=["UnblendedCost", "UsageQuantity"])
        self.assert_error(ce.get_cost_and_usage, "RequestChangedException", **changed, NextPageToken=first["NextPageToken"])
        self.assert_error(ce.get_cost_and_usage, "InvalidNextTokenException", **request, NextPageToken="garbage!")
        self.post(PAGE_SIZE, {"account": account, "groups": None})
        self.assertNotIn("NextPageToken", ce.get_cost_and_usage(**request))

    def test_errors(self) -> None:
        account, ce = self.session()
        raw = self.raw_client(account)
        ok = {"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"}, "Granularity": "MONTHLY", "Metrics": ["UnblendedCost"]}
        cases = [
            dict(ok, TimePeriod={"Start": "2026-02-01", "End": "2026-02-01"}),  # Start == End
            dict(ok, TimePeriod={"Start": "2026-02-02", "End": "2026-02-01"}),
            dict(ok, TimePeriod={"Start": "2026-02-30", "End": "2026-03-01"}),
            dict(ok, TimePeriod={"Start": "01/02/2026", "End": "2026-03-01"}),
            dict(ok, Granularity="WEEKLY"),
            dict(ok, Metrics=[]),
            dict(ok, Metrics=["Cost"]),
            dict(ok, GroupBy=[{"Type": "DIMENSION", "Key": "USAGE_TYPE"}] * 2),
            dict(ok, GroupBy=[{"Type": "DIMENSION", "Key": k} for k in ("USAGE_TYPE", "REGION", "SERVICE")]),
            dict(ok, GroupBy=[{"Type": "DIMENSION", "Key": "NOPE"}]),
            dict(ok, Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["x"]},
                             "Not": {"Dimensions": {"Key": "REGION", "Values": ["y"]}}}),
            dict(ok, Filter={"Dimensions": {"Key": "USAGE_TYPE", "Values": ["x"], "MatchOptions": ["STARTS_WITH"]}}),
            dict(ok, Filter={"And": [{"Dimensions": {"Key": "USAGE_TYPE", "Values": ["x"]}}]}),
            dict(ok, Filter={}),
            dict(ok, GroupBy=[{"Type": "DIMENSION", "Key": ""}]),
            dict(ok, GroupBy=[{"Type": "TAG"}]),
        ]
        for case in cases:
            with self.subTest(case=case):
                self.assert_error(raw.get_cost_and_usage, "ValidationException", **case)
        err = self.assert_error(raw.get_cost_and_usage, "ValidationException", **cases[12])
        self.assertEqual(err.response["Error"]["Message"], "And expression must have at least 2 operands")
        err = self.assert_error(raw.get_cost_and_usage, "ValidationException", **cases[1])
        self.assertEqual(err.response["Error"]["Message"], "Start date (and hour) should be before end date (and hour)")
        missing = {k: v for k, v in ok.items() if k != "TimePeriod"}
        self.assert_error(raw.get_cost_and_usage, "ValidationException", **missing)
        self.assertEqual(ce.get_cost_and_usage(**ok)["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"], "0")

    def test_deny_and_recorder(self) -> None:
        account_a, ce_a = self.session()
        account_b, ce_b = self.session()
        urllib.request.urlopen(urllib.request.Request(self.url + f"/_frugal/requests?account={account_a}", method="DELETE"))
        request = {"TimePeriod": {"Start": "2026-01-01", "End": "2026-02-01"}, "Granularity": "MONTHLY", "Metrics": ["UnblendedCost"]}
        self.assertEqual(self.post(DENY, {"account": account_a, "error": "DataUnavailableException"})[0], 200)
        self.assert_error(ce_a.get_cost_and_usage, "DataUnavailableException", **request)
        ce_b.get_cost_and_usage(**request)
        self.post(DENY, {"account": account_a, "error": "LimitExceededException", "times": 1})
        self.assert_error(ce_a.get_cost_and_usage, "LimitExceededException", **request)
        ce_a.get_cost_and_usage(**request)
        self.post(DENY, {"account": account_a, "error": "AccessDeniedException"})
        err = self.assert_error(ce_a.get_cost_and_usage, "AccessDeniedException", **request)
        self.assertIn("ce:GetCostAndUsage", err.response["Error"]["Message"])
        self.post(DENY, {"account": account_a, "error": None})
        ce_a.get_cost_and_usage(**request)
        for bad in ({"account": account_a}, {"account": account_a, "error": "ThrottlingException"},
                    {"account": account_a, "error": None, "times": 1.5}, {"account": "x", "error": None}):
            status, body = self.post(DENY, bad)
            self.assertEqual(status, 400, (bad, body))
        with urllib.request.urlopen(self.url + f"/_frugal/requests?account={account_a}") as resp:
            ops = [(r["service"], r["operation"]) for r in json.loads(resp.read())]
        self.assertEqual(ops, [("ce", "GetCostAndUsage")] * 5)

    def test_usage_endpoint_validation(self) -> None:
        account, ce = self.session()
        good = record(dt.date(2026, 1, 5), "APN2-NatGateway-Bytes", "1.23", "20.8", "GB")
        bad_cases: list[Any] = [
            {"account": account},
            {"account": account, "records": []},
            {"account": account, "records": [dict(good, date="2026-1-5")]},
            {"account": account, "records": [dict(good, date="2026-02-30")]},
            {"account": account, "records": [dict(good, amountUsd="cheap")]},
            {"account": account, "records": [dict(good, amountUsd=None)]},
            {"account": account, "records": [dict(good, usageQuantity="-1")]},
            {"account": account, "records": [{k: v for k, v in good.items() if k != "usageType"}]},
            {"account": account, "records": [dict(good, surprise=1)]},
            {"account": account, "records": [good], "replace": "yes"},
            {"account": "123", "records": [good]},
            {"account": account, "records": [good, dict(good, date="nope")]},  # nothing stored
        ]
        for case in bad_cases:
            status, body = self.post(USAGE, case)
            self.assertEqual(status, 400, (case, body))
            self.assertIsInstance(body["error"], str)
        self.assertEqual(self.post(USAGE, None, raw=b"{nope")[0], 400)
        [r] = ce.get_cost_and_usage(TimePeriod={"Start": "2026-01-01", "End": "2026-02-01"}, Granularity="MONTHLY",
                                    Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"]["UnblendedCost"]["Amount"], "0")
        status, body = self.post(USAGE, {"account": account, "records": [good, dict(good, amountUsd=2)]})
        self.assertEqual((status, body), (200, {"account": account, "records": 2}))
        [r] = ce.get_cost_and_usage(TimePeriod={"Start": "2026-01-01", "End": "2026-02-01"}, Granularity="MONTHLY",
                                    Metrics=["UnblendedCost"])["ResultsByTime"]
        self.assertEqual(r["Total"]["UnblendedCost"]["Amount"], "3.23")


if __name__ == "__main__":
    run_as_script("cost explorer tests")
