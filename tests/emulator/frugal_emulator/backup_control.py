"""B4 control endpoint: seed AWS Backup recovery points (see backup_plans.py).

    POST /_frugal/backup/recovery-points
    {"account", "region", "vault_name", "resource_arn", "size_bytes",
     optional "creation_date" (epoch seconds or ISO 8601), "resource_type"
     (default from the ARN: volume -> EBS, instance -> EC2), "status"
     (COMPLETED), "backup_plan_id", "backup_rule_id", "iam_role_arn",
     "recovery_point_arn" (default: a new snapshot/AMI/recovery-point ARN),
     "storage_class" (WARM), "resource_name", "lifecycle"}
    -> 200, the recovery point as DescribeRecoveryPoint shapes it (CreationDate
       in epoch seconds); 404 {"error"} for an unknown vault, 400 {"error"}
       for missing fields or bad JSON. Seeding the same recovery_point_arn
       again replaces it.

Serves only this path; it sits outside the recorder (which answers 404 for
/_frugal/ paths it does not know) and passes everything else through.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

from .control import read_json, reply

from .backup_plans import BackupError, seed_recovery_point

PATH = "/_frugal/backup/recovery-points"


class BackupControl:
    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").rstrip("/") != PATH:
            return self.app(environ, start_response)
        if environ.get("REQUEST_METHOD") != "POST":
            return reply(start_response, "405 METHOD NOT ALLOWED", {"error": "POST only"})
        try:
            params = read_json(environ)
            if not isinstance(params, dict):
                raise ValueError("expected a JSON object")
            point = seed_recovery_point(params)
        except BackupError as err:
            status = "404 NOT FOUND" if err.status == 404 else "400 BAD REQUEST"
            return reply(start_response, status, {"error": err.message, "code": err.code})
        except (ValueError, TypeError) as err:
            return reply(start_response, "400 BAD REQUEST", {"error": str(err)})
        return reply(start_response, "200 OK", point)


def apply() -> None:
    pass


def wrap(app: Callable[..., Any]) -> Callable[..., Any]:
    return BackupControl(app)
