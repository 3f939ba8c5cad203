#!/usr/bin/env bash
# The GPU figures of docs/performance.md in one run, for a machine with a CUDA GPU and this
# project importable (about four minutes on an H200): per-step time and step overhead at 512
# and 1024 px, fp32 / bf16 / fp16 at 1024 px, cuDNN's autotuner on / off at 512 px, and the
# 512 px time to quality (issue 15, goal 6) twice: with the reference computed in the same
# process, then read back, so the contender starts in a process that ran nothing before;
# last, tiled transfers at 8192 and 16384 px (2 steps each: seconds a step, CUDA memory),
# not yet timed on a GPU.
# Stops at once, saying so, where CUDA is not available.  The GPU tests are separate:
# python -m pytest tests/core/test_gpu.py
set -euo pipefail
cd "$(dirname "$0")"
python -c "import sys, torch; torch.cuda.is_available() or sys.exit('gpu.sh: no CUDA device')
print(torch.__version__, torch.cuda.get_device_name())"
python step_overhead.py --device cuda --size 512 --rounds 3 --steps 10
python step_overhead.py --device cuda --size 1024 --rounds 3 --steps 10
python precision.py --device cuda --size 1024 --steps 30
python cudnn_autotune.py --sizes 512
python time_to_quality.py --device cuda --size 512 --keep-reference=new
python time_to_quality.py --device cuda --size 512 --keep-reference
python tiling.py --parts memory --sizes 8192,16384 --steps 2 --tile auto --precision auto \
    --device cuda
