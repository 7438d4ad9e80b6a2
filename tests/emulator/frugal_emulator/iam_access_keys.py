"""K1 control endpoint: set an IAM access key's creation date and last use.

    POST /_frugal/iam/access-key
    {"accessKeyId": "AKIA...",
     optional "account" (search only that account; default: every account),
     optional "createDate": RFC 3339 (offset or "Z"),
     optional "lastUsed": {"date": RFC 3339, "service": "s3", "region": "eu-west-1"} | null}
    -> 200 {"accessKeyId", "userName", "account", "createDate", "lastUsed"}
       (dates back as RFC 3339 UTC, lastUsed null when never used);
       400 {"error"} for bad JSON or a bad field, 404 {"error"} for an unknown key.

At least one of createDate / lastUsed must be given. lastUsed null makes the key
never used: GetAccessKeyLastUsed then answers AWS's never-used shape (no
LastUsedDate, ServiceName/Region "N/A"). The key's owner signing a request later
still records a new last use, as in AWS.

Mutates moto's IAM backend objects (AccessKey.create_date, AccessKey.last_used),
which ListAccessKeys (CreateDate) and GetAccessKeyLastUsed read. Serves only
this path, outside the recorder like ebs_snapshots.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable

from .control import read_json, reply

PATH = "/_frugal/iam/access-key"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _parse_time(value: Any, field: str) -> dt.datetime:
    """RFC 3339 with an offset or Z -> naive UTC (moto's utcnow() is naive UTC)."""
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{field}: expected an RFC 3339 string, got {value!r}")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ControlError(400, f"{field}: not an RFC 3339 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ControlError(400, f"{field}: RFC 3339 needs an offset or Z: {value!r}")
    return parsed.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _rfc3339(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _find_key(access_key_id: str, account: str | None) -> tuple[str, Any]:
    from moto.iam.models import iam_backends

    for account_id, partitions in list(iam_backends.items()):
        if account is not None and account_id != account:
            continue
        for partition in list(partitions.keys()):
            backend = partitions[partition]
            for user in list(backend.users.values()):
                for key in user.access_keys:
                    if key.access_key_id == access_key_id:
                        return account_id, key
    where = f" in account {account}" if account is not None else ""
    raise ControlError(404, f"The Access Key with id {access_key_id} cannot be found{where}")


def set_access_key(params: Any) -> dict[str, Any]:
    from moto.iam.models import AccessKeyLastUsed

    if not isinstance(params, dict):
        raise ControlError(400, "expected a JSON object")
    unknown = set(params) - {"accessKeyId", "account", "createDate", "lastUsed"}
    if unknown:
        raise ControlError(400, f"unknown fields: {sorted(unknown)}")
    key_id = params.get("accessKeyId")
    if not isinstance(key_id, str) or not key_id:
        raise ControlError(400, "accessKeyId: required, a string")
    account = params.get("account")
    if account is not None and not isinstance(account, str):
        raise ControlError(400, "account: expected a string")
    if "createDate" not in params and "lastUsed" not in params:
        raise ControlError(400, "give createDate and/or lastUsed")

    # Validate everything before changing anything.
    create_date = _parse_time(params["createDate"], "createDate") if "createDate" in params else None
    last_used: Any = ...
    if "lastUsed" in params:
        given = params["lastUsed"]
        if given is None:
            last_used = None
        elif isinstance(given, dict):
            extra = set(given) - {"date", "service", "region"}
            if extra:
                raise ControlError(400, f"lastUsed: unknown fields: {sorted(extra)}")
            date = _parse_time(given.get("date"), "lastUsed.date")
            service, region = given.get("service"), given.get("region")
            if not isinstance(service, str) or not service:
                raise ControlError(400, "lastUsed.service: required, a string (e.g. \"s3\")")
            if not isinstance(region, str) or not region:
                raise ControlError(400, "lastUsed.region: required, a string (e.g. \"eu-west-1\")")
            last_used = AccessKeyLastUsed(timestamp=date, service=service, region=region)
        else:
            raise ControlError(400, "lastUsed: expected an object {date, service, region} or null")

    account_id, key = _find_key(key_id, account)
    if create_date is not None:
        key.create_date = create_date
    if last_used is not ...:
        key.last_used = last_used
    used = key.last_used
    return {
        "accessKeyId": key.access_key_id,
        "userName": key.user_name,
        "account": account_id,
        "createDate": _rfc3339(key.create_date),
        "lastUsed": None if used is None else {
            "date": _rfc3339(used.timestamp), "service": used.service, "region": used.region,
        },
    }


class AccessKeyControl:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") != PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        try:
            try:
                params = read_json(environ)
            except ValueError as err:
                raise ControlError(400, f"bad JSON: {err}") from None
            answer = set_access_key(params)
        except ControlError as err:
            status = "404 NOT FOUND" if err.status == 404 else "400 BAD REQUEST"
            return reply(start_response, status, {"error": err.message})
        return reply(start_response, "200 OK", answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return AccessKeyControl(app)
