"""What every POST control endpoint of the emulator shares: its JSON body and JSON reply."""

from __future__ import annotations

import json
from typing import Any, Callable


def reply(start_response: Callable, status: str, payload: Any) -> list[bytes]:
    data = json.dumps(payload).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


def read_json(environ: dict[str, Any]) -> Any:
    """The request's JSON body ({} when empty); ValueError when it is not JSON."""
    length = environ.get("CONTENT_LENGTH")
    data = environ["wsgi.input"].read(int(length)) if length and length.isdigit() else b""
    return json.loads(data or b"{}")
