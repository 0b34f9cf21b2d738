#!/usr/bin/env bash
# The main job end to end on a local emulator: installs and starts moto server, gives the fresh
# emulated account a project VPC (as a team's network stack would), then runs `plan` -> `apply` ->
# `verify` of baselines/standard.yaml (with one alarm subscriber added, since the shipped file cannot
# know your address) against it, with the human steps played in between (the root user's two, the
# subscriber confirming the alarm e-mail, and the network team's network ACL decision), and stops the
# emulator. Exits 0 when the account verifies clean.
set -euo pipefail
cd "$(dirname "$0")/.."

# `--tests`: built with the test suite's dependency features, so that `scripts/test.sh` afterwards
# reuses this build instead of compiling the AWS SDK a second time.
cargo build --locked --quiet --tests
mamori="${CARGO_TARGET_DIR:-target}/debug/mamori"

# AWS's propagation delays on (1 s): mamori must converge through them, as on AWS.
started=$(python3 localstack/emulator.py start moto --owner-pid $$ --propagation-delay 1)
endpoint=$(sed -n 's/^endpoint=//p' <<<"$started")
pid=$(sed -n 's/^pid=//p' <<<"$started")
trap 'python3 localstack/emulator.py stop --pid "$pid"' EXIT

# Any credentials do for the emulator; nothing here reaches AWS.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
export AWS_ENDPOINT_URL="$endpoint" AWS_EC2_METADATA_DISABLED=true
account=123456789012
# The standard baseline, with someone to receive the alarms.
workdir=$(mktemp -d)
trap 'python3 localstack/emulator.py stop --pid "$pid"; rm -rf "$workdir"' EXIT
subscriber=security@example.com
baseline="$workdir/mamori.yaml"
sed "s/^    subscriptions: \[\]\$/    subscriptions: [{protocol: email, endpoint: $subscriber}]/" baselines/standard.yaml >"$baseline"
grep -q "endpoint: $subscriber" "$baseline" || { echo "the standard baseline's alarm subscriptions line changed" >&2; exit 1; }

echo "== the project's network stack makes a VPC: two private subnets in two zones, a route table each (played on the emulator)"
python3 localstack/emulator.py project-vpc moto --endpoint "$endpoint" --account "$account" --region "$AWS_REGION"

echo "== mamori plan (exit 2: changes pending)"
status=0; "$mamori" plan --baseline "$baseline" --output text || status=$?
[ "$status" -eq 2 ] || { echo "plan exited $status, expected 2" >&2; exit 1; }

echo "== mamori apply --yes (exit 2: root MFA and MFA Delete on the audit bucket are root-only, manual steps; the alarm e-mail waits for its recipient; the default network ACL lets the internet in on SSH/RDP, detect-only)"
status=0; "$mamori" apply --yes --baseline "$baseline" --output text || status=$?
[ "$status" -eq 2 ] || { echo "apply exited $status, expected 2" >&2; exit 1; }

echo "== the root user's step: a temporary root access key, apply --mfa with it (mamori lifts the bucket's"
echo "   lock, turns MFA Delete on and locks it again; the emulator accepts any code), the key deleted"
root_key=$(python3 localstack/emulator.py root-console moto --endpoint "$endpoint" --account "$account" --access-key true \
    | sed -n 's/^access_key_id=//p')
AWS_ACCESS_KEY_ID="$root_key" "$mamori" apply --yes --baseline "$baseline" --only logs.bucket-mfa-delete \
    --mfa "arn:aws:iam::$account:mfa/root-account-mfa-device 123456" --output text
python3 localstack/emulator.py root-console moto --endpoint "$endpoint" --account "$account" --access-key false

echo "== the root user enrols an MFA device in the console (AWS has no API for it; played on the emulator)"
python3 localstack/emulator.py root-console moto --endpoint "$endpoint" --account "$account" --mfa virtual

echo "== the subscriber confirms the alarm e-mail (SNS sends a link; played on the emulator)"
python3 localstack/emulator.py confirm-subscription moto --endpoint "$endpoint" --account "$account" \
    --topic-arn "arn:aws:sns:us-east-1:$account:mamori-security-alarms" --subscriber "$subscriber"

echo "== the network team closes SSH and RDP from the internet in the network ACLs (strict's opt-in: deny entries just ahead of the open one)"
"$mamori" apply --yes --baseline baselines/strict.yaml --only vpc.nacl-admin-ports --output text

echo "== mamori verify (exit 0: compliant)"
"$mamori" verify --baseline "$baseline" --output text
