#!/usr/bin/env bash
# Runs the whole test suite (module unit tests and end-to-end tests) against the running
# services; `make test` starts them first. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
source services/env.sh
exec .venv/bin/python -m pytest "$@"
