#!/usr/bin/env python3
"""Tests for P1, the Price List Query API (frugal_emulator/pricing.py and pricing_control.py).

Run:  .venv/bin/python tests/emulator/test_pricing.py   (after tests/emulator/setup.sh)
Starts its own launcher; tests that deny work in their own account (STS AssumeRole).
Tests that change the (global) price list use skus of their own and restore the default
list with /_frugal/pricing/reset. Exits non-zero on failure.
"""

from __future__ import annotations

import decimal
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LauncherTestCase, NO_RETRY, run_as_script  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

PRODUCTS = "/_frugal/pricing/products"
RESET = "/_frugal/pricing/reset"
DENY = "/_frugal/pricing/deny"
# harness.NO_RETRY still allows one retry (botocore's "max_attempts" counts retries); a
# throttled call must fail at once here, so that denies with "times" count calls exactly.
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1, "mode": "standard"})
NO_VALIDATION = Config(retries={"total_max_attempts": 1, "mode": "standard"}, parameter_validation=False)

# (service, family, region, usage type) -> (unit, USD): what the operator looks up.
EXPECTED = {
    ("AmazonEC2", "NAT Gateway", "us-east-1", "NatGateway-Hours"): ("Hrs", "0.045"),
    ("AmazonEC2", "NAT Gateway", "us-east-1", "NatGateway-Bytes"): ("GB", "0.045"),
    ("AmazonEC2", "NAT Gateway", "ap-northeast-2", "APN2-NatGateway-Hours"): ("Hrs", "0.059"),
    ("AmazonEC2", "NAT Gateway", "ap-northeast-2", "APN2-NatGateway-Bytes"): ("GB", "0.059"),
    ("AmazonEC2", "NAT Gateway", "eu-west-1", "EU-NatGateway-Hours"): ("Hrs", "0.048"),
    ("AmazonEC2", "NAT Gateway", "eu-west-1", "EU-NatGateway-Bytes"): ("GB", "0.048"),
    ("AmazonEC2", "Storage Snapshot", "us-east-1", "EBS:SnapshotUsage"): ("GB-Mo", "0.05"),
    ("AmazonEC2", "Storage Snapshot", "ap-northeast-2", "APN2-EBS:SnapshotUsage"): ("GB-Mo", "0.05"),
    ("AmazonEC2", "Storage Snapshot", "eu-west-1", "EU-EBS:SnapshotUsage"): ("GB-Mo", "0.05"),
    ("AmazonEC2", "Storage Snapshot", "us-east-1", "EBS:SnapshotArchiveStorage"): ("GB-Mo", "0.0125"),
    ("AmazonEC2", "Storage Snapshot", "ap-northeast-2", "APN2-EBS:SnapshotArchiveStorage"): ("GB-Mo", "0.0125"),
    ("AmazonEC2", "Storage Snapshot", "eu-west-1", "EU-EBS:SnapshotArchiveStorage"): ("GB-Mo", "0.0125"),
    ("AmazonCloudWatch", "Storage Snapshot", "us-east-1", "USE1-TimedStorage-ByteHrs"): ("GB-Mo", "0.03"),
    ("AmazonCloudWatch", "Storage Snapshot", "eu-west-1", "EU-TimedStorage-ByteHrs"): ("GB-Mo", "0.03"),
    ("AmazonCloudWatch", "Storage Snapshot", "ap-northeast-2", "APN2-TimedStorage-ByteHrs"): ("GB-Mo", "0.0314"),
    ("AmazonCloudWatch", "Alarm", "us-east-1", "USE1-CW:AlarmMonitorUsage"): ("Alarms", "0.10"),
    ("AmazonCloudWatch", "Alarm", "eu-west-1", "EU-CW:AlarmMonitorUsage"): ("Alarms", "0.10"),
    ("AmazonCloudWatch", "Alarm", "ap-northeast-2", "APN2-CW:AlarmMonitorUsage"): ("Alarms", "0.10"),
}


def on_demand_dimension(doc: dict[str, Any]) -> dict[str, Any]:
    [term] = doc["terms"]["OnDemand"].values()
    return next(d for d in term["priceDimensions"].values() if d["beginRange"] == "0")


