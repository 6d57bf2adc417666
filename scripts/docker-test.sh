#!/usr/bin/env bash
# `make docker-test`: build the image with podman and smoke-run it (scripts/docker_smoke.py):
# migrations by the migrate step, the API answering /health, a job run by the worker.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/campaign-platform:test}
UV=$(scripts/ensure-uv.sh)

# The smoke's PostgreSQL is the machine's (Debian's), reached over TCP with passwords.
packages=(podman debootstrap runc netavark aardvark-dns)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || packages+=(postgresql)
source scripts/docker-env.sh
ensure_packages "${packages[@]}"
scripts/docker-base.sh
build_image "$IMAGE" .
"$UV" run --frozen python scripts/docker_smoke.py "$IMAGE"
