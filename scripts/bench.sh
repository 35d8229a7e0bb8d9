#!/usr/bin/env bash
# Runs every benchmark in bench/ against the running services and prints their figures.
set -euo pipefail
cd "$(dirname "$0")/.."
source services/env.sh
for bench in bench/*.py; do
  echo "== $bench"
  .venv/bin/python "$bench"
done
