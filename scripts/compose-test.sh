#!/usr/bin/env bash
# `make compose-test`: bring docker-compose.yml itself up with podman-compose (db, migrate, api,
# worker, the dev SMTP sink) and check it as an operator would (scripts/compose_smoke.py).
# podman-compose runs from a throwaway tool environment (`uv tool run`), never the project's.
set -euo pipefail
cd "$(dirname "$0")/.."
export IMAGE=${IMAGE:-localhost/campaign-platform:test}
export POSTGRES_IMAGE=${POSTGRES_IMAGE:-localhost/campaign-postgres:15}
PODMAN_COMPOSE_VERSION=1.6.0
UV=$(scripts/ensure-uv.sh)

source scripts/docker-env.sh
ensure_packages podman debootstrap runc netavark aardvark-dns
scripts/docker-base.sh
build_image "$IMAGE" .
build_image "$POSTGRES_IMAGE" -f scripts/compose/postgres.Containerfile scripts/compose
export COMPOSE="$UV tool run --from podman-compose==$PODMAN_COMPOSE_VERSION podman-compose"
$COMPOSE --version >/dev/null  # installs it into uv's tool cache once, before the timed steps
"$UV" run --frozen python scripts/compose_smoke.py
