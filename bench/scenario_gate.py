"""Benchmark: the studio's scenario gate — every shipped scenario against a set of diagrams, as a process owner
waits for it when a draft is checked or deployed (issue 14: the suite in <= 10 s, >= 200 completions/s).

Prints, in the same run, for the files of processes/ and the scenarios of tests/scenarios/:
- before: the scenario runner as it was before issue 14 (engine/scenarios.py at commit BEFORE, read from git),
  one process, a temporary SQLite file migrated per run, an audited task view per form;
- one process: `engine.scenarios.run_suite(..., processes=1)` (a migrated SQLite copied per run, in shared
  memory without fsync, forms read from the process version);
- parallel: `run_suite` with one worker process per core (the studio's and the deploy gate's path), the first
  suite of this process (its fork server starts and imports the engine) and the next ones (workers forked from
  that server); and the first suite of a fresh process (a web worker's first check of a draft), as it was and
  with the draft page opened 2 s before (the studio then starts the fork server: `prepare_workers`).
Each with the suite's wall time and the task completions per second of replay.

    .venv/bin/python bench/scenario_gate.py [--runs N] [--processes N] [--skip-before]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.diagrams import read_directory  # noqa: E402
from engine.scenarios import prepare_workers, run_suite, suite_processes  # noqa: E402
from engine.settings import Settings  # noqa: E402

BEFORE = "b49f241"  # the last commit with the scenario runner as it was before issue 14


def runner_before():
    """engine/scenarios.py as of BEFORE, imported as a module of the engine package (same engine code)."""
    source = subprocess.run(["git", "show", f"{BEFORE}:engine/scenarios.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("engine._scenarios_before", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "engine"
    module.__file__ = str(ROOT / "engine" / "scenarios.py")  # it finds engine/schemas/ from there
    sys.modules[spec.name] = module  # (dataclasses look their module up)
    exec(compile(source, f"{BEFORE}:engine/scenarios.py", "exec"), module.__dict__)  # noqa: S102 - our own file
    return module


def completions(results) -> int:
    return sum(getattr(result, "completed_tasks", 0) for _, result in results)


def run_before(module, files, scenarios):
    with module.ThrowawayEngine(settings=Settings(), files=files) as engine:
        results = [(name, module.run_scenario(engine, scenario, client_ref=f"BEFORE-{n:04d}"))
                   for n, (name, scenario) in enumerate(scenarios, 1)]
    return results


def timed(f, runs: int):
    walls, results = [], None
    for _ in range(runs):
        started = time.perf_counter()
        results = f()
        walls.append(time.perf_counter() - started)
        failed = [name for name, result in results if not result.passed]
        if failed:
            raise SystemExit(f"scenarios failed: {failed}")
    return statistics.median(walls), results


def first_suite_in_a_new_process(processes: int, prepared: bool) -> float:
    """The wall time of the first parallel suite of a fresh process, as a web worker's first check of a draft;
    `prepared`: the draft page was opened 2 s before (engine/scenarios.py `prepare_workers`)."""
    command = [sys.executable, __file__, "--child-first", str(processes)] + (["--prepared"] if prepared else [])
    output = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True).stdout
    return float(output.strip().splitlines()[-1])


def child_first(files, scenarios, processes: int, prepared: bool) -> None:
    if prepared:
        os.environ["MELDCODE_SCENARIO_PROCESSES"] = str(processes)
        assert prepare_workers(len(scenarios))
        time.sleep(2)  # the process owner reads the draft before asking for its check
    started = time.perf_counter()
    results = run_suite(files, scenarios, Settings(), processes=processes)
    assert all(result.passed for _, result in results)
    print(time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--processes", type=int, default=None, help="parallel run (default: one per core)")
    parser.add_argument("--skip-before", action="store_true", help="leave out the runner of before issue 14")
    parser.add_argument("--child-first", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--prepared", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    files = read_directory(ROOT / "processes")
    scenarios = [(path.name, json.loads(path.read_text(encoding="utf-8")))
                 for path in sorted((ROOT / "tests" / "scenarios").glob("*.json"))]
    if args.child_first:
        return child_first(files, scenarios, args.child_first, args.prepared)
    rows = []
    one_wall, one_results = timed(lambda: run_suite(files, scenarios, Settings(), processes=1), args.runs)
    done = completions(one_results)
    if not args.skip_before:
        module = runner_before()
        before_wall, _ = timed(lambda: run_before(module, files, scenarios), args.runs)
        rows.append(("before issue 14 (1 process)", before_wall))
    rows.append(("run_suite, 1 process", one_wall))
    processes = args.processes or suite_processes(len(scenarios))
    # The first parallel suite of a process also starts its fork server (engine/scenarios.py `_pool_context`),
    # which imports the engine once; every later suite forks its workers from it, as the studio's gate does
    # from the second check on.
    cold_wall, _ = timed(lambda: run_suite(files, scenarios, Settings(), processes=processes), 1)
    rows.append((f"run_suite, {processes} processes, first", cold_wall))
    # The same first suite in a fresh process (a web worker's first check), without and with the draft page's
    # preparation (the studio starts the fork server when a draft is opened).
    rows.append(("  fresh process, first check", statistics.median(
        first_suite_in_a_new_process(processes, False) for _ in range(args.runs))))
    rows.append(("  fresh process, draft opened 2 s before", statistics.median(
        first_suite_in_a_new_process(processes, True) for _ in range(args.runs))))
    par_wall, _ = timed(lambda: run_suite(files, scenarios, Settings(), processes=processes), args.runs)
    rows.append((f"run_suite, {processes} processes, next", par_wall))
    print(f"{len(scenarios)} scenarios (all passed), {done} task completions; cores: {os.cpu_count()}; "
          f"median of {args.runs} run(s)")
    print(f"{'runner':42}{'suite s':>9}{'completions/s':>15}{'ms/scenario':>13}")
    for name, wall in rows:
        print(f"{name:42}{wall:>9.2f}{done / wall:>15.0f}{1000 * wall / len(scenarios):>13.0f}")
    print("targets (issue 14): suite <= 10 s, >= 200 completions/s")


if __name__ == "__main__":
    main()
