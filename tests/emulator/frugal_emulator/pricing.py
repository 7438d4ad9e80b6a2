"""P1: AWS Price List Query API (service ``pricing``; moto 5.2.5 has none).

AWS: the Price List Query API (signing name ``pricing``, awsJson1_1, target prefix
``AWSPriceListService``; botocore's ``metadata.protocols`` lists only ``json``, so the
Rust aws-sdk-pricing and boto3 speak the same protocol) is served only from the
us-east-1, eu-central-1 and ap-south-1 endpoints (``api.pricing.<region>.amazonaws.com``);
the price list itself is global: every region's products are in every endpoint's answer.
``GetProducts`` returns, per matching product, one JSON *string* holding the whole
price-list document (``product`` {productFamily, attributes, sku}, ``serviceCode``,
``terms`` {OnDemand {<sku>.<offerTermCode> {priceDimensions {<sku>.<offerTermCode>.<rateCode>
{unit, endRange, description, appliesTo, rateCode, beginRange, pricePerUnit {USD}}}, sku,
effectiveDate, offerTermCode, termAttributes}}}, ``version``, ``publicationDate``).
Filters (``Type``/``Field``/``Value``, all must match) are ``TERM_MATCH`` (exact value),
``EQUALS``, ``CONTAINS`` (substring), ``ANY_OF`` / ``NONE_OF`` (``Value`` a comma-separated
list); ``Field`` is ``ServiceCode`` or any attribute name (``productFamily`` too).
``MaxResults`` 1..100 (default 100), opaque ``NextToken``. Usage types carry a region
prefix (``APN2-`` for ap-northeast-2, ``EU-`` for eu-west-1; EC2's us-east-1 usage types
have none, CloudWatch's have ``USE1-``).

moto: no ``pricing`` service at all (every call hits moto's catch-all).

This module (WSGI middleware inside the recorder) answers ``GetProducts``,
``DescribeServices`` and ``GetAttributeValues`` from a global, in-memory price list:
by default (and after ``POST /_frugal/pricing/reset``) real-shaped documents for
NAT gateways, EBS snapshots, CloudWatch Logs storage and CloudWatch alarms in
us-east-1, eu-west-1 and ap-northeast-2 (plus distractors: other usage types of the
same product families, other families, us-west-2), with AWS's list prices.
``POST /_frugal/pricing/products`` adds or replaces documents (by sku);
``POST /_frugal/pricing/deny`` makes every pricing call of one account fail with a
chosen error (pricing_control.py). A request signed for a region without a Price List
endpoint answers ``UnknownEndpointException`` (AWS has no such host: the SDK would fail
to connect), so a client built with the cluster's region instead of us-east-1 is caught.
"""

from __future__ import annotations

import base64
import binascii
import copy
import decimal
import hashlib
import json
import re
import threading
from http import HTTPStatus
from typing import Any, Callable, Iterable

TARGET_PREFIX = "AWSPriceListService."
SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/")
ENDPOINT_REGIONS = ("us-east-1", "eu-central-1", "ap-south-1")
FILTER_TYPES = ("TERM_MATCH", "EQUALS", "CONTAINS", "ANY_OF", "NONE_OF")
FORMAT_VERSION = "aws_v1"
MAX_RESULTS = 100  # GetProductsMaxResults / DescribeServicesMaxResults: 1..100
MAX_FILTERS = 50  # the model's Filters list: max 50
ON_DEMAND_TERM = "JRTCKXETXF"  # AWS's offer term code for OnDemand
RATE_CODE = "6YS6EN2CT7"  # AWS's rate code of a single-tier price dimension
VERSION = "20261120221406"
PUBLICATION_DATE = "2026-11-20T22:14:06Z"
EFFECTIVE_DATE = "2026-11-01T00:00:00Z"

# Errors a deny may inject (the model's GetProducts errors that are about the caller or
# the service, not the request) -> HTTP status (awsJson1_1 without httpError traits:
# client errors 400, the fault InternalErrorException 500).
DENY_ERRORS = {
    "AccessDeniedException": 400,
    "ThrottlingException": 400,
    "InternalErrorException": 500,
    "NotFoundException": 400,
    "ExpiredNextTokenException": 400,
}

