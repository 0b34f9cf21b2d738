#!/usr/bin/env bash
# Runs every test: unit tests and the end-to-end suite against moto server (the HTML report in
# headless Chromium, installed from Debian's packages on first use), then the control,
# guard, audit-trail, IAM-hygiene, VPC (endpoints, endpoint-only buckets, restricted egress, network
# ACLs, the VPC endpoint rules of the emulator shims),
# CLI-contract and fresh-root tests again against LocalStack (all but those that need the moto shim:
# the MFA Delete flow, since LocalStack never reports MFADelete, the root user's console steps and
# root access key, and the lock's Deny, which the shim enforces on moto only; and the break-glass
# role-path test, since the tests call LocalStack as the account root), and beside that LocalStack run
# the crash matrix on moto. Installs both emulators
# (pinned, into the ignored .venv/) on first use; each test binary starts and stops its own emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 localstack/emulator.py install moto >/dev/null
python3 localstack/emulator.py install localstack >/dev/null
# Headless Chromium renders the HTML report in its test (Debian's package; nothing else is fetched).
if ! command -v chromium >/dev/null 2>&1; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/dev/null 2>&1 ||
        { echo "scripts/test.sh: could not install chromium (apt-get install -y chromium), which the HTML report test needs" >&2; exit 1; }
fi

cargo test --locked
# The crash matrix (an apply SIGKILLed after its k-th write, then applied again, for every k) runs
# on moto beside the LocalStack run.
MAMORI_CRASH_MATRIX=full cargo test --locked --test it -- --ignored crash:: &
crash_matrix=$!
trap 'kill "$crash_matrix" 2>/dev/null || true' EXIT
MAMORI_TEST_ENGINE=localstack cargo test --locked --test it -- controls:: guard:: cli::exit_codes logs:: iam_hygiene:: vpc:: vpc_egress:: vpc_nacl:: vpc_emulator_rules:: \
    root::a_fresh_root_user_needs_mfa_and_apply_never_writes \
    exceptions::an_accepted_risk_is_excepted_and_apply_leaves_it_exactly_as_it_was \
    --skip logs::mfa_delete_is_turned_on_in_the_root_users_step_through_the_lock \
    --skip logs::an_account_hardened_by_an_earlier_release_reaches_mfa_delete_without_losing_data \
    --skip vpc::break_glass_principals_are_compared_with_the_callers_role_path
wait "$crash_matrix"
