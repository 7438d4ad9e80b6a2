#!/usr/bin/env python3
"""Builds the real Kubernetes API server for CustomResourceDefinitions that the tests run
against: `apiextensions-apiserver` (k8s.io/apiextensions-apiserver, the code kube-apiserver
embeds to serve CRDs and custom resources) and `etcd`, from Debian unstable's packages.

Debian is the only package source of this machine that carries Kubernetes server code: the
Go module proxy is out of reach, and no registry ships a kube-apiserver binary. Debian's Go
library packages hold the complete sources, so the server is compiled here in GOPATH mode,
exactly as Debian compiles them, with Debian's own Go toolchain.

Every download is verified: the InRelease file with gpgv against the machine's Debian
archive keyring, Packages.xz by the SHA256 that InRelease lists, each .deb by the SHA256
that Packages.xz lists.

Output: ~/.cache/frugal-operator/api-server-<hash of this script>/bin/{apiextensions-apiserver,etcd}
(see machine_cache) and a stamp that makes the next run a no-op, in any clone on this machine. Usage: python3 tests/api_server/build.py [--force]
"""

import hashlib
import lzma
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

MIRROR = os.environ.get("FRUGAL_DEBIAN_MIRROR", "http://deb.debian.org/debian")
SUITE = "sid"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
# The Go library package whose main.go is the server, Debian's default Go toolchain (its
# dependencies name the versioned compiler), and the etcd server binary.
SERVER_PACKAGE = "golang-k8s-apiextensions-apiserver-dev"
SERVER_IMPORT_PATH = "k8s.io/apiextensions-apiserver"
GO_DEFAULT = "golang-go"
ETCD_PACKAGE = "etcd-server"



def machine_cache():
    """One build per machine, shared by every clone (CI runs in a fresh one each time): the
    sources are Debian's, not the repository's. Keyed by this script's own text, so a change
    to how the server is built builds it anew. FRUGAL_API_SERVER_DIR overrides it."""
    if os.environ.get("FRUGAL_API_SERVER_DIR"):
        return Path(os.environ["FRUGAL_API_SERVER_DIR"])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    return base / "frugal-operator" / f"api-server-{key}"


OUT = machine_cache()
BIN = OUT / "bin"
STAMP = OUT / "built-from"


def log(message):
    print(f"api-server build: {message}", file=sys.stderr, flush=True)


def fetch(url, attempts=5):
    """GET with retries: name lookups and connections of this network fail now and then."""
    for attempt in range(1, attempts + 1):
        try:
            with urllib.request.urlopen(url, timeout=300) as response:
                return response.read()
        except OSError as error:
            if attempt == attempts:
                raise RuntimeError(f"GET {url}: {error}") from error
            time.sleep(2 * attempt)


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def verified_packages_index():
    """Packages of SUITE/main/binary-amd64, verified through the signed InRelease."""
    release = fetch(f"{MIRROR}/dists/{SUITE}/InRelease")
    with tempfile.NamedTemporaryFile(suffix=".InRelease") as signed:
        signed.write(release)
        signed.flush()
        check = subprocess.run(["gpgv", "--keyring", KEYRING, signed.name], capture_output=True, text=True)
    if check.returncode != 0:
        sys.exit(f"api-server build: the signature of {SUITE}/InRelease does not verify:\n{check.stderr}")
    want = None
    in_sha256 = False
    for line in release.decode().splitlines():
        if not line.startswith(" "):
            in_sha256 = line.startswith("SHA256:")
            continue
        fields = line.split()
        if in_sha256 and len(fields) == 3 and fields[2] == "main/binary-amd64/Packages.xz":
            want = fields[0]
    if want is None:
        sys.exit(f"api-server build: {SUITE}/InRelease lists no SHA256 for main/binary-amd64/Packages.xz")
    compressed = fetch(f"{MIRROR}/dists/{SUITE}/main/binary-amd64/Packages.xz")
    if sha256(compressed) != want:
        sys.exit("api-server build: Packages.xz does not match the SHA256 of the signed InRelease")
    return parse_packages(lzma.decompress(compressed).decode("utf-8", "replace"))


def parse_packages(text):
    packages = {}
    for stanza in text.split("\n\n"):
        fields = {}
        for line in stanza.splitlines():
            if line and not line[0].isspace():
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields:
            packages.setdefault(fields["Package"], fields)
    return packages


