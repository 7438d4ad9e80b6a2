"""An in-memory stand-in for the Kubernetes API server, for the controller scale benchmark.

It serves exactly what `frugal run` asks of a cluster, for cluster-scoped CostPolicies:
list (with limit/continue and a label selector), watch (from a resourceVersion, chunked JSON
lines, with a label selector), get, JSON and merge patches of the object (the finalizer) and
of the status subresource, and Event create/patch (counted, not kept). CostPolicySets and
Notifiers, which the operator lists and watches from its start, are served as empty
collections. Anything else answers 404, so an unexpected request shows up as a reconcile
error instead of passing silently.

It is not a Kubernetes API server: no schema, no admission, no field ownership. The
operator runs against real ones in tests/api_server.rs (the CRD API server of
tests/api_server/) and the end-to-end suite (tests/e2e.rs);
this is here to measure the operator with 500 policies on a machine without a cluster.
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonpatch
import jsonpointer

GROUP_PATH = "/apis/frugal.dev/v1alpha1/costpolicies"
# The operator's other kinds: listed and watched from its start, none in the benchmark.
EMPTY_COLLECTIONS = {
    "/apis/frugal.dev/v1alpha1/costpolicysets": "CostPolicySetList",
    "/apis/frugal.dev/v1alpha1/notifiers": "NotifierList",
}
EVENTS_PREFIX = "/apis/events.k8s.io/v1/namespaces/"


class Store:
    """The objects, a resourceVersion counter and the change log watches read from."""

    def __init__(self) -> None:
        self.lock = threading.Condition()
        self.version = 1
        self.objects: dict[str, dict] = {}
        self.log: list[tuple[int, str, dict]] = []
        self.events_created = 0
        self.events_patched = 0
        self.status_writes = 0
        self.requests: dict[str, int] = {}

    def _record(self, kind: str, obj: dict) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        self.log.append((self.version, kind, copy.deepcopy(obj)))
        self.lock.notify_all()

    def create(self, obj: dict) -> dict:
        with self.lock:
            obj = copy.deepcopy(obj)
            meta = obj.setdefault("metadata", {})
            meta.setdefault("uid", f"uid-{meta['name']}")
            meta["generation"] = 1
            meta["creationTimestamp"] = now()
            self.objects[meta["name"]] = obj
            self._record("ADDED", obj)
            return copy.deepcopy(obj)

    def update_spec(self, name: str, spec: dict) -> None:
        with self.lock:
            obj = self.objects[name]
            obj["spec"] = spec
            obj["metadata"]["generation"] += 1
            self._record("MODIFIED", obj)

    def patch(self, name: str, content_type: str, body: dict, subresource: str | None) -> dict | None:
        with self.lock:
            obj = self.objects.get(name)
            if obj is None:
                return None
            if subresource == "status":
                # The operator's JSON patch (a `test` of metadata.uid, then the whole status);
                # as on a real server, only the status of the patched object is kept.
                patched = jsonpatch.apply_patch(obj, body)
                obj["status"] = patched.get("status", {})
                self.status_writes += 1
            elif "json-patch" in content_type:
                patched = jsonpatch.apply_patch(obj, [op for op in body if not tests_null_on_missing(obj, op)])
                if patched.get("spec") != obj.get("spec"):
                    patched["metadata"]["generation"] += 1
                obj = patched
            else:
                merged = merge(obj, body)
                if merged.get("spec") != obj.get("spec"):
                    merged["metadata"]["generation"] += 1
                obj = merged
            self.objects[name] = obj
            self._record("MODIFIED", obj)
            return copy.deepcopy(obj)

    def list(self, limit: int | None, cont: str | None, selector: str) -> dict:
        with self.lock:
            names = sorted(n for n, o in self.objects.items() if selects(o, selector))
            start = int(cont) if cont else 0
            end = len(names) if not limit else min(len(names), start + limit)
            items = [copy.deepcopy(self.objects[n]) for n in names[start:end]]
            meta = {"resourceVersion": str(self.version)}
            if end < len(names):
                meta["continue"] = str(end)
            return {"apiVersion": "frugal.dev/v1alpha1", "kind": "CostPolicyList", "metadata": meta, "items": items}


def selects(obj: dict, selector: str) -> bool:
    """Whether a label selector's terms (`key`, `!key`, `key=value`, `key!=value`) all hold."""
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def tests_null_on_missing(obj: dict, op: dict) -> bool:
    """The API server's JSON patch takes a missing member as null, so `test` for null passes
    (kube-runtime's finalizer helper relies on it when it adds the first finalizer)."""
    if op.get("op") != "test" or op.get("value") is not None:
        return False
    try:
        jsonpointer.resolve_pointer(obj, op["path"])
    except jsonpointer.JsonPointerException:
        return True
    return False


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def merge(target: object, patch: object) -> object:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


