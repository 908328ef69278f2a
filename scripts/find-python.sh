#!/usr/bin/env bash
# Prints the path of a working Python >= 3.12 (PySide6 6.12 is unsafe on 3.11): $PYTHON if set,
# then python3.12/python3.13 on PATH, then pyenv's installs (whose shims may be inactive).
set -u
candidates=("${PYTHON:-}" python3.12 python3.13 python3
  "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12
  "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /usr/bin/python3.12 /usr/bin/python3.13)
for c in "${candidates[@]}"; do
  [ -n "$c" ] || continue
  if "$c" -c 'import sys, venv; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then
    command -v "$c" 2>/dev/null || echo "$c"
    exit 0
  fi
done
echo "No Python >= 3.12 found. Install python3.12 (and python3.12-venv) or set PYTHON=/path/to/python3.12." >&2
exit 1