LOCATIONS = {
    "us-east-1": "US East (N. Virginia)",
    "us-west-2": "US West (Oregon)",
    "eu-west-1": "EU (Ireland)",
    "ap-northeast-2": "Asia Pacific (Seoul)",
}
# Usage-type prefixes (AWS's billing region codes).
EC2_PREFIX = {"us-east-1": "", "us-west-2": "USW2-", "eu-west-1": "EU-", "ap-northeast-2": "APN2-"}
CW_PREFIX = {"us-east-1": "USE1-", "us-west-2": "USW2-", "eu-west-1": "EU-", "ap-northeast-2": "APN2-"}

_lock = threading.RLock()
_products: dict[str, dict[str, Any]] = {}  # sku -> price-list document
# account -> {"error": code, "remaining": int | None (None: until cleared)}
_denied: dict[str, dict[str, Any]] = {}


class ServiceError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", 400, message)


# ---------------------------------------------------------------------------
# the default price list


def make_sku(service: str, region: str, usagetype: str) -> str:
    """A stable 16-character sku (AWS's are 16 upper-case letters and digits)."""
    digest = hashlib.sha256(f"{service}|{region}|{usagetype}".encode()).digest()
    return base64.b32encode(digest).decode("ascii")[:16]


def price_document(
    service: str, family: str, region: str, usagetype: str, unit: str, usd: str, description: str,
    attributes: dict[str, str] | None = None,
) -> dict[str, Any]:
    sku = make_sku(service, region, usagetype)
    term = f"{sku}.{ON_DEMAND_TERM}"
    attrs = {
        "regionCode": region,
        "servicecode": service,
        "usagetype": usagetype,
        "locationType": "AWS Region",
        "location": LOCATIONS[region],
        "servicename": {"AmazonEC2": "Amazon Elastic Compute Cloud", "AmazonCloudWatch": "AmazonCloudWatch"}[service],
    }
    attrs.update(attributes or {})
    return {
        "product": {"productFamily": family, "attributes": attrs, "sku": sku},
        "serviceCode": service,
        "terms": {
            "OnDemand": {
                term: {
                    "priceDimensions": {
                        f"{term}.{RATE_CODE}": {
                            "unit": unit,
                            "endRange": "Inf",
                            "description": description,
                            "appliesTo": [],
                            "rateCode": f"{term}.{RATE_CODE}",
                            "beginRange": "0",
                            "pricePerUnit": {"USD": f"{decimal.Decimal(usd):.10f}"},
                        }
                    },
                    "sku": sku,
                    "effectiveDate": EFFECTIVE_DATE,
                    "offerTermCode": ON_DEMAND_TERM,
                    "termAttributes": {},
                }
            }
        },
        "version": VERSION,
        "publicationDate": PUBLICATION_DATE,
    }


# region -> (NAT hour and GB, CloudWatch Logs storage GB-Mo)
DEFAULT_PRICES = {
    "us-east-1": ("0.045", "0.03"),
    "eu-west-1": ("0.048", "0.03"),
    "ap-northeast-2": ("0.059", "0.0314"),
    "us-west-2": ("0.045", "0.03"),  # distractor region
}


