#!/usr/bin/env python3
"""Run moto's server in-process with frugal's fidelity extensions.

    python launcher.py [--host 127.0.0.1] [--port 0] [--parent-pid PID] [--verbose]

Prints exactly one line `READY http://<host>:<port>` on stdout once the server
listens; everything else goes to stderr. Exits on SIGTERM/SIGINT, and within
about a second after --parent-pid dies.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time

# Must be set before moto is imported.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
# Signed requests need no real credentials, but botocore inside moto may look.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)

    from werkzeug.serving import make_server

    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )

    import frugal_emulator

    app = frugal_emulator.wrap_all(DomainDispatcherApplication(create_backend_app))

    class Handler(MotoRequestHandler):
        def log_request(self, code="-", size="-"):  # type: ignore[override]
            if args.verbose:
                super().log_request(code, size)

    server = make_server(args.host, args.port, app, threaded=True, request_handler=Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    url_host = f"[{host}]" if ":" in str(host) else host

    stop = threading.Event()

    def request_stop(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, request_stop)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    watching_ppid = args.parent_pid is not None and os.getppid() == args.parent_pid
    sys.stdout.write(f"READY http://{url_host}:{port}\n")
    sys.stdout.flush()
    # Nothing but the READY line may reach stdout (moto print()s now and then).
    sys.stdout = sys.stderr
    print(
        f"frugal emulator: moto on http://{url_host}:{port}, extensions "
        f"{', '.join(frugal_emulator.enabled_extensions()) or 'none'}"
        + (f", watching parent pid {args.parent_pid}" if args.parent_pid else ""),
        file=sys.stderr,
        flush=True,
    )

    while not stop.is_set():
        if args.parent_pid is not None and not _alive(args.parent_pid):
            print("frugal emulator: parent process gone, exiting", file=sys.stderr, flush=True)
            break
        # If the watched pid is our own parent, being reparented also means it
        # died (covers a dead parent that lingers as an unreaped zombie).
        if args.parent_pid is not None and watching_ppid and os.getppid() != args.parent_pid:
            print("frugal emulator: reparented, parent gone, exiting", file=sys.stderr, flush=True)
            break
        stop.wait(0.25)

    server.shutdown()
    server.server_close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
