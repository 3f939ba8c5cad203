#!/usr/bin/env bash
# Every benchmark of docs/performance.md, one after the other, in the README's environment.
# About three hours on a 2-core CPU (memory.py at 2048 px alone takes 25 minutes,
# untrained.py about 75). ui_latency needs a display: it runs under xvfb-run.
set -euo pipefail
cd "$(dirname "$0")"
source ../.venv/bin/activate
python step_overhead.py
python precision.py
python sweep_vs_runs.py
python time_to_quality.py --size 512
python time_to_quality.py --init noise --scales 0.25,0.5,1 --coarse-steps 100
python winograd.py
python peer.py
python memory_modes.py
python memory_modes.py --size 1024
python memory.py
python untrained.py
python regions.py
python frames.py
python cluster.py
python malloc.py
python estimate.py
xvfb-run -a python ui_latency.py
xvfb-run -a -s "-screen 0 1600x1000x24" python preview.py
xvfb-run -a -s "-screen 0 1600x1000x24" python napari_speed.py
xvfb-run -a -s "-screen 0 1600x1000x24" python napari_memory.py
