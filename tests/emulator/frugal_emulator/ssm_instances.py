"""M1: SSM managed nodes for moto 5.2.5 (moto has no DescribeInstanceInformation
and no service settings).

ssm:DescribeInstanceInformation lists the account+region's EC2 instances that an
SSM Agent would have registered (AWS Systems Manager API Reference,
DescribeInstanceInformation; "Setting up Systems Manager for EC2 instances"):
- the instance's IAM instance profile role allows the agent's core actions
  (ssm:UpdateInstanceInformation and ssmmessages:Create/Open Control/Data
  Channel), e.g. the AWS managed policy AmazonSSMManagedInstanceCore, or an
  inline / customer managed policy granting them (Allow statements, Deny wins,
  wildcards honoured; conditions and resources are not evaluated); or
- Default Host Management Configuration: the service setting
  /ssm/managed-instance/default-ec2-instance-management-role names a role
  (value "[path/]name", e.g. "service-role/AWSSystemsManagerDefaultEC2InstanceManagementRole")
  whose policies allow the same actions (AmazonSSMManagedEC2InstanceDefaultPolicy).
Running instances are PingStatus Online, stopping/stopped ones ConnectionLost;
pending, shutting-down and terminated instances are not listed. Filters
(InstanceIds, PingStatus, PlatformTypes, ResourceType, AgentVersion, tag:<k>,
tag-key) and the older InstanceInformationFilterList (InstanceIds, PingStatus,
PlatformTypes, ResourceType, AgentVersion) work; MaxResults 5..50 (default 10)
with an opaque NextToken.

ssm:GetServiceSetting / UpdateServiceSetting / ResetServiceSetting keep the
account+region's service settings (SettingId as path or full ARN), with AWS's
documented defaults (Status Default until updated, then Customized); an unknown
SettingId fails with ServiceSettingNotFound.
"""

from __future__ import annotations

import base64
import datetime as dt
import fnmatch
import json
import re
import threading
from typing import Any, Callable
from urllib.parse import unquote

from moto.core.responses import ActionResult, EmptyResult
from moto.core.utils import utcnow
from moto.ssm.exceptions import SSMException, ValidationException
from moto.ssm.responses import SimpleSystemManagerResponse

