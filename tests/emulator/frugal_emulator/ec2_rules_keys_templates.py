"""M4: security group rule, key pair and launch template version fidelity for moto 5.2.5.

- Authorize/AuthorizeSecurityGroupEgress with several IpPermissions: the
  response's SecurityGroupRules lists every rule the call created (moto: only
  the last permission's rules).
- DescribeKeyPairs honours KeyPairIds (moto ignores it and lists every key);
  unknown names/ids fail with InvalidKeyPair.NotFound "The key pair 'x' does
  not exist" (moto prints a Python set).
- DeleteKeyPair by KeyPairId deletes the key (moto only knows KeyName).
- DescribeLaunchTemplateVersions: MaxResults/NextToken paging (moto cuts the
  list at MaxResults, default 15, without a NextToken, so versions vanish),
  the is-default-version filter, and no duplicate when $Latest and $Default
  name the same version.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Callable

from moto.core.responses import ActionResult
from moto.ec2.exceptions import EC2ClientError, InvalidKeyPairNameError
from moto.ec2.models.key_pairs import KeyPairBackend
from moto.ec2.responses.key_pairs import KeyPairs
from moto.ec2.responses.launch_templates import LaunchTemplates
from moto.ec2.responses.security_groups import SecurityGroups

_ORIG: dict[str, Callable[..., Any]] = {}


class KeyPairNotFound(EC2ClientError):
    def __init__(self, key: str) -> None:
        super().__init__("InvalidKeyPair.NotFound", f"The key pair '{key}' does not exist")


class InvalidNextToken(EC2ClientError):
    def __init__(self, token: str) -> None:
        super().__init__("InvalidNextToken", f"The token '{token}' is invalid.")


# security group rules --------------------------------------------------------
def _authorize(direction: str) -> Callable[[Any], ActionResult]:
    def handler(self: Any) -> ActionResult:
        self.error_on_dryrun()
        method = getattr(self.ec2_backend, f"authorize_security_group_{direction}")
        created: list[Any] = []
        for kwargs in self._process_rules_from_querystring():
            rules, _ = method(**kwargs)
            created.extend(r for r in rules if r not in created)
        return ActionResult({"Return": True, "SecurityGroupRules": created})

    return handler


# key pairs -----------------------------------------------------------------
def describe_key_pairs_backend(self: Any, key_names: list[str], filters: Any = None) -> list[Any]:
    try:
        return _ORIG["describe_key_pairs"](self, key_names, filters)
    except InvalidKeyPairNameError:
        known = {kp.key_name for kp in self.key_pairs.values()}
        missing = [k for k in key_names if k not in known]
        raise KeyPairNotFound(missing[0] if missing else ",".join(key_names))


def describe_key_pairs(self: Any) -> Any:
    ids = self._get_param("KeyPairIds", [])
    result = _ORIG["response_describe_key_pairs"](self)
    if ids:
        known = {kp.id for kp in self.ec2_backend.key_pairs.values()}
        missing = [i for i in ids if i not in known]
        if missing:
            raise KeyPairNotFound(missing[0])
        result.result["KeyPairs"] = [kp for kp in result.result["KeyPairs"] if kp.id in ids]
    return result


def delete_key_pair(self: Any) -> Any:
    key_id = self._get_param("KeyPairId")
    if key_id and not self._get_param("KeyName"):
        self.error_on_dryrun()
        for name, kp in list(self.ec2_backend.key_pairs.items()):
            if kp.id == key_id:
                self.ec2_backend.delete_key_pair(name)
                return ActionResult({"Return": True, "KeyPairId": key_id})
        return ActionResult({"Return": True})
    return _ORIG["delete_key_pair"](self)


# launch template versions ----------------------------------------------------
def describe_launch_template_versions(self: Any) -> ActionResult:
    name = self._get_param("LaunchTemplateName")
    template_id = self._get_param("LaunchTemplateId")
    max_results = self._get_int_param("MaxResults")
    token = self._get_param("NextToken")
    filters = self._filters_from_querystring() or {}
    self.error_on_dryrun()
    pairs = self.ec2_backend.describe_launch_template_versions(
        template_name=name,
        template_id=template_id,
        versions=self._get_param("Versions", []),
        min_version=self._get_int_param("MinVersion"),
        max_version=self._get_int_param("MaxVersion"),
        max_results=10**9,
    )
    seen: set[tuple[str, int]] = set()
    unique = []
    for template, version in pairs:
        key = (template.id, version.number)
        if key not in seen:
            seen.add(key)
            unique.append((template, version))
    wanted = filters.get("is-default-version")
    if wanted:
        unique = [
            (t, v) for t, v in unique if str(t.is_default(v)).lower() in [w.lower() for w in wanted]
        ]
    start = 0
    if token:
        try:
            start = int(json.loads(base64.b64decode(token))["offset"])
        except Exception:
            raise InvalidNextToken(token)
    end = len(unique) if not max_results else start + max_results
    page = unique[start:end]
    result: dict[str, Any] = {
        "LaunchTemplateVersions": [
            {
                "CreateTime": version.create_time,
                "CreatedBy": f"arn:{self.partition}:iam::{self.current_account}:root",
                "DefaultVersion": template.is_default(version),
                "LaunchTemplateData": version.data,
                "LaunchTemplateId": template.id,
                "LaunchTemplateName": template.name,
                "VersionDescription": version.description,
                "VersionNumber": version.number,
            }
            for template, version in page
        ]
    }
    if end < len(unique):
        result["NextToken"] = base64.b64encode(json.dumps({"offset": end}).encode()).decode()
    return ActionResult(result)


def apply() -> None:
    if _ORIG:
        return
    _ORIG["authorize_ingress"] = SecurityGroups.authorize_security_group_ingress
    _ORIG["authorize_egress"] = SecurityGroups.authorize_security_group_egress
    _ORIG["describe_key_pairs"] = KeyPairBackend.describe_key_pairs
    _ORIG["response_describe_key_pairs"] = KeyPairs.describe_key_pairs
    _ORIG["delete_key_pair"] = KeyPairs.delete_key_pair
    _ORIG["describe_launch_template_versions"] = LaunchTemplates.describe_launch_template_versions
    SecurityGroups.authorize_security_group_ingress = _authorize("ingress")
    SecurityGroups.authorize_security_group_egress = _authorize("egress")
    KeyPairBackend.describe_key_pairs = describe_key_pairs_backend
    KeyPairs.describe_key_pairs = describe_key_pairs
    KeyPairs.delete_key_pair = delete_key_pair
    LaunchTemplates.describe_launch_template_versions = describe_launch_template_versions
