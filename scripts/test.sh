#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs every check: ruff, npe2 validate, and the test suite
# under a virtual X server (napari needs a real one to draw image layers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source .venv/bin/activate
echo "== ruff check"
ruff check src tests benchmarks scripts
echo "== npe2 validate (editable install)"
npe2 validate napari-neural-style
echo "== npe2 validate (built wheel)"
wheel_dir=$(mktemp -d)
python -m pip wheel -q --no-deps -w "$wheel_dir" . 2>&1 | grep -v "WARNING: Location" || true
python -m zipfile -e "$wheel_dir"/*.whl "$wheel_dir/unpacked"
npe2 validate "$wheel_dir/unpacked/napari_neural_style/napari.yaml"
grep -q "napari_neural_style:napari.yaml" "$wheel_dir"/unpacked/*.dist-info/entry_points.txt
rm -rf "$wheel_dir"
echo "== pytest"
xvfb-run -a -s "-screen 0 1280x1024x24" python -m pytest "$@"
