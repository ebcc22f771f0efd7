#!/usr/bin/env bash
# Makes the checkout's Python environment: .venv/ (or $ALLOCMON_VENV) with the pinned requirements.txt. Every
# Python test, the demos, the TUI workload and CI run .venv/bin/python. Idempotent: a venv whose requirements
# are already installed is left as it is (a stamp holds the hash of requirements.txt).
# The interpreter that makes it: $ALLOCMON_PYTHON, else python3 on PATH (3.9 or newer, with venv).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${ALLOCMON_VENV:-.venv}
base=${ALLOCMON_PYTHON:-python3}
want=$(sha256sum requirements.txt | cut -d' ' -f1)
stamp=$venv/.allocmon-requirements
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  if ! "$base" -m venv "$venv"; then
    echo "python-env: '$base -m venv $venv' failed: install python3-venv (Debian) or set ALLOCMON_PYTHON" >&2
    exit 1
  fi
fi
echo "python-env: installing requirements.txt into $venv ($("$venv/bin/python" --version))"
# pip's own progress is noise here; its errors are not.
"$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt 2> >(grep -v "^WARNING: Location" >&2)
echo "$want" >"$stamp"
