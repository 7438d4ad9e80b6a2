"""S1-S7: EBS snapshot fidelity for moto 5.2.5 (snapshot retention).

S1  DescribeSnapshots honours MaxResults (5..1000, else InvalidParameterValue),
    NextToken (opaque; keyed on the last snapshot id, so deleting snapshots
    between pages skips nothing) and OwnerIds (`self`, account ids; `amazon`
    matches nothing here); adds the `owner-alias` filter. Pages are ordered by
    snapshot id; without MaxResults/NextToken moto's own order is kept.
S2  Control endpoint POST /_frugal/snapshots/start-time sets a snapshot's
    StartTime and/or State (pending | completed | error) and Progress.
S3  RegisterImage keeps the given BlockDeviceMappings (DescribeImages shows
    them, `block-device-mapping.snapshot-id` filter works) and DeleteSnapshot
    of a snapshot named by any registered AMI fails with InvalidSnapshot.InUse.
S4  Snapshots tagged `aws:backup:source-resource` (control endpoint
    POST /_frugal/snapshots/mark-backup) refuse DeleteSnapshot with
    InvalidParameterValue. POST /_frugal/snapshots/tags sets any tags,
    including `aws:` ones, which CreateTags/DeleteTags now reject.
S5  LockSnapshot / UnlockSnapshot / DescribeLockedSnapshots; DeleteSnapshot of
    a locked snapshot fails with SnapshotLocked (see LOCKED_ERROR_CODE).
S6  O(1) tag lookup per resource (moto scanned every tag of the region for
    every resource: 10k tagged snapshots listed in ~40 s).
S7  POST /_frugal/bulk/snapshots seeds many snapshots straight into the backend.

Control endpoints answer JSON; errors are {"error": "..."} with 400/404.
`account` defaults to 123456789012 and `region` to us-east-1.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import functools
import json
import math
import threading
from typing import Any, Callable, Iterable

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.ec2.exceptions import EC2ClientError, InvalidSnapshotIdError, InvalidSnapshotInUse
from moto.ec2.models.amis import Ami
from moto.ec2.models.core import TaggedEC2Resource
from moto.ec2.models.elastic_block_store import EBSBackend, Snapshot
from moto.ec2.responses.amis import AmisResponse
from moto.ec2.responses.elastic_block_store import ElasticBlockStore
from moto.ec2.responses.tags import TagResponse
from moto.ec2.utils import EC2_PREFIX_TO_RESOURCE, get_prefix, random_snapshot_id, random_volume_id

CONTROL_PATHS = (
    "/_frugal/snapshots/start-time",
    "/_frugal/snapshots/mark-backup",
    "/_frugal/snapshots/tags",
    "/_frugal/bulk/snapshots",
)
BACKUP_TAG = "aws:backup:source-resource"
BACKUP_DESCRIPTION = "This snapshot is created by the AWS Backup service."
BACKUP_DELETE_MESSAGE = (
    "This snapshot is managed by the AWS Backup service and cannot be deleted via "
    "EC2 APIs. If you wish to delete this snapshot, please do so via the Backup console."
)
# The EC2 API reference's error-code list names no dedicated code for deleting a
# locked snapshot; "SnapshotLocked" is our choice (see README, S5).
LOCKED_ERROR_CODE = "SnapshotLocked"
SNAPSHOT_STATES = ("pending", "completed", "error", "recoverable", "recovering")

_ORIG: dict[str, Any] = {}
_LOCK = threading.RLock()


def _locked(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def inner(*args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            return fn(*args, **kwargs)

    return inner


def _backend(account: str | None, region: str | None) -> Any:
    from moto.ec2.models import ec2_backends

    return ec2_backends[account or DEFAULT_ACCOUNT_ID][region or "us-east-1"]


def _iso(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _naive_utc(value: dt.datetime) -> dt.datetime:
    # moto keeps naive UTC datetimes (utcnow()).
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def _parse_time(text: str) -> dt.datetime:
    return _naive_utc(dt.datetime.fromisoformat(str(text).replace("Z", "+00:00")))


# --------------------------------------------------------------------------
# S6: tags by resource id
# --------------------------------------------------------------------------
def get_tags(self: Any) -> list[dict[str, str]]:
    resource_id = getattr(self, "id", None)
    if not resource_id:
        return []
    tags = self.ec2_backend.tags.get(resource_id)  # .get: no defaultdict insert
    if not tags:
        return []
    resource_type = EC2_PREFIX_TO_RESOURCE.get(get_prefix(resource_id), "")
    return [
        {"resource_id": resource_id, "key": k, "value": v, "resource_type": resource_type}
        for k, v in tags.items()
    ]


# --------------------------------------------------------------------------
# S1: paging
# --------------------------------------------------------------------------
def _max_results(response: Any) -> int | None:
    raw = response._get_param("MaxResults")
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ( {raw} ) for parameter maxResults is invalid."
        )
    if value < 5:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ( {value} ) for parameter maxResults is invalid. "
            "Expecting a value greater than 5.",
        )
    if value > 1000:
        raise EC2ClientError(
            "InvalidParameterValue",
            f"Value ( {value} ) for parameter maxResults is invalid. "
            "Expecting a value less than 1000.",
        )
    return value


def _encode_token(kind: str, after: str) -> str:
    raw = json.dumps({"v": 1, "k": kind, "after": after}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(kind: str, token: str) -> str:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        if data.get("v") != 1 or data.get("k") != kind or not isinstance(data.get("after"), str):
            raise ValueError(token)
        return data["after"]
    except (ValueError, binascii.Error, UnicodeDecodeError, AttributeError):
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ( {token} ) for parameter nextToken is invalid."
        )


def _page(response: Any, kind: str, items: list[Any], key: Callable[[Any], str]) -> tuple[list[Any], str | None]:
    max_results = _max_results(response)
    token = response._get_param("NextToken")
    if max_results is None and not token:
        return items, None
    items = sorted(items, key=key)
    if token:
        after = _decode_token(kind, token)
        items = [item for item in items if key(item) > after]
    limit = max_results or 1000
    page = items[:limit]
    next_token = _encode_token(kind, key(page[-1])) if len(items) > limit else None
    return page, next_token


def describe_snapshots_response(self: Any) -> ActionResult:
    filters = self._filters_from_querystring()
    snapshot_ids = self._get_param("SnapshotIds", [])
    owners = self._get_param("OwnerIds", [])
    with _LOCK:
        snapshots = self.ec2_backend.describe_snapshots(snapshot_ids=snapshot_ids, filters=filters)
    if owners:
        wanted = {self.current_account if o == "self" else o for o in owners}
        snapshots = [s for s in snapshots if s.owner_id in wanted]
    page, next_token = _page(self, "snapshots", snapshots, lambda s: s.id)
    result: dict[str, Any] = {"Snapshots": [_snapshot_view(s) for s in page]}
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


def _snapshot_view(snapshot: Any) -> dict[str, Any]:
    """The Snapshot shape as a dict: moto's serializer resolves each member of a
    model object through several attribute aliases, about twice as slow."""
    tags = (snapshot.ec2_backend.tags.get(snapshot.id) or {}).items()
    return {
        "SnapshotId": snapshot.id,
        "VolumeId": snapshot.volume.id,
        "State": snapshot.status,
        "StartTime": snapshot.start_time,
        "Progress": snapshot.progress,
        "OwnerId": snapshot.owner_id,
        "Description": snapshot.description,
        "VolumeSize": snapshot.volume.size,
        "Encrypted": bool(snapshot.encrypted),
        "KmsKeyId": snapshot.kms_key_id,
        "Tags": [{"Key": k, "Value": v} for k, v in tags],
        "StorageTier": snapshot.storage_tier,
        "RestoreExpiryTime": snapshot.restore_expiry_time,
    }


def snapshot_get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
    if filter_name == "owner-alias":
        return self.__dict__.get("owner_alias") or ""
    if filter_name == "progress":
        return self.progress
    return _ORIG["snapshot_get_filter_value"](self, filter_name, method_name)


def _progress(self: Any) -> str:
    explicit = self.__dict__.get("_frugal_progress")
    if explicit is not None:
        return explicit
    return "100%" if self.status == "completed" else "0%"


# --------------------------------------------------------------------------
# S3: RegisterImage block device mappings, InUse
# --------------------------------------------------------------------------
def _ami_snapshot_ids(ami: Any) -> list[str]:
    out = []
    for mapping in ami.block_device_mappings or []:
        snapshot_id = (mapping.get("Ebs") or {}).get("SnapshotId")
        if snapshot_id:
            out.append(snapshot_id)
    return out


def _block_device_mappings(self: Any) -> list[dict[str, Any]]:
    given = self.__dict__.get("_frugal_bdms")
    if given is not None:
        return given
    return _ORIG["ami_block_device_mappings"].fget(self)


def ami_get_filter_value(self: Any, filter_name: str, method_name: str | None = None) -> Any:
    if filter_name == "block-device-mapping.snapshot-id":
        return _ami_snapshot_ids(self)
    if filter_name == "block-device-mapping.device-name":
        return [m.get("DeviceName") for m in self.block_device_mappings]
    return _ORIG["ami_get_filter_value"](self, filter_name, method_name)


def register_image_response(self: Any) -> ActionResult:
    mappings = self._get_param("BlockDeviceMappings", []) or []
    if not any((m.get("Ebs") or {}).get("SnapshotId") for m in mappings):
        return _ORIG["register_image_response"](self)
    backend = self.ec2_backend
    normalized = []
    with _LOCK:
        for mapping in mappings:
            item: dict[str, Any] = {"DeviceName": mapping.get("DeviceName")}
            if mapping.get("VirtualName"):
                item["VirtualName"] = mapping["VirtualName"]
            if "NoDevice" in mapping:
                item["NoDevice"] = mapping["NoDevice"]
            ebs = mapping.get("Ebs")
            if ebs is not None:
                ebs = dict(ebs)
                snapshot_id = ebs.get("SnapshotId")
                if snapshot_id:
                    if snapshot_id not in backend.snapshots:
                        raise EC2ClientError(
                            "InvalidSnapshot.NotFound",
                            f"The snapshot '{snapshot_id}' does not exist.",
                        )
                    snapshot = backend.snapshots[snapshot_id]
                    ebs.setdefault("VolumeSize", snapshot.volume.size)
                    ebs.setdefault("Encrypted", bool(snapshot.encrypted))
                for k in ("VolumeSize", "Iops", "Throughput"):
                    if k in ebs and ebs[k] is not None:
                        ebs[k] = int(ebs[k])
                for k in ("DeleteOnTermination", "Encrypted"):
                    if isinstance(ebs.get(k), str):
                        ebs[k] = ebs[k].lower() == "true"
                ebs.setdefault("DeleteOnTermination", True)
                ebs.setdefault("VolumeType", "gp2")
                item["Ebs"] = ebs
            normalized.append(item)

        self.error_on_dryrun()
        image = backend.register_image(self._get_param("Name"), self._get_param("Description", ""))
        # AWS makes no snapshot of its own when the mappings name snapshots.
        backend.snapshots.pop(image.ebs_snapshot.id, None)
        image._frugal_bdms = normalized
        image.root_device_type = "ebs"
        image.root_device_name = self._get_param("RootDeviceName") or normalized[0]["DeviceName"]
        for param, attr in (
            ("Architecture", "architecture"),
            ("VirtualizationType", "virtualization_type"),
            ("BootMode", "boot_mode"),
        ):
            if self._get_param(param):
                setattr(image, attr, self._get_param(param))
        for spec in self._get_param("TagSpecifications", []) or []:
            if spec.get("ResourceType") == "image":
                image.add_tags({t["Key"]: t["Value"] for t in spec.get("Tags", [])})
    return ActionResult({"ImageId": image.id})


# --------------------------------------------------------------------------
# S5: snapshot lock
# --------------------------------------------------------------------------
def _locks(backend: Any) -> dict[str, dict[str, Any]]:
    return backend.__dict__.setdefault("_frugal_snapshot_locks", {})


def _lock_state(lock: dict[str, Any], now: dt.datetime | None = None) -> str:
    now = now or utcnow()
    if lock["expires_on"] <= now:
        return "expired"
    if lock["mode"] == "governance":
        return "governance"
    if lock.get("cool_off_expires_on") and now < lock["cool_off_expires_on"]:
        return "compliance-cooloff"
    return "compliance"


def _lock_view(backend: Any, snapshot_id: str, lock: dict[str, Any]) -> dict[str, Any]:
    view: dict[str, Any] = {
        "OwnerId": backend.account_id,
        "SnapshotId": snapshot_id,
        "LockState": _lock_state(lock),
        "LockCreatedOn": lock["created_on"],
        "LockDurationStartTime": lock["duration_start"],
        "LockExpiresOn": lock["expires_on"],
    }
    if lock.get("duration") is not None:
        view["LockDuration"] = lock["duration"]
    if lock.get("cool_off") is not None:
        view["CoolOffPeriod"] = lock["cool_off"]
        view["CoolOffPeriodExpiresOn"] = lock["cool_off_expires_on"]
    return view


def lock_snapshot_response(self: Any) -> ActionResult:
    snapshot_id = self._get_param("SnapshotId")
    mode = self._get_param("LockMode")
    duration = self._get_param("LockDuration")
    expiration = self._get_param("ExpirationDate")
    cool_off = self._get_param("CoolOffPeriod")
    if mode not in ("governance", "compliance"):
        raise EC2ClientError(
            "InvalidParameterValue", f"Value ( {mode} ) for parameter lockMode is invalid."
        )
    if (duration is None) == (expiration is None):
        raise EC2ClientError(
            "InvalidParameterCombination",
            "You must specify either LockDuration or ExpirationDate, but not both.",
        )
    if cool_off is not None:
        cool_off = int(cool_off)
        if mode != "compliance":
            raise EC2ClientError(
                "InvalidParameterCombination", "CoolOffPeriod is valid only in compliance mode."
            )
        if not 1 <= cool_off <= 72:
            raise EC2ClientError(
                "InvalidParameterValue", f"Value ( {cool_off} ) for parameter coolOffPeriod is invalid."
            )
    now = utcnow()
    if duration is not None:
        duration = int(duration)
        if not 1 <= duration <= 36500:
            raise EC2ClientError(
                "InvalidParameterValue", f"Value ( {duration} ) for parameter lockDuration is invalid."
            )
        expires = now + dt.timedelta(days=duration)
    else:
        expires = expiration if isinstance(expiration, dt.datetime) else _parse_time(expiration)
        expires = _naive_utc(expires)
        if expires <= now:
            raise EC2ClientError(
                "InvalidParameterValue", "The expiration date must be in the future."
            )
    self.error_on_dryrun()
    with _LOCK:
        self.ec2_backend.get_snapshot(snapshot_id)  # InvalidSnapshot.NotFound
        locks = _locks(self.ec2_backend)
        old = locks.get(snapshot_id)
        if old is not None and _lock_state(old, now) == "compliance":
            if mode != "compliance" or expires < old["expires_on"]:
                raise EC2ClientError(
                    "InvalidParameterValue",
                    f"The snapshot {snapshot_id} is locked in compliance mode after its "
                    "cooling-off period: only the lock duration can be increased.",
                )
        lock = {
            "mode": mode,
            "duration": duration,
            "created_on": old["created_on"] if old and _lock_state(old, now) != "expired" else now,
            "duration_start": now,
            "expires_on": expires,
            "cool_off": cool_off,
            "cool_off_expires_on": now + dt.timedelta(hours=cool_off) if cool_off else None,
        }
        locks[snapshot_id] = lock
        return ActionResult(_lock_view(self.ec2_backend, snapshot_id, lock))


def unlock_snapshot_response(self: Any) -> ActionResult:
    snapshot_id = self._get_param("SnapshotId")
    self.error_on_dryrun()
    with _LOCK:
        self.ec2_backend.get_snapshot(snapshot_id)
        locks = _locks(self.ec2_backend)
        lock = locks.get(snapshot_id)
        if lock is not None and _lock_state(lock) == "compliance":
            raise EC2ClientError(
                LOCKED_ERROR_CODE,
                f"The snapshot {snapshot_id} is locked in compliance mode and cannot be unlocked.",
            )
        locks.pop(snapshot_id, None)
    return ActionResult({"SnapshotId": snapshot_id})


def describe_locked_snapshots_response(self: Any) -> ActionResult:
    snapshot_ids = self._get_param("SnapshotIds", []) or []
    filters = self._filters_from_querystring() or {}
    with _LOCK:
        locks = dict(_locks(self.ec2_backend))
        views = [
            _lock_view(self.ec2_backend, sid, lock)
            for sid, lock in locks.items()
            if sid in self.ec2_backend.snapshots and (not snapshot_ids or sid in snapshot_ids)
        ]
    states = filters.get("lock-state")
    if states:
        views = [v for v in views if v["LockState"] in states]
    page, next_token = _page(self, "locked", views, lambda v: v["SnapshotId"])
    result: dict[str, Any] = {"Snapshots": page}
    if next_token:
        result["NextToken"] = next_token
    return ActionResult(result)


# --------------------------------------------------------------------------
# DeleteSnapshot: InUse (any AMI's mappings), AWS Backup, lock
# --------------------------------------------------------------------------
def delete_snapshot(self: Any, snapshot_id: str) -> Any:
    with _LOCK:
        snapshot = self.snapshots.get(snapshot_id)
        if snapshot is None:
            raise InvalidSnapshotIdError()
        for ami in list(self.amis.values()):
            if snapshot_id in _ami_snapshot_ids(ami):
                raise InvalidSnapshotInUse(snapshot_id, ami.id)
        if BACKUP_TAG in (self.tags.get(snapshot_id) or {}):
            raise EC2ClientError("InvalidParameterValue", BACKUP_DELETE_MESSAGE)
        locks = _locks(self)
        lock = locks.get(snapshot_id)
        if lock is not None:
            state = _lock_state(lock)
            if state != "expired":
                raise EC2ClientError(
                    LOCKED_ERROR_CODE,
                    f"The snapshot {snapshot_id} is locked ({state}) until "
                    f"{_iso(lock['expires_on'].replace(tzinfo=dt.timezone.utc))} and cannot be deleted.",
                )
        result = _ORIG["delete_snapshot"](self, snapshot_id)
        locks.pop(snapshot_id, None)
        self.tags.pop(snapshot_id, None)
        return result


# --------------------------------------------------------------------------
# CreateTags / DeleteTags: `aws:` keys are reserved
# --------------------------------------------------------------------------
def _reject_aws_keys(response: Any) -> None:
    for tag in response._get_param("Tags", []) or []:
        key = tag.get("Key") or ""
        if key.lower().startswith("aws:"):
            raise EC2ClientError(
                "InvalidParameterValue",
                f"Value ( {key} ) for parameter key is invalid. "
                "Tag keys starting with 'aws:' are reserved for internal use",
            )


def create_tags_response(self: Any) -> Any:
    _reject_aws_keys(self)
    with _LOCK:
        return _ORIG["create_tags_response"](self)


def delete_tags_response(self: Any) -> Any:
    _reject_aws_keys(self)
    with _LOCK:
        return _ORIG["delete_tags_response"](self)


# --------------------------------------------------------------------------
# Control endpoints (S2, S4, S7)
# --------------------------------------------------------------------------
class ControlError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status


def _bad(message: str) -> ControlError:
    return ControlError("400 BAD REQUEST", message)


def _items(body: Any) -> list[dict[str, Any]]:
    items = body if isinstance(body, list) else [body]
    if not items or not all(isinstance(i, dict) for i in items):
        raise _bad("expected a JSON object or a non-empty list of objects")
    return items


def _snapshot_ids(item: dict[str, Any]) -> list[str]:
    ids = list(item.get("snapshot_ids") or [])
    if item.get("snapshot_id"):
        ids.insert(0, item["snapshot_id"])
    if not ids or not all(isinstance(i, str) for i in ids):
        raise _bad("snapshot_id (string) or snapshot_ids (list of strings) required")
    return ids


def _resolve(item: dict[str, Any]) -> tuple[Any, list[Any]]:
    backend = _backend(item.get("account"), item.get("region"))
    snapshots = []
    for snapshot_id in _snapshot_ids(item):
        snapshot = backend.snapshots.get(snapshot_id)
        if snapshot is None:
            raise ControlError(
                "404 NOT FOUND",
                f"snapshot {snapshot_id} not found in account "
                f"{item.get('account') or DEFAULT_ACCOUNT_ID} region {item.get('region') or 'us-east-1'}",
            )
        snapshots.append(snapshot)
    return backend, snapshots


def control_start_time(body: Any) -> dict[str, Any]:
    # Validate everything first: a failing batch changes nothing.
    plan = []
    for item in _items(body):
        if "start_time" not in item and "state" not in item and "progress" not in item:
            raise _bad("start_time, state or progress required")
        start = None
        if item.get("start_time") is not None:
            try:
                start = _parse_time(item["start_time"])
            except (TypeError, ValueError):
                raise _bad(f"start_time {item['start_time']!r} is not RFC 3339")
        state = item.get("state")
        if state is not None and state not in SNAPSHOT_STATES:
            raise _bad(f"state must be one of {', '.join(SNAPSHOT_STATES)}")
        _, snapshots = _resolve(item)
        plan.append((snapshots, start, state, item.get("progress")))
    updated = []
    for snapshots, start, state, progress in plan:
        for snapshot in snapshots:
            if start is not None:
                snapshot.start_time = start
            if state is not None:
                snapshot.status = state
            if progress is not None:
                snapshot._frugal_progress = str(progress)
            updated.append(snapshot.id)
    return {"updated": updated}


def control_mark_backup(body: Any) -> dict[str, Any]:
    plan = [(item, *_resolve(item)) for item in _items(body)]
    updated = []
    for item, backend, snapshots in plan:
        for snapshot in snapshots:
            value = item.get("source_resource") or (
                f"arn:aws:ec2:{backend.region_name}:{backend.account_id}:volume/{snapshot.volume.id}"
            )
            backend.tags[snapshot.id][BACKUP_TAG] = value
            if item.get("description", True) is not False:
                snapshot.description = BACKUP_DESCRIPTION
            updated.append(snapshot.id)
    return {"updated": updated}


def control_tags(body: Any) -> dict[str, Any]:
    plan = []
    for item in _items(body):
        tags = item.get("tags") or {}
        remove = item.get("remove") or []
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise _bad("tags must be an object of string to string")
        if not isinstance(remove, list):
            raise _bad("remove must be a list of tag keys")
        if not tags and not remove:
            raise _bad("tags or remove required")
        plan.append((tags, remove, *_resolve(item)))
    updated = []
    for tags, remove, backend, snapshots in plan:
        for snapshot in snapshots:
            current = backend.tags[snapshot.id]
            for key in remove:
                current.pop(key, None)
            current.update(tags)
            updated.append(snapshot.id)
    return {"updated": updated}


class _SeedVolume:
    """Stands in for a volume that need not exist (only id/size/encrypted are read)."""

    def __init__(self, volume_id: str, size: int, encrypted: bool) -> None:
        self.id = volume_id
        self.size = size
        self.encrypted = encrypted


def control_bulk(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise _bad("expected a JSON object")
    try:
        count = int(body.get("count", 0))
        volume_count = int(body.get("volume_count", 1))
        spread_days = float(body.get("start_time_spread_days", 0))
    except (TypeError, ValueError):
        raise _bad("count, volume_count, start_time_spread_days must be numbers")
    if not 1 <= count <= 200000:
        raise _bad("count must be 1..200000")
    if volume_count < 1:
        raise _bad("volume_count must be >= 1")
    sizes = body.get("volume_size", 8)
    sizes = sizes if isinstance(sizes, list) else [sizes]
    try:
        sizes = [int(s) for s in sizes] or [8]
    except (TypeError, ValueError):
        raise _bad("volume_size must be an integer or a list of integers")
    tags = body.get("tags") or {}
    if not isinstance(tags, dict):
        raise _bad("tags must be an object")
    state = body.get("state", "completed")
    if state not in SNAPSHOT_STATES:
        raise _bad(f"state must be one of {', '.join(SNAPSHOT_STATES)}")
    description = body.get("description", "")
    encrypted = bool(body.get("encrypted", False))
    backend = _backend(body.get("account"), body.get("region"))

    volumes = [
        _SeedVolume(random_volume_id(), sizes[i % len(sizes)], encrypted) for i in range(volume_count)
    ]
    now = utcnow()
    spread = dt.timedelta(days=spread_days)
    ids = []
    for i in range(count):
        snapshot_id = random_snapshot_id()
        while snapshot_id in backend.snapshots:
            snapshot_id = random_snapshot_id()
        snapshot = Snapshot(backend, snapshot_id, volumes[i % volume_count], description, encrypted)
        # Oldest first: snapshot 0 is start_time_spread_days old, the last one is now.
        fraction = (count - 1 - i) / (count - 1) if count > 1 else 0.0
        snapshot.start_time = now - spread * fraction
        snapshot.status = state
        backend.snapshots[snapshot_id] = snapshot
        if tags:
            backend.tags[snapshot_id] = {str(k): str(v) for k, v in tags.items()}
        ids.append(snapshot_id)
    return {"snapshot_ids": ids, "volume_ids": [v.id for v in volumes]}


HANDLERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "/_frugal/snapshots/start-time": control_start_time,
    "/_frugal/snapshots/mark-backup": control_mark_backup,
    "/_frugal/snapshots/tags": control_tags,
    "/_frugal/bulk/snapshots": control_bulk,
}


def _json(start_response: Callable, status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode("utf-8")
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class SnapshotControl:
    """Serves the /_frugal snapshot control paths; passes everything else through."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        handler = HANDLERS.get(path)
        if handler is None:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return _json(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        length = environ.get("CONTENT_LENGTH")
        raw = environ["wsgi.input"].read(int(length)) if length and length.isdigit() else b""
        try:
            body = json.loads(raw or b"null")
        except ValueError as exc:
            return _json(start_response, "400 BAD REQUEST", {"error": f"invalid JSON: {exc}"})
        try:
            with _LOCK:
                payload = handler(body)
        except ControlError as exc:
            return _json(start_response, exc.status, {"error": str(exc)})
        return _json(start_response, "200 OK", payload)


def apply() -> None:
    if _ORIG:
        return
    _ORIG["get_tags"] = TaggedEC2Resource.get_tags
    _ORIG["snapshot_get_filter_value"] = Snapshot.get_filter_value
    _ORIG["snapshot_progress"] = Snapshot.__dict__["progress"]
    _ORIG["ami_block_device_mappings"] = Ami.__dict__["block_device_mappings"]
    _ORIG["ami_get_filter_value"] = Ami.get_filter_value
    _ORIG["delete_snapshot"] = EBSBackend.delete_snapshot
    _ORIG["describe_snapshots_response"] = ElasticBlockStore.describe_snapshots
    _ORIG["register_image_response"] = AmisResponse.register_image
    _ORIG["create_tags_response"] = TagResponse.create_tags
    _ORIG["delete_tags_response"] = TagResponse.delete_tags

    TaggedEC2Resource.get_tags = get_tags
    Snapshot.get_filter_value = snapshot_get_filter_value
    Snapshot.progress = property(_progress)
    Ami.block_device_mappings = property(_block_device_mappings)
    Ami.get_filter_value = ami_get_filter_value
    EBSBackend.delete_snapshot = delete_snapshot
    ElasticBlockStore.describe_snapshots = describe_snapshots_response
    ElasticBlockStore.lock_snapshot = lock_snapshot_response
    ElasticBlockStore.unlock_snapshot = unlock_snapshot_response
    ElasticBlockStore.describe_locked_snapshots = describe_locked_snapshots_response
    AmisResponse.register_image = register_image_response
    TagResponse.create_tags = create_tags_response
    TagResponse.delete_tags = delete_tags_response


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return SnapshotControl(app)
