#!/usr/bin/env python3
"""Tests for the EBS snapshot extensions S1-S7 (frugal_emulator/ebs_snapshots.py).

Run:  .venv/bin/python tests/emulator/test_snapshots.py   (after tests/emulator/setup.sh)
Starts its own launcher; each test works in its own account (STS AssumeRole).
Prints timings for the 10k seed/list test on stderr. Exits non-zero on failure.
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
from botocore.exceptions import ClientError  # noqa: E402

UTC = dt.timezone.utc


class SnapshotTest(LauncherTestCase):
    _next_account = 300000000000

    # helpers ---------------------------------------------------------------
    def ec2(self) -> tuple[str, Any]:
        SnapshotTest._next_account += 1
        account = str(SnapshotTest._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name=REGION, config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")[
            "Credentials"
        ]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )
        return account, session.client("ec2", endpoint_url=self.url, config=NO_RETRY)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + path,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def snapshots(self, ec2: Any, n: int, size: int = 8) -> list[str]:
        vol = ec2.create_volume(Size=size, AvailabilityZone=f"{REGION}a")["VolumeId"]
        return [ec2.create_snapshot(VolumeId=vol)["SnapshotId"] for _ in range(n)]

    def assertError(self, ctx: Any, code: str, message: str | None = None) -> None:
        err = ctx.exception.response
        self.assertEqual(err["Error"]["Code"], code, err)
        self.assertEqual(err["ResponseMetadata"]["HTTPStatusCode"], 400, err)
        if message is not None:
            self.assertEqual(err["Error"]["Message"], message, err)

    # S1 --------------------------------------------------------------------
    def test_s1_describe_snapshots_paging_and_owner(self) -> None:
        account, ec2 = self.ec2()
        ids = self.snapshots(ec2, 12)
        for bad in (4, 1001):
            with self.assertRaises(ClientError) as ctx:
                ec2.describe_snapshots(OwnerIds=["self"], MaxResults=bad)
            self.assertError(ctx, "InvalidParameterValue")
        with self.assertRaises(ClientError) as ctx:
            ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5, NextToken="garbage")
        self.assertError(ctx, "InvalidParameterValue")

        first = ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5)
        self.assertEqual(len(first["Snapshots"]), 5)
        self.assertIn("NextToken", first)
        seen = [s["SnapshotId"] for s in first["Snapshots"]]
        # Deleting between pages must not make the next page skip anything.
        ec2.delete_snapshot(SnapshotId=seen[-1])
        token = first["NextToken"]
        while token:
            page = ec2.describe_snapshots(OwnerIds=["self"], MaxResults=5, NextToken=token)
            seen += [s["SnapshotId"] for s in page["Snapshots"]]
            token = page.get("NextToken")
        self.assertEqual(sorted(seen), sorted(ids))
        self.assertEqual(len(seen), len(set(seen)))

        pages = ec2.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], PaginationConfig={"PageSize": 5}
        )
        counts = [len(p["Snapshots"]) for p in pages]
        self.assertEqual(counts, [5, 5, 1])

        self.assertEqual(len(ec2.describe_snapshots()["Snapshots"]), 11)  # unpaged: all
        self.assertEqual(len(ec2.describe_snapshots(OwnerIds=[account])["Snapshots"]), 11)
        self.assertEqual(ec2.describe_snapshots(OwnerIds=["999999999999"])["Snapshots"], [])
        by_filter = ec2.describe_snapshots(Filters=[{"Name": "owner-id", "Values": [account]}])
        self.assertEqual(len(by_filter["Snapshots"]), 11)
        self.assertEqual(
            ec2.describe_snapshots(Filters=[{"Name": "owner-id", "Values": ["111111111111"]}])[
                "Snapshots"
            ],
            [],
        )

    # S2 --------------------------------------------------------------------
    def test_s2_start_time_and_state_control(self) -> None:
        account, ec2 = self.ec2()
        a, b, c = self.snapshots(ec2, 3)
        old = dt.datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)
        status, out = self.post(
            "/_frugal/snapshots/start-time",
            {"account": account, "region": REGION, "snapshot_id": a, "start_time": "2023-01-02T03:04:05Z"},
        )
        self.assertEqual((status, out), (200, {"updated": [a]}))
        status, out = self.post(
            "/_frugal/snapshots/start-time",
            [
                {"account": account, "region": REGION, "snapshot_id": b, "state": "pending"},
                {
                    "account": account,
                    "region": REGION,
                    "snapshot_ids": [c],
                    "state": "error",
                    "start_time": "2024-06-01T00:00:00+02:00",
                },
            ],
        )
        self.assertEqual((status, out), (200, {"updated": [b, c]}))
        snaps = {s["SnapshotId"]: s for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
        self.assertEqual(snaps[a]["StartTime"], old)
        self.assertEqual(snaps[a]["State"], "completed")
        self.assertEqual(snaps[b]["State"], "pending")
        self.assertEqual(snaps[b]["Progress"], "0%")
        self.assertEqual(snaps[c]["State"], "error")
        self.assertEqual(snaps[c]["StartTime"], dt.datetime(2024, 5, 31, 22, tzinfo=UTC))
        pending = ec2.describe_snapshots(Filters=[{"Name": "status", "Values": ["pending"]}])
        self.assertEqual([s["SnapshotId"] for s in pending["Snapshots"]], [b])

        status, out = self.post(
            "/_frugal/snapshots/start-time",
            {"account": account, "region": REGION, "snapshot_id": "snap-0000", "state": "pending"},
        )
        self.assertEqual(status, 404, out)
        status, out = self.post(
            "/_frugal/snapshots/start-time",
            {"account": account, "region": REGION, "snapshot_id": a, "state": "bogus"},
        )
        self.assertEqual(status, 400, out)

    # S3 --------------------------------------------------------------------
    def test_s3_register_image_keeps_mappings_and_snapshot_in_use(self) -> None:
        _, ec2 = self.ec2()
        root, data, free = self.snapshots(ec2, 3, size=30)
        image = ec2.register_image(
            Name="golden",
            RootDeviceName="/dev/xvda",
            VirtualizationType="hvm",
            Architecture="x86_64",
            BlockDeviceMappings=[
                {"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": root}},
                {"DeviceName": "/dev/xvdb", "Ebs": {"SnapshotId": data, "VolumeType": "gp3"}},
            ],
        )["ImageId"]
        # No extra auto-made snapshot.
        self.assertEqual(len(ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]), 3)
        images = ec2.describe_images(Owners=["self"])["Images"]
        self.assertEqual([i["ImageId"] for i in images], [image])
        mappings = {m["DeviceName"]: m["Ebs"] for m in images[0]["BlockDeviceMappings"]}
        self.assertEqual(mappings["/dev/xvda"]["SnapshotId"], root)
        self.assertEqual(mappings["/dev/xvda"]["VolumeSize"], 30)
        self.assertEqual(mappings["/dev/xvdb"]["SnapshotId"], data)
        self.assertEqual(mappings["/dev/xvdb"]["VolumeType"], "gp3")
        self.assertEqual(images[0]["RootDeviceName"], "/dev/xvda")
        self.assertEqual(images[0]["RootDeviceType"], "ebs")
        by_snap = ec2.describe_images(
            Owners=["self"], Filters=[{"Name": "block-device-mapping.snapshot-id", "Values": [data]}]
        )["Images"]
        self.assertEqual([i["ImageId"] for i in by_snap], [image])

        for snap in (root, data):
            with self.assertRaises(ClientError) as ctx:
                ec2.delete_snapshot(SnapshotId=snap)
            self.assertError(
                ctx, "InvalidSnapshot.InUse", f"The snapshot {snap} is currently in use by {image}"
            )
        ec2.delete_snapshot(SnapshotId=free)
        with self.assertRaises(ClientError) as ctx:
            ec2.register_image(
                Name="gone",
                RootDeviceName="/dev/xvda",
                BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": free}}],
            )
        self.assertError(ctx, "InvalidSnapshot.NotFound")
        ec2.deregister_image(ImageId=image)
        ec2.delete_snapshot(SnapshotId=root)
        ec2.delete_snapshot(SnapshotId=data)

        # Launch templates keep the snapshot ids (checked, moto already right).
        keep = self.snapshots(ec2, 1)[0]
        ec2.create_launch_template(
            LaunchTemplateName="golden-lt",
            LaunchTemplateData={
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"SnapshotId": keep}}]
            },
        )
        versions = ec2.describe_launch_template_versions(LaunchTemplateName="golden-lt")[
            "LaunchTemplateVersions"
        ]
        bdm = versions[0]["LaunchTemplateData"]["BlockDeviceMappings"][0]
        self.assertEqual(bdm["Ebs"]["SnapshotId"], keep)
        self.assertEqual(len(ec2.describe_launch_templates()["LaunchTemplates"]), 1)

    # S4 --------------------------------------------------------------------
    def test_s4_backup_managed_and_aws_tags(self) -> None:
        account, ec2 = self.ec2()
        backup, dlm = self.snapshots(ec2, 2)
        status, out = self.post(
            "/_frugal/snapshots/mark-backup",
            {"account": account, "region": REGION, "snapshot_id": backup},
        )
        self.assertEqual((status, out), (200, {"updated": [backup]}))
        snap = ec2.describe_snapshots(SnapshotIds=[backup])["Snapshots"][0]
        self.assertEqual(snap["Description"], "This snapshot is created by the AWS Backup service.")
        self.assertIn("aws:backup:source-resource", {t["Key"] for t in snap["Tags"]})
        with self.assertRaises(ClientError) as ctx:
            ec2.delete_snapshot(SnapshotId=backup)
        self.assertError(
            ctx,
            "InvalidParameterValue",
            "This snapshot is managed by the AWS Backup service and cannot be deleted via EC2 "
            "APIs. If you wish to delete this snapshot, please do so via the Backup console.",
        )

        status, out = self.post(
            "/_frugal/snapshots/tags",
            {
                "account": account,
                "region": REGION,
                "snapshot_id": dlm,
                "tags": {"aws:dlm:lifecycle-policy-id": "policy-0123456789abcdef0", "env": "prod"},
            },
        )
        self.assertEqual((status, out), (200, {"updated": [dlm]}))
        found = ec2.describe_snapshots(
            Filters=[{"Name": "tag-key", "Values": ["aws:dlm:lifecycle-policy-id"]}]
        )["Snapshots"]
        self.assertEqual([s["SnapshotId"] for s in found], [dlm])
        self.post(
            "/_frugal/snapshots/tags",
            {"account": account, "region": REGION, "snapshot_id": dlm, "remove": ["env"]},
        )
        tags = ec2.describe_snapshots(SnapshotIds=[dlm])["Snapshots"][0]["Tags"]
        self.assertEqual(tags, [{"Key": "aws:dlm:lifecycle-policy-id", "Value": "policy-0123456789abcdef0"}])

        for call in (ec2.create_tags, ec2.delete_tags):
            with self.assertRaises(ClientError) as ctx:
                call(Resources=[dlm], Tags=[{"Key": "aws:dlm:lifecycle-policy-id", "Value": "x"}])
            self.assertError(ctx, "InvalidParameterValue")
        ec2.create_tags(Resources=[dlm], Tags=[{"Key": "frugal", "Value": "yes"}])
        ec2.delete_tags(Resources=[dlm], Tags=[{"Key": "frugal"}])
        ec2.delete_snapshot(SnapshotId=dlm)  # DLM snapshots are deletable

    # S5 --------------------------------------------------------------------
    def test_s5_snapshot_lock(self) -> None:
        account, ec2 = self.ec2()
        gov, comp, dated, free = self.snapshots(ec2, 4)
        self.assertEqual(ec2.describe_locked_snapshots()["Snapshots"], [])
        out = ec2.lock_snapshot(SnapshotId=gov, LockMode="governance", LockDuration=1)
        self.assertEqual(out["SnapshotId"], gov)
        self.assertEqual(out["LockState"], "governance")
        self.assertEqual(out["LockDuration"], 1)
        self.assertAlmostEqual(
            (out["LockExpiresOn"] - out["LockCreatedOn"]).total_seconds(), 86400, delta=5
        )
        out = ec2.lock_snapshot(SnapshotId=comp, LockMode="compliance", LockDuration=7, CoolOffPeriod=2)
        self.assertEqual(out["LockState"], "compliance-cooloff")
        self.assertEqual(out["CoolOffPeriod"], 2)
        until = dt.datetime.now(UTC) + dt.timedelta(days=3)
        out = ec2.lock_snapshot(SnapshotId=dated, LockMode="governance", ExpirationDate=until)
        self.assertAlmostEqual(out["LockExpiresOn"].timestamp(), until.timestamp(), delta=1)

        with self.assertRaises(ClientError) as ctx:
            ec2.lock_snapshot(SnapshotId=free, LockMode="governance")
        self.assertError(ctx, "InvalidParameterCombination")
        with self.assertRaises(ClientError) as ctx:
            ec2.lock_snapshot(SnapshotId="snap-0123456789abcdef0", LockMode="governance", LockDuration=1)
        self.assertError(ctx, "InvalidSnapshot.NotFound")

        locked = ec2.describe_locked_snapshots()["Snapshots"]
        self.assertEqual(sorted(s["SnapshotId"] for s in locked), sorted([gov, comp, dated]))
        self.assertTrue(all(s["OwnerId"] == account for s in locked))
        only = ec2.describe_locked_snapshots(
            Filters=[{"Name": "lock-state", "Values": ["compliance-cooloff"]}]
        )["Snapshots"]
        self.assertEqual([s["SnapshotId"] for s in only], [comp])
        one = ec2.describe_locked_snapshots(SnapshotIds=[gov])["Snapshots"]
        self.assertEqual([s["SnapshotId"] for s in one], [gov])

        for snap in (gov, comp, dated):
            with self.assertRaises(ClientError) as ctx:
                ec2.delete_snapshot(SnapshotId=snap)
            self.assertError(ctx, "SnapshotLocked")
        ec2.unlock_snapshot(SnapshotId=gov)
        ec2.delete_snapshot(SnapshotId=gov)
        ec2.delete_snapshot(SnapshotId=free)
        self.assertEqual(
            sorted(s["SnapshotId"] for s in ec2.describe_locked_snapshots()["Snapshots"]),
            sorted([comp, dated]),
        )

    # S6 + S7 ---------------------------------------------------------------
    def test_s6_s7_bulk_seed_and_list_10k(self) -> None:
        account, ec2 = self.ec2()
        started = time.monotonic()
        status, out = self.post(
            "/_frugal/bulk/snapshots",
            {
                "account": account,
                "region": REGION,
                "count": 10000,
                "volume_count": 50,
                "volume_size": [8, 100],
                "start_time_spread_days": 365,
                "tags": {"frugal.dev/policy": "retain-30d"},
                "state": "completed",
            },
        )
        seed_s = time.monotonic() - started
        self.assertEqual(status, 200, out)
        self.assertEqual(len(out["snapshot_ids"]), 10000)
        self.assertEqual(len(set(out["snapshot_ids"])), 10000)
        self.assertEqual(len(out["volume_ids"]), 50)
        # 100 more without the tag: the tag filter must leave them out.
        status, extra = self.post(
            "/_frugal/bulk/snapshots",
            {"account": account, "region": REGION, "count": 100, "volume_count": 1},
        )
        self.assertEqual(status, 200, extra)

        started = time.monotonic()
        seen: list[dict[str, Any]] = []
        pages = 0
        kwargs: dict[str, Any] = {
            "OwnerIds": ["self"],
            "MaxResults": 1000,
            "Filters": [{"Name": "tag:frugal.dev/policy", "Values": ["retain-30d"]}],
        }
        while True:
            page = ec2.describe_snapshots(**kwargs)
            pages += 1
            seen += page["Snapshots"]
            if not page.get("NextToken"):
                break
            kwargs["NextToken"] = page["NextToken"]
        list_s = time.monotonic() - started
        print(
            f"\n  S7 seeded 10000 snapshots in {seed_s:.2f}s; S6 listed them with a tag filter "
            f"in {pages} pages of 1000 in {list_s:.2f}s",
            file=sys.stderr,
        )
        self.assertEqual(pages, 10)
        self.assertEqual(sorted(s["SnapshotId"] for s in seen), sorted(out["snapshot_ids"]))
        self.assertEqual({s["VolumeId"] for s in seen}, set(out["volume_ids"]))
        self.assertEqual({s["VolumeSize"] for s in seen}, {8, 100})
        self.assertEqual({s["State"] for s in seen}, {"completed"})
        now = dt.datetime.now(UTC)
        ages = [(now - s["StartTime"]).total_seconds() / 86400 for s in seen]
        self.assertLess(min(ages), 0.1)
        self.assertGreater(max(ages), 364.9)
        self.assertLess(max(ages), 365.1)


if __name__ == "__main__":
    run_as_script("snapshot tests")
