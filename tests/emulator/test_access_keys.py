#!/usr/bin/env python3
"""Tests for the K1 control endpoint POST /_frugal/iam/access-key (frugal_emulator/iam_access_keys.py).

Run:  .venv/bin/python tests/emulator/test_access_keys.py   (after tests/emulator/setup.sh)
Starts its own launcher; each test works in its own account (STS AssumeRole).
Exits non-zero on failure.
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

UTC = dt.timezone.utc
PATH = "/_frugal/iam/access-key"


class AccessKeyControlTest(LauncherTestCase):
    _next_account = 400000000000

    # helpers ---------------------------------------------------------------
    def iam(self) -> tuple[str, Any]:
        AccessKeyControlTest._next_account += 1
        account = str(AccessKeyControlTest._next_account)
        sts = boto3.client("sts", endpoint_url=self.url, region_name=REGION, config=NO_RETRY)
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/x", RoleSessionName="test")["Credentials"]
        session = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=REGION,
        )
        return account, session.client("iam", endpoint_url=self.url, config=NO_RETRY)

    def post(self, body: Any, raw: bytes | None = None) -> tuple[int, Any]:
        req = urllib.request.Request(
            self.url + PATH,
            data=raw if raw is not None else json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def user_with_key(self, iam: Any, name: str) -> str:
        iam.create_user(UserName=name)
        return iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]

    # tests -----------------------------------------------------------------
    def test_sets_create_date_and_last_use(self) -> None:
        account, iam = self.iam()
        key = self.user_with_key(iam, "ci-deploy")
        status, body = self.post({
            "accessKeyId": key,
            "createDate": "2025-10-28T09:30:00Z",
            "lastUsed": {"date": "2026-05-16T12:00:00+02:00", "service": "s3", "region": "eu-west-1"},
        })
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {
            "accessKeyId": key, "userName": "ci-deploy", "account": account,
            "createDate": "2025-10-28T09:30:00Z",
            "lastUsed": {"date": "2026-05-16T10:00:00Z", "service": "s3", "region": "eu-west-1"},
        })
        [meta] = iam.list_access_keys(UserName="ci-deploy")["AccessKeyMetadata"]
        self.assertEqual(meta["AccessKeyId"], key)
        self.assertEqual(meta["CreateDate"], dt.datetime(2025, 10, 28, 9, 30, tzinfo=UTC))
        self.assertEqual(meta["Status"], "Active")
        answer = iam.get_access_key_last_used(AccessKeyId=key)
        self.assertEqual(answer["UserName"], "ci-deploy")
        self.assertEqual(answer["AccessKeyLastUsed"], {
            "LastUsedDate": dt.datetime(2026, 5, 16, 10, 0, tzinfo=UTC),
            "ServiceName": "s3",
            "Region": "eu-west-1",
        })

        # Only lastUsed: the creation date stays; scoped to the right account works too.
        status, body = self.post({"accessKeyId": key, "account": account,
                                  "lastUsed": {"date": "2026-06-01T00:00:00Z", "service": "ec2", "region": "us-east-1"}})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["createDate"], "2025-10-28T09:30:00Z")
        used = iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
        self.assertEqual((used["LastUsedDate"], used["ServiceName"], used["Region"]),
                         (dt.datetime(2026, 6, 1, tzinfo=UTC), "ec2", "us-east-1"))

    def test_null_last_used_is_never_used(self) -> None:
        _, iam = self.iam()
        key = self.user_with_key(iam, "laptop-alice")
        self.post({"accessKeyId": key, "lastUsed": {"date": "2026-01-01T00:00:00Z", "service": "s3", "region": "eu-west-1"}})
        status, body = self.post({"accessKeyId": key, "lastUsed": None})
        self.assertEqual(status, 200, body)
        self.assertIsNone(body["lastUsed"])
        answer = iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"]
        self.assertNotIn("LastUsedDate", answer)
        self.assertEqual((answer["ServiceName"], answer["Region"]), ("N/A", "N/A"))

    def test_unknown_key_is_404(self) -> None:
        account, iam = self.iam()
        key = self.user_with_key(iam, "someone")
        status, body = self.post({"accessKeyId": "AKIAUNKNOWN000000000", "createDate": "2026-01-01T00:00:00Z"})
        self.assertEqual(status, 404, body)
        self.assertIn("AKIAUNKNOWN000000000", body["error"])
        # A real key looked up in another account is unknown there.
        status, body = self.post({"accessKeyId": key, "account": "999999999999", "lastUsed": None})
        self.assertEqual(status, 404, body)

    def test_bad_input_is_400_and_changes_nothing(self) -> None:
        _, iam = self.iam()
        key = self.user_with_key(iam, "bob")
        before = iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["CreateDate"]
        good_use = {"date": "2026-01-01T00:00:00Z", "service": "s3", "region": "eu-west-1"}
        cases = [
            {},
            {"accessKeyId": key},
            {"accessKeyId": 7, "lastUsed": None},
            {"accessKeyId": key, "createDate": "yesterday"},
            {"accessKeyId": key, "createDate": "2026-01-01T00:00:00"},  # no offset
            {"accessKeyId": key, "createDate": 1767225600},
            {"accessKeyId": key, "lastUsed": "2026-01-01T00:00:00Z"},
            {"accessKeyId": key, "lastUsed": {"date": "2026-01-01T00:00:00Z"}},
            {"accessKeyId": key, "lastUsed": {**good_use, "service": ""}},
            {"accessKeyId": key, "lastUsed": {**good_use, "extra": 1}},
            # a valid lastUsed with a bad createDate: nothing is applied
            {"accessKeyId": key, "createDate": "nope", "lastUsed": good_use},
            {"accessKeyId": key, "lastUsed": None, "surprise": True},
            [{"accessKeyId": key, "lastUsed": None}],
        ]
        for case in cases:
            status, body = self.post(case)
            self.assertEqual(status, 400, (case, body))
            self.assertIsInstance(body.get("error"), str, case)
        status, body = self.post(None, raw=b"{not json")
        self.assertEqual(status, 400, body)
        self.assertIn("bad JSON", body["error"])
        self.assertEqual(iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["CreateDate"], before)
        self.assertNotIn("LastUsedDate", iam.get_access_key_last_used(AccessKeyId=key)["AccessKeyLastUsed"])


if __name__ == "__main__":
    run_as_script("access key tests")
