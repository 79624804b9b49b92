"""Benchmark: the studio's scenario gate — every shipped scenario against a set of diagrams, as a process owner
waits for it when a draft is checked or deployed (issue 11; target of issue 14: the suite in <= 10 s).

Runs `engine.studio.versions.run_scenarios` (one throwaway SQLite database, the same code path as the studio and
`POST /api/processes/deploy`) on the files of processes/ and the scenarios of tests/scenarios/, and prints the
wall time of the whole suite and per scenario.

    .venv/bin/python bench/scenario_gate.py [--runs N]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.diagrams import read_directory  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.studio.versions import run_scenarios  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    files = read_directory(ROOT / "processes")
    scenarios = {path.name: json.loads(path.read_text(encoding="utf-8"))
                 for path in sorted((ROOT / "tests" / "scenarios").glob("*.json"))}
    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        results = run_scenarios(files, scenarios, Settings())
        walls.append(time.perf_counter() - started)
        failed = [name for name, result in results if not result.passed]
        if failed:
            raise SystemExit(f"scenarios failed: {failed}")
    median = statistics.median(walls)
    print(f"scenarios: {len(scenarios)} (all passed)")
    print(f"suite wall time: median {median:.2f} s  (runs: {', '.join(f'{w:.2f}' for w in walls)})")
    print(f"per scenario: {1000 * median / len(scenarios):.0f} ms")


if __name__ == "__main__":
    main()
