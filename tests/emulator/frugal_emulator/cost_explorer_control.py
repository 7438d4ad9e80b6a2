"""P2 control endpoints: an account's Cost Explorer usage records and failures.

    POST /_frugal/ce/usage
    {"account" (default 123456789012), "records": [{"date": "YYYY-MM-DD" (one day),
      "usageType": "APN2-NatGateway-Bytes", "region": "ap-northeast-2",
      "service": "EC2 - Other", "amountUsd": "1.23" (decimal string or number),
      optional "usageQuantity": "20.8" (default "0"), "usageUnit": "GB" (default "N/A"),
      "recordType": "Usage" (default)}], optional "replace": true (drop the account's
      earlier records first)}
    Records add up (two records of the same day and usage type are summed). Every record
    is validated before any is stored.
    -> 200 {"account", "records": <the account's record count>}; 400 {"error"}.

    POST /_frugal/ce/reset {"account"} -> 200 {"account"}: drops the account's records,
    deny and page size.

    POST /_frugal/ce/deny
    {"account", "error": "AccessDeniedException" | "LimitExceededException" |
     "DataUnavailableException" | "BillExpirationException" | "RequestChangedException" |
     "InvalidNextTokenException" | null (clears), optional "times": n >= 1 (only the next n
     calls; default every call until cleared)}: every Cost Explorer call signed by that
    account fails with that error (HTTP 400).  -> 200 {"account", "error", "times"}.

    POST /_frugal/ce/page-size {"account", "groups": n >= 1 | null (default 1000)}: how many
    groups (or, without GroupBy, periods) one GetCostAndUsage page holds, to exercise
    NextPageToken.  -> 200 {"account", "groups"}.

Records, denies and page sizes are per account. Outside the recorder like ebs_snapshots.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID

from . import cost_explorer as ce
from .control import read_json, reply

USAGE = "/_frugal/ce/usage"
RESET = "/_frugal/ce/reset"
DENY = "/_frugal/ce/deny"
PAGE_SIZE = "/_frugal/ce/page-size"
RECORD_FIELDS = {"date", "usageType", "region", "service", "amountUsd", "usageQuantity", "usageUnit", "recordType"}


class ControlError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _object(params: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ControlError("expected a JSON object")
    unknown = set(params) - allowed
    if unknown:
        raise ControlError(f"unknown fields: {sorted(unknown)}")
    return params


def _account(params: dict[str, Any]) -> str:
    account = params.get("account", DEFAULT_ACCOUNT_ID)
    if not isinstance(account, str) or not account.isdigit() or len(account) != 12:
        raise ControlError(f"account: expected a 12-digit account id, got {account!r}")
    return account


def _string(item: dict[str, Any], field: str, where: str, default: str | None = None) -> str:
    value = item.get(field, default)
    if not isinstance(value, str) or not value:
        raise ControlError(f"{where}.{field}: expected a non-empty string, got {value!r}")
    return value


def _decimal(item: dict[str, Any], field: str, where: str, default: str | None = None) -> decimal.Decimal:
    value = item.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ControlError(f"{where}.{field}: expected a decimal string such as \"1.23\", got {value!r}")
    try:
        amount = decimal.Decimal(str(value))
    except decimal.InvalidOperation:
        raise ControlError(f"{where}.{field}: not a decimal: {value!r}") from None
    if not amount.is_finite():
        raise ControlError(f"{where}.{field}: must be finite")
    return amount


def _record(item: Any, where: str) -> dict[str, Any]:
    item = _object(item, RECORD_FIELDS)
    day = item.get("date")
    try:
        if not isinstance(day, str) or len(day) != 10:
            raise ValueError(day)
        date = dt.date.fromisoformat(day)
    except ValueError:
        raise ControlError(f"{where}.date: expected YYYY-MM-DD, got {day!r}") from None
    quantity = _decimal(item, "usageQuantity", where, "0")
    if quantity < 0:
        raise ControlError(f"{where}.usageQuantity: must be >= 0")
    return {
        "date": date,
        "usageType": _string(item, "usageType", where),
        "region": _string(item, "region", where),
        "service": _string(item, "service", where),
        "amount": _decimal(item, "amountUsd", where),
        "quantity": quantity,
        "unit": _string(item, "usageUnit", where, "N/A"),
        "recordType": _string(item, "recordType", where, "Usage"),
    }


def usage(params: Any) -> dict[str, Any]:
    params = _object(params, {"account", "records", "replace"})
    account = _account(params)
    records = params.get("records")
    if not isinstance(records, list) or not records:
        raise ControlError("records: expected a non-empty list")
    replace = params.get("replace", False)
    if not isinstance(replace, bool):
        raise ControlError("replace: expected true or false")
    checked = [_record(r, f"records[{i}]") for i, r in enumerate(records)]  # everything first
    return {"account": account, "records": ce.add_records(account, checked, replace)}


def reset(params: Any) -> dict[str, Any]:
    account = _account(_object(params, {"account"}))
    ce.reset(account)
    return {"account": account}


def deny(params: Any) -> dict[str, Any]:
    params = _object(params, {"account", "error", "times"})
    account = _account(params)
    if "error" not in params:
        raise ControlError(f"error: required, one of {list(ce.DENY_ERRORS)} or null")
    error = params["error"]
    if error is not None and error not in ce.DENY_ERRORS:
        raise ControlError(f"error: expected one of {list(ce.DENY_ERRORS)} or null, got {error!r}")
    times = params.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ControlError(f"times: expected an integer >= 1, got {times!r}")
    ce.set_deny(account, error, times)
    return {"account": account, "error": error, "times": times}


def page_size(params: Any) -> dict[str, Any]:
    params = _object(params, {"account", "groups"})
    account = _account(params)
    if "groups" not in params:
        raise ControlError("groups: required, an integer >= 1 or null")
    groups = params["groups"]
    if groups is not None and (isinstance(groups, bool) or not isinstance(groups, int) or groups < 1):
        raise ControlError(f"groups: expected an integer >= 1 or null, got {groups!r}")
    ce.set_page_size(account, groups)
    return {"account": account, "groups": groups}


class CostExplorerControl:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        handler = {USAGE: usage, RESET: reset, DENY: deny, PAGE_SIZE: page_size}.get(path)
        if handler is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        try:
            try:
                params = read_json(environ)
            except ValueError as err:
                raise ControlError(f"bad JSON: {err}") from None
            answer = handler(params)
        except ControlError as err:
            return reply(start_response, "400 BAD REQUEST", {"error": err.message})
        return reply(start_response, "200 OK", answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return CostExplorerControl(app)