class PricingTest(LauncherTestCase):
    _next_account = 600000000000

    # helpers ---------------------------------------------------------------
    def session(self) -> tuple[str, boto3.Session]:
        PricingTest._next_account += 1
        account = str(PricingTest._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name="us-east-1", config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")["Credentials"]
        return account, boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name="us-east-1",
        )

    def pricing(self, session: boto3.Session | None = None, region: str = "us-east-1", config: Config = ONE_ATTEMPT) -> Any:
        if session is None:
            return boto3.client("pricing", endpoint_url=self.url, region_name=region, config=config)
        return session.client("pricing", endpoint_url=self.url, region_name=region, config=config)

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

    def assert_error(self, call: Any, code: str, http_status: int, **kwargs: Any) -> ClientError:
        with self.assertRaises(ClientError) as ctx:
            call(**kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], http_status)
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

    def lookup(self, client: Any, service: str, region: str, family: str) -> list[dict[str, Any]]:
        """The operator's contract: TERM_MATCH regionCode + productFamily, aws_v1, all pages."""
        docs, token = [], None
        while True:
            kwargs: dict[str, Any] = {
                "ServiceCode": service,
                "Filters": [
                    {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
                    {"Type": "TERM_MATCH", "Field": "productFamily", "Value": family},
                ],
                "FormatVersion": "aws_v1",
            }
            if token:
                kwargs["NextToken"] = token
            answer = client.get_products(**kwargs)
            self.assertEqual(answer["FormatVersion"], "aws_v1")
            docs += [json.loads(item) for item in answer["PriceList"]]
            token = answer.get("NextToken")
            if not token:
                return docs

    def price(self, client: Any, service: str, region: str, family: str, usage: str) -> tuple[str, str]:
        docs = self.lookup(client, service, region, family)
        [doc] = [d for d in docs if d["product"]["attributes"]["usagetype"] in (usage,)
                 or d["product"]["attributes"]["usagetype"].endswith("-" + usage)]
        dim = on_demand_dimension(doc)
        return dim["unit"], dim["pricePerUnit"]["USD"]

    # tests -----------------------------------------------------------------
    def test_default_price_list_for_the_three_regions(self) -> None:
        client = self.pricing()
        checked = self.check_model(client, "pricing")
        for (service, family, region, usage), (unit, usd) in EXPECTED.items():
            docs = self.lookup(client, service, region, family)
            self.assertGreaterEqual(len(docs), 2, (service, family, region))  # distractors in every family
            [doc] = [d for d in docs if d["product"]["attributes"]["usagetype"] == usage]
            product = doc["product"]
            self.assertEqual(product["productFamily"], family)
            self.assertEqual(doc["serviceCode"], service)
            attrs = product["attributes"]
            self.assertEqual((attrs["servicecode"], attrs["regionCode"], attrs["locationType"]), (service, region, "AWS Region"))
            self.assertIn("location", attrs)
            self.assertRegex(product["sku"], r"^[A-Z0-9]{16}$")
            [(term_key, term)] = doc["terms"]["OnDemand"].items()
            self.assertEqual(term_key, f"{product['sku']}.JRTCKXETXF")
            self.assertEqual((term["sku"], term["offerTermCode"], term["termAttributes"]), (product["sku"], "JRTCKXETXF", {}))
            [(rate_key, dim)] = term["priceDimensions"].items()
            self.assertEqual(dim["rateCode"], rate_key)
            self.assertTrue(rate_key.startswith(term_key + "."))
            self.assertEqual((dim["unit"], dim["beginRange"], dim["endRange"], dim["appliesTo"]), (unit, "0", "Inf", []))
            self.assertEqual(decimal.Decimal(dim["pricePerUnit"]["USD"]), decimal.Decimal(usd), (region, usage))
            self.assertRegex(dim["pricePerUnit"]["USD"], r"^\d+\.\d{10}$")
            self.assertIn("version", doc)
            self.assertIn("publicationDate", doc)
            # The operator's pick (usagetype equals X or ends with -X) finds exactly this product.
            bare = next((usage[len(p):] for p in ("USE1-", "EU-", "APN2-") if usage.startswith(p)), usage)
            self.assertEqual(self.price(client, service, region, family, bare), (unit, dim["pricePerUnit"]["USD"]))
        # The operator's "equals X or ends with -X" pick, for Seoul's NAT gateway.
        self.assertEqual(self.price(client, "AmazonEC2", "ap-northeast-2", "NAT Gateway", "NatGateway-Bytes"), ("GB", "0.0590000000"))
        self.assertEqual(self.price(client, "AmazonEC2", "us-east-1", "NAT Gateway", "NatGateway-Hours"), ("Hrs", "0.0450000000"))
        self.assertEqual(self.price(client, "AmazonCloudWatch", "ap-northeast-2", "Storage Snapshot", "TimedStorage-ByteHrs"),
                         ("GB-Mo", "0.0314000000"))
        self.assertEqual(self.price(client, "AmazonCloudWatch", "us-east-1", "Alarm", "CW:AlarmMonitorUsage"), ("Alarms", "0.1000000000"))
        client.describe_services()
        client.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="usagetype")
        self.assertEqual(set(checked), {"GetProducts", "DescribeServices", "GetAttributeValues"})
        # Products of every region come from the us-east-1 endpoint; eu-central-1 and ap-south-1 serve the same list.
        for region in ("eu-central-1", "ap-south-1"):
            self.assertEqual(self.price(self.pricing(region=region), "AmazonEC2", "eu-west-1", "NAT Gateway", "NatGateway-Bytes"),
                             ("GB", "0.0480000000"))

    def test_filters(self) -> None:
        client = self.pricing()

        def usages(*filters: tuple[str, str, str], service: str = "AmazonEC2") -> list[str]:
            answer = client.get_products(ServiceCode=service, Filters=[{"Type": t, "Field": f, "Value": v} for t, f, v in filters])
            return sorted(json.loads(item)["product"]["attributes"]["usagetype"] for item in answer["PriceList"])

        self.assertEqual(usages(("TERM_MATCH", "regionCode", "ap-northeast-2"), ("TERM_MATCH", "productFamily", "Storage Snapshot")),
                         ["APN2-EBS:FastSnapshotRestore", "APN2-EBS:SnapshotArchiveRetrieval",
                          "APN2-EBS:SnapshotArchiveStorage", "APN2-EBS:SnapshotUsage"])
        self.assertEqual(usages(("TERM_MATCH", "usagetype", "APN2-NatGateway-Bytes")), ["APN2-NatGateway-Bytes"])
        self.assertEqual(usages(("TERM_MATCH", "usagetype", "NatGateway-Bytes")), ["NatGateway-Bytes"])  # exact, not a suffix
        self.assertEqual(usages(("TERM_MATCH", "ServiceCode", "AmazonEC2"), ("TERM_MATCH", "usagetype", "EU-NatGateway-Hours")),
                         ["EU-NatGateway-Hours"])
        self.assertEqual(usages(("TERM_MATCH", "ServiceCode", "AmazonCloudWatch")), [])  # the service must match as well
        self.assertEqual(usages(("EQUALS", "regionCode", "eu-west-1"), ("CONTAINS", "usagetype", "NatGateway")),
                         ["EU-NatGateway-Bytes", "EU-NatGateway-Hours"])
        self.assertEqual(usages(("ANY_OF", "regionCode", "us-east-1,eu-west-1"), ("TERM_MATCH", "productFamily", "NAT Gateway")),
                         ["EU-NatGateway-Bytes", "EU-NatGateway-Hours", "NatGateway-Bytes", "NatGateway-Hours"])
        self.assertEqual(usages(("NONE_OF", "regionCode", "us-east-1,eu-west-1,us-west-2"), ("TERM_MATCH", "productFamily", "NAT Gateway")),
                         ["APN2-NatGateway-Bytes", "APN2-NatGateway-Hours"])
        self.assertEqual(usages(("TERM_MATCH", "regionCode", "ap-northeast-2"), ("TERM_MATCH", "productFamily", "Alarm"),
                                service="AmazonCloudWatch"),
                         ["APN2-CW:AlarmMonitorUsage", "APN2-CW:HighResAlarmMonitorUsage"])
        self.assertEqual(usages(("TERM_MATCH", "noSuchAttribute", "x")), [])
        self.assertEqual(usages(("TERM_MATCH", "regionCode", "AP-NORTHEAST-2")), [])
        everything = usages()
        self.assertEqual(len(everything), 7 * 4)  # 7 EC2 products in each of 4 regions

    def test_pagination(self) -> None:
        client = self.pricing()
        filters = [{"Type": "TERM_MATCH", "Field": "productFamily", "Value": "Storage Snapshot"}]
        pages, token = [], None
        while True:
            kwargs: dict[str, Any] = {"ServiceCode": "AmazonEC2", "Filters": filters, "MaxResults": 3}
            if token:
                kwargs["NextToken"] = token
            answer = client.get_products(**kwargs)
            pages.append([json.loads(i)["product"]["sku"] for i in answer["PriceList"]])
            token = answer.get("NextToken")
            if token is None:
                break
        self.assertEqual([len(p) for p in pages], [3, 3, 3, 3, 3, 1])  # 16 products, no token on the last page
        skus = [s for p in pages for s in p]
        self.assertEqual(len(set(skus)), 16)
        whole = client.get_products(ServiceCode="AmazonEC2", Filters=filters)
        self.assertNotIn("NextToken", whole)
        self.assertEqual(sorted(json.loads(i)["product"]["sku"] for i in whole["PriceList"]), sorted(skus))
        exact = client.get_products(ServiceCode="AmazonEC2", Filters=filters, MaxResults=16)
        self.assertNotIn("NextToken", exact)
        # botocore's paginator works too.
        paged = [i for page in client.get_paginator("get_products").paginate(
            ServiceCode="AmazonEC2", Filters=filters, PaginationConfig={"PageSize": 5}) for i in page["PriceList"]]
        self.assertEqual(len(paged), 16)
        # A token belongs to its query.
        first = client.get_products(ServiceCode="AmazonEC2", Filters=filters, MaxResults=3)
        self.assert_error(client.get_products, "InvalidNextTokenException", 400, ServiceCode="AmazonEC2",
                          NextToken=first["NextToken"])
        self.assert_error(client.get_products, "InvalidNextTokenException", 400, ServiceCode="AmazonEC2",
                          Filters=filters, NextToken="garbage!")

    def test_errors(self) -> None:
        client = self.pricing()
        raw = self.pricing(config=NO_VALIDATION)
        self.assert_error(client.get_products, "NotFoundException", 400, ServiceCode="AmazonNope")
        err = self.assert_error(raw.get_products, "InvalidParameterException", 400)  # no ServiceCode
        self.assertEqual(err.response["Error"]["Message"], "Input Parameters are invalid. serviceCode cannot be null or empty")
        self.assert_error(raw.get_products, "InvalidParameterException", 400, ServiceCode="AmazonEC2", MaxResults=0)
        self.assert_error(client.get_products, "InvalidParameterException", 400, ServiceCode="AmazonEC2", MaxResults=101)
        self.assert_error(raw.get_products, "InvalidParameterException", 400, ServiceCode="AmazonEC2",
                          Filters=[{"Type": "REGEX", "Field": "usagetype", "Value": ".*"}])
        self.assert_error(client.get_products, "InvalidParameterException", 400, ServiceCode="AmazonEC2", FormatVersion="aws_v2")
        # Regions without a Price List endpoint (the SDK client must be built for us-east-1).
        self.assert_error(self.pricing(region="ap-northeast-2").get_products, "UnknownEndpointException", 400, ServiceCode="AmazonEC2")
        # The raw awsJson error body.
        req = urllib.request.Request(
            self.url + "/", data=b'{"ServiceCode": "AmazonNope"}', method="POST",
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AWSPriceListService.GetProducts",
                     "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261203/us-east-1/pricing/aws4_request, "
                                      "SignedHeaders=host, Signature=0"})
        with self.assertRaises(urllib.error.HTTPError) as ctx:
            urllib.request.urlopen(req, timeout=30)
        self.assertEqual(ctx.exception.code, 400)
        self.assertEqual(ctx.exception.headers["x-amzn-ErrorType"], "NotFoundException")
        body = json.loads(ctx.exception.read())
        self.assertEqual(body["__type"], "NotFoundException")
        self.assertIn("AmazonNope", body["Message"])

    def test_describe_services_and_attribute_values(self) -> None:
        client = self.pricing()
        services = client.describe_services()["Services"]
        self.assertEqual([s["ServiceCode"] for s in services], ["AmazonCloudWatch", "AmazonEC2"])
        [ec2] = client.describe_services(ServiceCode="AmazonEC2", FormatVersion="aws_v1")["Services"]
        self.assertIn("usagetype", ec2["AttributeNames"])
        self.assertIn("regionCode", ec2["AttributeNames"])
        first = client.describe_services(MaxResults=1)
        self.assertEqual(len(first["Services"]), 1)
        second = client.describe_services(MaxResults=1, NextToken=first["NextToken"])
        self.assertEqual([s["ServiceCode"] for s in second["Services"]], ["AmazonEC2"])
        self.assertNotIn("NextToken", second)
        self.assert_error(client.describe_services, "NotFoundException", 400, ServiceCode="AmazonNope")
        values = client.get_attribute_values(ServiceCode="AmazonEC2", AttributeName="regionCode")["AttributeValues"]
        self.assertEqual([v["Value"] for v in values], ["ap-northeast-2", "eu-west-1", "us-east-1", "us-west-2"])

    def test_control_add_replace_reset(self) -> None:
        client = self.pricing()
        try:
            status, answer = self.post(PRODUCTS, [{"serviceCode": "AmazonEC2", "productFamily": "NAT Gateway",
                                                   "regionCode": "ap-southeast-2", "usagetype": "APS2-NatGateway-Bytes",
                                                   "unit": "GB", "usd": "0.059"}])
            self.assertEqual(status, 200, answer)
            [sku] = answer["skus"]
            self.assertEqual(self.price(client, "AmazonEC2", "ap-southeast-2", "NAT Gateway", "NatGateway-Bytes"), ("GB", "0.059"))
            # Replace Seoul's NAT GB price with a whole document (sku of the default product).
            [seoul] = [d for d in self.lookup(client, "AmazonEC2", "ap-northeast-2", "NAT Gateway")
                       if d["product"]["attributes"]["usagetype"] == "APN2-NatGateway-Bytes"]
            on_demand_dimension(seoul)["pricePerUnit"]["USD"] = "0.0700000000"
            status, answer = self.post(PRODUCTS, seoul)
            self.assertEqual((status, answer), (200, {"skus": [seoul["product"]["sku"]]}))
            self.assertEqual(self.price(client, "AmazonEC2", "ap-northeast-2", "NAT Gateway", "NatGateway-Bytes"), ("GB", "0.0700000000"))
            self.assertEqual(len(self.lookup(client, "AmazonEC2", "ap-northeast-2", "NAT Gateway")), 2)
            # A new service becomes known (DescribeServices, GetProducts).
            tiered = {
                "product": {"sku": "TESTS3SKU0000001", "productFamily": "Storage",
                            "attributes": {"regionCode": "us-east-1", "usagetype": "TimedStorage-ByteHrs"}},
                "serviceCode": "AmazonS3",
                "terms": {"OnDemand": {"TESTS3SKU0000001.JRTCKXETXF": {"priceDimensions": {
                    "TESTS3SKU0000001.JRTCKXETXF.PGHJ3S3EYE": {"unit": "GB-Mo", "beginRange": "0", "endRange": "51200",
                                                               "pricePerUnit": {"USD": "0.0230000000"}},
                    "TESTS3SKU0000001.JRTCKXETXF.D42MF2PVJS": {"unit": "GB-Mo", "beginRange": "51200", "endRange": "Inf",
                                                               "pricePerUnit": {"USD": "0.0220000000"}}}}}},
            }
            self.assertEqual(self.post(PRODUCTS, tiered)[0], 200)
            [doc] = [json.loads(i) for i in client.get_products(ServiceCode="AmazonS3")["PriceList"]]
            self.assertEqual(doc["product"]["attributes"]["servicecode"], "AmazonS3")
            self.assertEqual(on_demand_dimension(doc)["pricePerUnit"]["USD"], "0.0230000000")
            self.assertEqual(list(doc), ["product", "serviceCode", "terms", "version", "publicationDate"])
            self.assertIn("AmazonS3", [s["ServiceCode"] for s in client.describe_services()["Services"]])
            # Validation: nothing of a bad batch is stored.
            bad_cases: list[Any] = [
                [],
                {"serviceCode": "AmazonEC2"},
                {**tiered, "serviceCode": ""},
                {**tiered, "surprise": 1},
                {**tiered, "product": {**tiered["product"], "attributes": {"usagetype": "x"}}},
                {**tiered, "product": {**tiered["product"], "attributes": {"regionCode": "us-east-1", "usagetype": "x", "servicecode": "AmazonEC2"}}},
                {**tiered, "terms": {"OnDemand": {}}},
                {**tiered, "terms": {"OnDemand": {"A.B": {"priceDimensions": {}}}}},
                {**tiered, "terms": {"OnDemand": {"A.B": {"priceDimensions": {"A.B.C": {"unit": "GB", "pricePerUnit": {"USD": 0.02}}}}}}},
                {**tiered, "terms": {"OnDemand": {"A.B": {"priceDimensions": {"A.B.C": {"unit": "GB", "pricePerUnit": {"USD": "cheap"}}}}}}},
                {**tiered, "terms": {"OnDemand": {"A.B": {"priceDimensions": {"A.B.C": {"pricePerUnit": {"USD": "1"}}}}}}},
                {"serviceCode": "AmazonEC2", "productFamily": "NAT Gateway", "regionCode": "x", "usagetype": "y", "unit": "GB", "usd": "-1"},
                [{"serviceCode": "AmazonEC2", "productFamily": "NAT Gateway", "regionCode": "zz-test-1", "usagetype": "ZZ-NatGateway-Bytes",
                  "unit": "GB", "usd": "1"}, {**tiered, "serviceCode": ""}],
            ]
            for case in bad_cases:
                status, body = self.post(PRODUCTS, case)
                self.assertEqual(status, 400, (case, body))
                self.assertIsInstance(body["error"], str)
            self.assertEqual(self.post(PRODUCTS, None, raw=b"{nope")[0], 400)
            self.assertEqual(self.lookup(client, "AmazonEC2", "zz-test-1", "NAT Gateway"), [])
        finally:
            status, answer = self.post(RESET, {})
        self.assertEqual(status, 200, answer)
        self.assertEqual(self.price(client, "AmazonEC2", "ap-northeast-2", "NAT Gateway", "NatGateway-Bytes"), ("GB", "0.0590000000"))
        self.assertEqual(self.lookup(client, "AmazonEC2", "ap-southeast-2", "NAT Gateway"), [])
        self.assert_error(client.get_products, "NotFoundException", 400, ServiceCode="AmazonS3")

    def test_deny_per_account_and_recorder(self) -> None:
        account_a, session_a = self.session()
        account_b, session_b = self.session()
        a, b = self.pricing(session_a), self.pricing(session_b)
        urllib.request.urlopen(urllib.request.Request(self.url + f"/_frugal/requests?account={account_a}", method="DELETE"))
        status, answer = self.post(DENY, {"account": account_a, "error": "AccessDeniedException"})
        self.assertEqual(status, 200, answer)
        err = self.assert_error(a.get_products, "AccessDeniedException", 400, ServiceCode="AmazonEC2")
        self.assertIn(account_a, err.response["Error"]["Message"])
        self.assert_error(a.describe_services, "AccessDeniedException", 400)
        self.assertEqual(self.price(b, "AmazonEC2", "ap-northeast-2", "NAT Gateway", "NatGateway-Bytes"), ("GB", "0.0590000000"))
        self.post(DENY, {"account": account_a, "error": "ThrottlingException", "times": 2})
        self.assert_error(a.get_products, "ThrottlingException", 400, ServiceCode="AmazonEC2")
        self.assert_error(a.get_products, "ThrottlingException", 400, ServiceCode="AmazonEC2")
        self.assertTrue(a.get_products(ServiceCode="AmazonEC2", MaxResults=1)["PriceList"])
        self.post(DENY, {"account": account_a, "error": "InternalErrorException"})
        self.assert_error(a.get_products, "InternalErrorException", 500, ServiceCode="AmazonEC2")
        status, answer = self.post(DENY, {"account": account_a, "error": None})
        self.assertEqual(answer, {"account": account_a, "error": None, "times": None})
        self.assertTrue(a.get_products(ServiceCode="AmazonEC2", MaxResults=1)["PriceList"])
        for bad in ({"account": account_a}, {"account": account_a, "error": "Teapot"}, {"account": "12", "error": None},
                    {"account": account_a, "error": "ThrottlingException", "times": 0}, {"account": account_a, "error": None, "x": 1}):
            status, body = self.post(DENY, bad)
            self.assertEqual(status, 400, (bad, body))
        # A deny survives a price-list reset (tests run in parallel; the list is global, the deny per account).
        self.post(DENY, {"account": account_a, "error": "ThrottlingException"})
        self.post(RESET, {})
        self.assert_error(a.get_products, "ThrottlingException", 400, ServiceCode="AmazonEC2")
        self.post(DENY, {"account": account_a, "error": None})
        with urllib.request.urlopen(self.url + f"/_frugal/requests?account={account_a}") as resp:
            ops = [(r["service"], r["operation"], r["region"]) for r in json.loads(resp.read())]
        self.assertEqual(ops, [("pricing", "GetProducts", "us-east-1"), ("pricing", "DescribeServices", "us-east-1")]
                         + [("pricing", "GetProducts", "us-east-1")] * 6)


if __name__ == "__main__":
    run_as_script("pricing tests")
