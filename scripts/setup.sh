#!/usr/bin/env bash
# Shared set-up: a virtualenv with the project, and the front-end packages from the npm registry.
# Usage: scripts/setup.sh [--test]   (--test also installs test tools and Debian's Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
if [ "${1:-}" = "--test" ]; then
  .venv/bin/python -m pip install --quiet -e ".[test]"
else
  .venv/bin/python -m pip install --quiet -e .
fi

if [ -f package-lock.json ]; then
  npm ci --silent --no-audit --no-fund
fi

if [ "${1:-}" = "--test" ] && ! command -v chromium >/dev/null 2>&1; then
  # Browser tests drive Debian's Chromium; Playwright never downloads a browser here.
  if [ "$(id -u)" = "0" ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libpango-1.0-0 libpangoft2-1.0-0 >/dev/null
  fi
fi
