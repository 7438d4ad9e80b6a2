#!/usr/bin/env python3
"""Starts a real Kubernetes API server for CustomResourceDefinitions (etcd plus
apiextensions-apiserver, built by build.py) on free loopback ports, for the tests.

    python3 tests/api_server/launcher.py [--parent-pid PID]

When the server answers, exactly one line goes to stdout: `READY <kubeconfig path>`. The
kubeconfig authenticates with a client certificate of the group system:masters. Beside it,
`operator.kubeconfig` authenticates as the user `frugal-operator` (also system:masters),
for the operator under test, whose every request the server writes to `audit.log` (JSON
lines, level Metadata) in the same directory: the tests hold those requests against
deploy/'s RBAC. Logs go to files in the server's temporary directory; their tails are
printed to stderr if it fails.
Exits, stopping both servers and removing the directory, on SIGTERM/SIGINT/SIGHUP or
within a second after --parent-pid dies.

SIGUSR1 is an outage: the API server is killed, etcd gets one more write and is compacted up to
it (so watches resumed from an older resourceVersion get 410 Gone), and after
--outage-seconds (default 10) the API server starts again on the same port and data.
"""

import argparse
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build import BIN  # noqa: E402 (the one place that says where the build is)
STARTUP_TIMEOUT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


# The user the operator under test authenticates as; its requests are audited.
OPERATOR_USER = "frugal-operator"
AUDIT_POLICY = f"""apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
    users: [{OPERATOR_USER}]
  - level: None
"""


