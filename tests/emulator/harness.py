"""Shared harness of the emulator tests: one launcher per test class, on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import unittest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.pop("AWS_PROFILE", None)

from botocore.config import Config  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
LAUNCHER = os.path.join(HERE, "launcher.py")
REGION = "eu-west-1"
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})

# Generous: the interpreter's teardown of moto's state takes seconds on a loaded machine;
# what matters is that the launcher exits by itself, not how fast.
EXIT_TIMEOUT = 60


def start_launcher(parent_pid: int) -> tuple[subprocess.Popen, str]:
    # stderr goes to a file, not a pipe nobody drains: a full pipe would block the emulator.
    stderr = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(
        [sys.executable, LAUNCHER, "--port", "0", "--parent-pid", str(parent_pid)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    proc.stderr_file = stderr  # type: ignore[attr-defined]
    line = proc.stdout.readline()  # blocks until READY (or EOF on crash)
    if not line.startswith("READY http://"):
        proc.kill()
        stderr.seek(0)
        raise RuntimeError(f"launcher did not start: {line!r} {stderr.read()}")
    return proc, line.split()[1]


def stop_launcher(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=EXIT_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr_file.close()  # type: ignore[attr-defined]


class LauncherTestCase(unittest.TestCase):
    """One emulator for the whole class; each test takes its own account id from `_next_account`."""

    proc: subprocess.Popen
    url: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.proc, cls.url = start_launcher(os.getpid())

    @classmethod
    def tearDownClass(cls) -> None:
        stop_launcher(cls.proc)


def run_as_script(label: str) -> None:
    """Runs the calling script's tests (`__main__`), prints `N passed, N failed` last and
    exits non-zero on a failure or when no test ran; `label` names them in the timing line."""
    started = time.monotonic()
    result = unittest.main(module="__main__", exit=False, verbosity=2).result
    passed = result.testsRun - len(result.failures) - len(result.errors) - len(result.skipped)
    failed = len(result.failures) + len(result.errors)
    print(f"{passed} passed, {failed} failed", flush=True)
    print(f"{label} took {time.monotonic() - started:.1f}s", file=sys.stderr)
    sys.exit(0 if result.wasSuccessful() and result.testsRun > 0 else 1)
