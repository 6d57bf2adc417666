#!/usr/bin/env bash
# `make dev-all`: migrate once, then run the API and a worker together; Ctrl-C stops both.
set -euo pipefail
run=("$@")  # the command prefix, e.g. `uv run --frozen`
"${run[@]}" python -m app.cli db-upgrade
"${run[@]}" python -m app.cli serve &
api=$!
"${run[@]}" python -m app.cli worker &
worker=$!
stop() { kill -TERM "$api" "$worker" 2>/dev/null || true; wait "$api" "$worker" 2>/dev/null || true; }
trap stop INT TERM EXIT
wait -n "$api" "$worker"
