"""M2/M3: EC2 instance-profile associations for moto 5.2.5.

M2  ReplaceIamInstanceProfileAssociation: moto updates the association but
    DescribeInstances keeps showing the old profile. Now the instance's
    IamInstanceProfile follows every Associate/Replace/Disassociate, and, as in
    AWS (Amazon EC2 API Reference, IamInstanceProfile: "Id - The ID of the
    instance profile"), its Id is the instance profile's id, not the
    association id. AssociateIamInstanceProfile on an instance that already has
    one keeps failing with IncorrectState ("There is an existing association
    for instance i-...") as in AWS.
M3  RunInstances with MinCount>1 and IamInstanceProfile: every launched
    instance gets the profile (moto associates only the first). Giving both
    IamInstanceProfile.Name and .Arn no longer fails with IncorrectState.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from moto.ec2.models.iam_instance_profile import IamInstanceProfileAssociationBackend
from moto.ec2.responses.instances import InstanceResponse

_ORIG: dict[str, Callable[..., Any]] = {}
_IN_RUN = threading.local()


def _show_profile(backend: Any, association: Any) -> None:
    instance = association.instance
    profile = association.iam_instance_profile
    if instance is not None and profile is not None:
        instance.iam_instance_profile = {"Arn": profile.arn, "Id": profile.id}


def associate_iam_instance_profile(self: Any, instance_id: str, *args: Any, **kwargs: Any) -> Any:
    existing = self.iam_instance_profile_associations.get(instance_id)
    if existing is not None and getattr(_IN_RUN, "active", False):
        # RunInstances with both Name and Arn: moto associates twice.
        return existing
    association = _ORIG["associate"](self, instance_id, *args, **kwargs)
    _show_profile(self, association)
    return association


def replace_iam_instance_profile_association(self: Any, *args: Any, **kwargs: Any) -> Any:
    association = _ORIG["replace"](self, *args, **kwargs)
    _show_profile(self, association)
    return association


def run_instances(self: Any) -> Any:
    name = self._get_param("IamInstanceProfile.Name")
    arn = self._get_param("IamInstanceProfile.Arn")
    _IN_RUN.active = True
    try:
        result = _ORIG["run_instances"](self)
    finally:
        _IN_RUN.active = False
    if name or arn:
        reservation = getattr(result, "result", None)
        for instance in getattr(reservation, "instances", [])[1:]:
            if instance.id not in self.ec2_backend.iam_instance_profile_associations:
                self.ec2_backend.associate_iam_instance_profile(
                    instance_id=instance.id,
                    iam_instance_profile_name=name,
                    iam_instance_profile_arn=arn,
                )
    return result


def apply() -> None:
    if _ORIG:
        return
    _ORIG["associate"] = IamInstanceProfileAssociationBackend.associate_iam_instance_profile
    _ORIG["replace"] = IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association
    _ORIG["run_instances"] = InstanceResponse.run_instances
    IamInstanceProfileAssociationBackend.associate_iam_instance_profile = associate_iam_instance_profile
    IamInstanceProfileAssociationBackend.replace_iam_instance_profile_association = (
        replace_iam_instance_profile_association
    )
    InstanceResponse.run_instances = run_instances
