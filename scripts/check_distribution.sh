#!/usr/bin/env bash
# The package as users get it: builds the sdist, and the wheel from the sdist (python -m build),
# checks both (twine check --strict, npe2 validate on the wheel's manifest), then installs the
# wheel as napari's plugin manager does: no extras, no editable install, into a fresh
# virtualenv that holds only napari and a Qt binding; there docks every widget and runs a tiny
# transfer in napari and on the installed command line (scripts/smoke_installed.py, under
# Xvfb). Run from .venv (scripts/test.sh does). Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== build: sdist, and the wheel from it"
python -m build -q --outdir "$work/dist" . >"$work/build.log" 2>&1 || {
  cat "$work/build.log"
  exit 1
}
ls "$work/dist"
python -m pip wheel -q --no-deps --no-build-isolation -w "$work/direct" . 2>&1 |
  grep -v "^WARNING: Location" || true
python - "$work"/dist/*.whl "$work"/direct/*.whl <<'PY'
import sys, zipfile
from_sdist, direct = (zipfile.ZipFile(path) for path in sys.argv[1:])
if {n: from_sdist.read(n) for n in from_sdist.namelist()} != {n: direct.read(n) for n in direct.namelist()}:
    sys.exit("the wheel built from the sdist differs from the one built from the source tree")
print(f"the sdist builds the same wheel ({len(direct.namelist())} files)")
PY
python -m twine check --strict "$work"/dist/*
python -m zipfile -e "$work"/dist/*.whl "$work/unpacked"
npe2 validate "$work/unpacked/napari_neural_style/napari.yaml"

echo "== install: the wheel in a virtualenv with napari and PyQt6 only"
python -m venv "$work/env"
"$work/env/bin/python" -m pip install -q --upgrade "pip>=25.1"
"$work/env/bin/python" -m pip install -q napari PyQt6 2>&1 | grep -v "^WARNING: Location" || true
"$work/env/bin/python" -m pip install -q "$work"/dist/*.whl 2>&1 | grep -v "^WARNING: Location" || true
"$work/env/bin/npe2" validate napari-neural-style
# outside the source tree, so that nothing is imported from src/
(cd "$work" && xvfb-run -a -s "-screen 0 1280x1024x24" "$work/env/bin/python" \
  "$OLDPWD/scripts/smoke_installed.py")