def status(code: int, reason: str, message: str) -> dict:
    return {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": code, "reason": reason, "message": message}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store: Store

    def log_message(self, *args: object) -> None:
        pass

    def _count(self, verb: str) -> None:
        with self.store.lock:
            self.store.requests[verb] = self.store.requests.get(verb, 0) + 1

    def _send(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _not_found(self, message: str) -> None:
        self._send(404, status(404, "NotFound", message))

    def _body(self) -> dict:
        length = int(self.headers.get("Content-Length", "0"))
        return json.loads(self.rfile.read(length) or b"{}")

    def _route(self) -> tuple[str, str | None, str | None, dict[str, str]]:
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        if url.path == GROUP_PATH:
            return "collection", None, None, query
        if url.path in EMPTY_COLLECTIONS:
            return "empty", None, EMPTY_COLLECTIONS[url.path], query
        if url.path.startswith(GROUP_PATH + "/"):
            parts = url.path[len(GROUP_PATH) + 1:].split("/")
            return "object", parts[0], parts[1] if len(parts) > 1 else None, query
        if url.path.startswith(EVENTS_PREFIX) and "/events" in url.path:
            return "events", None, None, query
        return "unknown", None, None, query

    def do_GET(self) -> None:
        kind, name, list_kind, query = self._route()
        watching = query.get("watch") in ("1", "true")
        if kind == "empty" and watching:
            return self._watch(query, nothing=True)
        if kind == "empty":
            with self.store.lock:
                version = str(self.store.version)
            return self._send(200, {"apiVersion": "frugal.dev/v1alpha1", "kind": list_kind,
                                    "metadata": {"resourceVersion": version}, "items": []})
        if kind == "collection" and watching:
            self._count("watch")
            return self._watch(query)
        if kind == "collection":
            self._count("list")
            limit = int(query["limit"]) if query.get("limit") else None
            return self._send(200, self.store.list(limit, query.get("continue"), query.get("labelSelector", "")))
        if kind == "object" and name:
            self._count("get")
            with self.store.lock:
                obj = copy.deepcopy(self.store.objects.get(name))
            if obj is None:
                return self._not_found(f"costpolicies {name} not found")
            return self._send(200, obj)
        self._not_found(f"{self.path} is not served by the benchmark's API server")

    def do_PATCH(self) -> None:
        kind, name, subresource, _ = self._route()
        body = self._body()
        if kind == "events":
            self._count("patch_event")
            with self.store.lock:
                self.store.events_patched += 1
            return self._send(200, body)
        if kind == "object" and name:
            self._count("patch_status" if subresource == "status" else "patch")
            try:
                obj = self.store.patch(name, self.headers.get("Content-Type", ""), body, subresource)
            except jsonpatch.JsonPatchConflict as e:
                return self._send(422, status(422, "Invalid", str(e)))
            except jsonpatch.JsonPatchTestFailed as e:
                return self._send(422, status(422, "Invalid", f"the test operation failed: {e}"))
            if obj is None:
                return self._not_found(f"costpolicies {name} not found")
            return self._send(200, obj)
        self._not_found(f"{self.path} is not served by the benchmark's API server")

    def do_POST(self) -> None:
        kind, _, _, _ = self._route()
        body = self._body()
        if kind == "events":
            self._count("create_event")
            with self.store.lock:
                self.store.events_created += 1
            return self._send(201, body)
        self._not_found(f"{self.path} is not served by the benchmark's API server")

    def _watch(self, query: dict[str, str], nothing: bool = False) -> None:
        """Streams the changes after `resourceVersion` that the label selector selects (none
        for an empty collection) until the watch's timeout."""
        since = int(query.get("resourceVersion") or 0)
        selector = query.get("labelSelector", "")
        timeout = float(query.get("timeoutSeconds") or 290)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = threading.Event()
        threading.Timer(timeout, deadline.set).start()
        sent = since
        try:
            while not deadline.is_set() and not self.server.stopping:  # type: ignore[attr-defined]
                with self.store.lock:
                    pending = [(v, k, o) for v, k, o in self.store.log if v > sent]
                    if not pending:
                        self.store.lock.wait(0.5)
                        continue
                sent = pending[-1][0]
                pending = [] if nothing else [(v, k, o) for v, k, o in pending if selects(o, selector)]
                for _, kind, obj in pending:
                    line = json.dumps({"type": kind, "object": obj}).encode() + b"\n"
                    self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


class FakeApiServer:
    """Serves `store` on a free loopback port until `stop()`."""

    def __init__(self) -> None:
        self.store = Store()
        handler = type("BoundHandler", (Handler,), {"store": self.store})
        # The operator opens many connections at once; Python's default listen backlog of 5
        # would refuse some of them (the operator then retries, but that measures this server).
        server_class = type("Server", (ThreadingHTTPServer,), {"request_queue_size": 1024})
        self.server = server_class(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.stopping = False  # type: ignore[attr-defined]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def kubeconfig(self) -> str:
        return json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "bench",
            "clusters": [{"name": "bench", "cluster": {"server": self.url}}],
            "users": [{"name": "bench", "user": {"token": "bench"}}],
            "contexts": [{"name": "bench", "context": {"cluster": "bench", "user": "bench", "namespace": "default"}}],
        })

    def stop(self) -> None:
        self.server.stopping = True  # type: ignore[attr-defined]
        with self.store.lock:
            self.store.lock.notify_all()
        self.server.shutdown()
        self.server.server_close()
