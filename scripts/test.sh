#!/usr/bin/env bash
# Install everything and run the whole test suite (SQLite, PostgreSQL at 127.0.0.1:5432, Redis at
# 127.0.0.1:6379, headless Chromium). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
scripts/services.sh
# Lint first: a finding fails the run before the tests take their minutes (rules in pyproject.toml).
.venv/bin/ruff check .
# Types: mypy, strict on engine/ ([tool.mypy] in pyproject.toml).
.venv/bin/mypy
# Two processes (the machine has two cores), one test file per process at a time: each test has its own
# database schema, Redis queue and ports, so files do not see each other. PYTEST_WORKERS=0 runs in one process.
# Branch coverage of our three packages is reported; on a whole run (no arguments) it must not fall below the
# floor (COVERAGE_FLOOR, percent): the whole run's total (92.9 % on 2026-12-01) less about three.
# Warnings raised from our packages are errors ([tool.pytest.ini_options]).
# Scenario suites (the studio's deploy check) run in the test's own process: pytest already keeps both cores busy,
# and spawning a pool per deploy costs more than it saves here (tests/engine/test_scenarios.py covers the pool).
export MELDCODE_SCENARIO_PROCESSES="${MELDCODE_SCENARIO_PROCESSES:-1}"
floor=()
if [ $# -eq 0 ]; then
  floor=(--cov-fail-under="${COVERAGE_FLOOR:-90}")
fi
exec .venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile \
  --durations=25 --cov=engine --cov=web --cov=workers --cov-branch --cov-report=term "${floor[@]}" "$@"
