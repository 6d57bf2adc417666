# Sourced by scripts/docker-test.sh and scripts/compose-test.sh: podman and friends installed,
# podman configured for this machine kind, the base image, and `build_image`. How containers run
# here (no Docker Hub, chroot builds, runc, no systemd) is in DESIGN.md.

# Debian packages for the given names, installed when missing.
ensure_packages() {
  local missing=() package
  for package in "$@"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
  done
  if ((${#missing[@]})); then
    echo "$(basename "$0" .sh): installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# crun fails on setrlimit here, and there is no systemd: runc, cgroupfs, no default ulimits.
# netavark (with aardvark-dns) lets compose's services find each other by name.
CONTAINERS_CONF=$(mktemp /tmp/cp-containers-XXXXXX.conf)
trap 'rm -f "$CONTAINERS_CONF"' EXIT
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
CONF
export CONTAINERS_CONF

# build_image TAG [podman build arguments...]: a chroot build from the local base, its log in
# /tmp/cp-docker-build.log (the tail is shown when it fails).
build_image() {
  local tag=$1 started=$SECONDS ca=()
  shift
  # The machine's CA bundle, for a TLS-intercepting proxy in front of PyPI (used by the downloads only).
  [ -f /etc/ssl/certs/ca-certificates.crt ] \
    && ca=(-v /etc/ssl/certs:/build-ca:ro --build-arg CA_BUNDLE=/build-ca/ca-certificates.crt)
  echo "$(basename "$0" .sh): building $tag"
  podman build --isolation=chroot --format docker --pull=never "${ca[@]}" -t "$tag" "$@" >/tmp/cp-docker-build.log 2>&1 \
    || { tail -n 40 /tmp/cp-docker-build.log; exit 1; }
  echo "$(basename "$0" .sh): built $tag in $((SECONDS - started)) s" \
    "($(podman image inspect "$tag" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}'))"
}
