#!/usr/bin/env python3
"""A1 (frugal_emulator/iam_account_lookup.py): the account of an access key, in process.

Run:  .venv/bin/python tests/emulator/test_account_lookup.py   (after tests/emulator/setup.sh)
The lookup is checked against moto's backends directly: which IAM backends a lookup
builds cannot be seen over HTTP.
"""

from __future__ import annotations

import os
import sys
import unittest

os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "false")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import run_as_script  # noqa: E402
from frugal_emulator import iam_account_lookup  # noqa: E402

iam_account_lookup.apply()

from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.iam import models as iam_models  # noqa: E402
from moto.sts.models import sts_backends  # noqa: E402


def assume(account: str) -> str:
    """AssumeRole into `account` the way the STS API does; the new key id."""
    role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].assume_role(
        region_name="us-east-1", role_session_name="test", role_arn=f"arn:aws:iam::{account}:role/x",
        policy=None, duration=900, external_id=None,
    )
    return role.access_key_id


class AccountLookupTest(unittest.TestCase):
    def test_each_key_maps_to_its_account(self) -> None:
        keys = {account: assume(account) for account in ("300000000001", "300000000002", "300000000003")}
        for account, key in keys.items():
            self.assertEqual(iam_models.get_account_id_from(key), account)
        self.assertEqual(iam_models.get_account_id_from("ASIAUNKNOWNKEY000000"), DEFAULT_ACCOUNT_ID)

    def test_a_lookup_builds_no_backend(self) -> None:
        key = assume("300000000010")
        assume("300000000011")
        self.assertEqual(iam_models.get_account_id_from(key), "300000000010")
        iam_models.get_account_id_from("ASIAUNKNOWNKEY000000")
        for account in ("300000000010", "300000000011"):
            # Only the partition AssumeRole stored the key in; moto's own lookup builds all six.
            self.assertEqual(sorted(dict.keys(iam_models.iam_backends[account])), ["aws"], account)

    def test_a_key_of_another_partition(self) -> None:
        backend = iam_models.iam_backends["300000000020"]["aws-cn"]
        key = backend.create_temp_access_key().access_key_id
        self.assertEqual(iam_models.get_account_id_from(key), "300000000020")


if __name__ == "__main__":
    run_as_script("account lookup tests")
