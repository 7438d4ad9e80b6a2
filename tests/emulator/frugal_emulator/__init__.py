"""Fidelity extensions for moto 5.2.5, used by tests/emulator/launcher.py.

Each extension lives in its own module with an ``apply()`` function that
monkeypatches moto at import time (site-packages is never edited). Modules
that work at the HTTP layer also expose ``wrap(app) -> app`` (WSGI middleware).

To add an extension: create a module with ``apply()`` (and ``wrap`` if it needs
the HTTP layer), append its name to ``EXTENSIONS``, and add a row to README.md.
"""

import importlib
import os
from types import ModuleType
from typing import Any, Callable

# Order matters for wrap(): the first module is the innermost middleware,
# the last one (the recorder) sees the request exactly as the client sent it.
EXTENSIONS = [
    # Monkeypatch only: the account of an access key without building IAM backends.
    "iam_account_lookup",
    "ec2_endpoints",
    # Answers ComputeOptimizerService.* awsJson1_0 requests; inside cloudwatch_cbor (E3),
    # which turns the CBOR ones (boto3, current Rust SDK) into awsJson1_0 first.
    "compute_optimizer",
    "cloudwatch_cbor",
    "ssm_instances",
    "ec2_instance_profiles",
    "ec2_rules_keys_templates",
    "backup_plans",
    # Monkeypatches only (logs log groups, cloudwatch alarms).
    "cloudwatch_logs_alarms",
    # Answers AWSPriceListService.* (awsJson1_1 only: the model lists no CBOR, so not inside E3).
    "pricing",
    # Replaces moto's GetCostAndUsage (AWSInsightsIndexService, awsJson1_1 only); other
    # Cost Explorer operations pass through to moto.
    "cost_explorer",
    "recorder",
    # Serves only its own /_frugal/ control paths (which the recorder would
    # answer 404), so it sits outside the recorder; AWS requests pass untouched.
    "ebs_snapshots",
    # Only POST /_frugal/backup/recovery-points; outside the recorder like ebs_snapshots.
    "backup_control",
    # Only POST /_frugal/iam/access-key; outside the recorder like ebs_snapshots.
    "iam_access_keys",
    # Only /_frugal/compute-optimizer/...; outside the recorder like ebs_snapshots.
    "compute_optimizer_control",
    # Only POST /_frugal/logs/stored-bytes; outside the recorder like ebs_snapshots.
    "cloudwatch_logs_control",
    # Only /_frugal/pricing/...; outside the recorder like ebs_snapshots.
    "pricing_control",
    # Only /_frugal/ce/...; outside the recorder like ebs_snapshots.
    "cost_explorer_control",
]

_applied: list[ModuleType] = []


def enabled_extensions() -> list[str]:
    """EXTENSIONS minus those named in FRUGAL_EMULATOR_DISABLE (comma-separated),
    e.g. to show what bare moto does."""
    disabled = {n.strip() for n in os.environ.get("FRUGAL_EMULATOR_DISABLE", "").split(",")}
    return [name for name in EXTENSIONS if name not in disabled]


def apply_all() -> list[ModuleType]:
    """Import every enabled extension module and run its apply(); idempotent."""
    if _applied:
        return _applied
    for name in enabled_extensions():
        module = importlib.import_module(f"{__name__}.{name}")
        module.apply()
        _applied.append(module)
    return _applied


def wrap_all(app: Callable[..., Any]) -> Callable[..., Any]:
    for module in apply_all():
        wrap = getattr(module, "wrap", None)
        if wrap is not None:
            app = wrap(app)
    return app