def dependency_names(fields):
    """First alternative of each Depends/Pre-Depends entry, without version or arch."""
    names = []
    for entry in (fields.get("Depends", "") + "," + fields.get("Pre-Depends", "")).split(","):
        entry = entry.strip()
        if entry:
            names.append(entry.split("|")[0].strip().split(" ")[0].split(":")[0])
    return names


def go_toolchain(packages):
    """golang-1.NN-go that Debian's default golang-go depends on, and its sources."""
    for name in dependency_names(packages[GO_DEFAULT]):
        if name.startswith("golang-1.") and name.endswith("-go"):
            return [name, name[: -len("-go")] + "-src"]
    sys.exit(f"api-server build: {GO_DEFAULT} names no versioned Go toolchain")


def closure(packages, roots):
    """The roots and every Go library (architecture all) they need, transitively. Programs
    and libraries of the running system (libc and the like) are not followed: the Go build
    needs only sources."""
    provides = {}
    for name, fields in packages.items():
        for provided in fields.get("Provides", "").split(","):
            provided = provided.strip().split(" ")[0]
            if provided:
                provides.setdefault(provided, name)
    chosen, stack = set(), list(roots)
    while stack:
        name = stack.pop()
        name = name if name in packages else provides.get(name, name)
        if name in chosen:
            continue
        if name not in packages:
            sys.exit(f"api-server build: {SUITE} has no package {name}")
        chosen.add(name)
        fields = packages[name]
        if name in roots or (fields.get("Architecture") == "all" and name.endswith("-dev")):
            stack.extend(dependency_names(fields))
    return sorted(n for n in chosen if n in roots or n.endswith("-dev"))


def download(packages, names, into):
    def one(name):
        fields = packages[name]
        data = fetch(f"{MIRROR}/{fields['Filename']}")
        if sha256(data) != fields["SHA256"]:
            raise RuntimeError(f"{fields['Filename']} does not match its SHA256 in Packages.xz")
        path = into / Path(fields["Filename"]).name
        path.write_bytes(data)
        return path

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, names))


def main():
    force = "--force" in sys.argv[1:]
    if not force and STAMP.exists() and (BIN / "apiextensions-apiserver").exists() and (BIN / "etcd").exists():
        return
    for tool in ("gpgv", "dpkg-deb"):
        if shutil.which(tool) is None:
            sys.exit(f"api-server build: {tool} is missing (Debian's gpgv and dpkg packages)")
    log(f"reading {MIRROR} {SUITE}")
    packages = verified_packages_index()
    for name in (SERVER_PACKAGE, GO_DEFAULT, ETCD_PACKAGE):
        if name not in packages:
            sys.exit(f"api-server build: {SUITE} has no package {name}")
    roots = [SERVER_PACKAGE, ETCD_PACKAGE, *go_toolchain(packages)]
    names = closure(packages, roots)
    with tempfile.TemporaryDirectory(prefix="frugal-api-server-") as scratch:
        scratch = Path(scratch)
        debs, tree = scratch / "debs", scratch / "root"
        debs.mkdir()
        log(f"downloading {len(names)} packages")
        for deb in download(packages, names, debs):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(tree)], check=True)
        goroot = next((tree / "usr/lib").glob("go-1.*"))
        env = {
            "PATH": f"{goroot / 'bin'}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(scratch),
            "GOROOT": str(goroot),
            "GOPATH": str(tree / "usr/share/gocode"),
            "GO111MODULE": "off",
            "GOPROXY": "off",
            "GOTOOLCHAIN": "local",
            "GOFLAGS": "",
            "CGO_ENABLED": "0",
            "GOCACHE": str(scratch / "gocache"),
        }
        version = packages[SERVER_PACKAGE]["Version"]
        log(f"compiling {SERVER_IMPORT_PATH} {version} with {goroot.name} (a few minutes)")
        BIN.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["go", "build", "-trimpath", "-o", str(BIN / "apiextensions-apiserver"), SERVER_IMPORT_PATH],
            check=True,
            env=env,
        )
        shutil.copy2(tree / "usr/bin/etcd", BIN / "etcd")
    STAMP.write_text(
        f"{SERVER_PACKAGE} {version}\n{ETCD_PACKAGE} {packages[ETCD_PACKAGE]['Version']}\n{roots[2]} {packages[roots[2]]['Version']}\n"
    )
    log(f"built {BIN}: {STAMP.read_text().strip()}".replace("\n", ", "))


if __name__ == "__main__":
    main()
