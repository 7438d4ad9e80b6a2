"""C1: AWS Compute Optimizer (moto 5.2.5 has none).

AWS: Compute Optimizer (signing name ``compute-optimizer``, target prefix
``ComputeOptimizerService``) speaks Smithy RPC v2 CBOR and awsJson1_0 (botocore's
``metadata.protocols``: ``smithy-rpc-v2-cbor``, ``json``; boto3 >= 1.40 and the current
Rust aws-sdk-computeoptimizer pick CBOR, older clients JSON). Enrollment (opt-in) is per
account and global; recommendations are regional and exist only after the account opted
in. Every Get*Recommendations call of an account that is not opted in fails with
``OptInRequiredException`` (HTTP 403).

moto: no Compute Optimizer at all (every call hits moto's catch-all).

This module answers the awsJson1_0 requests (``X-Amz-Target:
ComputeOptimizerService.<Op>``) for GetEnrollmentStatus, UpdateEnrollmentStatus,
GetEC2InstanceRecommendations, GetEBSVolumeRecommendations and
GetAutoScalingGroupRecommendations. CBOR requests reach it through E3
(cloudwatch_cbor.py, which translates RPC v2 CBOR into awsJson1_0 and back), so it
sits inside that middleware (earlier in EXTENSIONS) and inside the recorder.

Recommendations exist only where the control endpoint
``POST /_frugal/compute-optimizer/recommendations`` (compute_optimizer_control.py)
seeded them, for instances / volumes / Auto Scaling groups that exist in moto. What AWS
reads from the resource itself (current instance type, state, Name, tags, volume
configuration, group sizes) is read from moto's live EC2 / Auto Scaling backends at
request time; the analysis (finding, reason codes, recommended type, savings, risk) is
the seeded one. Seeded recommendations stay while the account is not opted in, but
are only served once it is Active; opting out (Active -> Inactive) deletes the
account's recommendations, as the API reference says ("Your account's recommendations
and related metrics data will be deleted from Compute Optimizer after you opt out").
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
from typing import Any, Callable, Iterable

TARGET_PREFIX = "ComputeOptimizerService."
SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/")

INSTANCE_FINDINGS = ("Underprovisioned", "Overprovisioned", "Optimized")
OPTIMIZED_NOT = ("Optimized", "NotOptimized")
PERFORMANCE_RISKS = ("VeryLow", "Low", "Medium", "High")
INSTANCE_REASON_CODES = (
    "CPUOverprovisioned", "CPUUnderprovisioned", "MemoryOverprovisioned", "MemoryUnderprovisioned",
    "EBSThroughputOverprovisioned", "EBSThroughputUnderprovisioned", "EBSIOPSOverprovisioned",
    "EBSIOPSUnderprovisioned", "NetworkBandwidthOverprovisioned", "NetworkBandwidthUnderprovisioned",
    "NetworkPPSOverprovisioned", "NetworkPPSUnderprovisioned", "DiskIOPSOverprovisioned",
    "DiskIOPSUnderprovisioned", "DiskThroughputOverprovisioned", "DiskThroughputUnderprovisioned",
    "GPUUnderprovisioned", "GPUOverprovisioned", "GPUMemoryUnderprovisioned", "GPUMemoryOverprovisioned",
)
INFERRED_WORKLOAD_TYPES = (
    "AmazonEmr", "ApacheCassandra", "ApacheHadoop", "Memcached", "Nginx", "PostgreSql", "Redis", "Kafka", "SQLServer",
)
VOLUME_TYPES = ("standard", "gp2", "gp3", "io1", "io2", "st1", "sc1")
MAX_RESULTS = 1000  # the model's MaxResults range is 0..1000

# kinds of recommendation
INSTANCE, VOLUME, ASG = "instance", "volume", "asg"

_lock = threading.RLock()
# account -> {"status", "statusReason", "lastUpdatedTimestamp", "includeMemberAccounts"}
_enrollment: dict[str, dict[str, Any]] = {}
# (account, region, kind, resource id or ASG name) -> the seeded analysis
_recommendations: dict[tuple[str, str, str, str], dict[str, Any]] = {}


class ServiceError(Exception):
    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", 400, message)


# ---------------------------------------------------------------------------
# state used by the control endpoint


def enrollment(account: str) -> dict[str, Any]:
    with _lock:
        return dict(_enrollment.get(account) or {
            "status": "Inactive", "statusReason": None, "lastUpdatedTimestamp": None, "includeMemberAccounts": False,
        })


def set_enrollment(account: str, status: str, reason: str | None = None, include_members: bool | None = None) -> None:
    with _lock:
        before = enrollment(account)
        if before["status"] == "Active" and status == "Inactive":
            for key in [k for k in _recommendations if k[0] == account]:
                del _recommendations[key]
        _enrollment[account] = {
            "status": status,
            "statusReason": reason,
            "lastUpdatedTimestamp": time.time(),
            "includeMemberAccounts": before["includeMemberAccounts"] if include_members is None else include_members,
        }


def put_recommendation(account: str, region: str, kind: str, resource: str, analysis: dict[str, Any]) -> None:
    with _lock:
        _recommendations[(account, region, kind, resource)] = analysis


def _seeded(account: str, region: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
    with _lock:
        return [(k[3], dict(v)) for k, v in _recommendations.items() if k[:3] == (account, region, kind)]


# ---------------------------------------------------------------------------
# moto's live resources


def ec2_backend(account: str, region: str) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account][region]


def autoscaling_backend(account: str, region: str) -> Any:
    from moto.autoscaling.models import autoscaling_backends

    return autoscaling_backends[account][region]


def live_instance(account: str, region: str, instance_id: str) -> Any | None:
    instance = ec2_backend(account, region).get_instance_by_id(instance_id)
    if instance is None or instance.state == "terminated":
        return None
    return instance


def live_volume(account: str, region: str, volume_id: str) -> Any | None:
    return ec2_backend(account, region).volumes.get(volume_id)


def live_group(account: str, region: str, name: str) -> Any | None:
    return autoscaling_backend(account, region).autoscaling_groups.get(name)


def _tags(resource: Any) -> list[dict[str, str]]:
    return [{"key": t["key"], "value": t["value"]} for t in resource.get_tags()]


def volume_configuration(volume_type: str, size: int, iops: int | None, throughput: int | None) -> dict[str, Any]:
    """IOPS / throughput (MiB/s) figures AWS documents per volume type (EBS User Guide,
    "Amazon EBS volume types"): gp2 3 IOPS/GiB (100..16000, bursts to 3000), 128 MiB/s up
    to 170 GiB then 250; gp3 3000 IOPS / 125 MiB/s unless provisioned; io1/io2 as
    provisioned (256 KiB per I/O, at most 1000 / 4000 MiB/s); st1 40 MiB/s per TiB
    (bursts 250/TiB, max 500); sc1 12 MiB/s per TiB (bursts 80/TiB, max 250);
    magnetic ~100 IOPS (bursts to hundreds), 40-90 MiB/s."""
    tib = size / 1024
    if volume_type == "gp2":
        base = min(max(100, 3 * size), 16000)
        burst = max(base, 3000)
        tput = 128 if size <= 170 else 250
        cfg = (base, burst, tput, 250)
    elif volume_type == "gp3":
        base = iops or 3000
        tput = throughput or 125
        cfg = (base, base, tput, tput)
    elif volume_type in ("io1", "io2"):
        base = iops or 100
        tput = min(int(base * 256 / 1024), 1000 if volume_type == "io1" else 4000)
        cfg = (base, base, tput, tput)
    elif volume_type == "st1":
        tput = min(int(40 * tib), 500)
        cfg = (500, 500, tput, min(int(250 * tib), 500))
    elif volume_type == "sc1":
        tput = min(int(12 * tib), 250)
        cfg = (250, 250, tput, min(int(80 * tib), 250))
    else:  # standard (magnetic)
        cfg = (100, 200, 40, 90)
    return {
        "volumeType": volume_type,
        "volumeSize": size,
        "volumeBaselineIOPS": cfg[0],
        "volumeBurstIOPS": cfg[1],
        "volumeBaselineThroughput": cfg[2],
        "volumeBurstThroughput": cfg[3],
    }


# ---------------------------------------------------------------------------
# building the answers


def _savings(analysis: dict[str, Any]) -> dict[str, Any]:
    return {
        "savingsOpportunityPercentage": float(analysis["savingsOpportunityPercentage"]),
        "estimatedMonthlySavings": {"currency": "USD", "value": float(analysis["estimatedMonthlySavingsUsd"])},
    }


def _common(analysis: dict[str, Any]) -> dict[str, Any]:
    return {
        "finding": analysis["finding"],
        "utilizationMetrics": [dict(m) for m in analysis["utilizationMetrics"]],
        "lookBackPeriodInDays": float(analysis["lookBackPeriodInDays"]),
        "lastRefreshTimestamp": analysis["lastRefreshTimestamp"],
        "currentPerformanceRisk": analysis["currentPerformanceRisk"],
    }


def _look_back(analysis: dict[str, Any]) -> str:
    return f"DAYS_{int(analysis['lookBackPeriodInDays'])}"


def _ec2_preferences(analysis: dict[str, Any]) -> dict[str, Any]:
    return {
        "cpuVendorArchitectures": ["CURRENT"],
        "enhancedInfrastructureMetrics": "Inactive",
        "inferredWorkloadTypes": "Active",
        "lookBackPeriod": _look_back(analysis),
        "savingsEstimationMode": {"source": "PublicPricing"},
    }


def instance_recommendation(account: str, region: str, instance_id: str, analysis: dict[str, Any]) -> dict[str, Any] | None:
    instance = live_instance(account, region, instance_id)
    if instance is None:
        return None
    arn = f"arn:aws:ec2:{region}:{account}:instance/{instance_id}"
    tags = _tags(instance)
    rec: dict[str, Any] = {"instanceArn": arn, "accountId": account}
    name = next((t["value"] for t in tags if t["key"] == "Name"), None)
    if name is not None:
        rec["instanceName"] = name
    rec["currentInstanceType"] = instance.instance_type
    rec.update(_common(analysis))
    rec["findingReasonCodes"] = list(analysis["findingReasonCodes"])
    rec["recommendationOptions"] = [{
        "instanceType": analysis["recommendedType"] or instance.instance_type,
        "projectedUtilizationMetrics": [],
        "platformDifferences": [],
        "performanceRisk": float(analysis["performanceRisk"]),
        "rank": 1,
        "savingsOpportunity": _savings(analysis),
        "migrationEffort": analysis["migrationEffort"],
    }]
    rec["recommendationSources"] = [{"recommendationSourceArn": arn, "recommendationSourceType": "Ec2Instance"}]
    rec["effectiveRecommendationPreferences"] = _ec2_preferences(analysis)
    rec["inferredWorkloadTypes"] = list(analysis["inferredWorkloadTypes"])
    rec["instanceState"] = instance.state
    rec["tags"] = tags
    rec["externalMetricStatus"] = {"statusCode": "NO_EXTERNAL_METRIC_SET", "statusReason": "You haven't configured an external metrics provider."}
    return rec


def volume_recommendation(account: str, region: str, volume_id: str, analysis: dict[str, Any]) -> dict[str, Any] | None:
    volume = live_volume(account, region, volume_id)
    if volume is None:
        return None
    current = volume_configuration(volume.volume_type, int(volume.size), volume.iops, volume.throughput)
    attachment = volume.attachment
    current["rootVolume"] = bool(
        attachment is not None and attachment.device == getattr(attachment.instance, "root_device_name", None)
    )
    wanted = analysis["recommendedVolume"] or {}
    recommended = volume_configuration(
        wanted.get("volumeType") or volume.volume_type,
        int(wanted.get("volumeSize") or volume.size),
        wanted.get("volumeBaselineIOPS"),
        wanted.get("volumeBaselineThroughput"),
    )
    rec: dict[str, Any] = {
        "volumeArn": f"arn:aws:ec2:{region}:{account}:volume/{volume_id}",
        "accountId": account,
        "currentConfiguration": current,
    }
    rec.update(_common(analysis))
    rec["volumeRecommendationOptions"] = [{
        "configuration": recommended,
        "performanceRisk": float(analysis["performanceRisk"]),
        "rank": 1,
        "savingsOpportunity": _savings(analysis),
    }]
    rec["effectiveRecommendationPreferences"] = {
        "savingsEstimationMode": {"source": "PublicPricing"}, "lookBackPeriod": _look_back(analysis),
    }
    rec["tags"] = _tags(volume)
    return rec


def _group_configuration(group: Any, instance_type: str | None = None) -> dict[str, Any]:
    try:
        current_type = group.instance_type
    except Exception:
        current_type = None
    return {
        "desiredCapacity": int(group.desired_capacity or 0),
        "minSize": int(group.min_size or 0),
        "maxSize": int(group.max_size or 0),
        "instanceType": instance_type or current_type,
        "type": "SingleInstanceType",
    }


def group_recommendation(account: str, region: str, name: str, analysis: dict[str, Any]) -> dict[str, Any] | None:
    group = live_group(account, region, name)
    if group is None:
        return None
    rec: dict[str, Any] = {
        "accountId": account,
        "autoScalingGroupArn": group.arn,
        "autoScalingGroupName": group.name,
    }
    rec.update(_common(analysis))
    rec["currentConfiguration"] = _group_configuration(group)
    rec["recommendationOptions"] = [{
        "configuration": _group_configuration(group, analysis["recommendedType"]),
        "projectedUtilizationMetrics": [],
        "performanceRisk": float(analysis["performanceRisk"]),
        "rank": 1,
        "savingsOpportunity": _savings(analysis),
        "migrationEffort": analysis["migrationEffort"],
    }]
    rec["effectiveRecommendationPreferences"] = _ec2_preferences(analysis)
    rec["inferredWorkloadTypes"] = list(analysis["inferredWorkloadTypes"])
    return rec


# ---------------------------------------------------------------------------
# the operations


def _arn_key(kind: str) -> str:
    return {INSTANCE: "instanceArn", VOLUME: "volumeArn", ASG: "autoScalingGroupArn"}[kind]


def _str_list(params: dict[str, Any], name: str) -> list[str] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ServiceError("ValidationException", 400, f"{name} must be a list of strings")
    return value


def _check_accounts(params: dict[str, Any], account: str) -> None:
    ids = _str_list(params, "accountIds")
    if not ids:
        return
    if len(ids) > 1:
        raise invalid("Only one account ID can be specified per request.")
    if ids[0] != account:
        raise ServiceError(
            "AccessDeniedException", 403,
            f"Account {account} is not the management account of an organization that includes {ids[0]}.",
        )


def _page_size(params: dict[str, Any]) -> int:
    value = params.get("maxResults")
    if value is None:
        return MAX_RESULTS
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > MAX_RESULTS:
        raise invalid(f"Invalid maxResults value {value!r}. maxResults must be between 0 and {MAX_RESULTS}.")
    return value or MAX_RESULTS


def _start_after(params: dict[str, Any]) -> str | None:
    token = params.get("nextToken")
    if token is None:
        return None
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        return str(decoded["after"])
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError, UnicodeError):
        raise invalid("The nextToken is not valid.") from None


def _token(last_arn: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_arn}).encode()).decode("ascii")


def _filters(kind: str, params: dict[str, Any]) -> list[tuple[str, list[str]]]:
    raw = params.get("filters")
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ServiceError("ValidationException", 400, "filters must be a list")
    if kind == VOLUME:
        names = ("Finding",)
        findings = OPTIMIZED_NOT
    elif kind == INSTANCE:
        names = ("Finding", "FindingReasonCodes", "RecommendationSourceType", "InferredWorkloadTypes")
        findings = INSTANCE_FINDINGS
    else:
        names = ("Finding", "FindingReasonCodes", "RecommendationSourceType", "InferredWorkloadTypes")
        findings = OPTIMIZED_NOT
    tag_filters = kind in (INSTANCE, VOLUME)
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise ServiceError("ValidationException", 400, "each filter must be an object {name, values}")
        name, values = item.get("name"), item.get("values")
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            raise invalid(f"The filter {name!r} needs at least one value.")
        is_tag = isinstance(name, str) and (name == "tag-key" or (name.startswith("tag:") and len(name) > 4))
        if not (name in names or (tag_filters and is_tag)):
            raise invalid(f"Invalid filter name {name!r}.")
        allowed = {
            "Finding": findings,
            "FindingReasonCodes": INSTANCE_REASON_CODES,
            "RecommendationSourceType": ("Ec2Instance", "AutoScalingGroup"),
            "InferredWorkloadTypes": INFERRED_WORKLOAD_TYPES,
        }.get(name)
        if allowed is not None:
            bad = [v for v in values if v not in allowed]
            if bad:
                raise invalid(f"Invalid value(s) {bad} for filter {name}. Valid values: {', '.join(allowed)}.")
        out.append((name, values))
    return out


def _matches(kind: str, rec: dict[str, Any], filters: list[tuple[str, list[str]]]) -> bool:
    tags = {t["key"]: t["value"] for t in rec.get("tags", [])}
    for name, values in filters:
        if name == "Finding":
            ok = rec["finding"] in values
        elif name == "FindingReasonCodes":
            ok = any(code in values for code in rec.get("findingReasonCodes", []))
        elif name == "RecommendationSourceType":
            ok = ("Ec2Instance" if kind == INSTANCE else "AutoScalingGroup") in values
        elif name == "InferredWorkloadTypes":
            ok = any(w in values for w in rec.get("inferredWorkloadTypes", []))
        elif name == "tag-key":
            ok = any(k in tags for k in values)
        else:
            ok = tags.get(name[4:]) in values
        if not ok:
            return False
    return True


def _parse_named_arn(kind: str, arn: str, account: str, region: str) -> str:
    """The resource id / group name an ARN names; InvalidParameterValue when it is not an
    ARN of that resource type in the caller's account and Region."""
    if kind == ASG:
        match = re.fullmatch(
            r"arn:aws[\w-]*:autoscaling:(?P<region>[\w-]+):(?P<account>\d{12}):autoScalingGroup:[\w-]+:autoScalingGroupName/(?P<id>.+)",
            arn,
        )
    else:
        what = "instance" if kind == INSTANCE else "volume"
        match = re.fullmatch(rf"arn:aws[\w-]*:ec2:(?P<region>[\w-]+):(?P<account>\d{{12}}):{what}/(?P<id>[\w-]+)", arn)
    if match is None:
        raise invalid(f"Invalid ARN: {arn}")
    if match.group("region") != region or match.group("account") != account:
        raise invalid(f"The ARN {arn} does not belong to account {account} in Region {region}.")
    return match.group("id")


