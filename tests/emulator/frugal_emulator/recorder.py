"""Request recorder (WSGI middleware) and the /_frugal control endpoints.

Every AWS API request is recorded as
    {"account", "region", "service", "operation", "at"}
- account: the account moto maps the request's credentials to, decided the
  way moto decides it (MOTO_ACCOUNT_ID, then the x-moto-account-id header,
  then moto.iam.models.get_account_id_from(access key), which knows the
  credentials STS AssumeRole handed out; default 123456789012);
- region/service: from the SigV4 credential scope (service is the signing
  name: ec2, sts, monitoring, backup, ssm, iam, ...);
- operation: the query/form `Action`, else the `X-Amz-Target` suffix, else the
  RPC v2 CBOR path's operation, else the REST operation whose botocore
  requestUri matches method + path (e.g. backup), else "METHOD /path";
- at: when the request arrived, seconds since the Unix epoch (to the millisecond).

Control endpoints (never recorded):
    GET    /_frugal/requests?account=ID   JSON array of that account's records
    GET    /_frugal/requests              all records
    DELETE /_frugal/requests?account=ID   clear that account's records
    DELETE /_frugal/requests              clear all
    GET    /_frugal/health                {"ok": true}
"""

from __future__ import annotations

import io
import json
import os
import re
import threading
import time
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import BaseResponse

CONTROL_PREFIX = "/_frugal/"
UNRECORDED_PREFIXES = ("/_frugal/", "/moto-api", "/favicon.ico")
CBOR_PATH_RE = re.compile(r"^/service/[^/]+/operation/(?P<operation>[^/]+)/?$")
SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
# Signing name -> botocore model name, where they differ.
SIGNING_TO_MODEL = {"monitoring": "cloudwatch"}

_lock = threading.Lock()
_records: list[dict[str, str]] = []
_rest_routes: dict[str, list[tuple[str, re.Pattern[str], str]] | None] = {}


def records(account: str | None = None) -> list[dict[str, str]]:
    with _lock:
        return [dict(r) for r in _records if account is None or r["account"] == account]


def clear(account: str | None = None) -> None:
    with _lock:
        if account is None:
            _records.clear()
        else:
            _records[:] = [r for r in _records if r["account"] != account]


def _uri_regex(uri: str) -> re.Pattern[str]:
    path = uri.split("?", 1)[0]
    # The Rust SDK's paths have no trailing slash where botocore's requestUri has one.
    if len(path) > 1:
        path = path.rstrip("/")
    out = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            out += ".+" if part.endswith("+}") else "[^/]+"
        else:
            out += re.escape(part)
    return re.compile("^" + out + "/?$")


def _rest_operation(service: str, method: str, path: str) -> str | None:
    if service not in _rest_routes:
        routes = None
        try:
            from botocore.session import get_session

            model = get_session().get_service_model(SIGNING_TO_MODEL.get(service, service))
            if model.protocol in ("rest-json", "rest-xml"):
                routes = []
                for name in model.operation_names:
                    http = model.operation_model(name).http
                    uri = http.get("requestUri", "/")
                    literal = len(re.sub(r"\{[^}]+\}", "", uri.split("?", 1)[0]))
                    routes.append((literal, http.get("method", "POST"), _uri_regex(uri), name))
                routes.sort(key=lambda r: -r[0])
                routes = [(m, rx, n) for _, m, rx, n in routes]
        except Exception:
            routes = None
        _rest_routes[service] = routes
    for route_method, regex, name in _rest_routes[service] or []:
        if route_method == method and regex.match(path):
            return name
    return None


def _account_for(environ: dict[str, Any]) -> str:
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    access_key = None
    match = BaseResponse.access_key_regex.search(environ.get("HTTP_AUTHORIZATION", ""))
    if match:
        access_key = match.group(1)
    else:
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        access_key = (qs.get("AWSAccessKeyId") or [None])[0]
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    from moto.iam.models import get_account_id_from

    return get_account_id_from(access_key)


def _describe(environ: dict[str, Any], body: bytes) -> dict[str, str]:
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "/")
    scope = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    region = scope.group("region") if scope else "us-east-1"
    service = scope.group("service").lower() if scope else "unknown"

    operation = None
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.startswith("application/x-www-form-urlencoded") and body:
        operation = (parse_qs(body.decode("utf-8", "replace")).get("Action") or [None])[0]
    if not operation:
        operation = (parse_qs(environ.get("QUERY_STRING", "")).get("Action") or [None])[0]
    if not operation and environ.get("HTTP_X_AMZ_TARGET"):
        operation = environ["HTTP_X_AMZ_TARGET"].rsplit(".", 1)[-1]
    if not operation:
        match = CBOR_PATH_RE.match(path)
        if match:
            operation = match.group("operation")
    if not operation:
        operation = _rest_operation(service, method, path)
    if not operation:
        operation = f"{method} {path}"
    return {
        "account": _account_for(environ),
        "region": region,
        "service": service,
        "operation": operation,
    }


def _json(start_response: Callable, status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode("utf-8")
    start_response(
        status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


class Recorder:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def control(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        account = (parse_qs(environ.get("QUERY_STRING", "")).get("account") or [None])[0]
        if path.rstrip("/") == "/_frugal/health":
            return _json(start_response, "200 OK", {"ok": True})
        if path.rstrip("/") == "/_frugal/requests":
            if method == "GET":
                return _json(start_response, "200 OK", records(account))
            if method == "DELETE":
                clear(account)
                return _json(start_response, "200 OK", {"cleared": account or "all"})
            return _json(start_response, "405 METHOD NOT ALLOWED", {"error": "GET or DELETE"})
        return _json(start_response, "404 NOT FOUND", {"error": f"unknown control path {path}"})

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX):
            return self.control(environ, start_response)
        if path.startswith(UNRECORDED_PREFIXES):
            return self.app(environ, start_response)

        body = b""
        length = environ.get("CONTENT_LENGTH")
        if length and length.isdigit() and int(length) > 0:
            body = environ["wsgi.input"].read(int(length))
        elif environ.get("wsgi.input_terminated") and not length:
            body = environ["wsgi.input"].read()
            if body:
                environ["CONTENT_LENGTH"] = str(len(body))
        # Re-wrap: moto must see the body untouched.
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            record = _describe(environ, body)
        except Exception as exc:  # never let the recorder break a request
            record = {
                "account": DEFAULT_ACCOUNT_ID,
                "region": "unknown",
                "service": "unknown",
                "operation": f"unrecorded: {exc!r}",
            }
        record["at"] = round(time.time(), 3)
        with _lock:
            _records.append(record)
        return self.app(environ, start_response)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return Recorder(app)
