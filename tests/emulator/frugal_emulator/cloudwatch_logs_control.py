"""W1 control endpoint: set a CloudWatch Logs log group's stored bytes.

    POST /_frugal/logs/stored-bytes
    an object or a list of objects
    {"account" (default 123456789012), "region" (default us-east-1),
     "logGroupName", "storedBytes": integer >= 0}
    -> 200 {"updated": [{"account", "region", "logGroupName", "storedBytes"}]}
       (storedBytes as DescribeLogGroups now reports it: the seeded size plus any
       events put since); 400 {"error"} bad JSON / bad field; 404 {"error"} unknown log
       group. Every item is checked before anything changes.

moto counts only the events a test puts (so every log group is ~0 bytes); AWS reports
what the group stores (DescribeLogGroups `storedBytes`). Outside the recorder like
ebs_snapshots.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID

from .cloudwatch_logs_alarms import set_stored_bytes
from .control import read_json, reply

PATH = "/_frugal/logs/stored-bytes"


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _validate(item: Any) -> tuple[str, str, str, int]:
    from moto.logs.models import logs_backends

    if not isinstance(item, dict):
        raise ControlError(400, "expected a JSON object (or a list of objects)")
    unknown = set(item) - {"account", "region", "logGroupName", "storedBytes"}
    if unknown:
        raise ControlError(400, f"unknown fields: {sorted(unknown)}")
    account, region = item.get("account", DEFAULT_ACCOUNT_ID), item.get("region", "us-east-1")
    name, stored = item.get("logGroupName"), item.get("storedBytes")
    for field, value in (("account", account), ("region", region), ("logGroupName", name)):
        if not isinstance(value, str) or not value:
            raise ControlError(400, f"{field}: expected a non-empty string, got {value!r}")
    if isinstance(stored, bool) or not isinstance(stored, int) or stored < 0:
        raise ControlError(400, f"storedBytes: expected an integer >= 0, got {stored!r}")
    if name not in logs_backends[account][region].groups:
        raise ControlError(404, f"The specified log group does not exist: {name} (account {account}, region {region})")
    return account, region, name, stored


def update(params: Any) -> dict[str, Any]:
    items = params if isinstance(params, list) else [params]
    if not items:
        raise ControlError(400, "expected at least one item")
    checked = [_validate(item) for item in items]
    updated = []
    for account, region, name, stored in checked:
        described = set_stored_bytes(account, region, name, stored)
        updated.append({"account": account, "region": region, "logGroupName": name, "storedBytes": described["storedBytes"]})
    return {"updated": updated}


class LogsControl:
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
            answer = update(params)
        except ControlError as err:
            status = "404 NOT FOUND" if err.status == 404 else "400 BAD REQUEST"
            return reply(start_response, status, {"error": err.message})
        return reply(start_response, "200 OK", answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return LogsControl(app)