def get_recommendations(kind: str, params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    arns_field, result_field = {
        INSTANCE: ("instanceArns", "instanceRecommendations"),
        VOLUME: ("volumeArns", "volumeRecommendations"),
        ASG: ("autoScalingGroupArns", "autoScalingGroupRecommendations"),
    }[kind]
    # Parameter checks first, then the opt-in check (AWS validates the request before
    # authorizing the account's data).
    size = _page_size(params)
    after = _start_after(params)
    filters = _filters(kind, params)
    _check_accounts(params, account)
    named = _str_list(params, arns_field)
    named_ids = [_parse_named_arn(kind, arn, account, region) for arn in named or []]
    if enrollment(account)["status"] != "Active":
        raise ServiceError("OptInRequiredException", 403, "The account is not opted in to Compute Optimizer.")

    build = {INSTANCE: instance_recommendation, VOLUME: volume_recommendation, ASG: group_recommendation}[kind]
    recs = []
    for resource, analysis in _seeded(account, region, kind):
        rec = build(account, region, resource, analysis)
        if rec is not None:
            recs.append((resource, rec))
    if named:
        have = {resource for resource, _ in recs}
        missing = [arn for arn, rid in zip(named, named_ids) if rid not in have]
        if missing:
            raise ServiceError(
                "ResourceNotFoundException", 404,
                f"Recommendations not found for the following resource(s): {', '.join(missing)}",
            )
        wanted = set(named_ids)
        recs = [(r, rec) for r, rec in recs if r in wanted]
    key = _arn_key(kind)
    items = sorted((rec for _, rec in recs if _matches(kind, rec, filters)), key=lambda r: r[key])
    if after is not None:
        items = [r for r in items if r[key] > after]
    page = items[:size]
    out: dict[str, Any] = {result_field: page, "errors": []}
    if len(items) > size:
        out["nextToken"] = _token(page[-1][key])
    return out


def get_enrollment_status(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    state = enrollment(account)
    out: dict[str, Any] = {"status": state["status"]}
    if state["statusReason"]:
        out["statusReason"] = state["statusReason"]
    out["memberAccountsEnrolled"] = False  # no organization: no member accounts
    if state["lastUpdatedTimestamp"] is not None:
        out["lastUpdatedTimestamp"] = state["lastUpdatedTimestamp"]
    out["numberOfMemberAccountsOptedIn"] = 0
    return out


def update_enrollment_status(params: dict[str, Any], account: str, region: str) -> dict[str, Any]:
    status = params.get("status")
    if status is None:
        raise ServiceError("ValidationException", 400, "1 validation error detected: Value null at 'status' failed to satisfy constraint: Member must not be null")
    if status not in ("Active", "Inactive"):
        raise invalid(f"The status {status!r} is not valid. Specify Active or Inactive.")
    include = params.get("includeMemberAccounts")
    if include is not None and not isinstance(include, bool):
        raise ServiceError("ValidationException", 400, "includeMemberAccounts must be a boolean")
    set_enrollment(account, status, None, include)
    return {"status": status}


OPERATIONS: dict[str, Callable[[dict[str, Any], str, str], dict[str, Any]]] = {
    "GetEnrollmentStatus": get_enrollment_status,
    "UpdateEnrollmentStatus": update_enrollment_status,
    "GetEC2InstanceRecommendations": lambda p, a, r: get_recommendations(INSTANCE, p, a, r),
    "GetEBSVolumeRecommendations": lambda p, a, r: get_recommendations(VOLUME, p, a, r),
    "GetAutoScalingGroupRecommendations": lambda p, a, r: get_recommendations(ASG, p, a, r),
}


def _json_reply(start_response: Callable, status: int, payload: Any) -> list[bytes]:
    from http import HTTPStatus

    data = json.dumps(payload).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("Content-Length", str(len(data)))]
    if status >= 300:
        headers.append(("x-amzn-ErrorType", payload["__type"]))
    start_response(f"{status} {HTTPStatus(status).phrase}", headers)
    return [data]


class ComputeOptimizer:
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
            if handler is None:
                raise ServiceError(
                    "UnknownOperationException", 400,
                    f"The emulator does not implement Compute Optimizer operation {operation}",
                )
            try:
                params = json.loads(raw or b"{}")
            except ValueError:
                raise ServiceError("SerializationException", 400, "The request body is not valid JSON") from None
            if not isinstance(params, dict):
                raise ServiceError("SerializationException", 400, "The request body must be a JSON object")
            answer = handler(params, account, region)
        except ServiceError as err:
            return _json_reply(start_response, err.status, {"__type": err.code, "message": err.message})
        return _json_reply(start_response, 200, answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return ComputeOptimizer(app)
