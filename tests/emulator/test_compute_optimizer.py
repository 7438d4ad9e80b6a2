#!/usr/bin/env python3
"""Tests for C1, Compute Optimizer (frugal_emulator/compute_optimizer.py and
compute_optimizer_control.py).

Run:  .venv/bin/python tests/emulator/test_compute_optimizer.py   (after tests/emulator/setup.sh)
Starts its own launcher; each test works in its own account (STS AssumeRole).
boto3 speaks awsJson1_0 to Compute Optimizer; one test forces Smithy RPC v2 CBOR (the
current Rust SDK's protocol, through E3). Exits non-zero on failure.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
import urllib.error
import urllib.request
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LauncherTestCase, NO_RETRY, REGION, run_as_script  # noqa: E402

import boto3  # noqa: E402
import botocore.model  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

UTC = dt.timezone.utc
RECS = "/_frugal/compute-optimizer/recommendations"
ENROLL = "/_frugal/compute-optimizer/enrollment"


class ComputeOptimizerTest(LauncherTestCase):
    _next_account = 500000000000

    # helpers ---------------------------------------------------------------
    def session(self) -> tuple[str, boto3.Session]:
        ComputeOptimizerTest._next_account += 1
        account = str(ComputeOptimizerTest._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name=REGION, config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")["Credentials"]
        return account, boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    def client(self, session: boto3.Session, service: str, region: str = REGION) -> Any:
        return session.client(service, endpoint_url=self.url, region_name=region, config=NO_RETRY)

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

    def seed(self, body: Any) -> Any:
        status, answer = self.post(RECS, body)
        self.assertEqual(status, 200, answer)
        return answer

    def instances(self, ec2: Any, count: int, instance_type: str = "m5.xlarge", name: str = "web") -> list[str]:
        image = ec2.register_image(
            Name=f"img-{time.monotonic_ns()}", RootDeviceName="/dev/xvda", Architecture="x86_64",
            VirtualizationType="hvm", BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
        )["ImageId"]
        out = ec2.run_instances(
            ImageId=image, MinCount=count, MaxCount=count, InstanceType=instance_type,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}, {"Key": "team", "Value": "a"}]}],
        )["Instances"]
        return [i["InstanceId"] for i in out]

    def assert_error(self, call: Any, code: str, http_status: int, **kwargs: Any) -> ClientError:
        with self.assertRaises(ClientError) as ctx:
            call(**kwargs)
        self.assertEqual(ctx.exception.response["Error"]["Code"], code)
        self.assertEqual(ctx.exception.response["ResponseMetadata"]["HTTPStatusCode"], http_status)
        return ctx.exception

    def check_model(self, client: Any) -> list[str]:
        """Every field of every raw JSON answer must be a member of the botocore output
        shape (the Rust SDK is generated from the same model and drops unknown names)."""
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
            elif shape.type_name == "string":
                self.assertIsInstance(value, str, where)
                if shape.enum:
                    self.assertIn(value, shape.enum, where)
            elif shape.type_name in ("double", "timestamp"):
                self.assertIsInstance(value, (int, float), where)
            elif shape.type_name == "integer":
                self.assertIsInstance(value, int, where)
            elif shape.type_name == "boolean":
                self.assertIsInstance(value, bool, where)

        def after_call(http_response: Any, model: Any, **_: Any) -> None:
            if http_response.status_code == 200:
                walk(json.loads(http_response.content), model.output_shape, model.name)
                checked.append(model.name)

        client.meta.events.register("after-call.compute-optimizer.*", after_call)
        return checked

    # tests -----------------------------------------------------------------
    def test_not_enrolled_refuses_every_get(self) -> None:
        account, session = self.session()
        co = self.client(session, "compute-optimizer")
        ec2 = self.client(session, "ec2")
        [instance] = self.instances(ec2, 1)
        self.seed({"account": account, "region": REGION, "instanceId": instance, "finding": "Overprovisioned",
                   "recommendedType": "m5.large", "estimatedMonthlySavingsUsd": 70})
        status = co.get_enrollment_status()
        self.assertEqual(status["status"], "Inactive")
        self.assertNotIn("lastUpdatedTimestamp", status)
        for call in (co.get_ec2_instance_recommendations, co.get_ebs_volume_recommendations,
                     co.get_auto_scaling_group_recommendations):
            err = self.assert_error(call, "OptInRequiredException", 403)
            self.assertTrue(err.response["Error"]["Message"])
        # Pending (seeded) is not Active either.
        self.post(ENROLL, {"account": account, "status": "Pending", "statusReason": "members"})
        self.assertEqual(co.get_enrollment_status()["statusReason"], "members")
        self.assert_error(co.get_ec2_instance_recommendations, "OptInRequiredException", 403)
        # Enrolling: the recommendation seeded before appears.
        before = time.time()
        self.assertEqual(co.update_enrollment_status(status="Active")["status"], "Active")
        status = co.get_enrollment_status()
        self.assertEqual((status["status"], status["memberAccountsEnrolled"], status["numberOfMemberAccountsOptedIn"]),
                         ("Active", False, 0))
        self.assertGreaterEqual(status["lastUpdatedTimestamp"].timestamp(), before - 1)
        recs = co.get_ec2_instance_recommendations()["instanceRecommendations"]
        self.assertEqual([r["instanceArn"] for r in recs], [f"arn:aws:ec2:{REGION}:{account}:instance/{instance}"])
        # Opting out deletes the account's recommendations (API reference, UpdateEnrollmentStatus).
        co.update_enrollment_status(status="Inactive", includeMemberAccounts=False)
        self.assert_error(co.get_ec2_instance_recommendations, "OptInRequiredException", 403)
        co.update_enrollment_status(status="Active")
        self.assertEqual(co.get_ec2_instance_recommendations()["instanceRecommendations"], [])
        # Pending / Failed cannot be set by the API.
        self.assert_error(co.update_enrollment_status, "InvalidParameterValueException", 400, status="Pending")

    def test_instance_recommendation_reads_live_instance(self) -> None:
        account, session = self.session()
        co = self.client(session, "compute-optimizer")
        checked = self.check_model(co)
        ec2 = self.client(session, "ec2")
        [instance] = self.instances(ec2, 1, "m5.xlarge", "api-1")
        self.seed({"account": account, "region": REGION, "instanceId": instance, "finding": "Overprovisioned",
                   "recommendedType": "m5.large", "estimatedMonthlySavingsUsd": 70.08, "savingsOpportunityPercentage": 50,
                   "performanceRisk": 1.5, "currentPerformanceRisk": "VeryLow", "findingReasonCodes": ["CPUOverprovisioned"],
                   "utilizationMetrics": [{"name": "Cpu", "statistic": "Maximum", "value": 12.5}],
                   "lastRefreshTimestamp": "2026-05-01T06:00:00Z"})
        co.update_enrollment_status(status="Active")
        # The instance changes after seeding: the answer shows it as it is now.
        ec2.stop_instances(InstanceIds=[instance])
        ec2.modify_instance_attribute(InstanceId=instance, InstanceType={"Value": "m5.2xlarge"})
        ec2.create_tags(Resources=[instance], Tags=[{"Key": "env", "Value": "prod"}])
        answer = co.get_ec2_instance_recommendations()
        self.assertNotIn("nextToken", answer)
        self.assertEqual(answer["errors"], [])
        [rec] = answer["instanceRecommendations"]
        arn = f"arn:aws:ec2:{REGION}:{account}:instance/{instance}"
        self.assertEqual(rec["instanceArn"], arn)
        self.assertEqual(rec["accountId"], account)
        self.assertEqual(rec["instanceName"], "api-1")
        self.assertEqual(rec["currentInstanceType"], "m5.2xlarge")
        self.assertEqual(rec["instanceState"], "stopped")
        self.assertEqual(rec["finding"], "Overprovisioned")
        self.assertEqual(rec["findingReasonCodes"], ["CPUOverprovisioned"])
        self.assertEqual(rec["utilizationMetrics"], [{"name": "Cpu", "statistic": "Maximum", "value": 12.5}])
        self.assertEqual(rec["lookBackPeriodInDays"], 14.0)
        self.assertEqual(rec["currentPerformanceRisk"], "VeryLow")
        self.assertEqual(rec["lastRefreshTimestamp"], dt.datetime(2026, 5, 1, 6, tzinfo=UTC))
        self.assertEqual(sorted((t["key"], t["value"]) for t in rec["tags"]),
                         [("Name", "api-1"), ("env", "prod"), ("team", "a")])
        [option] = rec["recommendationOptions"]
        self.assertEqual((option["instanceType"], option["rank"], option["performanceRisk"]), ("m5.large", 1, 1.5))
        self.assertEqual(option["savingsOpportunity"], {
            "savingsOpportunityPercentage": 50.0, "estimatedMonthlySavings": {"currency": "USD", "value": 70.08}})
        self.assertEqual(rec["recommendationSources"], [{"recommendationSourceArn": arn, "recommendationSourceType": "Ec2Instance"}])
        # By ARN; an ARN without a recommendation; a malformed one; another account's.
        self.assertEqual(len(co.get_ec2_instance_recommendations(instanceArns=[arn])["instanceRecommendations"]), 1)
        self.assert_error(co.get_ec2_instance_recommendations, "ResourceNotFoundException", 404,
                          instanceArns=[f"arn:aws:ec2:{REGION}:{account}:instance/i-0000000000000000f"])
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400, instanceArns=["i-123"])
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400,
                          instanceArns=[f"arn:aws:ec2:{REGION}:999999999999:instance/{instance}"])
        self.assertEqual(len(co.get_ec2_instance_recommendations(accountIds=[account])["instanceRecommendations"]), 1)
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400,
                          accountIds=[account, "999999999999"])
        # Re-seeding replaces; a terminated instance has no recommendation.
        self.seed({"account": account, "region": REGION, "instanceId": instance, "finding": "Optimized"})
        [rec] = co.get_ec2_instance_recommendations()["instanceRecommendations"]
        self.assertEqual((rec["finding"], rec["recommendationOptions"][0]["instanceType"]), ("Optimized", "m5.2xlarge"))
        co.get_enrollment_status()
        self.assertIn("GetEnrollmentStatus", checked)
        self.assertIn("GetEC2InstanceRecommendations", checked)
        self.assertEqual(rec["recommendationOptions"][0]["savingsOpportunity"]["estimatedMonthlySavings"]["value"], 0.0)
        ec2.terminate_instances(InstanceIds=[instance])
        self.assertEqual(co.get_ec2_instance_recommendations()["instanceRecommendations"], [])

    def test_pagination_and_filters(self) -> None:
        account, session = self.session()
        co = self.client(session, "compute-optimizer")
        ec2 = self.client(session, "ec2")
        ids = self.instances(ec2, 7)
        findings = ["Overprovisioned", "Overprovisioned", "Underprovisioned", "Optimized", "Overprovisioned", "Optimized", "Underprovisioned"]
        self.seed([{"account": account, "region": REGION, "instanceId": i, "finding": f,
                    "findingReasonCodes": ["CPUUnderprovisioned"] if f == "Underprovisioned" else [],
                    "recommendedType": "m5.large"} for i, f in zip(ids, findings)])
        co.update_enrollment_status(status="Active")
        pages, token = [], None
        while True:
            kwargs = {"maxResults": 3, **({"nextToken": token} if token else {})}
            answer = co.get_ec2_instance_recommendations(**kwargs)
            pages.append([r["instanceArn"] for r in answer["instanceRecommendations"]])
            token = answer.get("nextToken")
            if token is None:
                break
        self.assertEqual([len(p) for p in pages], [3, 3, 1])
        arns = [a for p in pages for a in p]
        self.assertEqual(sorted(arns), sorted(f"arn:aws:ec2:{REGION}:{account}:instance/{i}" for i in ids))
        # Exactly maxResults left: no token on that page.
        answer = co.get_ec2_instance_recommendations(maxResults=7)
        self.assertEqual(len(answer["instanceRecommendations"]), 7)
        self.assertNotIn("nextToken", answer)
        # Filters (values OR, filters AND).
        over = co.get_ec2_instance_recommendations(filters=[{"name": "Finding", "values": ["Overprovisioned"]}])
        self.assertEqual(len(over["instanceRecommendations"]), 3)
        both = co.get_ec2_instance_recommendations(filters=[{"name": "Finding", "values": ["Overprovisioned", "Optimized"]}])
        self.assertEqual(len(both["instanceRecommendations"]), 5)
        under = co.get_ec2_instance_recommendations(filters=[
            {"name": "Finding", "values": ["Underprovisioned"]},
            {"name": "FindingReasonCodes", "values": ["CPUUnderprovisioned"]},
        ])
        self.assertEqual(len(under["instanceRecommendations"]), 2)
        tagged = co.get_ec2_instance_recommendations(filters=[{"name": "tag:team", "values": ["a"]}])
        self.assertEqual(len(tagged["instanceRecommendations"]), 7)
        # Errors.
        for bad in (1001, 5000):  # botocore itself refuses < 0 (the model's min is 0)
            self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400, maxResults=bad)
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400, nextToken="garbage!")
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400,
                          filters=[{"name": "Finding", "values": ["NotOptimized"]}])
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400,
                          filters=[{"name": "Nope", "values": ["x"]}])
        self.assert_error(co.get_ebs_volume_recommendations, "InvalidParameterValueException", 400,
                          filters=[{"name": "Finding", "values": ["Overprovisioned"]}])

    def test_volume_and_group_recommendations(self) -> None:
        account, session = self.session()
        co = self.client(session, "compute-optimizer")
        ec2 = self.client(session, "ec2")
        checked = self.check_model(co)
        autoscaling = self.client(session, "autoscaling")
        volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=500, VolumeType="gp2",
                                   TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "app", "Value": "db"}]}])["VolumeId"]
        ec2.create_launch_template(LaunchTemplateName="workers-lt", LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "c5.2xlarge"})
        autoscaling.create_auto_scaling_group(AutoScalingGroupName="workers", LaunchTemplate={"LaunchTemplateName": "workers-lt"},
                                              MinSize=1, MaxSize=4, DesiredCapacity=2, AvailabilityZones=[f"{REGION}a"])
        self.seed([
            {"account": account, "region": REGION, "volumeId": volume, "finding": "NotOptimized",
             "recommendedVolume": {"volumeType": "gp3", "volumeSize": 500}, "estimatedMonthlySavingsUsd": 10,
             "savingsOpportunityPercentage": 20, "utilizationMetrics": [{"name": "VolumeReadOpsPerSecond", "statistic": "Maximum", "value": 40}]},
            {"account": account, "region": REGION, "autoScalingGroupName": "workers", "finding": "NotOptimized",
             "recommendedType": "c5.xlarge", "estimatedMonthlySavingsUsd": 122.4, "savingsOpportunityPercentage": 50},
        ])
        co.update_enrollment_status(status="Active")
        [vrec] = co.get_ebs_volume_recommendations()["volumeRecommendations"]
        self.assertEqual(vrec["volumeArn"], f"arn:aws:ec2:{REGION}:{account}:volume/{volume}")
        self.assertEqual(vrec["currentConfiguration"], {
            "volumeType": "gp2", "volumeSize": 500, "volumeBaselineIOPS": 1500, "volumeBurstIOPS": 3000,
            "volumeBaselineThroughput": 250, "volumeBurstThroughput": 250, "rootVolume": False})
        [voption] = vrec["volumeRecommendationOptions"]
        self.assertEqual(voption["configuration"]["volumeType"], "gp3")
        self.assertEqual(voption["configuration"]["volumeBaselineIOPS"], 3000)
        self.assertEqual(voption["savingsOpportunity"]["estimatedMonthlySavings"], {"currency": "USD", "value": 10.0})
        self.assertEqual(vrec["tags"], [{"key": "app", "value": "db"}])
        self.assertEqual(len(co.get_ebs_volume_recommendations(filters=[{"name": "Finding", "values": ["NotOptimized"]}])["volumeRecommendations"]), 1)
        self.assertEqual(co.get_ebs_volume_recommendations(filters=[{"name": "Finding", "values": ["Optimized"]}])["volumeRecommendations"], [])
        # The volume grows: the current configuration follows.
        ec2.modify_volume(VolumeId=volume, Size=1000)
        [vrec] = co.get_ebs_volume_recommendations()["volumeRecommendations"]
        self.assertEqual(vrec["currentConfiguration"]["volumeSize"], 1000)

        [grec] = co.get_auto_scaling_group_recommendations()["autoScalingGroupRecommendations"]
        group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["workers"])["AutoScalingGroups"][0]
        self.assertEqual((grec["autoScalingGroupArn"], grec["autoScalingGroupName"]), (group["AutoScalingGroupARN"], "workers"))
        self.assertEqual(grec["currentConfiguration"], {"desiredCapacity": 2, "minSize": 1, "maxSize": 4,
                                                        "instanceType": "c5.2xlarge", "type": "SingleInstanceType"})
        self.assertEqual(grec["recommendationOptions"][0]["configuration"]["instanceType"], "c5.xlarge")
        self.assertNotIn("tags", grec)  # the model has no tags on ASG recommendations
        self.assertEqual({"GetEBSVolumeRecommendations", "GetAutoScalingGroupRecommendations"} - set(checked), set())
        arn = group["AutoScalingGroupARN"]
        self.assertEqual(len(co.get_auto_scaling_group_recommendations(autoScalingGroupArns=[arn])["autoScalingGroupRecommendations"]), 1)

    def test_isolation_between_accounts_and_regions(self) -> None:
        account_a, session_a = self.session()
        account_b, session_b = self.session()
        [instance] = self.instances(self.client(session_a, "ec2"), 1)
        self.seed({"account": account_a, "region": REGION, "instanceId": instance, "finding": "Overprovisioned", "recommendedType": "m5.large"})
        for session in (session_a, session_b):
            self.client(session, "compute-optimizer").update_enrollment_status(status="Active")
        self.assertEqual(len(self.client(session_a, "compute-optimizer").get_ec2_instance_recommendations()["instanceRecommendations"]), 1)
        self.assertEqual(self.client(session_b, "compute-optimizer").get_ec2_instance_recommendations()["instanceRecommendations"], [])
        # Enrollment is global to the account; recommendations are regional.
        other = self.client(session_a, "compute-optimizer", "us-west-2")
        self.assertEqual(other.get_enrollment_status()["status"], "Active")
        self.assertEqual(other.get_ec2_instance_recommendations()["instanceRecommendations"], [])
        self.assertEqual(self.client(session_b, "compute-optimizer").get_enrollment_status()["status"], "Active")
        self.assert_error(self.client(session_a, "compute-optimizer").get_ec2_instance_recommendations,
                          "AccessDeniedException", 403, accountIds=[account_b])
        # The instance is unknown in another account or Region: 404.
        status, body = self.post(RECS, {"account": account_b, "region": REGION, "instanceId": instance, "finding": "Optimized"})
        self.assertEqual(status, 404, body)
        status, body = self.post(RECS, {"account": account_a, "region": "us-west-2", "instanceId": instance, "finding": "Optimized"})
        self.assertEqual(status, 404, body)

    def test_control_endpoint_validation(self) -> None:
        account, session = self.session()
        co = self.client(session, "compute-optimizer")
        ec2 = self.client(session, "ec2")
        [instance] = self.instances(ec2, 1)
        volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=10)["VolumeId"]
        good = {"account": account, "region": REGION, "instanceId": instance, "finding": "Overprovisioned", "recommendedType": "m5.large"}
        bad_cases = [
            {},
            [],
            {**good, "finding": "NotOptimized"},
            {k: v for k, v in good.items() if k != "finding"},
            {**good, "volumeId": volume},
            {**good, "recommendedType": 5},
            {**good, "estimatedMonthlySavingsUsd": -1},
            {**good, "estimatedMonthlySavingsUsd": "12"},
            {**good, "performanceRisk": 5},
            {**good, "currentPerformanceRisk": "Huge"},
            {**good, "findingReasonCodes": ["CPUTired"]},
            {**good, "lastRefreshTimestamp": "2026-01-01T00:00:00"},
            {**good, "utilizationMetrics": [{"name": "Cpu", "statistic": "Median", "value": 1}]},
            {**good, "surprise": 1},
            {**good, "lookBackPeriodInDays": 30},
            {"account": account, "region": REGION, "volumeId": volume, "finding": "Overprovisioned"},
            {"account": account, "region": REGION, "volumeId": volume, "finding": "NotOptimized", "recommendedType": "m5.large"},
            {"account": account, "region": REGION, "volumeId": volume, "finding": "NotOptimized", "recommendedVolume": {"volumeType": "gp9"}},
            # one good item and one bad: nothing is stored
            [good, {**good, "finding": "Bad"}],
        ]
        for case in bad_cases:
            status, body = self.post(RECS, case)
            self.assertEqual(status, 400, (case, body))
            self.assertIsInstance(body.get("error"), str)
        status, body = self.post(RECS, None, raw=b"{nope")
        self.assertEqual(status, 400, body)
        for missing in ({**good, "instanceId": "i-0123456789abcdef0"},
                        {"account": account, "region": REGION, "volumeId": "vol-0123456789abcdef0", "finding": "Optimized"},
                        {"account": account, "region": REGION, "autoScalingGroupName": "nope", "finding": "Optimized"},
                        [good, {**good, "instanceId": "i-0123456789abcdef0"}]):
            status, body = self.post(RECS, missing)
            self.assertEqual(status, 404, (missing, body))
        co.update_enrollment_status(status="Active")
        self.assertEqual(co.get_ec2_instance_recommendations()["instanceRecommendations"], [])
        status, body = self.post(ENROLL, {"account": account, "status": "Enrolled"})
        self.assertEqual(status, 400, body)
        status, answer = self.post(RECS, good)
        self.assertEqual(answer, {"seeded": [{"account": account, "region": REGION,
                                              "resourceArn": f"arn:aws:ec2:{REGION}:{account}:instance/{instance}"}]})

    def test_rpcv2_cbor_and_recorder(self) -> None:
        """The current Rust aws-sdk-computeoptimizer speaks Smithy RPC v2 CBOR: force boto3 to as well."""
        account, session = self.session()
        saved = botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS
        botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = ("smithy-rpc-v2-cbor",) + saved
        try:
            co = self.client(session, "compute-optimizer")
        finally:
            botocore.model.PRIORITY_ORDERED_SUPPORTED_PROTOCOLS = saved
        self.assertEqual(co.meta.service_model.resolved_protocol, "smithy-rpc-v2-cbor")
        seen: list[str] = []
        co.meta.events.register("before-send.compute-optimizer.*", lambda request, **_: seen.append(request.url))
        [instance] = self.instances(self.client(session, "ec2"), 1, "r5.large")
        self.seed({"account": account, "region": REGION, "instanceId": instance, "finding": "Underprovisioned",
                   "recommendedType": "r5.xlarge", "estimatedMonthlySavingsUsd": 0, "performanceRisk": 3,
                   "findingReasonCodes": ["MemoryUnderprovisioned"]})
        urllib.request.urlopen(urllib.request.Request(self.url + f"/_frugal/requests?account={account}", method="DELETE"))
        self.assert_error(co.get_ec2_instance_recommendations, "OptInRequiredException", 403)
        co.update_enrollment_status(status="Active")
        status = co.get_enrollment_status()
        self.assertIsInstance(status["lastUpdatedTimestamp"], dt.datetime)
        [rec] = co.get_ec2_instance_recommendations(maxResults=5)["instanceRecommendations"]
        self.assertEqual((rec["currentInstanceType"], rec["finding"]), ("r5.large", "Underprovisioned"))
        self.assertIsInstance(rec["lastRefreshTimestamp"], dt.datetime)
        self.assertEqual(rec["recommendationOptions"][0]["performanceRisk"], 3.0)
        self.assert_error(co.get_ec2_instance_recommendations, "InvalidParameterValueException", 400, maxResults=1001)
        self.assertTrue(seen[0].endswith("/service/ComputeOptimizerService/operation/GetEC2InstanceRecommendations"), seen)
        with urllib.request.urlopen(self.url + f"/_frugal/requests?account={account}") as resp:
            ops = [(r["service"], r["operation"], r["region"]) for r in json.loads(resp.read())]
        self.assertEqual(ops, [
            ("compute-optimizer", "GetEC2InstanceRecommendations", REGION),
            ("compute-optimizer", "UpdateEnrollmentStatus", REGION),
            ("compute-optimizer", "GetEnrollmentStatus", REGION),
            ("compute-optimizer", "GetEC2InstanceRecommendations", REGION),
            ("compute-optimizer", "GetEC2InstanceRecommendations", REGION),
        ])


if __name__ == "__main__":
    run_as_script("compute optimizer tests")
