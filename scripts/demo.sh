#!/usr/bin/env bash
# `make demo`: the whole product on a laptop, no cluster and no AWS account.
# Starts the AWS emulator, seeds a messy account, then runs plan, apply and plan again; then
# seeds a small organization and plans a CostPolicySet over it.
set -euo pipefail
cd "$(dirname "$0")/.."

frugal=./target/debug/frugal
log=$(mktemp)
.venv/bin/python tests/emulator/launcher.py --port 0 --parent-pid $$ >"$log.out" 2>"$log" &
emulator=$!
trap 'kill $emulator 2>/dev/null || true; rm -f "$log" "$log.out" "$log.ids" "$log.org.yaml" "$log.plan"' EXIT
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

step "A small organization: units prod, prod-eu (nested) and dev, 22 member accounts, each with its own mess"
.venv/bin/python tests/emulator/seed_org_demo.py "$url" --ids-out "$log.ids"
# examples/demo-organization.yaml with the unit id the emulator made up.
org_set="$log.org.yaml"
read -r prod_unit dev_unit moved < <(.venv/bin/python -c 'import json, sys
o = json.load(open(sys.argv[1]))
print(o["units"]["prod"], o["units"]["dev"], o["accounts"]["prod"][2]["id"])' "$log.ids")
sed "s/ou-a1b2-prod0001/$prod_unit/" examples/demo-organization.yaml > "$org_set"

step "frugal plan -f examples/demo-organization.yaml   (prod and prod-eu: 18 ACTIVE accounts not tagged frugal.dev/skip, x 2 regions)"
set +e; $frugal plan -f "$org_set"; code=$?; set -e
echo "exit code: $code"
[ "$code" -eq 2 ] || { echo "expected drift in the organization (exit 2)"; exit 1; }

step "A reorganisation: account $moved moves from prod to dev, outside the set"
.venv/bin/python tests/emulator/seed_organization.py "$url" move "$moved" --to "$dev_unit"

step "frugal plan -f examples/demo-organization.yaml   (17 accounts now: $moved is no longer governed)"
set +e; $frugal plan -f "$org_set" > "$log.plan"; code=$?; set -e
tail -n 3 "$log.plan"
echo "exit code: $code"
[ "$code" -eq 2 ] || { echo "expected drift in the organization (exit 2)"; exit 1; }
if grep -q "^$moved " "$log.plan"; then echo "$moved is still governed"; exit 1; fi

# DEMO_KEEP=1 make demo: leave the emulator (and the account the demo left) up to explore.
if [ "${DEMO_KEEP:-0}" = 1 ]; then
  step "The emulator stays up at $url until Ctrl-C. In another shell:"
  echo "  export AWS_ENDPOINT_URL=$url AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=eu-west-1"
  echo "  $frugal plan -f examples/demo.yaml"
  echo "  aws ec2 describe-vpc-endpoints   # any AWS CLI or SDK call, against the emulator"
  wait "$emulator" || true
fi
