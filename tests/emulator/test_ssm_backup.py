#!/usr/bin/env python3
"""Tests for the SSM / EC2 instance-profile / Backup fidelity extensions
(ssm_instances, ec2_instance_profiles, ec2_rules_keys_templates, backup_plans,
backup_control).

Run:  .venv/bin/python tests/emulator/test_ssm_backup.py   (after tests/emulator/setup.sh)

The Rust SDK speaks the same protocols as boto3 for these services (ssm:
awsJson1_1, backup: restJson1, iam: awsQuery, ec2: ec2 query), so plain boto3
clients are used; wire details the Rust decoders are strict about (JSON
timestamps as epoch numbers, error type header) are checked on the raw bodies.
Each test works in its own account through STS AssumeRole.
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

from harness import LauncherTestCase, NO_RETRY, REGION, run_as_script  # noqa: E402

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

CORE = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
DHMC_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedEC2InstanceDefaultPolicy"
DHMC = "/ssm/managed-instance/default-ec2-instance-management-role"
EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
RULE = {"RuleName": "daily", "TargetBackupVaultName": "vault", "ScheduleExpression": "cron(0 5 ? * * *)"}


class SsmBackupTest(LauncherTestCase):
    _next_account = 310000000000

    # helpers ---------------------------------------------------------------
    def setUp(self) -> None:
        SsmBackupTest._next_account += 1
        self.account = str(SsmBackupTest._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name=REGION, config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{self.account}:role/x", RoleSessionName="test")[
            "Credentials"
        ]
        self.session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.url, config=NO_RETRY)

    def raw_bodies(self, client: Any, operation: str) -> list[bytes]:
        bodies: list[bytes] = []
        service = client.meta.service_model.service_name
        client.meta.events.register(
            f"before-parse.{service}.{operation}", lambda response_dict, **_: bodies.append(response_dict["body"])
        )
        return bodies

    def assertErrorCode(self, ctx: Any, code: str, status: int = 400) -> None:
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], status, err)

    def role_with_profile(self, iam: Any, name: str, policies: list[str], inline: dict | None = None) -> str:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
        for arn in policies:
            iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        if inline is not None:
            iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(inline))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        return iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]["Arn"]

    def launch(self, ec2: Any, count: int = 1, profile: str | None = None) -> list[str]:
        kwargs: dict[str, Any] = {"ImageId": "ami-12345678", "MinCount": count, "MaxCount": count}
        if profile:
            kwargs["IamInstanceProfile"] = {"Name": profile}
        return [i["InstanceId"] for i in ec2.run_instances(**kwargs)["Instances"]]

    def profiles_of(self, ec2: Any, ids: list[str]) -> dict[str, Any]:
        out = {}
        for res in ec2.describe_instances(InstanceIds=ids)["Reservations"]:
            for inst in res["Instances"]:
                out[inst["InstanceId"]] = inst.get("IamInstanceProfile")
        return out

    def seed_recovery_point(self, **fields: Any) -> tuple[int, dict[str, Any]]:
        body = json.dumps({"account": self.account, "region": REGION, **fields}).encode()
        req = urllib.request.Request(
            f"{self.url}/_frugal/backup/recovery-points", data=body, method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    # M1 --------------------------------------------------------------------
    def test_m1_describe_instance_information_profiles(self) -> None:
        iam, ec2, ssm = self.client("iam"), self.client("ec2"), self.client("ssm")
        self.role_with_profile(iam, "core", [CORE])
        self.role_with_profile(
            iam,
            "custom",
            [],
            inline={
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation", "ssmmessages:*"], "Resource": "*"}
                ],
            },
        )
        self.role_with_profile(
            iam, "partial", [], inline={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:UpdateInstanceInformation", "Resource": "*"}]}
        )
        self.role_with_profile(iam, "s3only", ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"])
        (core,) = self.launch(ec2, 1, "core")
        (custom,) = self.launch(ec2, 1, "custom")
        (stopped,) = self.launch(ec2, 1, "core")
        (terminated,) = self.launch(ec2, 1, "core")
        (partial,) = self.launch(ec2, 1, "partial")
        (s3only,) = self.launch(ec2, 1, "s3only")
        (bare,) = self.launch(ec2)
        ec2.stop_instances(InstanceIds=[stopped])
        ec2.terminate_instances(InstanceIds=[terminated])

        raw = self.raw_bodies(ssm, "DescribeInstanceInformation")
        info = ssm.describe_instance_information()["InstanceInformationList"]
        by_id = {i["InstanceId"]: i for i in info}
        self.assertEqual(set(by_id), {core, custom, stopped}, info)
        self.assertEqual(by_id[core]["PingStatus"], "Online")
        self.assertEqual(by_id[custom]["PingStatus"], "Online")
        self.assertEqual(by_id[stopped]["PingStatus"], "ConnectionLost")
        private_ip = ec2.describe_instances(InstanceIds=[core])["Reservations"][0]["Instances"][0]["PrivateIpAddress"]
        item = by_id[core]
        self.assertEqual(item["ResourceType"], "EC2Instance")
        self.assertEqual(item["PlatformType"], "Linux")
        self.assertEqual(item["IPAddress"], private_ip)
        self.assertTrue(item["ComputerName"].startswith("ip-"), item)
        self.assertTrue(item["AgentVersion"])
        self.assertIsInstance(item["LastPingDateTime"], dt.datetime)
        # awsJson1_1 timestamps must be epoch numbers (the Rust decoder rejects strings).
        wire = json.loads(raw[-1])["InstanceInformationList"][0]
        self.assertIsInstance(wire["LastPingDateTime"], (int, float))

        online = ssm.describe_instance_information(Filters=[{"Key": "PingStatus", "Values": ["Online"]}])
        self.assertEqual({i["InstanceId"] for i in online["InstanceInformationList"]}, {core, custom})
        only = ssm.describe_instance_information(Filters=[{"Key": "InstanceIds", "Values": [stopped, bare]}])
        self.assertEqual([i["InstanceId"] for i in only["InstanceInformationList"]], [stopped])
        old = ssm.describe_instance_information(
            InstanceInformationFilterList=[{"key": "InstanceIds", "valueSet": [core, partial, s3only]}]
        )
        self.assertEqual([i["InstanceId"] for i in old["InstanceInformationList"]], [core])
        ec2.create_tags(Resources=[core], Tags=[{"Key": "Name", "Value": "web"}])
        tagged = ssm.describe_instance_information(Filters=[{"Key": "tag:Name", "Values": ["web"]}])
        self.assertEqual([i["InstanceId"] for i in tagged["InstanceInformationList"]], [core])
        with self.assertRaises(ClientError) as ctx:
            ssm.describe_instance_information(Filters=[{"Key": "PingStatus", "Values": ["Sleeping"]}])
        self.assertErrorCode(ctx, "InvalidInstanceInformationFilterValue")
        with self.assertRaises(ClientError) as ctx:
            ssm.describe_instance_information(Filters=[{"Key": "Bogus", "Values": ["x"]}])
        self.assertErrorCode(ctx, "InvalidFilterKey")

    def test_m1_paging_and_max_results(self) -> None:
        iam, ec2, ssm = self.client("iam"), self.client("ec2"), self.client("ssm")
        self.role_with_profile(iam, "core", [CORE])
        ids = self.launch(ec2, 12, "core")
        seen: list[str] = []
        pages = 0
        kwargs: dict[str, Any] = {"MaxResults": 5}
        while True:
            page = ssm.describe_instance_information(**kwargs)
            pages += 1
            self.assertLessEqual(len(page["InstanceInformationList"]), 5)
            seen += [i["InstanceId"] for i in page["InstanceInformationList"]]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        self.assertEqual(pages, 3)
        self.assertEqual(sorted(seen), sorted(ids))
        default = ssm.describe_instance_information()
        self.assertEqual(len(default["InstanceInformationList"]), 10)
        self.assertIn("NextToken", default)
        # The Rust SDK does not check @range client-side; the server must.
        unchecked = self.session.client(
            "ssm", endpoint_url=self.url, config=NO_RETRY.merge(Config(parameter_validation=False))
        )
        for bad in (4, 51):
            with self.assertRaises(ClientError) as ctx:
                unchecked.describe_instance_information(MaxResults=bad)
            self.assertErrorCode(ctx, "ValidationException")
        with self.assertRaises(ClientError) as ctx:
            ssm.describe_instance_information(NextToken="garbage")
        self.assertErrorCode(ctx, "InvalidNextToken")

    def test_m1_default_host_management_configuration(self) -> None:
        iam, ec2, ssm = self.client("iam"), self.client("ec2"), self.client("ssm")
        setting = ssm.get_service_setting(SettingId=DHMC)["ServiceSetting"]
        self.assertEqual(setting["SettingValue"], "$None")
        self.assertEqual(setting["Status"], "Default")
        self.assertEqual(setting["SettingId"], DHMC)
        self.assertEqual(setting["ARN"], f"arn:aws:ssm:{REGION}:{self.account}:servicesetting{DHMC}")
        (bare,) = self.launch(ec2)
        self.assertEqual(ssm.describe_instance_information()["InstanceInformationList"], [])

        iam.create_role(
            RoleName="AWSSystemsManagerDefaultEC2InstanceManagementRole",
            Path="/service-role/",
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ssm.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
            ),
        )
        ssm.update_service_setting(
            SettingId=setting["ARN"], SettingValue="service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole"
        )
        updated = ssm.get_service_setting(SettingId=DHMC)["ServiceSetting"]
        self.assertEqual(updated["Status"], "Customized")
        self.assertEqual(updated["SettingValue"], "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole")
        # The role exists but lacks the policy: still nothing.
        self.assertEqual(ssm.describe_instance_information()["InstanceInformationList"], [])
        iam.attach_role_policy(RoleName="AWSSystemsManagerDefaultEC2InstanceManagementRole", PolicyArn=DHMC_POLICY)
        info = ssm.describe_instance_information()["InstanceInformationList"]
        self.assertEqual([(i["InstanceId"], i["PingStatus"]) for i in info], [(bare, "Online")])

        reset = ssm.reset_service_setting(SettingId=DHMC)["ServiceSetting"]
        self.assertEqual((reset["SettingValue"], reset["Status"]), ("$None", "Default"))
        self.assertEqual(ssm.describe_instance_information()["InstanceInformationList"], [])
        with self.assertRaises(ClientError) as ctx:
            ssm.get_service_setting(SettingId="/ssm/not/a/setting")
        self.assertErrorCode(ctx, "ServiceSettingNotFound")

    # M2 / M3 -------------------------------------------------------------------
    def test_m2_replace_association_shows_new_profile(self) -> None:
        iam, ec2 = self.client("iam"), self.client("ec2")
        old_arn = self.role_with_profile(iam, "old", [])
        new_arn = self.role_with_profile(iam, "new", [CORE])
        new_id = iam.get_instance_profile(InstanceProfileName="new")["InstanceProfile"]["InstanceProfileId"]
        (inst,) = self.launch(ec2, 1, "old")
        self.assertEqual(self.profiles_of(ec2, [inst])[inst]["Arn"], old_arn)
        assoc = ec2.describe_iam_instance_profile_associations(Filters=[{"Name": "instance-id", "Values": [inst]}])[
            "IamInstanceProfileAssociations"
        ]
        self.assertEqual(len(assoc), 1)
        with self.assertRaises(ClientError) as ctx:
            ec2.associate_iam_instance_profile(IamInstanceProfile={"Name": "new"}, InstanceId=inst)
        self.assertErrorCode(ctx, "IncorrectState")
        self.assertIn(f"There is an existing association for instance {inst}", str(ctx.exception))

        ec2.replace_iam_instance_profile_association(
            IamInstanceProfile={"Name": "new"}, AssociationId=assoc[0]["AssociationId"]
        )
        shown = self.profiles_of(ec2, [inst])[inst]
        self.assertEqual(shown, {"Arn": new_arn, "Id": new_id})
        after = ec2.describe_iam_instance_profile_associations(AssociationIds=[assoc[0]["AssociationId"]])[
            "IamInstanceProfileAssociations"
        ]
        self.assertEqual(after[0]["IamInstanceProfile"]["Arn"], new_arn)
        self.assertEqual(after[0]["InstanceId"], inst)
        ssm = self.client("ssm")
        self.assertEqual([i["InstanceId"] for i in ssm.describe_instance_information()["InstanceInformationList"]], [inst])

        ec2.disassociate_iam_instance_profile(AssociationId=assoc[0]["AssociationId"])
        self.assertIsNone(self.profiles_of(ec2, [inst])[inst])
        ec2.associate_iam_instance_profile(IamInstanceProfile={"Arn": old_arn}, InstanceId=inst)
        self.assertEqual(self.profiles_of(ec2, [inst])[inst]["Arn"], old_arn)

    def test_m3_run_instances_min_count_all_get_profile(self) -> None:
        iam, ec2 = self.client("iam"), self.client("ec2")
        arn = self.role_with_profile(iam, "fleet", [CORE])
        reply = ec2.run_instances(
            ImageId="ami-12345678", MinCount=3, MaxCount=3, IamInstanceProfile={"Name": "fleet", "Arn": arn}
        )
        ids = [i["InstanceId"] for i in reply["Instances"]]
        self.assertEqual([i["IamInstanceProfile"]["Arn"] for i in reply["Instances"]], [arn] * 3)
        self.assertEqual({p["Arn"] for p in self.profiles_of(ec2, ids).values()}, {arn})
        assocs = ec2.describe_iam_instance_profile_associations()["IamInstanceProfileAssociations"]
        self.assertEqual(sorted(a["InstanceId"] for a in assocs), sorted(ids))
        info = self.client("ssm").describe_instance_information()["InstanceInformationList"]
        self.assertEqual(sorted(i["InstanceId"] for i in info), sorted(ids))

    # M4 --------------------------------------------------------------------------
    def test_m4_security_group_rules(self) -> None:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        sg = ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
        other = ec2.create_security_group(GroupName="o", Description="d", VpcId=vpc)["GroupId"]
        reply = ec2.authorize_security_group_ingress(
            GroupId=sg,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}, {"CidrIp": "10.0.0.0/8"}]},
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
            ],
            TagSpecifications=[{"ResourceType": "security-group-rule", "Tags": [{"Key": "frugal", "Value": "x"}]}],
        )
        created = reply["SecurityGroupRules"]
        self.assertEqual(len(created), 3, created)
        self.assertEqual({r.get("CidrIpv4") or r.get("CidrIpv6") for r in created}, {"0.0.0.0/0", "10.0.0.0/8", "::/0"})
        self.assertTrue(all(r["Tags"] == [{"Key": "frugal", "Value": "x"}] and r["GroupId"] == sg for r in created))
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
        self.assertEqual({r["GroupId"] for r in rules}, {sg})
        ingress = [r for r in rules if not r["IsEgress"]]
        self.assertEqual({r["SecurityGroupRuleId"] for r in ingress}, {r["SecurityGroupRuleId"] for r in created})
        ssh_world = next(r for r in created if r.get("CidrIpv4") == "0.0.0.0/0")
        ec2.revoke_security_group_ingress(GroupId=sg, SecurityGroupRuleIds=[ssh_world["SecurityGroupRuleId"]])
        left = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [sg]}])["SecurityGroupRules"]
        self.assertEqual(len([r for r in left if not r["IsEgress"]]), 2)
        self.assertEqual(
            ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [other]}])["SecurityGroupRules"][0]["IsEgress"],
            True,
        )
        with self.assertRaises(ClientError) as ctx:
            ec2.revoke_security_group_ingress(GroupId=sg, SecurityGroupRuleIds=[ssh_world["SecurityGroupRuleId"]])
        self.assertErrorCode(ctx, "InvalidPermission.NotFound")

    def test_m4_key_pairs(self) -> None:
        ec2 = self.client("ec2")
        a = ec2.create_key_pair(KeyName="alpha")["KeyPairId"]
        b = ec2.create_key_pair(KeyName="beta")["KeyPairId"]
        self.assertEqual({k["KeyName"] for k in ec2.describe_key_pairs()["KeyPairs"]}, {"alpha", "beta"})
        by_id = ec2.describe_key_pairs(KeyPairIds=[b])["KeyPairs"]
        self.assertEqual([(k["KeyName"], k["KeyPairId"]) for k in by_id], [("beta", b)])
        with self.assertRaises(ClientError) as ctx:
            ec2.describe_key_pairs(KeyPairIds=["key-0123456789abcdef0"])
        self.assertErrorCode(ctx, "InvalidKeyPair.NotFound")
        with self.assertRaises(ClientError) as ctx:
            ec2.describe_key_pairs(KeyNames=["gamma"])
        self.assertErrorCode(ctx, "InvalidKeyPair.NotFound")
        self.assertIn("The key pair 'gamma' does not exist", str(ctx.exception))
        ec2.delete_key_pair(KeyPairId=a)
        ec2.delete_key_pair(KeyName="beta")
        ec2.delete_key_pair(KeyName="beta")  # AWS: deleting a missing key name succeeds
        self.assertEqual(ec2.describe_key_pairs()["KeyPairs"], [])

    def test_m4_launch_template_versions(self) -> None:
        ec2 = self.client("ec2")
        ec2.create_key_pair(KeyName="k1")
        ec2.create_launch_template(LaunchTemplateName="web", LaunchTemplateData={"KeyName": "k1", "ImageId": "ami-12345678"})
        for n in range(2, 19):
            ec2.create_launch_template_version(
                LaunchTemplateName="web", SourceVersion="1", LaunchTemplateData={"KeyName": f"k{n}"}
            )
        everything = ec2.describe_launch_template_versions(LaunchTemplateName="web")["LaunchTemplateVersions"]
        self.assertEqual([v["VersionNumber"] for v in everything], list(range(1, 19)))
        self.assertEqual(everything[1]["LaunchTemplateData"]["KeyName"], "k2")
        paged: list[int] = []
        kwargs: dict[str, Any] = {"LaunchTemplateName": "web", "MaxResults": 7}
        while True:
            page = ec2.describe_launch_template_versions(**kwargs)
            paged += [v["VersionNumber"] for v in page["LaunchTemplateVersions"]]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        self.assertEqual(paged, list(range(1, 19)))
        latest = ec2.describe_launch_template_versions(LaunchTemplateName="web", Versions=["$Latest"])
        self.assertEqual(latest["LaunchTemplateVersions"][0]["LaunchTemplateData"]["KeyName"], "k18")
        default = ec2.describe_launch_template_versions(LaunchTemplateName="web", Versions=["$Default", "$Latest"])
        self.assertEqual([v["VersionNumber"] for v in default["LaunchTemplateVersions"]], [1, 18])
        ec2.create_launch_template(LaunchTemplateName="solo", LaunchTemplateData={"KeyName": "k1"})
        both = ec2.describe_launch_template_versions(Versions=["$Latest", "$Default"])["LaunchTemplateVersions"]
        self.assertEqual(sorted((v["LaunchTemplateName"], v["VersionNumber"]) for v in both), [("solo", 1), ("web", 1), ("web", 18)])
        only_default = ec2.describe_launch_template_versions(
            LaunchTemplateName="web", Filters=[{"Name": "is-default-version", "Values": ["true"]}]
        )["LaunchTemplateVersions"]
        self.assertEqual([v["VersionNumber"] for v in only_default], [1])

    def test_m4_iam_profile_and_attached_policies(self) -> None:
        iam = self.client("iam")
        arn = self.role_with_profile(iam, "r", [CORE])
        profile = iam.get_instance_profile(InstanceProfileName="r")["InstanceProfile"]
        self.assertEqual(profile["Arn"], arn)
        self.assertEqual([r["RoleName"] for r in profile["Roles"]], ["r"])
        attached = iam.list_attached_role_policies(RoleName="r")["AttachedPolicies"]
        self.assertEqual(attached, [{"PolicyName": "AmazonSSMManagedInstanceCore", "PolicyArn": CORE}])
        with self.assertRaises(ClientError) as ctx:
            iam.get_instance_profile(InstanceProfileName="nope")
        self.assertErrorCode(ctx, "NoSuchEntity", 404)

    # Backup ------------------------------------------------------------------------
    def test_b1_update_backup_plan_versions(self) -> None:
        backup = self.client("backup")
        backup.create_backup_vault(BackupVaultName="vault")
        created = backup.create_backup_plan(BackupPlan={"BackupPlanName": "plan", "Rules": [RULE]})
        plan_id, v1 = created["BackupPlanId"], created["VersionId"]
        self.assertGreaterEqual(len(v1), 32)
        raw = self.raw_bodies(backup, "UpdateBackupPlan")
        rule2 = {**RULE, "RuleName": "weekly", "ScheduleExpression": "cron(0 5 ? * 1 *)"}
        updated = backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": "plan", "Rules": [rule2]})
        self.assertIsInstance(json.loads(raw[0])["CreationDate"], (int, float))
        v2 = updated["VersionId"]
        self.assertEqual(updated["BackupPlanId"], plan_id)
        self.assertEqual(updated["BackupPlanArn"], created["BackupPlanArn"])
        self.assertNotEqual(v2, v1)
        self.assertGreaterEqual(len(v2), 32)
        latest = backup.get_backup_plan(BackupPlanId=plan_id)
        self.assertEqual(latest["VersionId"], v2)
        self.assertEqual([r["RuleName"] for r in latest["BackupPlan"]["Rules"]], ["weekly"])
        self.assertTrue(latest["BackupPlan"]["Rules"][0]["RuleId"])
        first = backup.get_backup_plan(BackupPlanId=plan_id, VersionId=v1)
        self.assertEqual(first["VersionId"], v1)
        self.assertEqual([r["RuleName"] for r in first["BackupPlan"]["Rules"]], ["daily"])
        with self.assertRaises(ClientError) as ctx:
            backup.get_backup_plan(BackupPlanId=plan_id, VersionId="nope" * 8)
        self.assertErrorCode(ctx, "ResourceNotFoundException")
        v3 = backup.update_backup_plan(BackupPlanId=plan_id, BackupPlan={"BackupPlanName": "plan", "Rules": [RULE, rule2]})["VersionId"]
        versions = backup.list_backup_plan_versions(BackupPlanId=plan_id)["BackupPlanVersionsList"]
        self.assertEqual([v["VersionId"] for v in versions], [v3, v2, v1])
        self.assertTrue(all(v["BackupPlanId"] == plan_id and v["BackupPlanName"] == "plan" for v in versions))
        page = backup.list_backup_plan_versions(BackupPlanId=plan_id, MaxResults=2)
        self.assertEqual(len(page["BackupPlanVersionsList"]), 2)
        rest = backup.list_backup_plan_versions(BackupPlanId=plan_id, MaxResults=2, NextToken=page["NextToken"])
        self.assertEqual([v["VersionId"] for v in rest["BackupPlanVersionsList"]], [v1])
        listed = backup.list_backup_plans()["BackupPlansList"]
        self.assertEqual([(p["BackupPlanId"], p["VersionId"]) for p in listed], [(plan_id, v3)])
        with self.assertRaises(ClientError) as ctx:
            backup.update_backup_plan(BackupPlanId="0000", BackupPlan={"BackupPlanName": "x", "Rules": [RULE]})
        self.assertErrorCode(ctx, "ResourceNotFoundException")

    def test_b2_creator_request_id_and_name_reuse(self) -> None:
        backup = self.client("backup")
        plan = {"BackupPlanName": "nightly", "Rules": [RULE]}
        first = backup.create_backup_plan(BackupPlan=plan, CreatorRequestId="req-1")
        again = backup.create_backup_plan(BackupPlan=plan, CreatorRequestId="req-1")
        self.assertEqual((again["BackupPlanId"], again["VersionId"]), (first["BackupPlanId"], first["VersionId"]))
        self.assertEqual(len(backup.list_backup_plans()["BackupPlansList"]), 1)
        self.assertEqual(backup.get_backup_plan(BackupPlanId=first["BackupPlanId"])["CreatorRequestId"], "req-1")
        with self.assertRaises(ClientError) as ctx:
            backup.create_backup_plan(BackupPlan=plan, CreatorRequestId="req-2")
        self.assertErrorCode(ctx, "AlreadyExistsException")
        backup.delete_backup_plan(BackupPlanId=first["BackupPlanId"])
        reused = backup.create_backup_plan(BackupPlan=plan, CreatorRequestId="req-3")
        self.assertNotEqual(reused["BackupPlanId"], first["BackupPlanId"])
        self.assertEqual([p["BackupPlanId"] for p in backup.list_backup_plans()["BackupPlansList"]], [reused["BackupPlanId"]])

    def test_b3_backup_selections(self) -> None:
        backup = self.client("backup")
        plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [RULE]})["BackupPlanId"]
        role = f"arn:aws:iam::{self.account}:role/service-role/AWSBackupDefaultServiceRole"
        selection = {
            "SelectionName": "tagged",
            "IamRoleArn": role,
            "Resources": ["arn:aws:ec2:*:*:volume/*"],
            "ListOfTags": [{"ConditionType": "STRINGEQUALS", "ConditionKey": "backup", "ConditionValue": "daily"}],
            "NotResources": [f"arn:aws:ec2:{REGION}:{self.account}:volume/vol-0123456789abcdef0"],
            "Conditions": {"StringEquals": [{"ConditionKey": "aws:ResourceTag/env", "ConditionValue": "prod"}]},
        }
        made = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection, CreatorRequestId="sel-1")
        self.assertEqual(made["BackupPlanId"], plan_id)
        self.assertIsInstance(made["CreationDate"], dt.datetime)
        again = backup.create_backup_selection(BackupPlanId=plan_id, BackupSelection=selection, CreatorRequestId="sel-1")
        self.assertEqual(again["SelectionId"], made["SelectionId"])
        got = backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])
        self.assertEqual(got["SelectionId"], made["SelectionId"])
        self.assertEqual(got["CreatorRequestId"], "sel-1")
        self.assertEqual(got["BackupSelection"]["Resources"], selection["Resources"])
        self.assertEqual(got["BackupSelection"]["ListOfTags"], selection["ListOfTags"])
        self.assertEqual(got["BackupSelection"]["NotResources"], selection["NotResources"])
        self.assertEqual(got["BackupSelection"]["Conditions"]["StringEquals"], selection["Conditions"]["StringEquals"])
        for n in range(4):
            backup.create_backup_selection(
                BackupPlanId=plan_id, BackupSelection={"SelectionName": f"s{n}", "IamRoleArn": role, "Resources": ["*"]}
            )
        names: list[str] = []
        kwargs: dict[str, Any] = {"BackupPlanId": plan_id, "MaxResults": 2}
        while True:
            page = backup.list_backup_selections(**kwargs)
            names += [s["SelectionName"] for s in page["BackupSelectionsList"]]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        self.assertEqual(names, ["tagged", "s0", "s1", "s2", "s3"])
        self.assertEqual(page["BackupSelectionsList"][0]["IamRoleArn"], role)

        with self.assertRaises(ClientError) as ctx:
            backup.delete_backup_plan(BackupPlanId=plan_id)
        self.assertErrorCode(ctx, "InvalidRequestException")
        self.assertIn("Related backup plan selections must be deleted prior to backup plan deletion", str(ctx.exception))
        for sel in backup.list_backup_selections(BackupPlanId=plan_id)["BackupSelectionsList"]:
            backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=sel["SelectionId"])
        with self.assertRaises(ClientError) as ctx:
            backup.get_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])
        self.assertErrorCode(ctx, "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:
            backup.delete_backup_selection(BackupPlanId=plan_id, SelectionId=made["SelectionId"])
        self.assertErrorCode(ctx, "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:
            backup.create_backup_selection(BackupPlanId="missing-plan", BackupSelection=selection)
        self.assertErrorCode(ctx, "ResourceNotFoundException")
        backup.delete_backup_plan(BackupPlanId=plan_id)

    def test_b4_recovery_points(self) -> None:
        backup = self.client("backup")
        backup.create_backup_vault(BackupVaultName="vault")
        self.assertEqual(backup.list_recovery_points_by_backup_vault(BackupVaultName="vault")["RecoveryPoints"], [])
        self.assertEqual(backup.describe_backup_vault(BackupVaultName="vault")["NumberOfRecoveryPoints"], 0)
        vol = f"arn:aws:ec2:{REGION}:{self.account}:volume/vol-0123456789abcdef0"
        status, point = self.seed_recovery_point(vault_name="vault", resource_arn=vol, size_bytes=8 * 2**30)
        self.assertEqual(status, 200, point)
        self.assertTrue(point["RecoveryPointArn"].startswith(f"arn:aws:ec2:{REGION}::snapshot/snap-"))
        status, _ = self.seed_recovery_point(
            vault_name="vault", resource_arn=f"arn:aws:ec2:{REGION}:{self.account}:instance/i-0123456789abcdef0",
            size_bytes=1, creation_date="2024-01-01T00:00:00Z",
        )
        self.assertEqual(status, 200)
        status, err = self.seed_recovery_point(vault_name="nope", resource_arn=vol, size_bytes=1)
        self.assertEqual(status, 404, err)

        points = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault")["RecoveryPoints"]
        self.assertEqual([p["ResourceType"] for p in points], ["EBS", "EC2"])
        ebs = points[0]
        self.assertEqual(ebs["ResourceArn"], vol)
        self.assertEqual(ebs["BackupSizeInBytes"], 8 * 2**30)
        self.assertEqual(ebs["Status"], "COMPLETED")
        self.assertEqual(ebs["BackupVaultName"], "vault")
        only = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault", ByResourceArn=vol)["RecoveryPoints"]
        self.assertEqual([p["RecoveryPointArn"] for p in only], [point["RecoveryPointArn"]])
        old = backup.list_recovery_points_by_backup_vault(
            BackupVaultName="vault", ByCreatedBefore=dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
        )["RecoveryPoints"]
        self.assertEqual([p["ResourceType"] for p in old], ["EC2"])
        page = backup.list_recovery_points_by_backup_vault(BackupVaultName="vault", MaxResults=1)
        self.assertEqual(len(page["RecoveryPoints"]), 1)
        self.assertIn("NextToken", page)
        self.assertEqual(backup.describe_backup_vault(BackupVaultName="vault")["NumberOfRecoveryPoints"], 2)
        described = backup.describe_recovery_point(BackupVaultName="vault", RecoveryPointArn=point["RecoveryPointArn"])
        self.assertEqual(described["ResourceArn"], vol)

        with self.assertRaises(ClientError) as ctx:
            backup.delete_backup_vault(BackupVaultName="vault")
        self.assertErrorCode(ctx, "InvalidRequestException")
        for p in points:
            backup.delete_recovery_point(BackupVaultName="vault", RecoveryPointArn=p["RecoveryPointArn"])
        backup.delete_backup_vault(BackupVaultName="vault")
        with self.assertRaises(ClientError) as ctx:
            backup.delete_backup_vault(BackupVaultName="vault")
        self.assertErrorCode(ctx, "ResourceNotFoundException")
        with self.assertRaises(ClientError) as ctx:
            backup.list_recovery_points_by_backup_vault(BackupVaultName="vault")
        self.assertErrorCode(ctx, "ResourceNotFoundException")

    def test_requests_are_recorded(self) -> None:
        backup, ssm = self.client("backup"), self.client("ssm")
        plan_id = backup.create_backup_plan(BackupPlan={"BackupPlanName": "p", "Rules": [RULE]})["BackupPlanId"]
        backup.list_backup_selections(BackupPlanId=plan_id)
        ssm.describe_instance_information()
        with urllib.request.urlopen(f"{self.url}/_frugal/requests?account={self.account}", timeout=10) as resp:
            ops = [r["operation"] for r in json.loads(resp.read())]
        self.assertEqual(ops, ["CreateBackupPlan", "ListBackupSelections", "DescribeInstanceInformation"])


if __name__ == "__main__":
    run_as_script("ssm/backup emulator tests")
