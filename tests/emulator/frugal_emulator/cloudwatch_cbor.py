"""E3: Smithy RPC v2 CBOR for CloudWatch (service "monitoring").

The Rust aws-sdk-cloudwatch (1.140) only speaks the Smithy RPC v2 CBOR
protocol: ``POST /service/GraniteServiceVersion20100801/operation/<Op>`` with
``smithy-protocol: rpc-v2-cbor`` and a CBOR body. moto 5.2.5 only understands
CloudWatch's awsQuery and awsJson1_0 protocols (boto3 picks JSON), so the Rust
SDK's calls would hit moto's catch-all and fail.

This WSGI middleware translates such a request into the equivalent awsJson1_0
request (X-Amz-Target: GraniteServiceVersion20100801.<Op>), lets moto answer
it, and re-encodes moto's JSON answer as CBOR, using botocore's output shape so
timestamps become CBOR tag 1 epoch seconds, doubles are CBOR floats and blobs
are byte strings, as the Rust decoder requires.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from typing import Any, Callable, Iterable

import cbor2
from botocore.model import Shape
from botocore.session import get_session

# Smithy service shape name (the awsJson target prefix) -> botocore service name.
RPCV2_CBOR_SERVICES = {
    "GraniteServiceVersion20100801": "cloudwatch",
    # Served by compute_optimizer.py (C1), which sits inside this middleware.
    "ComputeOptimizerService": "compute-optimizer",
}

PATH_RE = re.compile(r"^/service/(?P<service>[^/]+)/operation/(?P<operation>[^/]+)/?$")

_models: dict[str, Any] = {}


def _service_model(name: str) -> Any:
    if name not in _models:
        _models[name] = get_session().get_service_model(name)
    return _models[name]


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_jsonable(v) for v in value]
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, cbor2.CBORTag) and value.tag == 1:
        return value.value
    return value


def _parse_timestamp(value: Any) -> dt.datetime:
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    from dateutil.parser import isoparse

    parsed = isoparse(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


def _shape_value(value: Any, shape: Shape | None) -> Any:
    """Coerce moto's JSON value into what the CBOR schema for `shape` expects."""
    if value is None or shape is None:
        return value
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            return value
        members = shape.members
        return {
            k: _shape_value(v, members.get(k)) for k, v in value.items() if v is not None
        }
    if kind == "list":
        return [_shape_value(v, shape.member) for v in value]
    if kind == "map":
        return {k: _shape_value(v, shape.value) for k, v in value.items()}
    if kind == "timestamp":
        return _parse_timestamp(value)
    if kind in ("double", "float"):
        return float(value)
    if kind in ("integer", "long", "short", "byte"):
        return int(value)
    if kind == "boolean":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "blob":
        return base64.b64decode(value) if isinstance(value, str) else value
    return value


class RpcV2CborToJson:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        match = PATH_RE.match(environ.get("PATH_INFO", ""))
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or match is None
            or match.group("service") not in RPCV2_CBOR_SERVICES
        ):
            return self.app(environ, start_response)
        target_prefix = match.group("service")
        operation_name = match.group("operation")
        model = _service_model(RPCV2_CBOR_SERVICES[target_prefix])
        try:
            operation = model.operation_model(operation_name)
        except Exception:  # unknown operation: let moto answer as it would
            return self.app(environ, start_response)

        length = int(environ.get("CONTENT_LENGTH") or 0)
        raw = environ["wsgi.input"].read(length) if length else b""
        params = cbor2.loads(raw) if raw else {}
        body = json.dumps(_to_jsonable(params or {})).encode("utf-8")

        inner = dict(environ)
        inner["PATH_INFO"] = "/"
        inner["RAW_URI"] = inner["REQUEST_URI"] = "/"
        inner["CONTENT_TYPE"] = "application/x-amz-json-1.0"
        inner["CONTENT_LENGTH"] = str(len(body))
        inner["HTTP_X_AMZ_TARGET"] = f"{target_prefix}.{operation_name}"
        inner["HTTP_ACCEPT"] = "application/json"
        inner.pop("HTTP_SMITHY_PROTOCOL", None)
        inner["wsgi.input"] = io.BytesIO(body)

        captured: dict[str, Any] = {}

        def capture(status: str, headers: list, exc_info: Any = None) -> Callable:
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.app(inner, capture)
        try:
            payload = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()

        status = captured.get("status", "500 INTERNAL SERVER ERROR")
        headers = [
            (k, v)
            for k, v in captured.get("headers", [])
            if k.lower() not in ("content-type", "content-length", "x-amz-crc32")
        ]
        try:
            decoded = json.loads(payload) if payload.strip() else {}
        except ValueError:
            # Not JSON (e.g. moto's HTML "not implemented" page): pass through.
            start_response(status, captured.get("headers", []))
            return [payload]

        if int(status.split()[0]) >= 300:
            out = {k: v for k, v in decoded.items() if v is not None}
            if "message" not in out and "Message" in out:
                out["message"] = out["Message"]
        elif operation.output_shape is not None:
            out = _shape_value(decoded, operation.output_shape)
        else:
            out = None
        cbor_body = (
            cbor2.dumps(out, datetime_as_timestamp=True, timezone=dt.timezone.utc)
            if out is not None
            else b""
        )
        headers += [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(cbor_body))),
        ]
        start_response(status, headers)
        return [cbor_body]


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return RpcV2CborToJson(app)
