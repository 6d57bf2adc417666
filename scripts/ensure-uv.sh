#!/usr/bin/env bash
# Print the path of a working `uv`, installing it from PyPI first when there is none.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
for candidate in "$(command -v uv 2>/dev/null || true)" "$HOME/.local/bin/uv" "$root/.tools/bin/uv"; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
echo "uv not found; installing it into $root/.tools" >&2
python3 -m venv "$root/.tools" >&2
"$root/.tools/bin/python" -m pip install --quiet --disable-pip-version-check uv >&2
echo "$root/.tools/bin/uv"
