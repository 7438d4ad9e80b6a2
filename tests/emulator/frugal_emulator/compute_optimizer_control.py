"""C1 control endpoints: seed Compute Optimizer recommendations and enrollment.

    POST /_frugal/compute-optimizer/recommendations
    an object or a list of objects:
    {"account" (default 123456789012), "region" (default us-east-1),
     exactly one of "instanceId" | "volumeId" | "autoScalingGroupName",
     "finding": instances Underprovisioned|Overprovisioned|Optimized,
                volumes and groups Optimized|NotOptimized,
     "recommendedType": instance type (instances, groups; default: the current type),
     "recommendedVolume": {"volumeType", optional "volumeSize", "volumeBaselineIOPS",
                           "volumeBaselineThroughput"} (volumes; default: the current one),
     "estimatedMonthlySavingsUsd": number >= 0 (default 0),
     "savingsOpportunityPercentage": 0..100 (default 0),
     "performanceRisk": 0..4 (the option's risk, default 1),
     "currentPerformanceRisk": VeryLow|Low|Medium|High (default Low),
     "findingReasonCodes": [...] (instances; the model's enum; default []),
     "inferredWorkloadTypes": [...] (instances, groups; default []),
     "utilizationMetrics": [{"name", "statistic": Maximum|Average, "value"}] (default []),
     "lookBackPeriodInDays": 14 | 32 | 93 (default 14),
     "migrationEffort": VeryLow|Low|Medium|High (instances, groups; default Low),
     "lastRefreshTimestamp": RFC 3339 or epoch seconds (default now)}
    -> 200 {"seeded": [{"account", "region", "resourceArn"}]};
       400 {"error"} bad JSON / bad field; 404 {"error"} a resource moto does not have
       (every item is checked before anything is stored). Seeding a resource again
       replaces its recommendation.

    POST /_frugal/compute-optimizer/enrollment
    {"account" (default 123456789012), "status": Active|Inactive|Pending|Failed,
     optional "statusReason"}
    -> 200 {"account", "status"}; 400 {"error"}. (UpdateEnrollmentStatus works on its own;
       this is for states AWS reaches by itself, e.g. Pending/Failed.)

Outside the recorder like ebs_snapshots.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID

from . import compute_optimizer as co
from .control import read_json, reply

RECOMMENDATIONS = "/_frugal/compute-optimizer/recommendations"
ENROLLMENT = "/_frugal/compute-optimizer/enrollment"

METRIC_NAMES = {
    "instance": (
        "Cpu", "Memory", "EBS_READ_OPS_PER_SECOND", "EBS_WRITE_OPS_PER_SECOND", "EBS_READ_BYTES_PER_SECOND",
        "EBS_WRITE_BYTES_PER_SECOND", "DISK_READ_OPS_PER_SECOND", "DISK_WRITE_OPS_PER_SECOND",
        "DISK_READ_BYTES_PER_SECOND", "DISK_WRITE_BYTES_PER_SECOND", "NETWORK_IN_BYTES_PER_SECOND",
        "NETWORK_OUT_BYTES_PER_SECOND", "NETWORK_PACKETS_IN_PER_SECOND", "NETWORK_PACKETS_OUT_PER_SECOND",
        "GPU_PERCENTAGE", "GPU_MEMORY_PERCENTAGE",
    ),
    "volume": (
        "VolumeReadOpsPerSecond", "VolumeWriteOpsPerSecond", "VolumeReadBytesPerSecond",
        "VolumeWriteBytesPerSecond", "VolumeIOPSExceeded", "VolumeThroughputExceeded",
    ),
}
METRIC_NAMES["asg"] = METRIC_NAMES["instance"]

FIELDS = {
    "account", "region", "instanceId", "volumeId", "autoScalingGroupName", "finding", "recommendedType",
    "recommendedVolume", "estimatedMonthlySavingsUsd", "savingsOpportunityPercentage", "performanceRisk",
    "currentPerformanceRisk", "findingReasonCodes", "inferredWorkloadTypes", "utilizationMetrics",
    "lookBackPeriodInDays", "migrationEffort", "lastRefreshTimestamp",
}


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _number(item: dict[str, Any], field: str, default: float, low: float, high: float | None = None) -> float:
    value = item.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ControlError(400, f"{field}: expected a number, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ControlError(400, f"{field}: {value} is outside {low}..{high if high is not None else ''}")
    return float(value)


def _choice(item: dict[str, Any], field: str, allowed: tuple[str, ...], default: str | None = None) -> str:
    value = item.get(field, default)
    if value not in allowed:
        raise ControlError(400, f"{field}: expected one of {list(allowed)}, got {value!r}")
    return value


def _choices(item: dict[str, Any], field: str, allowed: tuple[str, ...]) -> list[str]:
    value = item.get(field, [])
    if not isinstance(value, list) or any(v not in allowed for v in value):
        raise ControlError(400, f"{field}: expected a list of {list(allowed)}, got {value!r}")
    return list(value)


def _timestamp(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.timestamp()
    raise ControlError(400, f"lastRefreshTimestamp: expected RFC 3339 with an offset or Z, or epoch seconds, got {value!r}")


def _string(item: dict[str, Any], field: str, default: str) -> str:
    value = item.get(field, default)
    if not isinstance(value, str) or not value:
        raise ControlError(400, f"{field}: expected a non-empty string, got {value!r}")
    return value


def validate(item: Any) -> tuple[str, str, str, str, dict[str, Any], str]:
    """-> (account, region, kind, resource, analysis, resource ARN); raises ControlError."""
    if not isinstance(item, dict):
        raise ControlError(400, "expected a JSON object (or a list of objects)")
    unknown = set(item) - FIELDS
    if unknown:
        raise ControlError(400, f"unknown fields: {sorted(unknown)}")
    account = _string(item, "account", DEFAULT_ACCOUNT_ID)
    region = _string(item, "region", "us-east-1")
    given = [f for f in ("instanceId", "volumeId", "autoScalingGroupName") if f in item]
    if len(given) != 1:
        raise ControlError(400, "give exactly one of instanceId, volumeId, autoScalingGroupName")
    field = given[0]
    resource = _string(item, field, "")
    kind = {"instanceId": co.INSTANCE, "volumeId": co.VOLUME, "autoScalingGroupName": co.ASG}[field]
    findings = co.INSTANCE_FINDINGS if kind == co.INSTANCE else co.OPTIMIZED_NOT
    if "finding" not in item:
        raise ControlError(400, f"finding: required, one of {list(findings)}")
    analysis: dict[str, Any] = {"finding": _choice(item, "finding", findings)}

    if kind == co.VOLUME:
        for f in ("recommendedType", "findingReasonCodes", "inferredWorkloadTypes", "migrationEffort"):
            if f in item:
                raise ControlError(400, f"{f}: not part of an EBS volume recommendation")
        wanted = item.get("recommendedVolume")
        if wanted is not None:
            if not isinstance(wanted, dict) or set(wanted) - {"volumeType", "volumeSize", "volumeBaselineIOPS", "volumeBaselineThroughput"}:
                raise ControlError(400, "recommendedVolume: expected {volumeType, volumeSize, volumeBaselineIOPS, volumeBaselineThroughput}")
            if "volumeType" in wanted:
                _choice(wanted, "volumeType", co.VOLUME_TYPES)
            for f in ("volumeSize", "volumeBaselineIOPS", "volumeBaselineThroughput"):
                if f in wanted and (isinstance(wanted[f], bool) or not isinstance(wanted[f], int) or wanted[f] < 1):
                    raise ControlError(400, f"recommendedVolume.{f}: expected a positive integer")
            wanted = dict(wanted)
        analysis["recommendedVolume"] = wanted
    else:
        if "recommendedVolume" in item:
            raise ControlError(400, "recommendedVolume: only for volumes")
        rtype = item.get("recommendedType")
        if rtype is not None and (not isinstance(rtype, str) or "." not in rtype):
            raise ControlError(400, f"recommendedType: expected an instance type like t3.small, got {rtype!r}")
        analysis["recommendedType"] = rtype
        if kind == co.ASG and "findingReasonCodes" in item:
            raise ControlError(400, "findingReasonCodes: not part of an Auto Scaling group recommendation")
        analysis["findingReasonCodes"] = _choices(item, "findingReasonCodes", co.INSTANCE_REASON_CODES)
        analysis["inferredWorkloadTypes"] = _choices(item, "inferredWorkloadTypes", co.INFERRED_WORKLOAD_TYPES)
        analysis["migrationEffort"] = _choice(item, "migrationEffort", co.PERFORMANCE_RISKS, "Low")

    analysis["estimatedMonthlySavingsUsd"] = _number(item, "estimatedMonthlySavingsUsd", 0, 0)
    analysis["savingsOpportunityPercentage"] = _number(item, "savingsOpportunityPercentage", 0, 0, 100)
    analysis["performanceRisk"] = _number(item, "performanceRisk", 1, 0, 4)
    analysis["currentPerformanceRisk"] = _choice(item, "currentPerformanceRisk", co.PERFORMANCE_RISKS, "Low")
    look_back = item.get("lookBackPeriodInDays", 14)
    if isinstance(look_back, bool) or look_back not in (14, 32, 93):
        raise ControlError(400, f"lookBackPeriodInDays: expected 14, 32 or 93 (the LookBackPeriodPreference values), got {look_back!r}")
    analysis["lookBackPeriodInDays"] = float(look_back)
    metrics = item.get("utilizationMetrics", [])
    if not isinstance(metrics, list):
        raise ControlError(400, "utilizationMetrics: expected a list")
    checked = []
    for metric in metrics:
        if not isinstance(metric, dict) or set(metric) != {"name", "statistic", "value"}:
            raise ControlError(400, "utilizationMetrics: each item is {name, statistic, value}")
        _choice(metric, "name", METRIC_NAMES[kind])
        _choice(metric, "statistic", ("Maximum", "Average"))
        checked.append({"name": metric["name"], "statistic": metric["statistic"], "value": _number(metric, "value", 0, 0)})
    analysis["utilizationMetrics"] = checked
    analysis["lastRefreshTimestamp"] = (
        _timestamp(item["lastRefreshTimestamp"]) if "lastRefreshTimestamp" in item else None
    )

    if kind == co.INSTANCE:
        if co.live_instance(account, region, resource) is None:
            raise ControlError(404, f"no instance {resource} in account {account} region {region} (or it is terminated)")
        arn = f"arn:aws:ec2:{region}:{account}:instance/{resource}"
    elif kind == co.VOLUME:
        if co.live_volume(account, region, resource) is None:
            raise ControlError(404, f"no volume {resource} in account {account} region {region}")
        arn = f"arn:aws:ec2:{region}:{account}:volume/{resource}"
    else:
        group = co.live_group(account, region, resource)
        if group is None:
            raise ControlError(404, f"no Auto Scaling group {resource} in account {account} region {region}")
        arn = group.arn
    return account, region, kind, resource, analysis, arn


def seed(params: Any) -> dict[str, Any]:
    items = params if isinstance(params, list) else [params]
    if not items:
        raise ControlError(400, "expected at least one recommendation")
    checked = [validate(item) for item in items]  # everything first
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).timestamp()
    seeded = []
    for account, region, kind, resource, analysis, arn in checked:
        if analysis["lastRefreshTimestamp"] is None:
            analysis["lastRefreshTimestamp"] = now
        co.put_recommendation(account, region, kind, resource, analysis)
        seeded.append({"account": account, "region": region, "resourceArn": arn})
    return {"seeded": seeded}


def enroll(params: Any) -> dict[str, Any]:
    if not isinstance(params, dict):
        raise ControlError(400, "expected a JSON object")
    unknown = set(params) - {"account", "status", "statusReason"}
    if unknown:
        raise ControlError(400, f"unknown fields: {sorted(unknown)}")
    account = _string(params, "account", DEFAULT_ACCOUNT_ID)
    status = _choice(params, "status", ("Active", "Inactive", "Pending", "Failed"))
    reason = params.get("statusReason")
    if reason is not None and not isinstance(reason, str):
        raise ControlError(400, "statusReason: expected a string")
    co.set_enrollment(account, status, reason)
    return {"account": account, "status": status}


class ComputeOptimizerControl:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        handler = {RECOMMENDATIONS: seed, ENROLLMENT: enroll}.get(path)
        if handler is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        try:
            try:
                params = read_json(environ)
            except ValueError as err:
                raise ControlError(400, f"bad JSON: {err}") from None
            answer = handler(params)
        except ControlError as err:
            status = "404 NOT FOUND" if err.status == 404 else "400 BAD REQUEST"
            return reply(start_response, status, {"error": err.message})
        return reply(start_response, "200 OK", answer)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return ComputeOptimizerControl(app)
