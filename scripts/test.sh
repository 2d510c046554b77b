#!/usr/bin/env bash
# Set up, then run every check: ruff, mypy and the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check server plugins tests benchmarks scripts
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
