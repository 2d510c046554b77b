#!/usr/bin/env bash
# Set up a virtual environment in .venv with skillsrv and its development tools.
# torch is installed first from constraints.txt: a bare `torch` requirement would otherwise pull
# several GB of CUDA packages on a machine with no torch yet.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt torch
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
