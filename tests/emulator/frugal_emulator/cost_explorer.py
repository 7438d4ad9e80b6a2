"""P2: Cost Explorer GetCostAndUsage answered from seeded usage records.

AWS: Cost Explorer (signing name ``ce``, awsJson1_1, target prefix
``AWSInsightsIndexService``; botocore's ``metadata.protocols`` lists only ``json``, which
the Rust aws-sdk-costexplorer speaks too; one global endpoint, ``ce.us-east-1.amazonaws.com``).
``GetCostAndUsage`` aggregates the account's billing data over ``TimePeriod`` (``Start``
inclusive, ``End`` exclusive, ``YYYY-MM-DD``) by ``Granularity`` (``DAILY``, ``MONTHLY``,
``HOURLY``), for the ``Metrics`` asked (``AmortizedCost``, ``BlendedCost``,
``NetAmortizedCost``, ``NetUnblendedCost``, ``NormalizedUsageAmount``, ``UnblendedCost``,
``UsageQuantity``), filtered by an ``Expression`` (``Dimensions`` {Key, Values,
MatchOptions}, ``Tags``, ``CostCategories``, ``And``/``Or``/``Not``) and grouped by up to two
``GroupBy`` {Type DIMENSION|TAG|COST_CATEGORY, Key}. Each ``ResultsByTime`` entry has the
period (clipped to the request: a MONTHLY query from the 15th starts its first period on
the 15th), ``Total`` (empty when grouped), ``Groups`` [{Keys, Metrics}] and ``Estimated``
(true while the month's bill is not final); amounts are decimal strings with ``Unit``
``USD``. ``NextPageToken`` pages long answers; a token used with other parameters fails
with ``RequestChangedException``.

moto 5.2.5: ``GetCostAndUsage`` ignores the request entirely: it returns whatever result
was queued with ``POST /moto-api/static/ce/cost-and-usage-results`` (first come, first
served per distinct request body, shared by every account), else an empty answer; no
validation, no aggregation, no per-account data.

This module replaces moto's ``GetCostAndUsage`` at the WSGI level (inside the recorder):
moto's queue cannot answer different filters/periods consistently, is global rather than
per account (tests run in parallel, one account each) and depends on request order, so
there is nothing worth wrapping. The answer is computed from usage records seeded per
account with ``POST /_frugal/ce/usage`` (cost_explorer_control.py): each record is one
day's cost (and quantity) of one usage type in one region and service. Other Cost
Explorer operations still go to moto, except that ``POST /_frugal/ce/deny`` makes every
Cost Explorer call of one account fail with a chosen error.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import hashlib
import json
import threading
from http import HTTPStatus
from typing import Any, Callable, Iterable

TARGET_PREFIX = "AWSInsightsIndexService."
GRANULARITIES = ("DAILY", "MONTHLY", "HOURLY")
COST_METRICS = ("AmortizedCost", "BlendedCost", "NetAmortizedCost", "NetUnblendedCost", "UnblendedCost")
QUANTITY_METRICS = ("NormalizedUsageAmount", "UsageQuantity")
METRICS = COST_METRICS + QUANTITY_METRICS
# Dimensions a record has (Key -> record field).
DIMENSIONS = {
    "USAGE_TYPE": "usageType",
    "REGION": "region",
    "SERVICE": "service",
    "LINKED_ACCOUNT": "account",
    "RECORD_TYPE": "recordType",
}
DIMENSION_MATCH_OPTIONS = ("EQUALS", "CASE_SENSITIVE")
DEFAULT_GROUPS_PER_PAGE = 1000
DENY_ERRORS = (
    "AccessDeniedException", "LimitExceededException", "DataUnavailableException", "BillExpirationException",
    "RequestChangedException", "InvalidNextTokenException",
)

_lock = threading.RLock()
# account -> records {"date": dt.date, "usageType", "region", "service", "account", "recordType",
#                     "amount": Decimal, "quantity": Decimal, "unit"}
_records: dict[str, list[dict[str, Any]]] = {}
_denied: dict[str, dict[str, Any]] = {}  # account -> {"error", "remaining"}
_page_size: dict[str, int] = {}  # account -> groups per page


class ServiceError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def validation(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


# ---------------------------------------------------------------------------
# state used by the control endpoints


def add_records(account: str, records: list[dict[str, Any]], replace: bool = False) -> int:
    with _lock:
        if replace:
            _records[account] = []
        _records.setdefault(account, []).extend(dict(r, account=account) for r in records)
        return len(_records[account])


def reset(account: str) -> None:
    with _lock:
        _records.pop(account, None)
        _denied.pop(account, None)
        _page_size.pop(account, None)


def set_deny(account: str, error: str | None, times: int | None = None) -> None:
    with _lock:
        if error is None:
            _denied.pop(account, None)
        else:
            _denied[account] = {"error": error, "remaining": times}


def set_page_size(account: str, groups: int | None) -> None:
    with _lock:
        if groups is None:
            _page_size.pop(account, None)
        else:
            _page_size[account] = groups


def _take_deny(account: str) -> str | None:
    with _lock:
        entry = _denied.get(account)
        if entry is None:
            return None
        if entry["remaining"] is not None:
            entry["remaining"] -= 1
            if entry["remaining"] <= 0:
                del _denied[account]
        return entry["error"]


def _account_records(account: str) -> list[dict[str, Any]]:
    with _lock:
        return list(_records.get(account, []))


# ---------------------------------------------------------------------------
# request checks


def _date(value: Any, name: str) -> dt.date:
    if not isinstance(value, str):
        raise validation(f"{name} is required and must be a date (YYYY-MM-DD).")
    try:
        if len(value) != 10:
            raise ValueError(value)
        return dt.date.fromisoformat(value)
    except ValueError:
        raise validation(f"{name} date {value!r} is not valid: expected YYYY-MM-DD.") from None


def _period(params: dict[str, Any]) -> tuple[dt.date, dt.date]:
    period = params.get("TimePeriod")
    if not isinstance(period, dict):
        raise validation("1 validation error detected: Value null at 'timePeriod' failed to satisfy constraint: Member must not be null")
    start = _date(period.get("Start"), "Start")
    end = _date(period.get("End"), "End")
    if start >= end:
        raise validation("Start date (and hour) should be before end date (and hour)")
    return start, end


def _granularity(params: dict[str, Any]) -> str:
    value = params.get("Granularity")
    if value not in GRANULARITIES:
        raise validation(f"1 validation error detected: Value {value!r} at 'granularity' failed to satisfy constraint: "
                         f"Member must satisfy enum value set: [{', '.join(GRANULARITIES)}]")
    if value == "HOURLY":
        raise validation("Hourly granularity is not enabled for this account (the emulator has daily records only).")
    return value


def _metrics(params: dict[str, Any]) -> list[str]:
    value = params.get("Metrics")
    if not isinstance(value, list) or not value:
        raise validation("Metrics is required and must have at least one metric name.")
    bad = [m for m in value if m not in METRICS]
    if bad:
        raise validation(f"Invalid metrics {bad}: valid metrics are {', '.join(METRICS)}.")
    return list(dict.fromkeys(value))


def _group_by(params: dict[str, Any]) -> list[tuple[str, str]]:
    value = params.get("GroupBy")
    if value is None:
        return []
    if not isinstance(value, list):
        raise validation("GroupBy must be a list.")
    if len(value) > 2:
        raise validation("You can group by up to two different types (GroupBy has at most 2 elements).")
    out = []
    for item in value:
        if not isinstance(item, dict):
            raise validation("Each GroupBy element must be {Type, Key}.")
        gtype, key = item.get("Type"), item.get("Key")
        if not gtype or not key:
            # AWS's message (sic), as reported in FittedCloud/costreporter#5.
            raise validation("Group Definition is invalid. Both type an key need to be set to a non-empty value.")
        if gtype == "DIMENSION":
            if key not in DIMENSIONS:
                raise validation(f"Group by dimension {key!r} is not supported by the emulator "
                                 f"(supported: {', '.join(DIMENSIONS)}).")
        elif gtype == "TAG":
            pass
        elif gtype == "COST_CATEGORY":
            raise validation("Group by COST_CATEGORY is not supported by the emulator (no cost categories).")
        else:
            raise validation(f"Invalid GroupBy Type {gtype!r}: valid types are DIMENSION, TAG, COST_CATEGORY.")
        if (gtype, key) in out:
            raise validation(f"Duplicate GroupBy {gtype} {key}.")
        out.append((gtype, key))
    return out


def _values(node: dict[str, Any], where: str) -> list[str]:
    values = node.get("Values")
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise validation(f"{where}.Values must be a list of strings.")
    return values


def _compile(expr: Any, where: str = "Filter") -> Callable[[dict[str, Any]], bool]:
    """Check an Expression and turn it into a predicate on records."""
    if not isinstance(expr, dict):
        raise validation(f"{where} must be an Expression object.")
    roots = [k for k in ("And", "Or", "Not", "Dimensions", "Tags", "CostCategories", "ProductAttributes") if expr.get(k) is not None]
    if len(roots) != 1:
        # AWS's message, as reported in aws/aws-sdk-java#1645.
        raise validation('Expression has zero or more than one roots. Only one root operator is allowed for each '
                         'expression: "and", "or", "not", "tag" or "dimensionValue"')
    [root] = roots
    node = expr[root]
    if root in ("And", "Or"):
        if not isinstance(node, list) or len(node) < 2:
            # AWS's message, as reported in aws-samples/aws-cost-explorer-report#27.
            raise validation(f"{root} expression must have at least 2 operands")
        parts = [_compile(e, f"{where}.{root}[{i}]") for i, e in enumerate(node)]
        if root == "And":
            return lambda r: all(p(r) for p in parts)
        return lambda r: any(p(r) for p in parts)
    if root == "Not":
        inner = _compile(node, f"{where}.Not")
        return lambda r: not inner(r)
    if root == "Dimensions":
        if not isinstance(node, dict):
            raise validation(f"{where}.Dimensions must be {{Key, Values, MatchOptions}}.")
        key = node.get("Key")
        if key not in DIMENSIONS:
            raise validation(f"Filter dimension {key!r} is not supported by the emulator (supported: {', '.join(DIMENSIONS)}).")
        values = set(_values(node, f"{where}.Dimensions"))
        if not values:
            raise validation(f"{where}.Dimensions.Values must not be empty.")
        options = node.get("MatchOptions") or ["EQUALS"]
        if not isinstance(options, list) or any(o not in DIMENSION_MATCH_OPTIONS for o in options):
            raise validation(f"{where}.Dimensions.MatchOptions {options!r} is not supported for GetCostAndUsage "
                             f"(only {', '.join(DIMENSION_MATCH_OPTIONS)}).")
        field = DIMENSIONS[key]
        return lambda r: r[field] in values
    if root == "Tags":
        if not isinstance(node, dict) or not isinstance(node.get("Key"), str):
            raise validation(f"{where}.Tags must be {{Key, Values, MatchOptions}}.")
        values = set(_values(node, f"{where}.Tags")) if node.get("Values") is not None else set()
        options = node.get("MatchOptions") or ["EQUALS"]
        # Records carry no tags: only "untagged" matches (an empty value, or ABSENT).
        untagged = "ABSENT" in options or "" in values
        return lambda r: untagged
    raise validation(f"{where}.{root} is not supported by the emulator (no cost categories or product attributes).")


def _query_key(params: dict[str, Any]) -> str:
    request = {k: v for k, v in params.items() if k != "NextPageToken"}
    return hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16]


def _offset(params: dict[str, Any], query: str) -> int:
    token = params.get("NextPageToken")
    if token is None:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode("ascii")))
        offset, issued_for = int(decoded["o"]), str(decoded["q"])
        if offset < 1:
            raise ValueError(offset)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise ServiceError("InvalidNextTokenException", "Invalid pagination token.") from None
    if issued_for != query:
        raise ServiceError(
            "RequestChangedException",
            "Your request parameters changed between pages. Try again with the old parameters or without a pagination token.",
        )
    return offset


# ---------------------------------------------------------------------------
# aggregation


def _buckets(start: dt.date, end: dt.date, granularity: str) -> list[tuple[dt.date, dt.date]]:
    out = []
    day = start
    while day < end:
        if granularity == "DAILY":
            nxt = day + dt.timedelta(days=1)
        else:
            nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
        nxt = min(nxt, end)
        out.append((day, nxt))
        day = nxt
    return out


def _amount(value: decimal.Decimal) -> str:
    return "0" if value == 0 else format(value, "f")


def _metric_values(records: list[dict[str, Any]], metrics: list[str]) -> dict[str, dict[str, str]]:
    units = {r["unit"] for r in records}
    quantity_unit = next(iter(units)) if len(units) == 1 else "N/A"
    out = {}
    for metric in metrics:
        if metric in COST_METRICS:
            # One account, no discounts, credits or reservations: every cost metric is the cost.
            out[metric] = {"Amount": _amount(sum((r["amount"] for r in records), decimal.Decimal(0))), "Unit": "USD"}
        else:
            quantity = sum((r["quantity"] for r in records), decimal.Decimal(0))
            out[metric] = {"Amount": _amount(quantity), "Unit": quantity_unit}
    return out


def _group_key(record: dict[str, Any], group_by: list[tuple[str, str]]) -> tuple[str, ...]:
    keys = []
    for gtype, key in group_by:
        if gtype == "DIMENSION":
            keys.append(record[DIMENSIONS[key]])
        else:
            keys.append(f"{key}$")  # records carry no tags: AWS's "untagged" group key
    return tuple(keys)


def get_cost_and_usage(params: dict[str, Any], account: str, today: dt.date | None = None) -> dict[str, Any]:
    start, end = _period(params)
    granularity = _granularity(params)
    metrics = _metrics(params)
    group_by = _group_by(params)
    keep = _compile(params["Filter"]) if params.get("Filter") is not None else (lambda r: True)
    query = _query_key(params)
    offset = _offset(params, query)
    with _lock:
        size = _page_size.get(account, DEFAULT_GROUPS_PER_PAGE)
    today = today or dt.datetime.now(dt.timezone.utc).date()
    month_start = today.replace(day=1)

    records = [r for r in _account_records(account) if start <= r["date"] < end and keep(r)]
    # One item per group (grouped) or per period (not grouped; or a grouped period without data).
    items: list[tuple[int, dict[str, Any] | None]] = []
    periods = _buckets(start, end, granularity)
    for index, (lo, hi) in enumerate(periods):
        inside = [r for r in records if lo <= r["date"] < hi]
        if not group_by:
            items.append((index, None))
            continue
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for r in inside:
            groups.setdefault(_group_key(r, group_by), []).append(r)
        if not groups:
            items.append((index, None))
        for keys in sorted(groups):
            items.append((index, {"Keys": list(keys), "Metrics": _metric_values(groups[keys], metrics)}))
    if offset and offset >= len(items):
        raise ServiceError("InvalidNextTokenException", "Invalid pagination token.")
    page = items[offset:offset + size]

    results: list[dict[str, Any]] = []
    for index, group in page:
        lo, hi = periods[index]
        if not results or results[-1]["_index"] != index:
            if group_by:
                total: dict[str, Any] = {}
            else:
                total = _metric_values([r for r in records if lo <= r["date"] < hi], metrics)
            results.append({
                "_index": index,
                "TimePeriod": {"Start": lo.isoformat(), "End": hi.isoformat()},
                "Total": total,
                "Groups": [],
                "Estimated": hi > month_start,
            })
        if group is not None:
            results[-1]["Groups"].append(group)
    for result in results:
        del result["_index"]
    out: dict[str, Any] = {}
    if offset + size < len(items):
        out["NextPageToken"] = base64.urlsafe_b64encode(json.dumps({"q": query, "o": offset + size}).encode()).decode("ascii")
    if group_by:
        out["GroupDefinitions"] = [{"Type": t, "Key": k} for t, k in group_by]
    out["ResultsByTime"] = results
    linked = ("DIMENSION", "LINKED_ACCOUNT") in group_by
    out["DimensionValueAttributes"] = [{"Value": account, "Attributes": {"description": account}}] if linked and records else []
    return out


# ---------------------------------------------------------------------------
# HTTP


def _json_reply(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))]
    if status >= 300:
        headers.append(("x-amzn-ErrorType", payload["__type"]))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [data]


def _deny_message(code: str, account: str, operation: str) -> str:
    return {
        "AccessDeniedException": f"User: arn:aws:iam::{account}:root is not authorized to perform: ce:{operation}",
        "LimitExceededException": "You have exceeded the rate limit. Try again later.",
        "DataUnavailableException": "Data is not available. Please try to adjust the time period. If the issue persists, "
                                    "please contact AWS Support.",
        "BillExpirationException": "The requested report expired. Update the date interval and try again.",
        "RequestChangedException": "Your request parameters changed between pages. Try again with the old parameters or "
                                   "without a pagination token.",
        "InvalidNextTokenException": "Invalid pagination token.",
    }[code]


class CostExplorer:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX) or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        from .recorder import _account_for

        operation = target[len(TARGET_PREFIX):]
        account = _account_for(environ)
        denied = _take_deny(account)
        if denied is not None:
            return _json_reply(start_response, 400, {"__type": denied, "Message": _deny_message(denied, account, operation)})
        if operation != "GetCostAndUsage":
            return self.app(environ, start_response)  # moto's (cost categories, tags, ...)
        length = environ.get("CONTENT_LENGTH")
        raw = environ["wsgi.input"].read(int(length)) if length and length.isdigit() else b""
        try:
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                raise ServiceError("SerializationException", "The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise ServiceError("SerializationException", "The request body must be a JSON object")
            answer = get_cost_and_usage(params, account)
        except ServiceError as err:
            return _json_reply(start_response, err.status, {"__type": err.code, "Message": err.message})
        return _json_reply(start_response, 200, answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return CostExplorer(app)