DHMC_SETTING = "/ssm/managed-instance/default-ec2-instance-management-role"
AGENT_VERSION = "3.3.1142.0"
# AWS Systems Manager API Reference, GetServiceSetting ("SettingId" values) and
# the user guide's defaults for each setting.
DEFAULT_SETTINGS = {
    "/ssm/appmanager/appmanager-enabled": "True",
    "/ssm/automation/customer-script-log-destination": "NONE",
    "/ssm/automation/customer-script-log-group-name": "/aws/ssm/automation/executeScript",
    "/ssm/automation/enable-adaptive-concurrency": "False",
    "/ssm/documents/console/public-sharing-permission": "Enable",
    "/ssm/managed-instance/activation-tier": "standard",
    "/ssm/managed-instance/default-ec2-instance-management-role": "$None",
    "/ssm/opsinsights/opscenter": "Disabled",
    "/ssm/parameter-store/default-parameter-tier": "Standard",
    "/ssm/parameter-store/high-throughput-enabled": "false",
}
AGENT_ACTIONS = (
    "ssm:UpdateInstanceInformation",
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
PING_STATUSES = ("Online", "ConnectionLost", "Inactive")
SETTING_ARN_RE = re.compile(r"^arn:[^:]+:ssm:[^:]*:\d*:servicesetting(?P<path>/.+)$")

_ORIG: dict[str, Callable[..., Any]] = {}
_LOCK = threading.RLock()


def _stored_settings(account: str, region: str) -> dict[str, dict[str, Any]]:
    """setting path -> {"value", "status", "modified", "user"}; kept on moto's SSM
    backend so that /moto-api/reset wipes it too."""
    from moto.ssm.models import ssm_backends

    backend = ssm_backends[account][region]
    return backend.__dict__.setdefault("_frugal_service_settings", {})


class ServiceSettingNotFound(SSMException):
    def __init__(self, setting_id: str) -> None:
        super().__init__(
            "ServiceSettingNotFound", f"No setting found for SettingId {setting_id}."
        )


class InvalidFilterKey(SSMException):
    def __init__(self, key: str) -> None:
        super().__init__("InvalidFilterKey", f"The filter key {key} is not valid.")


class InvalidInstanceInformationFilterValue(SSMException):
    def __init__(self, message: str) -> None:
        super().__init__("InvalidInstanceInformationFilterValue", message)


class InvalidNextToken(SSMException):
    def __init__(self) -> None:
        super().__init__("InvalidNextToken", "The specified token isn't valid.")


# IAM -----------------------------------------------------------------------
def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        try:
            document = json.loads(unquote(document) if document.startswith("%") else document)
        except ValueError:
            return []
    if not isinstance(document, dict):
        return []
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _matches(patterns: Any, action: str) -> bool:
    if isinstance(patterns, str):
        patterns = [patterns]
    return any(fnmatch.fnmatchcase(action.lower(), str(p).lower()) for p in patterns or [])


def _role_documents(iam: Any, role: Any) -> list[Any]:
    docs: list[Any] = list(getattr(role, "policies", {}).values())
    for arn in getattr(role, "managed_policies", {}):
        policy = iam.managed_policies.get(arn) or role.managed_policies[arn]
        for version in getattr(policy, "versions", []):
            if version.version_id == policy.default_version_id:
                docs.append(version.document)
    return docs


def role_allows_agent(iam: Any, role: Any) -> bool:
    """True when the role's identity policies allow every SSM Agent core action."""
    statements = [s for doc in _role_documents(iam, role) for s in _statements(doc)]
    for action in AGENT_ACTIONS:
        allowed = False
        for st in statements:
            if "NotAction" in st:
                hit = not _matches(st["NotAction"], action)
            else:
                hit = _matches(st.get("Action"), action)
            if not hit:
                continue
            if st.get("Effect") == "Deny":
                return False
            if st.get("Effect") == "Allow":
                allowed = True
        if not allowed:
            return False
    return True


def _iam_backend(account: str) -> Any:
    from moto.iam.models import iam_backends

    return iam_backends[account]["aws"]


def _profile_role_manages(iam: Any, instance: Any) -> bool:
    profile_ref = getattr(instance, "iam_instance_profile", None)
    if not profile_ref or not profile_ref.get("Arn"):
        return False
    profile = None
    for candidate in iam.instance_profiles.values():
        if candidate.arn == profile_ref["Arn"]:
            profile = candidate
            break
    if profile is None:
        return False
    return any(role_allows_agent(iam, role) for role in profile.roles)


def _dhmc_role_manages(iam: Any, account: str, region: str) -> bool:
    value = _setting(account, region, DHMC_SETTING)["value"]
    if not value or value == "$None":
        return False
    name = value.rstrip("/").split("/")[-1]
    if value.startswith("arn:"):
        name = value.split(":role/", 1)[-1].split("/")[-1]
    role = next((r for r in iam.roles.values() if r.name == name), None)
    return role is not None and role_allows_agent(iam, role)


# settings ------------------------------------------------------------------
def _setting_path(setting_id: str) -> str:
    match = SETTING_ARN_RE.match(setting_id or "")
    return match.group("path") if match else setting_id


def _setting(account: str, region: str, setting_id: str) -> dict[str, Any]:
    path = _setting_path(setting_id)
    if path not in DEFAULT_SETTINGS:
        raise ServiceSettingNotFound(setting_id)
    with _LOCK:
        stored = _stored_settings(account, region).get(path)
    if stored is not None:
        return stored
    return {"value": DEFAULT_SETTINGS[path], "status": "Default", "modified": None, "user": None}


def _setting_dict(self: Any, setting_id: str) -> dict[str, Any]:
    path = _setting_path(setting_id)
    item = _setting(self.current_account, self.region, setting_id)
    result = {
        "SettingId": path,
        "SettingValue": item["value"],
        "ARN": f"arn:{self.partition}:ssm:{self.region}:{self.current_account}:servicesetting{path}",
        "Status": item["status"],
        "LastModifiedDate": item["modified"] or dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        "LastModifiedUser": item["user"] or "System",
    }
    return result


def get_service_setting(self: Any) -> ActionResult:
    return ActionResult({"ServiceSetting": _setting_dict(self, self._get_param("SettingId"))})


def update_service_setting(self: Any) -> EmptyResult:
    setting_id = self._get_param("SettingId")
    value = self._get_param("SettingValue")
    path = _setting_path(setting_id)
    _setting(self.current_account, self.region, setting_id)  # NotFound check
    if value is None or value == "":
        raise ValidationException("SettingValue must not be empty")
    with _LOCK:
        _stored_settings(self.current_account, self.region)[path] = {
            "value": value,
            "status": "Customized",
            "modified": utcnow().replace(tzinfo=dt.timezone.utc),
            "user": f"arn:{self.partition}:iam::{self.current_account}:root",
        }
    return EmptyResult()


def reset_service_setting(self: Any) -> ActionResult:
    setting_id = self._get_param("SettingId")
    path = _setting_path(setting_id)
    _setting(self.current_account, self.region, setting_id)
    with _LOCK:
        _stored_settings(self.current_account, self.region).pop(path, None)
    return ActionResult({"ServiceSetting": _setting_dict(self, setting_id)})


# DescribeInstanceInformation ----------------------------------------------
def _stop_time(instance: Any) -> dt.datetime:
    match = re.search(r"\((\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)", getattr(instance, "_reason", "") or "")
    if match:
        return dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S").replace(
            tzinfo=dt.timezone.utc
        )
    launched = instance.launch_time
    return launched if launched.tzinfo else launched.replace(tzinfo=dt.timezone.utc)


