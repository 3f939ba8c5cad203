#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs every check: ruff, npe2 validate, the CI workflow's
# linters, the distributions built and installed as users get them
# (scripts/check_distribution.sh), and the test suite under a virtual X server (napari needs
# a real one to draw image layers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
echo "== ruff check"
ruff check src tests benchmarks scripts
echo "== npe2 validate (editable install)"
npe2 validate napari-neural-style
echo "== GitHub Actions workflow (check-jsonschema, zizmor)"
check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
zizmor --offline --quiet --config .github/zizmor.yml .github/workflows/
bash scripts/check_distribution.sh
echo "== pytest"
xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest "$@"