def default_products() -> list[dict[str, Any]]:
    docs = []
    for region, (nat, logs) in DEFAULT_PRICES.items():
        ec2, cw, where = EC2_PREFIX[region], CW_PREFIX[region], LOCATIONS[region]
        docs += [
            price_document("AmazonEC2", "NAT Gateway", region, f"{ec2}NatGateway-Hours", "Hrs", nat,
                           f"${nat} per NAT Gateway Hour",
                           {"operation": "NatGateway", "group": "NGW:NatGateway", "groupDescription": "Hourly charge for NAT Gateways"}),
            price_document("AmazonEC2", "NAT Gateway", region, f"{ec2}NatGateway-Bytes", "GB", nat,
                           f"${nat} per GB Data Processed by NAT Gateways",
                           {"operation": "NatGateway", "group": "NGW:NatGateway", "groupDescription": "Charge for per GB data processed by NatGateways"}),
            price_document("AmazonEC2", "Storage Snapshot", region, f"{ec2}EBS:SnapshotUsage", "GB-Mo", "0.05",
                           f"$0.05 per GB-Month of snapshot data stored - {where}",
                           {"operation": "", "storageMedia": "Amazon S3"}),
            price_document("AmazonEC2", "Storage Snapshot", region, f"{ec2}EBS:SnapshotArchiveStorage", "GB-Mo", "0.0125",
                           f"$0.0125 per GB-month of snapshot archive storage - {where}",
                           {"operation": "", "storageMedia": "Amazon S3 Glacier"}),
            # distractors in the same family
            price_document("AmazonEC2", "Storage Snapshot", region, f"{ec2}EBS:SnapshotArchiveRetrieval", "GB", "0.03",
                           f"$0.03 per GB of snapshot archive data retrieved - {where}",
                           {"operation": "", "storageMedia": "Amazon S3 Glacier"}),
            price_document("AmazonEC2", "Storage Snapshot", region, f"{ec2}EBS:FastSnapshotRestore", "Hrs", "0.75",
                           f"$0.75 per DSU-hour of Fast Snapshot Restore - {where}",
                           {"operation": "FastSnapshotRestore", "storageMedia": "Amazon S3"}),
            # another family of the same service
            price_document("AmazonEC2", "Storage", region, f"{ec2}EBS:VolumeUsage.gp3", "GB-Mo", "0.08",
                           f"$0.08 per GB-month of General Purpose (gp3) provisioned storage - {where}",
                           {"volumeApiName": "gp3", "volumeType": "General Purpose", "storageMedia": "SSD-backed"}),
            price_document("AmazonCloudWatch", "Storage Snapshot", region, f"{cw}TimedStorage-ByteHrs", "GB-Mo", logs,
                           f"${logs} per GB-mo of log storage - {where}",
                           {"operation": "", "storageMedia": "Amazon S3", "group": "Storage", "groupDescription": "Log storage"}),
            # distractor in the same family (the emulator's choice of family)
            price_document("AmazonCloudWatch", "Storage Snapshot", region, f"{cw}DataScanned-Bytes", "GB", "0.005",
                           f"$0.005 per GB of log data scanned by Logs Insights queries - {where}",
                           {"operation": "StartQuery", "storageMedia": "Amazon S3"}),
            price_document("AmazonCloudWatch", "Alarm", region, f"{cw}CW:AlarmMonitorUsage", "Alarms", "0.10",
                           "$0.10 per alarm metric month - Standard Resolution",
                           {"operation": "", "alarmType": "Standard"}),
            price_document("AmazonCloudWatch", "Alarm", region, f"{cw}CW:HighResAlarmMonitorUsage", "Alarms", "0.30",
                           "$0.30 per alarm metric month - High Resolution",
                           {"operation": "", "alarmType": "High Resolution"}),
            price_document("AmazonCloudWatch", "Metric", region, f"{cw}CW:MetricMonitorUsage", "Metrics", "0.30",
                           "$0.30 per metric-month for the first 10,000 metrics",
                           {"operation": "MetricStorage"}),
        ]
    return docs


def reset() -> None:
    with _lock:
        _products.clear()
        for doc in default_products():
            _products[doc["product"]["sku"]] = doc


def put_products(docs: list[dict[str, Any]]) -> list[str]:
    with _lock:
        for doc in docs:
            _products[doc["product"]["sku"]] = copy.deepcopy(doc)
        return [doc["product"]["sku"] for doc in docs]


def set_deny(account: str, error: str | None, times: int | None = None) -> None:
    with _lock:
        if error is None:
            _denied.pop(account, None)
        else:
            _denied[account] = {"error": error, "remaining": times}


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


def _snapshot() -> list[dict[str, Any]]:
    with _lock:
        return [_products[sku] for sku in sorted(_products)]


# ---------------------------------------------------------------------------
# the operations


