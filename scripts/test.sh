#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs every check: ruff, npe2 validate, and the test suite
# under a virtual X server (napari needs a real one to draw image layers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
echo "== ruff check"
ruff check src tests benchmarks scripts
echo "== npe2 validate"
npe2 validate napari-neural-style
echo "== pytest"
xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest "$@"
