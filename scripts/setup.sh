#!/usr/bin/env bash
# Sets up everything on a fresh Debian machine (run as root): Debian packages (Python venv,
# Xvfb and Mesa for napari), a virtualenv in .venv with PyTorch, napari and the project.
# Safe to run again: it skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(python3 python3-venv python3-pip xvfb xauth libgl1 libegl1 libgl1-mesa-dri
  libxkbcommon-x11-0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
  libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0
  libdbus-1-3 libfontconfig1)
# PyTorch pinned to the build this machine keeps on disk; pyproject allows any torch >= 2.2.
TORCH=(torch==2.14.1 torchvision==0.29.1)
TORCH_NEEDS_MB=6500

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  missing=()
  for package in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" ||
      missing+=("$package")
  done
  # python3/python3-venv only matter when no working python3 with venv is on the PATH.
  if python3 -m venv --help >/dev/null 2>&1; then
    missing=("${missing[@]/#python3*/}")
  fi
  read -r -a missing <<<"${missing[*]}"
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade "pip>=25.1"
if ! .venv/bin/python -c "import torch, torchvision" 2>/dev/null; then
  # PyPI's Linux build carries CUDA: 5.5 GB in the venv. Say so before pip runs out of disk.
  free_mb=$(df --output=avail -m .venv | tail -1)
  if [ "$free_mb" -lt "$TORCH_NEEDS_MB" ]; then
    echo "setup: ${TORCH[*]} needs about $TORCH_NEEDS_MB MB in .venv, and $free_mb MB are free" \
      "on its disk: free some space, or install a CPU build of torch and torchvision into .venv" \
      "first (setup keeps any that imports)" >&2
    exit 1
  fi
  echo "setup: installing ${TORCH[*]}"
  .venv/bin/python -m pip install -q "${TORCH[@]}"
fi
.venv/bin/python -m pip install -q -e ".[napari,cluster]" --group test
# the peer of benchmarks/peer.py, without its own (unpinned) torch
.venv/bin/python -m pip install -q --no-deps --group bench
echo "setup: ready (.venv)"
