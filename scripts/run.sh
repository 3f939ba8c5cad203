#!/usr/bin/env bash
# Sets up (scripts/setup.sh), then runs the main job: with a display, napari opens with the
# plugin docked and sample images loaded; without one, the same three experiments run
# headless and write their results to ./results.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m napari_neural_style.demo "$@"
