#!/usr/bin/env bash
# Install everything and run the whole test suite (SQLite, PostgreSQL at 127.0.0.1:5432, Redis at
# 127.0.0.1:6379, headless Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh
exec .venv/bin/python -m pytest "$@"
