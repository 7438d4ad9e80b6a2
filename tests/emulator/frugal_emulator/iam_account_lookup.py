"""A1: which account a request's access key belongs to, without building IAM backends.

moto 5.2.5 maps the access key of every request to its account with
`moto.iam.models.get_account_id_from`, which reads `iam_backends[account][partition]` for
every account seen so far and every partition (six). Reading one builds it, so each request
signed with an assumed role's key builds, for every account, the IAM backends of five
partitions nobody uses, each loading the ~1,600 AWS managed policies
(MOTO_IAM_LOAD_MANAGED_POLICIES=true): about 30 MB per account, and a fleet of 500
accounts no longer fits in memory. In AWS, the account of a key is a lookup that costs
nothing per account.

The replacement answers the same (the first account, in the same order, whose IAM
backend holds the key; else moto's default account) but looks only at backends that
exist: a key is only ever stored in one (CreateAccessKey, AssumeRole), so none that does
not exist can hold it.
"""

from __future__ import annotations

from typing import Any

_original: Any = None


def get_account_id_from(access_key: str) -> str:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends

    # list(): other request threads add accounts and backends meanwhile (moto #5881).
    for account_id, account in list(iam_backends.items()):
        # dict.values: the partitions' backends that exist, without building the others.
        for backend in list(dict.values(account)):
            if access_key in backend.access_keys:
                return account_id
    return DEFAULT_ACCOUNT_ID


def apply() -> None:
    global _original
    import moto.iam.models as iam_models

    if _original is not None:
        return
    _original = iam_models.get_account_id_from
    # Callers (moto.core.responses, the recorder) import it from the module at call time.
    iam_models.get_account_id_from = get_account_id_from