def managed_nodes(account: str, region: str) -> list[dict[str, Any]]:
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    iam = _iam_backend(account)
    dhmc = _dhmc_role_manages(iam, account, region)
    nodes = []
    for instance in ec2.all_instances():
        state = instance._state.name
        if state == "running":
            ping, last_ping = "Online", utcnow().replace(tzinfo=dt.timezone.utc)
        elif state in ("stopping", "stopped"):
            ping, last_ping = "ConnectionLost", _stop_time(instance)
        else:
            continue
        if not (dhmc or _profile_role_manages(iam, instance)):
            continue
        windows = (getattr(instance, "platform", None) or "").lower() == "windows"
        ip = instance.private_ip or ""
        nodes.append(
            {
                "InstanceId": instance.id,
                "PingStatus": ping,
                "LastPingDateTime": last_ping,
                "AgentVersion": AGENT_VERSION,
                "IsLatestVersion": False,
                "PlatformType": "Windows" if windows else "Linux",
                "PlatformName": "Microsoft Windows Server 2022 Datacenter" if windows else "Amazon Linux",
                "PlatformVersion": "10.0.20348" if windows else "2023",
                "ResourceType": "EC2Instance",
                "IPAddress": ip,
                "ComputerName": (
                    f"EC2AMAZ-{instance.id[2:9].upper()}"
                    if windows
                    else f"ip-{ip.replace('.', '-')}.{region}.compute.internal"
                ),
                "SourceId": instance.id,
                "SourceType": "AWS::EC2::Instance",
                "_tags": {t["key"]: t["value"] for t in instance.get_tags()},
            }
        )
    nodes.sort(key=lambda n: n["InstanceId"])
    return nodes


FILTER_FIELDS = {
    "instanceids": "InstanceId",
    "pingstatus": "PingStatus",
    "platformtypes": "PlatformType",
    "platformtype": "PlatformType",
    "resourcetype": "ResourceType",
    "agentversion": "AgentVersion",
}


def _apply_filter(nodes: list[dict[str, Any]], key: str, values: list[str]) -> list[dict[str, Any]]:
    lowered = key.lower()
    if lowered.startswith("tag:"):
        tag = key[4:]
        return [n for n in nodes if n["_tags"].get(tag) in values]
    if lowered == "tag-key":
        return [n for n in nodes if any(v in n["_tags"] for v in values)]
    field = FILTER_FIELDS.get(lowered)
    if field is None:
        raise InvalidFilterKey(key)
    if not values:
        raise InvalidInstanceInformationFilterValue(f"The filter {key} requires at least one value.")
    if field == "PingStatus":
        bad = [v for v in values if v not in PING_STATUSES]
        if bad:
            raise InvalidInstanceInformationFilterValue(
                f"{bad[0]} is not a valid value for the PingStatus filter."
            )
    return [n for n in nodes if n[field] in values]


def describe_instance_information(self: Any) -> ActionResult:
    max_results = self._get_param("MaxResults")
    if max_results is None:
        max_results = 10
    if not isinstance(max_results, int) or not 5 <= max_results <= 50:
        raise ValidationException(
            f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to "
            "satisfy constraint: Member must have value "
            + ("greater than or equal to 5" if isinstance(max_results, int) and max_results < 5
               else "less than or equal to 50")
        )
    old_filters = self._get_param("InstanceInformationFilterList") or []
    filters = self._get_param("Filters") or []
    if old_filters and filters:
        raise InvalidFilterKey("InstanceInformationFilterList and Filters together")
    nodes = managed_nodes(self.current_account, self.region)
    for flt in old_filters:
        key = flt.get("key", "")
        if key.lower().startswith("tag"):
            raise InvalidFilterKey(key)
        nodes = _apply_filter(nodes, key, flt.get("valueSet") or [])
    for flt in filters:
        nodes = _apply_filter(nodes, flt.get("Key", ""), flt.get("Values") or [])

    start = 0
    token = self._get_param("NextToken")
    if token:
        try:
            start = int(json.loads(base64.b64decode(token))["offset"])
        except Exception:
            raise InvalidNextToken()
    page = nodes[start : start + max_results]
    result: dict[str, Any] = {
        "InstanceInformationList": [
            {k: v for k, v in n.items() if not k.startswith("_")} for n in page
        ]
    }
    if start + max_results < len(nodes):
        result["NextToken"] = base64.b64encode(
            json.dumps({"offset": start + max_results}).encode()
        ).decode()
    return ActionResult(result)


def apply() -> None:
    if _ORIG:
        return
    for name, fn in (
        ("describe_instance_information", describe_instance_information),
        ("get_service_setting", get_service_setting),
        ("update_service_setting", update_service_setting),
        ("reset_service_setting", reset_service_setting),
    ):
        _ORIG[name] = getattr(SimpleSystemManagerResponse, name, None)  # type: ignore[assignment]
        setattr(SimpleSystemManagerResponse, name, fn)