def _field_value(doc: dict[str, Any], field: str) -> str | None:
    if field == "ServiceCode":
        return doc["serviceCode"]
    product = doc["product"]
    attrs = product.get("attributes", {})
    if field in attrs:
        return attrs[field]
    if field in ("productFamily", "sku"):
        return product.get(field)
    return None


def _filters(params: dict[str, Any]) -> list[tuple[str, str, str]]:
    raw = params.get("Filters")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("Filters must be a list.")
    if len(raw) > MAX_FILTERS:
        raise invalid(f"Filters must have at most {MAX_FILTERS} items.")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise invalid("Each filter must be an object {Type, Field, Value}.")
        ftype, field, value = item.get("Type"), item.get("Field"), item.get("Value")
        if ftype not in FILTER_TYPES:
            raise invalid(f"Invalid filter type {ftype!r}. Valid types: {', '.join(FILTER_TYPES)}.")
        for name, v in (("Field", field), ("Value", value)):
            if not isinstance(v, str) or not v or len(v) > 1024:
                raise invalid(f"Filter {name} must be a string of 1 to 1024 characters.")
        out.append((ftype, field, value))
    return out


def _matches(doc: dict[str, Any], filters: list[tuple[str, str, str]]) -> bool:
    for ftype, field, value in filters:
        actual = _field_value(doc, field)
        if actual is None:
            return False
        if ftype in ("TERM_MATCH", "EQUALS"):
            ok = actual == value
        elif ftype == "CONTAINS":
            ok = value in actual
        else:
            listed = {v.strip() for v in value.split(",")}
            ok = (actual in listed) == (ftype == "ANY_OF")
        if not ok:
            return False
    return True


def _format_version(params: dict[str, Any]) -> str:
    version = params.get("FormatVersion", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise invalid(f"Invalid FormatVersion {version!r}. Valid values: {FORMAT_VERSION}.")
    return version


def _max_results(params: dict[str, Any]) -> int:
    value = params.get("MaxResults")
    if value is None:
        return MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_RESULTS:
        raise invalid(f"Invalid MaxResults {value!r}: must be between 1 and {MAX_RESULTS}.")
    return value


def _query_key(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


def _token(query: str, after: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"q": query, "after": after}).encode()).decode("ascii")


