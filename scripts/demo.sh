#!/usr/bin/env bash
# The main job end to end on a local emulator: installs and starts moto server, gives the fresh
# emulated account a project VPC (as a team's network stack would), then runs `plan` -> `apply` ->
# `verify` of baselines/standard.yaml against it, with the root user's two manual steps played in
# between, and stops the emulator. Exits 0 when the account verifies clean.
set -euo pipefail
cd "$(dirname "$0")/.."

# `--tests`: built with the test suite's dependency features, so that `scripts/test.sh` afterwards
# reuses this build instead of compiling the AWS SDK a second time.
cargo build --locked --quiet --tests
mamori="${CARGO_TARGET_DIR:-target}/debug/mamori"

started=$(python3 localstack/emulator.py start moto --owner-pid $$)
endpoint=$(sed -n 's/^endpoint=//p' <<<"$started")
pid=$(sed -n 's/^pid=//p' <<<"$started")
trap 'python3 localstack/emulator.py stop --pid "$pid"' EXIT

# Any credentials do for the emulator; nothing here reaches AWS.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$endpoint" AWS_EC2_METADATA_DISABLED=true
baseline=baselines/standard.yaml
account=123456789012

echo "== the project's network stack makes a VPC: two private subnets in two zones, a route table each (played on the emulator)"
python3 localstack/emulator.py project-vpc moto --endpoint "$endpoint" --account "$account" --region "$AWS_REGION"

echo "== mamori plan (exit 2: changes pending)"
status=0; "$mamori" plan --baseline "$baseline" --output text || status=$?
[ "$status" -eq 2 ] || { echo "plan exited $status, expected 2" >&2; exit 1; }

echo "== mamori apply --yes (exit 2: root MFA and MFA Delete on the audit bucket are root-only, manual steps)"
status=0; "$mamori" apply --yes --baseline "$baseline" --output text || status=$?
[ "$status" -eq 2 ] || { echo "apply exited $status, expected 2" >&2; exit 1; }

echo "== mamori apply --yes --mfa (the root user's step; the emulator accepts any code)"
"$mamori" apply --yes --baseline "$baseline" --only logs.bucket-mfa-delete \
    --mfa "arn:aws:iam::$account:mfa/root-account-mfa-device 123456" --output text

echo "== the root user enrols an MFA device in the console (AWS has no API for it; played on the emulator)"
python3 localstack/emulator.py root-console moto --endpoint "$endpoint" --account "$account" --mfa virtual

echo "== mamori verify (exit 0: compliant)"
"$mamori" verify --baseline "$baseline" --output text
