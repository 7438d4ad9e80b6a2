#!/usr/bin/env bash
# Creates <repo>/.venv with the emulator's Python dependencies.
# Fast no-op when the venv already holds exactly requirements.txt (stamp = sha256).
# Works unattended (CI=true, no stdin).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
req="$here/requirements.txt"
stamp="$venv/.frugal-emulator-requirements.sha256"

want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    exit 0
fi

python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    for candidate in python3.11 python3.12 python3.13 python3.10 python3; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
if [[ -z "$python" ]]; then
    echo "setup.sh: no python3 found" >&2
    exit 1
fi

if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
    echo "setup.sh: creating $venv with $python" >&2
    rm -rf "$venv"
    if ! "$python" -m venv "$venv" </dev/null >&2; then
        # Debian's python3 lacks ensurepip without python3-venv.
        if command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == 0 ]]; then
            echo "setup.sh: installing python3-venv" >&2
            DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv </dev/null >&2
            rm -rf "$venv"
            "$python" -m venv "$venv" </dev/null >&2
        else
            exit 1
        fi
    fi
fi

echo "setup.sh: installing $(basename "$req") into $venv" >&2
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$venv/bin/python" -m pip install --quiet --requirement "$req" </dev/null >&2
"$venv/bin/python" -c 'import moto, boto3, werkzeug' >&2
echo "$want" > "$stamp"
echo "setup.sh: emulator environment ready" >&2