def _start_after(params: dict[str, Any], query: str) -> str | None:
    token = params.get("NextToken")
    if token is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(str(token).encode("ascii")))
        if decoded["q"] != query:
            raise ValueError("another query")
        return str(decoded["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise ServiceError("InvalidNextTokenException", 400, "The pagination token is invalid. Try again without a pagination token.") from None


def _service_code(params: dict[str, Any], required: bool) -> str | None:
    code = params.get("ServiceCode")
    if code is None:
        if required:
            raise invalid("ServiceCode is required.")
        return None
    if not isinstance(code, str) or not code:
        raise invalid("ServiceCode must be a non-empty string.")
    if not any(doc["serviceCode"] == code for doc in _snapshot()):
        raise ServiceError("NotFoundException", 400, f"Service code {code} is not found.")
    return code


def get_products(params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("ServiceCode"):
        # AWS's message, as reported in aws/aws-sdk-js#3329.
        raise invalid("Input Parameters are invalid. serviceCode cannot be null or empty")
    filters = _filters(params)
    version = _format_version(params)
    size = _max_results(params)
    code = _service_code(params, required=True)
    query = _query_key(code, filters, version)
    after = _start_after(params, query)
    docs = [d for d in _snapshot() if d["serviceCode"] == code and _matches(d, filters)]
    if after is not None:
        docs = [d for d in docs if d["product"]["sku"] > after]
    page = docs[:size]
    out: dict[str, Any] = {"FormatVersion": version, "PriceList": [json.dumps(d, separators=(",", ":")) for d in page]}
    if len(docs) > size:
        out["NextToken"] = _token(query, page[-1]["product"]["sku"])
    return out


def _attribute_names(code: str) -> list[str]:
    names: set[str] = set()
    for doc in _snapshot():
        if doc["serviceCode"] == code:
            names.update(doc["product"].get("attributes", {}))
    return sorted(names)


def describe_services(params: dict[str, Any]) -> dict[str, Any]:
    version = _format_version(params)
    size = _max_results(params)
    code = _service_code(params, required=False)
    query = _query_key(code, version)
    after = _start_after(params, query)
    codes = sorted({d["serviceCode"] for d in _snapshot()}) if code is None else [code]
    if after is not None:
        codes = [c for c in codes if c > after]
    page = codes[:size]
    out: dict[str, Any] = {
        "Services": [{"ServiceCode": c, "AttributeNames": _attribute_names(c)} for c in page],
        "FormatVersion": version,
    }
    if len(codes) > size:
        out["NextToken"] = _token(query, page[-1])
    return out


def get_attribute_values(params: dict[str, Any]) -> dict[str, Any]:
    code = _service_code(params, required=True)
    name = params.get("AttributeName")
    if not isinstance(name, str) or not name:
        raise invalid("AttributeName is required.")
    size = _max_results(params)
    query = _query_key(code, name)
    after = _start_after(params, query)
    values = sorted({v for d in _snapshot() if d["serviceCode"] == code
                     for v in [d["product"].get("attributes", {}).get(name)] if v is not None})
    if not values:
        raise ServiceError("NotFoundException", 400, f"Attribute {name} is not found for service {code}.")
    if after is not None:
        values = [v for v in values if v > after]
    page = values[:size]
    out: dict[str, Any] = {"AttributeValues": [{"Value": v} for v in page]}
    if len(values) > size:
        out["NextToken"] = _token(query, page[-1])
    return out


OPERATIONS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "GetProducts": get_products,
    "DescribeServices": describe_services,
    "GetAttributeValues": get_attribute_values,
}


def _json_reply(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.1"), ("Content-Length", str(len(data)))]
    if status >= 300:
        headers.append(("x-amzn-ErrorType", payload["__type"]))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [data]


def _deny_message(code: str, account: str, operation: str) -> str:
    return {
        "AccessDeniedException": f"User: arn:aws:iam::{account}:root is not authorized to perform: pricing:{operation}",
        "ThrottlingException": "Rate exceeded",
        "InternalErrorException": "An internal error occurred. Try again later.",
        "NotFoundException": "The requested resource can't be found.",
        "ExpiredNextTokenException": "The pagination token expired. Try again without a pagination token.",
    }[code]


class Pricing:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if not target.startswith(TARGET_PREFIX) or environ.get("REQUEST_METHOD") != "POST":
            return self.app(environ, start_response)
        from .recorder import _account_for

        operation = target[len(TARGET_PREFIX):]
        scope = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        region = scope.group("region") if scope else "us-east-1"
        account = _account_for(environ)
        length = environ.get("CONTENT_LENGTH")
        raw = environ["wsgi.input"].read(int(length)) if length and length.isdigit() else b""
        handler = OPERATIONS.get(operation)
        try:
            if region not in ENDPOINT_REGIONS:
                raise ServiceError(
                    "UnknownEndpointException", 400,
                    f"There is no Price List Query API endpoint api.pricing.{region}.amazonaws.com: AWS serves it "
                    f"only from {', '.join(ENDPOINT_REGIONS)} (create the pricing client for us-east-1).",
                )
            if handler is None:
                raise ServiceError(
                    "UnknownOperationException", 400,
                    f"The emulator does not implement Price List operation {operation}",
                )
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                raise ServiceError("SerializationException", 400, "The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise ServiceError("SerializationException", 400, "The request body must be a JSON object")
            denied = _take_deny(account)
            if denied is not None:
                raise ServiceError(denied, DENY_ERRORS[denied], _deny_message(denied, account, operation))
            answer = handler(params)
        except ServiceError as err:
            return _json_reply(start_response, err.status, {"__type": err.code, "Message": err.message})
        return _json_reply(start_response, 200, answer)


def apply() -> None:
    with _lock:
        if not _products:
            reset()


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return Pricing(app)
