#!/usr/bin/env python3
"""Seed an AWS Organization in the emulator through the standard Organizations API, for a
CostPolicySet over organizational units (`spec.accounts.organization`).

    python seed_organization.py ENDPOINT_URL [--account 123456789012] [--members 22]
    python seed_organization.py ENDPOINT_URL move ACCOUNT_ID --to OU_ID
    python seed_organization.py ENDPOINT_URL close ACCOUNT_ID
    python seed_organization.py ENDPOINT_URL tag ACCOUNT_ID KEY=VALUE

The organization lives in the management account (moto keeps it in the calling account):
`--account` is reached by AssumeRole into arn:aws:iam::<account>:role/frugal-org-reader, as
the operator's `roleArn` would. Seeding creates the organization and three units:

    root
    ├── prod         (members - 4 accounts)
    │   └── prod-eu  (2 accounts; nested: only with includeNestedUnits)
    └── dev          (2 accounts)

The member accounts get random ids from the emulator. One prod account is closed
(SUSPENDED), one tagged frugal.dev/skip=true. Prints JSON: the root, the units' ids and
each unit's accounts with their state, and the roleArn to put in the set.

move, close and tag change one account with MoveAccount, CloseAccount and TagResource.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402

REGION = "us-east-1"  # Organizations' endpoint
READER_ROLE = "frugal-org-reader"


def organizations(url: str, account: str):
    sts = boto3.client("sts", endpoint_url=url, region_name=REGION)
    role_arn = f"arn:aws:iam::{account}:role/{READER_ROLE}"
    credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName="seed")["Credentials"]
    client = boto3.client(
        "organizations",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    return client, role_arn


def create_accounts(client, root: str, parent: str, name: str, count: int) -> list[str]:
    ids = []
    for i in range(count):
        status = client.create_account(Email=f"{name}-{i}@example.com", AccountName=f"{name}-{i}")["CreateAccountStatus"]
        account = status["AccountId"]
        client.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
        ids.append(account)
    return ids


def parent_of(client, account: str) -> str:
    return client.list_parents(ChildId=account)["Parents"][0]["Id"]


def accounts_of(client, parent: str) -> list[dict]:
    accounts = []
    for page in client.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
        accounts.extend({"id": a["Id"], "state": a.get("State", a.get("Status"))} for a in page["Accounts"])
    return accounts


def seed(client, role_arn: str, members: int) -> dict:
    client.create_organization(FeatureSet="ALL")
    root = client.list_roots()["Roots"][0]["Id"]
    unit = lambda parent, name: client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]  # noqa: E731
    prod = unit(root, "prod")
    prod_eu = unit(prod, "prod-eu")
    dev = unit(root, "dev")
    prod_accounts = create_accounts(client, root, prod, "prod", max(members - 4, 2))
    create_accounts(client, root, prod_eu, "prod-eu", 2)
    create_accounts(client, root, dev, "dev", 2)
    client.close_account(AccountId=prod_accounts[0])
    client.tag_resource(ResourceId=prod_accounts[1], Tags=[{"Key": "frugal.dev/skip", "Value": "true"}])
    units = {"prod": prod, "prod-eu": prod_eu, "dev": dev}
    return {
        "roleArn": role_arn,
        "root": root,
        "units": units,
        "accounts": {name: accounts_of(client, ou) for name, ou in units.items()},
        "closed": prod_accounts[0],
        "tagged": prod_accounts[1],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("url")
    parser.add_argument("command", nargs="?", choices=["seed", "move", "close", "tag"], default="seed")
    parser.add_argument("target", nargs="?", help="the account id (move, close, tag)")
    parser.add_argument("tag", nargs="?", help="KEY=VALUE (tag)")
    parser.add_argument("--account", default="123456789012", help="the management account")
    parser.add_argument("--members", type=int, default=22, help="member accounts in all (at least 8)")
    parser.add_argument("--to", help="the destination unit (move)")
    args = parser.parse_args()
    client, role_arn = organizations(args.url, args.account)
    if args.command == "seed":
        print(json.dumps(seed(client, role_arn, args.members), indent=2))
        return 0
    if not args.target:
        parser.error(f"{args.command} needs an account id")
    if args.command == "move":
        if not args.to:
            parser.error("move needs --to OU_ID")
        client.move_account(AccountId=args.target, SourceParentId=parent_of(client, args.target), DestinationParentId=args.to)
    elif args.command == "close":
        client.close_account(AccountId=args.target)
    else:
        key, sep, value = (args.tag or "").partition("=")
        if not sep or not key:
            parser.error("tag needs KEY=VALUE")
        client.tag_resource(ResourceId=args.target, Tags=[{"Key": key, "Value": value}])
    print(json.dumps({"account": args.target, "parent": parent_of(client, args.target)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
