#!/usr/bin/env bash
# `make dev-all`: migrate once, then run the API and a worker together. Ctrl-C (or SIGTERM) stops
# both and exits 0; when one of them exits by itself (a crash, a busy port), the other is stopped
# and its exit status is ours.
set -uo pipefail
run=("$@")  # the command prefix, e.g. `uv run --frozen`
"${run[@]}" python -m app.cli db-upgrade || exit $?

children=()
stop() {
  trap '' INT TERM  # a second Ctrl-C while stopping must not orphan the children
  kill -TERM "${children[@]}" 2>/dev/null
  wait "${children[@]}" 2>/dev/null
}
trap 'stop; exit 0' INT TERM

# Without job control, bash starts background commands with SIGINT ignored; the children hear
# Ctrl-C through the TERM sent by `stop` (the worker also installs its own SIGINT handler).
"${run[@]}" python -m app.cli serve &
children+=($!)
"${run[@]}" python -m app.cli worker &
children+=($!)
wait -n "${children[@]}"
status=$?
stop
exit "$status"
