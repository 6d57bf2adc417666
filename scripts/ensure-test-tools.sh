#!/usr/bin/env bash
# What `make test` needs beyond Python for the TypeScript client, sign-in and browser tests:
# the npm packages of clients/typescript and tests/oidc_provider (from their lock files) and
# Chromium (Debian's package).
# Node.js itself comes from the system; without it those tests skip with a message.
# Set ENSURE_TEST_TOOLS=0 to skip this step.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${ENSURE_TEST_TOOLS:-1}" = 0 ] && exit 0

client=clients/typescript
if command -v npm >/dev/null 2>&1; then
  if [ ! -f "$client/node_modules/.package-lock.json" ] || [ "$client/package-lock.json" -nt "$client/node_modules/.package-lock.json" ]; then
    echo "installing the TypeScript client's npm packages (npm ci)"
    (cd "$client" && npm ci --no-audit --no-fund)
  fi
  provider=tests/oidc_provider
  if [ ! -f "$provider/node_modules/.package-lock.json" ] || [ "$provider/package-lock.json" -nt "$provider/node_modules/.package-lock.json" ]; then
    echo "installing the test OpenID provider's npm packages (npm ci)"
    (cd "$provider" && npm ci --no-audit --no-fund)
  fi
else
  echo "node/npm not found: the TypeScript client and sign-in tests will be skipped (install Node.js >= 20.19)" >&2
fi

chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Chromium for the browser test (apt-get install chromium)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    echo "no Chromium at $chromium: the browser test will be skipped (apt-get install chromium)" >&2
  fi
fi

# PgBouncer (Debian's) for tests/test_pgbouncer.py: transaction pooling in front of the test database.
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PgBouncer for the pooler test (apt-get install pgbouncer)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq pgbouncer >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq pgbouncer >/dev/null; }
    # The package starts a system service on its default port; the test runs its own.
    (command -v systemctl >/dev/null 2>&1 && systemctl disable --now pgbouncer >/dev/null 2>&1) || true
  else
    echo "no pgbouncer: the pooler test will be skipped (apt-get install pgbouncer)" >&2
  fi
fi
