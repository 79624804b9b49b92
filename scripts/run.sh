#!/usr/bin/env bash
# Install and start the product: web app + in-process timers on the embedded SQLite default,
# seeded with demo users and a demo case. Open http://127.0.0.1:5000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
meldcode db upgrade
meldcode deploy processes/ --by setup --scenarios tests/scenarios
exec meldcode run "$@"
