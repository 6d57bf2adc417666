#!/usr/bin/env bash
# Builds the image's base (debian:bookworm-slim) locally when podman has none: Docker Hub is not
# reachable here, so debootstrap a minimal bookworm from the machine's Debian mirror and import it
# under the name the Dockerfile's FROM uses. Elsewhere the registry's image serves the same role.
set -euo pipefail
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/debian:bookworm-slim}
if podman image exists "$BASE_IMAGE"; then
  exit 0
fi
# The first non-security Debian mirror apt uses (deb822 `URIs:` or one-line `deb` entries).
mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
  | awk '/^URIs:/ {print $2} /^deb / {print ($2 ~ /^\[/) ? $3 : $2}' | grep -v security | grep '/debian' | head -n1 || true)
mirror=${DEBIAN_MIRROR:-${mirror:-http://deb.debian.org/debian}}
root=$(mktemp -d /tmp/cp-base-XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "docker-base: debootstrap bookworm from $mirror (a few minutes, once)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >/tmp/cp-debootstrap.log 2>&1 \
  || { tail -n 20 /tmp/cp-debootstrap.log; exit 1; }
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
echo "docker-base: imported $BASE_IMAGE"
