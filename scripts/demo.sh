#!/usr/bin/env bash
# `make demo`: the whole product on a laptop, no cluster and no AWS account.
# Starts the AWS emulator, seeds a messy account, then runs plan, apply and plan again.
set -euo pipefail
cd "$(dirname "$0")/.."

frugal=./target/debug/frugal
log=$(mktemp)
.venv/bin/python tests/emulator/launcher.py --port 0 --parent-pid $$ >"$log.out" 2>"$log" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log" "$log.out"' EXIT
for _ in $(seq 1 100); do
  grep -q '^READY ' "$log.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^READY //p' "$log.out")
[ -n "$url" ] || { echo "the emulator did not start:"; cat "$log"; exit 1; }

export AWS_ENDPOINT_URL="$url" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1
export RUST_LOG=warn

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Seeding a messy account in the emulator at $url"
.venv/bin/python tests/emulator/seed_demo.py "$url"

step "frugal plan -f examples/demo.yaml   (exit 2 = drift found)"
set +e; $frugal plan -f examples/demo.yaml; code=$?; set -e
echo "exit code: $code"
[ "$code" -eq 2 ] || { echo "expected drift (exit 2)"; exit 1; }

step "frugal apply -f examples/demo.yaml"
$frugal apply -f examples/demo.yaml

step "frugal plan -f examples/demo.yaml   (exit 2: expired snapshots wait for their grace period; so does the marked key)"
set +e; $frugal plan -f examples/demo.yaml; code=$?; set -e
echo "exit code: $code"
[ "$code" -eq 2 ] || { echo "expected the snapshots' grace period to be pending (exit 2)"; exit 1; }

step "A day later: the emulator moves every frugal.dev/expires-at (snapshots, alarms) and frugal.dev/deactivate-* tag 24h back"
.venv/bin/python tests/emulator/seed_demo.py "$url" --fast-forward-grace

step "frugal apply -f examples/demo.yaml   (the expired snapshots, the marked key and the orphan alarm are due now)"
$frugal apply -f examples/demo.yaml

step "frugal plan -f examples/demo.yaml   (exit 0: nothing left to change; the coverage gap is for a person)"
$frugal plan -f examples/demo.yaml
echo "exit code: 0"

step "The status the operator would write (frugal plan -o json | .status)"
$frugal plan -f examples/demo.yaml -o json | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin)[0]["status"]; print(json.dumps({k: d[k] for k in ("conditions","findings","cost")}, indent=2))'

# DEMO_KEEP=1 make demo: leave the emulator (and the account the demo left) up to explore.
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  step "The emulator stays up at $url until Ctrl-C. In another shell:"
  echo "  export AWS_ENDPOINT_URL=$url AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1"
  echo "  $frugal plan -f examples/demo.yaml"
  echo "  aws ec2 describe-vpc-endpoints   # any AWS CLI or SDK call, against the emulator"
  wait "$emulator" || true
fi