def certificates(directory):
    """A CA, the server's certificate for 127.0.0.1, and client certificates for the admin
    and the operator. X.509 v3 throughout: rustls refuses v1 certificates."""
    days = "3"
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", days, "-subj", "/CN=frugal-test-ca", cwd=directory)
    (directory / "server.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (directory / "client.ext").write_text("basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n")
    for name, subject, ext in (("server", "/CN=127.0.0.1", "server.ext"), ("admin", "/O=system:masters/CN=frugal-test-admin", "client.ext"),
                                 ("operator", f"/O=system:masters/CN={OPERATOR_USER}", "client.ext")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=directory)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", f"{name}.crt", "-days", days, "-extfile", ext, cwd=directory)


def kubeconfig(directory, port, user):
    path = directory / f"{user}.kubeconfig"
    path.write_text(
        f"""apiVersion: v1
kind: Config
clusters:
- name: frugal-test
  cluster:
    server: https://127.0.0.1:{port}
    certificate-authority: {directory / 'ca.crt'}
users:
- name: {user}
  user:
    client-certificate: {directory / f'{user}.crt'}
    client-key: {directory / f'{user}.key'}
contexts:
- name: frugal-test
  context: {{cluster: frugal-test, user: {user}}}
current-context: frugal-test
"""
    )
    return path


def answers(directory, port):
    """True once the CRD API serves requests (its /readyz stays red: the informers of core
    resources that this server lacks never sync)."""
    context = ssl.create_default_context(cafile=str(directory / "ca.crt"))
    context.load_cert_chain(str(directory / "admin.crt"), str(directory / "admin.key"))
    url = f"https://127.0.0.1:{port}/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
    try:
        with urllib.request.urlopen(url, context=context, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def etcd_request(etcd_url, path, body):
    request = urllib.request.Request(f"{etcd_url}{path}", data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def bump_and_compact(etcd_url):
    """One write past everything the API server has served, then etcd compacted up to it:
    a watch resumed from any resourceVersion seen before gets 410 Gone."""
    key = base64.b64encode(b"/frugal-test/outage").decode()
    put = etcd_request(etcd_url, "/v3/kv/put", {"key": key, "value": base64.b64encode(b"bump").decode()})
    revision = int(put["header"]["revision"])
    etcd_request(etcd_url, "/v3/kv/compaction", {"revision": revision, "physical": True})


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--parent-pid", type=int, default=None)
    parser.add_argument("--outage-seconds", type=float, default=10.0, help="how long SIGUSR1 keeps the API server down")
    args = parser.parse_args()
    for binary in ("apiextensions-apiserver", "etcd"):
        if not (BIN / binary).exists():
            sys.exit(f"api server launcher: {BIN / binary} is missing: run python3 tests/api_server/build.py")
    if shutil.which("openssl") is None:
        sys.exit("api server launcher: openssl is missing (Debian's openssl package); it makes the test certificates")

    directory = Path(tempfile.mkdtemp(prefix="frugal-api-server-"))
    servers = {}
    stopping = []
    outages = []
    # Kept (with the servers' logs) only when a server failed.
    keep_directory = []

    def stop(*_):
        stopping.append(True)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    signal.signal(signal.SIGUSR1, lambda *_: outages.append(True))
    try:
        certificates(directory)
        etcd_port, peer_port, api_port = free_port(), free_port(), free_port()
        etcd_url, peer_url = f"http://127.0.0.1:{etcd_port}", f"http://127.0.0.1:{peer_port}"
        etcd_log = open(directory / "etcd.log", "w")
        servers["etcd"] = subprocess.Popen(
            [str(BIN / "etcd"), "--data-dir", str(directory / "etcd"), "--listen-client-urls", etcd_url,
             "--advertise-client-urls", etcd_url, "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
             "--initial-cluster", f"default={peer_url}", "--unsafe-no-fsync", "--log-level", "warn"],
            stdout=etcd_log, stderr=etcd_log, stdin=subprocess.DEVNULL,
        )
        config = kubeconfig(directory, api_port, "admin")
        kubeconfig(directory, api_port, "operator")
        (directory / "audit-policy.yaml").write_text(AUDIT_POLICY)
        api_log = open(directory / "apiserver.log", "a")

        def start_api_server():
            # The standalone server delegates authentication and authorization to a core
            # kube-apiserver, which does not exist here. The admin's client certificate is
            # verified against --client-ca-file, and its group system:masters is authorized
            # by the server itself, so the delegation kubeconfigs (pointing back at this
            # server) are never consulted; the server only insists on having them. The
            # admission plugins disabled here all need core resources.
            servers["apiserver"] = subprocess.Popen(
                [str(BIN / "apiextensions-apiserver"), f"--etcd-servers={etcd_url}", f"--secure-port={api_port}",
                 "--bind-address=127.0.0.1", f"--tls-cert-file={directory / 'server.crt'}",
                 f"--tls-private-key-file={directory / 'server.key'}", f"--client-ca-file={directory / 'ca.crt'}",
                 "--authentication-skip-lookup", f"--authentication-kubeconfig={config}",
                 f"--authorization-kubeconfig={config}", f"--kubeconfig={config}",
                 "--enable-priority-and-fairness=false",
                 f"--audit-policy-file={directory / 'audit-policy.yaml'}",
                 f"--audit-log-path={directory / 'audit.log'}", "--audit-log-format=json",
                 "--disable-admission-plugins=NamespaceLifecycle,MutatingAdmissionPolicy,MutatingAdmissionWebhook,ValidatingAdmissionPolicy,ValidatingAdmissionWebhook"],
                stdout=api_log, stderr=api_log, stdin=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while not answers(directory, api_port):
                exited = [name for name, server in servers.items() if server.poll() is not None]
                if exited or stopping or time.monotonic() > deadline:
                    keep_directory.append(True)
                    for name in ("etcd.log", "apiserver.log"):
                        tail = (directory / name).read_text(errors="replace").splitlines()[-30:]
                        print(f"--- {name}\n" + "\n".join(tail), file=sys.stderr)
                    sys.exit("api server launcher: the API server did not start")
                time.sleep(0.2)

        start_api_server()
        print(f"READY {config}", flush=True)
        watching_parent = args.parent_pid is not None and os.getppid() == args.parent_pid
        while not stopping:
            if args.parent_pid is not None and (not alive(args.parent_pid) or (watching_parent and os.getppid() != args.parent_pid)):
                break
            if outages:
                outages.clear()
                print(f"api server launcher: API server down for {args.outage_seconds}s, etcd compacted", file=sys.stderr)
                # Killed, as a crashed or partitioned server: a graceful stop waits for the
                # open watches.
                servers["apiserver"].kill()
                servers["apiserver"].wait()
                bump_and_compact(etcd_url)
                time.sleep(args.outage_seconds)
                start_api_server()
                print("api server launcher: API server back", file=sys.stderr)
            if any(server.poll() is not None for server in servers.values()):
                keep_directory.append(True)
                print(f"api server launcher: a server exited; logs in {directory}", file=sys.stderr)
                return 1
            time.sleep(0.25)
        return 0
    finally:
        for server in reversed(list(servers.values())):
            server.terminate()
        for server in servers.values():
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        if not keep_directory:
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
