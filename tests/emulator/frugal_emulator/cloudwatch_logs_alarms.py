"""W1-W5: CloudWatch Logs log groups and CloudWatch metric alarms as AWS has them.

What AWS does vs moto 5.2.5 (found by calling both protocols, see test_cloudwatch.py):

W1 logs storedBytes: AWS reports the bytes a log group stores (DescribeLogGroups
   `storedBytes`); moto sums its streams' events, so a log group is 0 bytes unless the
   test writes gigabytes. `set_stored_bytes()` (used by the control endpoint
   /_frugal/logs/stored-bytes, cloudwatch_logs_control.py) gives a log group a stored
   size; events put later add to it.
W2 logs PutRetentionPolicy: AWS accepts only 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180,
   365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (InvalidParameterException
   otherwise); moto stores any number.
W3 cloudwatch PutMetricAlarm: AWS sets a new alarm to INSUFFICIENT_DATA; an update keeps
   the state and ignores `Tags` ("If you are using this operation to update an existing
   alarm, any tags you specify in this parameter are ignored"). moto starts every alarm,
   new or updated, as OK and merges the update's tags. DeleteAlarms in moto leaves the
   alarm's tags behind (a new alarm of the same name inherits them).
W4 cloudwatch DescribeAlarms: AWS pages with MaxRecords (1..100) / NextToken, returns
   metric alarms only unless AlarmTypes asks for composite alarms, and combines its
   filters; moto returns everything in one page, ignores AlarmTypes and honours only one
   of ActionPrefix / AlarmNamePrefix / AlarmNames / StateValue.
W5 cloudwatch ListTagsForResource / UntagResource of an alarm: AWS answers
   ResourceNotFoundException for an alarm that does not exist and lists / untags an
   existing alarm without tags; moto lists [] for unknown alarms and refuses UntagResource
   on an alarm that never had tags.

CloudWatch reaches moto as awsJson1_0 (boto3) or through E3 (Rust SDK, RPC v2 CBOR),
so these patches at moto's response/backend level serve both.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
ALARM_ARN_RE = re.compile(r"^arn:aws[\w-]*:cloudwatch:(?P<region>[\w-]+):(?P<account>\d{12}):alarm:(?P<name>.+)$")

_originals: dict[str, Any] = {}


# -- W1 ----------------------------------------------------------------------------


def set_stored_bytes(account: str, region: str, log_group_name: str, stored_bytes: int) -> dict[str, Any]:
    """Raises KeyError for an unknown log group."""
    from moto.logs.models import logs_backends

    group = logs_backends[account][region].groups[log_group_name]
    group.frugal_stored_bytes = stored_bytes
    return group.to_describe_dict()


def _log_group_to_describe_dict(self: Any) -> dict[str, Any]:
    out = _originals["LogGroup.to_describe_dict"](self)
    seeded = getattr(self, "frugal_stored_bytes", None)
    if seeded is not None:
        out["storedBytes"] = seeded + out.get("storedBytes", 0)
    return out


# -- W2 ----------------------------------------------------------------------------


def _put_retention_policy(self: Any, log_group_name: str, retention_in_days: Any) -> None:
    from moto.logs.exceptions import InvalidParameterException

    if retention_in_days not in RETENTION_DAYS:
        raise InvalidParameterException(
            constraint=f"Member must satisfy enum value set: [{', '.join(str(d) for d in RETENTION_DAYS)}]",
            parameter="retentionInDays",
            value=retention_in_days,
        )
    return _originals["LogsBackend.put_retention_policy"](self, log_group_name, retention_in_days)


# -- W3 ----------------------------------------------------------------------------


def _put_metric_alarm(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
    existing = self.alarms.get(name)
    if existing is not None:
        kwargs["tags"] = None  # AWS ignores Tags when updating an alarm
    alarm = _originals["CloudWatchBackend.put_metric_alarm"](self, name, *args, **kwargs)
    if existing is None:
        alarm.state_value = "INSUFFICIENT_DATA"
    else:
        alarm.state_value = existing.state_value
        alarm.state_reason = existing.state_reason
        alarm.state_reason_data = existing.state_reason_data
        alarm.state_updated_timestamp = existing.state_updated_timestamp
        alarm.history = existing.history
    return alarm


def _delete_alarms(self: Any, alarm_names: list[str]) -> None:
    for alarm_name in alarm_names:
        alarm = self.alarms.get(alarm_name)
        if alarm is not None:
            self.tagger.delete_all_tags_for_resource(alarm.alarm_arn)
    return _originals["CloudWatchBackend.delete_alarms"](self, alarm_names)


# -- W4 ----------------------------------------------------------------------------


def _token(name: str) -> str:
    return base64.b64encode(json.dumps({"after": name}).encode()).decode("ascii")


def _describe_alarms(self: Any) -> Any:
    from moto.cloudwatch.exceptions import InvalidParameterCombination, ValidationError
    from moto.core.responses import ActionResult

    params = {
        "ActionPrefix": self._get_param("ActionPrefix"),
        "AlarmNamePrefix": self._get_param("AlarmNamePrefix"),
        "AlarmNames": self._get_param("AlarmNames", []),
        "StateValue": self._get_param("StateValue"),
        "AlarmTypes": self._get_param("AlarmTypes", []),
        "MaxRecords": self._get_param("MaxRecords"),
        "NextToken": self._get_param("NextToken"),
    }
    if params["AlarmNames"] and params["AlarmNamePrefix"]:
        raise InvalidParameterCombination("AlarmNamePrefix and AlarmNames cannot be specified together")
    max_records = params["MaxRecords"]
    if max_records is not None:
        max_records = int(max_records)
        if not 1 <= max_records <= 100:
            raise ValidationError(
                f"1 validation error detected: Value '{max_records}' at 'maxRecords' failed to satisfy constraint: "
                + ("Member must have value less than or equal to 100" if max_records > 100 else "Member must have value greater than or equal to 1")
            )
    after = None
    if params["NextToken"]:
        try:
            after = str(json.loads(base64.b64decode(params["NextToken"], validate=True))["after"])
        except (binascii.Error, ValueError, KeyError, TypeError):
            from moto.cloudwatch.exceptions import CloudWatchException

            class InvalidNextToken(CloudWatchException):
                code = "InvalidNextToken"

            raise InvalidNextToken("The service cannot complete the request because the next token is invalid.") from None
    for kind in params["AlarmTypes"]:
        if kind not in ("CompositeAlarm", "MetricAlarm"):
            raise ValidationError(
                f"1 validation error detected: Value '[{kind}]' at 'alarmTypes' failed to satisfy constraint: "
                "Member must satisfy constraint: [Member must satisfy enum value set: [CompositeAlarm, MetricAlarm]]"
            )
    types = set(params["AlarmTypes"]) or {"MetricAlarm"}

    alarms = list(self.cloudwatch_backend.alarms.values())
    if params["ActionPrefix"]:
        prefix = params["ActionPrefix"]
        alarms = [a for a in alarms if any(x.startswith(prefix) for x in (a.alarm_actions or []) + (a.ok_actions or []) + (a.insufficient_data_actions or []))]
    if params["AlarmNamePrefix"]:
        alarms = [a for a in alarms if a.name.startswith(params["AlarmNamePrefix"])]
    if params["AlarmNames"]:
        alarms = [a for a in alarms if a.name in params["AlarmNames"]]
    if params["StateValue"]:
        alarms = [a for a in alarms if a.state_value == params["StateValue"]]
    alarms = [a for a in alarms if ("CompositeAlarm" if a.rule is not None else "MetricAlarm") in types]
    alarms.sort(key=lambda a: a.name)
    if after is not None:
        alarms = [a for a in alarms if a.name > after]
    result: dict[str, Any] = {}
    if max_records is not None and len(alarms) > max_records:
        alarms = alarms[:max_records]
        result["NextToken"] = _token(alarms[-1].name)
    result["MetricAlarms"] = [a for a in alarms if a.rule is None]
    result["CompositeAlarms"] = [a for a in alarms if a.rule is not None]
    return ActionResult(result)


# -- W5 ----------------------------------------------------------------------------


def _alarm_check(backend: Any, arn: str) -> bool:
    """True when `arn` names an alarm (of this backend's account and Region) that exists;
    ResourceNotFoundException for an alarm ARN that names none; False for other ARNs."""
    from moto.cloudwatch.exceptions import ResourceNotFoundException

    match = ALARM_ARN_RE.match(arn or "")
    if match is None:
        return False
    alarm = backend.alarms.get(match.group("name"))
    if (
        alarm is None
        or alarm.alarm_arn != arn
        or (match.group("account"), match.group("region")) != (backend.account_id, backend.region_name)
    ):
        raise ResourceNotFoundException()
    return True


def _list_tags_for_resource(self: Any, arn: str) -> dict[str, str]:
    _alarm_check(self, arn)
    return _originals["CloudWatchBackend.list_tags_for_resource"](self, arn)


def _untag_resource(self: Any, arn: str, tag_keys: list[str]) -> None:
    if _alarm_check(self, arn):
        self.tagger.untag_resource_using_names(arn, tag_keys)
        return None
    return _originals["CloudWatchBackend.untag_resource"](self, arn, tag_keys)


def apply() -> None:
    if _originals:
        return
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.cloudwatch.responses import CloudWatchResponse
    from moto.logs.models import LogGroup, LogsBackend

    _originals["LogGroup.to_describe_dict"] = LogGroup.to_describe_dict
    _originals["LogsBackend.put_retention_policy"] = LogsBackend.put_retention_policy
    _originals["CloudWatchBackend.put_metric_alarm"] = CloudWatchBackend.put_metric_alarm
    _originals["CloudWatchBackend.delete_alarms"] = CloudWatchBackend.delete_alarms
    _originals["CloudWatchBackend.list_tags_for_resource"] = CloudWatchBackend.list_tags_for_resource
    _originals["CloudWatchBackend.untag_resource"] = CloudWatchBackend.untag_resource
    _originals["CloudWatchResponse.describe_alarms"] = CloudWatchResponse.describe_alarms

    LogGroup.to_describe_dict = _log_group_to_describe_dict
    LogsBackend.put_retention_policy = _put_retention_policy
    CloudWatchBackend.put_metric_alarm = _put_metric_alarm
    CloudWatchBackend.delete_alarms = _delete_alarms
    CloudWatchBackend.list_tags_for_resource = _list_tags_for_resource
    CloudWatchBackend.untag_resource = _untag_resource
    CloudWatchResponse.describe_alarms = _describe_alarms
