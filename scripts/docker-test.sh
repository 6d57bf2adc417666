#!/usr/bin/env bash
# `make docker-test`: build the image with podman and smoke-run it (scripts/docker_smoke.py):
# migrations by the migrate step, the API answering /health, a job run by the worker.
# How containers run on this machine kind (no Docker Hub, chroot builds, runc) is in DESIGN.md.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-localhost/campaign-platform:test}
UV=$(scripts/ensure-uv.sh)

missing=()
for tool in podman debootstrap runc; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
# The smoke's PostgreSQL is the machine's (Debian's), reached over TCP with passwords.
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
if ((${#missing[@]})); then
  echo "docker-test: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# crun fails on setrlimit here, and there is no systemd: runc, cgroupfs, no default ulimits.
CONTAINERS_CONF=$(mktemp /tmp/cp-containers-XXXXXX.conf)
trap 'rm -f "$CONTAINERS_CONF"' EXIT
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
export CONTAINERS_CONF

scripts/docker-base.sh
echo "docker-test: building $IMAGE"
started=$SECONDS
# The machine's CA bundle, for a TLS-intercepting proxy in front of PyPI (used by the downloads only).
ca=()
[ -f /etc/ssl/certs/ca-certificates.crt ] && ca=(-v /etc/ssl/certs:/build-ca:ro --build-arg CA_BUNDLE=/build-ca/ca-certificates.crt)
podman build --isolation=chroot --format docker --pull=never "${ca[@]}" -t "$IMAGE" . >/tmp/cp-docker-build.log 2>&1 \
  || { tail -n 40 /tmp/cp-docker-build.log; exit 1; }
echo "docker-test: built in $((SECONDS - started)) s ($(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
"$UV" run --frozen python scripts/docker_smoke.py "$IMAGE"
