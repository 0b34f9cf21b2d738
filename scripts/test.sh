#!/usr/bin/env bash
# Runs every test: unit tests and the end-to-end suite against moto server, then the control,
# guard, CLI-contract and VPC tests again against LocalStack. Installs both emulators (pinned, into the
# ignored .venv/) on first use; each test binary starts and stops its own emulator.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 localstack/emulator.py install moto >/dev/null
python3 localstack/emulator.py install localstack >/dev/null

cargo test --locked
MAMORI_TEST_ENGINE=localstack cargo test --locked --test it -- controls:: guard:: cli::exit_codes vpc::
