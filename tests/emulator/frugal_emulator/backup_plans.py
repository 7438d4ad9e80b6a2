"""B1-B4: AWS Backup plan versions, selections and recovery points for moto 5.2.5.

B1  UpdateBackupPlan (POST /backup/plans/{id}): new random VersionId (48 chars),
    same BackupPlanId/Arn, rules replaced (defaults and RuleIds filled like
    CreateBackupPlan). GetBackupPlan returns the latest version, or the given
    versionId's. ListBackupPlanVersions lists every version, newest first
    (maxResults/nextToken).
B2  CreateBackupPlan honours CreatorRequestId (same id -> the existing live plan,
    same id and VersionId); a deleted plan's name can be reused.
B3  Create/Get/List/DeleteBackupSelection (CreatorRequestId idempotent, paging).
    DeleteBackupPlan of a plan with selections fails with
    InvalidRequestException "Related backup plan selections must be deleted
    prior to backup plan deletion".
B4  Recovery points exist only when seeded (backup_control.py:
    POST /_frugal/backup/recovery-points). ListRecoveryPointsByBackupVault
    (filters resourceArn, resourceType, backupPlanId, createdBefore/After;
    paging), DescribeRecoveryPoint, DeleteRecoveryPoint. DeleteBackupVault fails
    with InvalidRequestException while the vault holds recovery points, and with
    ResourceNotFoundException for an unknown vault (moto: silent success).

The new operations are served by WSGI middleware placed inside the recorder;
the rest are moto backend patches. All state lives on moto's BackupBackend, so
/moto-api/reset wipes it.
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import re
import threading
import uuid
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs, unquote

from moto.backup.exceptions import (
    AlreadyExistsException,
    InvalidParameterValueException,
    InvalidRequestException,
    ResourceNotFoundException,
)
from moto.backup.models import BackupBackend, Plan, Vault, backup_backends
from moto.core.utils import unix_time

_ORIG: dict[str, Callable[..., Any]] = {}
_LOCK = threading.RLock()
SCOPE_RE = re.compile(r"Credential=[^/,\s]+/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")
SELECTION_NAME_RE = re.compile(r"^[a-zA-Z0-9\-_.]{1,50}$")


class BackupError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


# state ---------------------------------------------------------------------
def _state(backend: BackupBackend) -> dict[str, Any]:
    return backend.__dict__.setdefault(
        "_frugal_backup",
        {"versions": {}, "selections": {}, "recovery_points": {}, "plan_requests": {}, "selection_requests": {}},
    )


def _new_version_id() -> str:
    # AWS's look like base64 of a UUID string: 48 characters.
    return base64.b64encode(str(uuid.uuid4()).encode()).decode()


def _versions(backend: BackupBackend, plan: Plan) -> list[dict[str, Any]]:
    versions = _state(backend)["versions"].setdefault(plan.backup_plan_id, [])
    if not versions:
        versions.append(
            {
                "VersionId": plan.version_id,
                "BackupPlan": copy.deepcopy(plan.backup_plan),
                "AdvancedBackupSettings": copy.deepcopy(plan.advanced_backup_settings),
                "CreationDate": plan.creation_date,
            }
        )
    return versions


def _live_plan(backend: BackupBackend, plan_id: str) -> Plan:
    plan = backend.plans.get(plan_id)
    if plan is None or plan.deletion_date is not None:
        raise ResourceNotFoundException(msg="Failed reading Backup plan with provided version")
    return plan


# backend patches (B1, B2, B3, B4) --------------------------------------------
def create_backup_plan(
    self: BackupBackend, backup_plan: dict[str, Any], backup_plan_tags: dict[str, str], creator_request_id: str
) -> Plan:
    with _LOCK:
        requests = _state(self)["plan_requests"]
        if creator_request_id and creator_request_id in requests:
            plan = self.plans.get(requests[creator_request_id])
            if plan is not None and plan.deletion_date is None:
                return plan
        name = (backup_plan or {}).get("BackupPlanName")
        if any(
            p.deletion_date is None and p.backup_plan.get("BackupPlanName") == name
            for p in self.plans.values()
        ):
            raise AlreadyExistsException(msg="Backup plan with the same plan document already exists")
        plan = Plan(backup_plan=backup_plan, creator_request_id=creator_request_id, backend=self)
        plan.version_id = _new_version_id()
        if backup_plan_tags:
            self.tag_resource(plan.backup_plan_arn, backup_plan_tags)
        self.plans[plan.backup_plan_id] = plan
        _versions(self, plan)
        if creator_request_id:
            requests[creator_request_id] = plan.backup_plan_id
        return plan


def get_backup_plan(self: BackupBackend, backup_plan_id: str, version_id: Any | None) -> Plan:
    plan = _ORIG["get_backup_plan"](self, backup_plan_id, None)
    if not version_id or version_id == plan.version_id:
        return plan
    for version in _versions(self, plan):
        if version["VersionId"] == version_id:
            view = copy.copy(plan)
            view.version_id = version["VersionId"]
            view.backup_plan = version["BackupPlan"]
            view.advanced_backup_settings = version["AdvancedBackupSettings"]
            view.creation_date = version["CreationDate"]
            return view
    raise ResourceNotFoundException(msg="Failed reading Backup plan with provided version")


def delete_backup_plan(self: BackupBackend, backup_plan_id: str) -> Any:
    with _LOCK:
        if _state(self)["selections"].get(backup_plan_id):
            raise InvalidRequestException(
                msg="Related backup plan selections must be deleted prior to backup plan deletion"
            )
        return _ORIG["delete_backup_plan"](self, backup_plan_id)


def delete_backup_vault(self: BackupBackend, backup_vault_name: str) -> None:
    with _LOCK:
        if backup_vault_name not in self.vaults:
            raise ResourceNotFoundException(msg=f"Backup vault {backup_vault_name} does not exist")
        points = _state(self)["recovery_points"].get(backup_vault_name) or []
        if points:
            raise InvalidRequestException(
                msg=f"Backup vault cannot be deleted (contains {len(points)} recovery points)"
            )
        _ORIG["delete_backup_vault"](self, backup_vault_name)
        _state(self)["recovery_points"].pop(backup_vault_name, None)


# recovery points (seeded by backup_control.py) -------------------------------
def _resource_type(arn: str) -> str:
    if ":volume/" in arn:
        return "EBS"
    if ":instance/" in arn:
        return "EC2"
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 else ""
    return {"rds": "RDS", "dynamodb": "DynamoDB", "elasticfilesystem": "EFS", "s3": "S3"}.get(
        service, service.upper() or "EBS"
    )


def _parse_time(value: Any) -> float:
    if value is None:
        return unix_time()
    if isinstance(value, (int, float)):
        return float(value)
    parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.timestamp()


def seed_recovery_point(params: dict[str, Any]) -> dict[str, Any]:
    account = str(params.get("account") or "123456789012")
    region = params.get("region") or "us-east-1"
    vault_name = params.get("vault_name")
    resource_arn = params.get("resource_arn")
    if not vault_name or not resource_arn:
        raise BackupError("MissingParameterValueException", "vault_name and resource_arn are required")
    backend = backup_backends[account][region]
    with _LOCK:
        vault = backend.vaults.get(vault_name)
        if vault is None:
            raise BackupError(
                "ResourceNotFoundException", f"Backup vault {vault_name} does not exist", 404
            )
        resource_type = params.get("resource_type") or _resource_type(resource_arn)
        arn = params.get("recovery_point_arn")
        if not arn:
            if resource_type == "EBS":
                arn = f"arn:aws:ec2:{region}::snapshot/snap-{uuid.uuid4().hex[:17]}"
            elif resource_type == "EC2":
                arn = f"arn:aws:ec2:{region}::image/ami-{uuid.uuid4().hex[:17]}"
            else:
                arn = f"arn:aws:backup:{region}:{account}:recovery-point:{uuid.uuid4()}"
        created = _parse_time(params.get("creation_date"))
        point: dict[str, Any] = {
            "RecoveryPointArn": arn,
            "BackupVaultName": vault_name,
            "BackupVaultArn": vault.backup_vault_arn,
            "ResourceArn": resource_arn,
            "ResourceType": resource_type,
            "ResourceName": params.get("resource_name") or "",
            "CreatedBy": {},
            "IamRoleArn": params.get("iam_role_arn")
            or f"arn:aws:iam::{account}:role/service-role/AWSBackupDefaultServiceRole",
            "Status": params.get("status") or "COMPLETED",
            "CreationDate": created,
            "InitiationDate": created,
            "CompletionDate": created,
            "BackupSizeInBytes": int(params.get("size_bytes") or 0),
            "Lifecycle": params.get("lifecycle") or {},
            "EncryptionKeyArn": vault.encryption_key_arn
            or f"arn:aws:kms:{region}:{account}:key/{uuid.uuid4()}",
            "IsEncrypted": True,
            "StorageClass": params.get("storage_class") or "WARM",
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }
        if params.get("backup_plan_id"):
            plan = backend.plans.get(params["backup_plan_id"])
            point["CreatedBy"] = {
                "BackupPlanId": params["backup_plan_id"],
                "BackupPlanArn": plan.backup_plan_arn if plan else "",
                "BackupPlanVersion": plan.version_id if plan else "",
                "BackupRuleId": params.get("backup_rule_id") or "",
            }
        points = _state(backend)["recovery_points"].setdefault(vault_name, [])
        points[:] = [p for p in points if p["RecoveryPointArn"] != arn] + [point]
        vault.num_of_recovery_points = len(points)
        return point


# HTTP handlers for the operations moto lacks ----------------------------------
def _page(items: list[Any], query: dict[str, str], default: int = 1000) -> tuple[list[Any], str | None]:
    try:
        max_results = int(query.get("maxResults") or default)
        start = int(json.loads(base64.b64decode(query["nextToken"]))["o"]) if query.get("nextToken") else 0
    except Exception:
        raise BackupError("InvalidParameterValueException", "Invalid nextToken or maxResults")
    if not 1 <= max_results <= 1000:
        raise BackupError("InvalidParameterValueException", "maxResults must be between 1 and 1000")
    end = start + max_results
    token = base64.b64encode(json.dumps({"o": end}).encode()).decode() if end < len(items) else None
    return items[start:end], token


def update_backup_plan(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    new_plan = body.get("BackupPlan")
    if not isinstance(new_plan, dict) or not new_plan.get("Rules"):
        raise BackupError("InvalidParameterValueException", "BackupPlan with at least one rule is required")
    with _LOCK:
        plan = _live_plan(backend, m["backupPlanId"])
        versions = _versions(backend, plan)
        normalized = Plan(backup_plan=copy.deepcopy(new_plan), creator_request_id="", backend=backend)
        plan.backup_plan = normalized.backup_plan
        plan.advanced_backup_settings = normalized.advanced_backup_settings
        plan.version_id = _new_version_id()
        plan.creation_date = unix_time()
        versions.append(
            {
                "VersionId": plan.version_id,
                "BackupPlan": copy.deepcopy(plan.backup_plan),
                "AdvancedBackupSettings": copy.deepcopy(plan.advanced_backup_settings),
                "CreationDate": plan.creation_date,
            }
        )
        out = {
            "BackupPlanId": plan.backup_plan_id,
            "BackupPlanArn": plan.backup_plan_arn,
            "CreationDate": plan.creation_date,
            "VersionId": plan.version_id,
        }
        if plan.advanced_backup_settings:
            out["AdvancedBackupSettings"] = plan.advanced_backup_settings
        return out


def list_backup_plan_versions(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> dict[str, Any]:
    with _LOCK:
        plan = backend.plans.get(m["backupPlanId"])
        if plan is None:
            raise BackupError("ResourceNotFoundException", "Failed reading Backup plan with provided version")
        items = []
        for version in reversed(_versions(backend, plan)):
            item = {
                "BackupPlanArn": plan.backup_plan_arn,
                "BackupPlanId": plan.backup_plan_id,
                "CreationDate": version["CreationDate"],
                "VersionId": version["VersionId"],
                "BackupPlanName": version["BackupPlan"].get("BackupPlanName"),
            }
            if plan.creator_request_id:
                item["CreatorRequestId"] = plan.creator_request_id
            if plan.deletion_date is not None:
                item["DeletionDate"] = plan.deletion_date
            if version["AdvancedBackupSettings"]:
                item["AdvancedBackupSettings"] = version["AdvancedBackupSettings"]
            items.append(item)
    page, token = _page(items, q)
    out: dict[str, Any] = {"BackupPlanVersionsList": page}
    if token:
        out["NextToken"] = token
    return out


def create_backup_selection(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    selection = body.get("BackupSelection") or {}
    name = selection.get("SelectionName") or ""
    if not SELECTION_NAME_RE.match(name):
        raise BackupError("InvalidParameterValueException", f"Invalid selection name: {name!r}")
    if not selection.get("IamRoleArn"):
        raise BackupError("MissingParameterValueException", "IamRoleArn is required")
    request_id = body.get("CreatorRequestId")
    with _LOCK:
        plan = _live_plan(backend, m["backupPlanId"])
        state = _state(backend)
        selections = state["selections"].setdefault(plan.backup_plan_id, {})
        key = (plan.backup_plan_id, request_id)
        if request_id and key in state["selection_requests"]:
            existing = selections.get(state["selection_requests"][key])
            if existing is not None:
                return {k: existing[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")}
        stored = {
            "SelectionName": name,
            "IamRoleArn": selection["IamRoleArn"],
            "Resources": list(selection.get("Resources") or []),
            "ListOfTags": list(selection.get("ListOfTags") or []),
            "NotResources": list(selection.get("NotResources") or []),
            "Conditions": {
                k: list((selection.get("Conditions") or {}).get(k) or [])
                for k in ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike")
            },
        }
        record = {
            "SelectionId": str(uuid.uuid4()),
            "BackupPlanId": plan.backup_plan_id,
            "CreationDate": unix_time(),
            "CreatorRequestId": request_id,
            "BackupSelection": stored,
        }
        selections[record["SelectionId"]] = record
        if request_id:
            state["selection_requests"][key] = record["SelectionId"]
        return {k: record[k] for k in ("SelectionId", "BackupPlanId", "CreationDate")}


def _selection(backend: BackupBackend, m: dict[str, str]) -> dict[str, Any]:
    record = _state(backend)["selections"].get(m["backupPlanId"], {}).get(m["selectionId"])
    if record is None:
        raise BackupError(
            "ResourceNotFoundException",
            f"Backup selection {m['selectionId']} of plan {m['backupPlanId']} not found",
        )
    return record


def get_backup_selection(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> dict[str, Any]:
    record = _selection(backend, m)
    out = {k: v for k, v in record.items() if v is not None}
    return copy.deepcopy(out)


def list_backup_selections(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> dict[str, Any]:
    with _LOCK:
        if m["backupPlanId"] not in backend.plans:
            raise BackupError("ResourceNotFoundException", "Failed reading Backup plan with provided version")
        items = []
        for record in _state(backend)["selections"].get(m["backupPlanId"], {}).values():
            item = {
                "SelectionId": record["SelectionId"],
                "SelectionName": record["BackupSelection"]["SelectionName"],
                "BackupPlanId": record["BackupPlanId"],
                "CreationDate": record["CreationDate"],
                "IamRoleArn": record["BackupSelection"]["IamRoleArn"],
            }
            if record["CreatorRequestId"]:
                item["CreatorRequestId"] = record["CreatorRequestId"]
            items.append(item)
    page, token = _page(items, q)
    out: dict[str, Any] = {"BackupSelectionsList": page}
    if token:
        out["NextToken"] = token
    return out


def delete_backup_selection(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> None:
    with _LOCK:
        _selection(backend, m)
        del _state(backend)["selections"][m["backupPlanId"]][m["selectionId"]]
    return None


def _vault_points(backend: BackupBackend, vault_name: str) -> list[dict[str, Any]]:
    if vault_name not in backend.vaults:
        raise BackupError("ResourceNotFoundException", f"Backup vault {vault_name} does not exist")
    return _state(backend)["recovery_points"].setdefault(vault_name, [])


def list_recovery_points(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> dict[str, Any]:
    with _LOCK:
        points = list(_vault_points(backend, m["backupVaultName"]))
    if q.get("resourceArn"):
        points = [p for p in points if p["ResourceArn"] == q["resourceArn"]]
    if q.get("resourceType"):
        points = [p for p in points if p["ResourceType"] == q["resourceType"]]
    if q.get("backupPlanId"):
        points = [p for p in points if p["CreatedBy"].get("BackupPlanId") == q["backupPlanId"]]
    if q.get("createdBefore"):
        points = [p for p in points if p["CreationDate"] < _parse_time(q["createdBefore"])]
    if q.get("createdAfter"):
        points = [p for p in points if p["CreationDate"] > _parse_time(q["createdAfter"])]
    points.sort(key=lambda p: p["CreationDate"], reverse=True)
    page, token = _page(points, q)
    out: dict[str, Any] = {
        "RecoveryPoints": [
            {k: v for k, v in p.items() if k != "StorageClass" and v not in ({}, "")} for p in page
        ]
    }
    if token:
        out["NextToken"] = token
    return out


def _point(backend: BackupBackend, m: dict[str, str]) -> dict[str, Any]:
    for point in _vault_points(backend, m["backupVaultName"]):
        if point["RecoveryPointArn"] == m["recoveryPointArn"]:
            return point
    raise BackupError("ResourceNotFoundException", f"Recovery point {m['recoveryPointArn']} not found")


def describe_recovery_point(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> dict[str, Any]:
    with _LOCK:
        return {k: v for k, v in _point(backend, m).items() if v not in ({}, "")}


def delete_recovery_point(backend: BackupBackend, m: dict[str, str], q: dict[str, str], body: Any) -> None:
    with _LOCK:
        point = _point(backend, m)
        points = _vault_points(backend, m["backupVaultName"])
        points.remove(point)
        backend.vaults[m["backupVaultName"]].num_of_recovery_points = len(points)
    return None


P = r"(?P<backupPlanId>[^/]+)"
ROUTES: list[tuple[str, re.Pattern[str], str, Callable[..., Any]]] = [
    ("POST", re.compile(rf"^/backup/plans/{P}/?$"), "UpdateBackupPlan", update_backup_plan),
    ("GET", re.compile(rf"^/backup/plans/{P}/versions/?$"), "ListBackupPlanVersions", list_backup_plan_versions),
    ("PUT", re.compile(rf"^/backup/plans/{P}/selections/?$"), "CreateBackupSelection", create_backup_selection),
    ("GET", re.compile(rf"^/backup/plans/{P}/selections/?$"), "ListBackupSelections", list_backup_selections),
    ("GET", re.compile(rf"^/backup/plans/{P}/selections/(?P<selectionId>[^/]+)/?$"), "GetBackupSelection", get_backup_selection),
    ("DELETE", re.compile(rf"^/backup/plans/{P}/selections/(?P<selectionId>[^/]+)/?$"), "DeleteBackupSelection", delete_backup_selection),
    ("GET", re.compile(r"^/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/?$"), "ListRecoveryPointsByBackupVault", list_recovery_points),
    ("GET", re.compile(r"^/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$"), "DescribeRecoveryPoint", describe_recovery_point),
    ("DELETE", re.compile(r"^/backup-vaults/(?P<backupVaultName>[^/]+)/recovery-points/(?P<recoveryPointArn>.+)$"), "DeleteRecoveryPoint", delete_recovery_point),
]


def json_response(start_response: Callable, status: int, payload: Any, error_type: str | None = None) -> list[bytes]:
    data = b"" if payload is None else json.dumps(payload).encode()
    reasons = {200: "OK", 400: "Bad Request", 404: "Not Found"}
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    start_response(f"{status} {reasons.get(status, 'Error')}", headers)
    return [data]


class BackupMiddleware:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        scope = SCOPE_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if not scope or scope.group("service").lower() != "backup":
            return self.app(environ, start_response)
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
        raw_path = raw.split("?", 1)[0]
        if raw_path.startswith("http"):
            raw_path = "/" + raw_path.split("/", 3)[-1]
        method = environ.get("REQUEST_METHOD", "GET")
        for route_method, regex, _name, handler in ROUTES:
            match = regex.match(raw_path) if route_method == method else None
            if match:
                break
        else:
            return self.app(environ, start_response)
        params = {k: unquote(v) for k, v in match.groupdict().items()}
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        length = environ.get("CONTENT_LENGTH")
        data = environ["wsgi.input"].read(int(length)) if length and length.isdigit() else b""
        try:
            body = json.loads(data) if data.strip() else {}
        except ValueError:
            return json_response(start_response, 400, {"__type": "SerializationException", "message": "bad JSON"}, "SerializationException")
        from .recorder import _account_for

        backend = backup_backends[_account_for(environ)][scope.group("region")]
        try:
            result = handler(backend, params, query, body)
        except BackupError as err:
            return json_response(start_response, err.status, {"__type": err.code, "message": err.message}, err.code)
        except (ResourceNotFoundException, InvalidRequestException, InvalidParameterValueException, AlreadyExistsException) as err:
            return json_response(start_response, 400, {"__type": err.error_type, "message": err.message}, err.error_type)
        return json_response(start_response, 200, result)


def apply() -> None:
    if _ORIG:
        return
    _ORIG["create_backup_plan"] = BackupBackend.create_backup_plan
    _ORIG["get_backup_plan"] = BackupBackend.get_backup_plan
    _ORIG["delete_backup_plan"] = BackupBackend.delete_backup_plan
    _ORIG["delete_backup_vault"] = BackupBackend.delete_backup_vault
    BackupBackend.create_backup_plan = create_backup_plan
    BackupBackend.get_backup_plan = get_backup_plan
    BackupBackend.delete_backup_plan = delete_backup_plan
    BackupBackend.delete_backup_vault = delete_backup_vault
    # moto's ListTags takes the ARN from the second-to-last path segment (botocore's
    # "/tags/{resourceArn}/"); the Rust SDK sends "/tags/{ResourceArn}" without the slash.
    from moto.backup.responses import BackupResponse

    def list_tags(self: Any) -> str:
        from urllib.parse import unquote

        resource_arn = unquote(self.path.split("?", 1)[0].split("/tags/", 1)[1].rstrip("/"))
        return json.dumps({"Tags": self.backup_backend.list_tags(resource_arn=resource_arn)})

    BackupResponse.list_tags = list_tags
    # DescribeBackupVault's serializer looks for number_of_recovery_points.
    Vault.number_of_recovery_points = property(lambda self: self.num_of_recovery_points)


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return BackupMiddleware(app)
