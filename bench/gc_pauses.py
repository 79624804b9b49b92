"""Benchmark: the garbage collector's full passes in a serving process, with and without its start-up objects frozen.

A web process holds about 180,000 objects from its start-up (modules, functions, the app, SQLAlchemy's mappings).
A full pass of the collector (its oldest generation) walks all of them and lands on whichever request triggered
it. The servers freeze them before they serve (workers/long_lived.py). This bench runs the API's work in-process
(Flask test client, a throwaway PostgreSQL schema, the `lus` test diagram): `--pairs` times a task list
(`GET /api/tasks`) and a completion (`POST /api/tasks/<id>/complete`), in two fresh processes one after the other,
one as before (not frozen) and one as the servers now run. It prints the full passes and their longest pause,
the slowest and the p50/p99 of each request kind.

    .venv/bin/python bench/gc_pauses.py [--pairs 1500] [--rounds 2] [--database-url URL]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import http_throughput, throughput  # noqa: E402
from bench.collector import FullPasses  # noqa: E402
from bench.throwaway import database_parser, postgres_schema  # noqa: E402


def run(url: str, pairs: int, freeze: bool) -> dict:
    """The pairs in this process; `freeze` as the servers do before serving."""
    from engine.db import make_engine
    from engine.settings import Settings
    from web import create_app
    from web.settings import WebSettings
    from workers.long_lived import freeze_startup_objects

    [token] = http_throughput.seed(url, 1)
    db = make_engine(url)
    app = create_app({"MELDCODE_WEB_SETTINGS": WebSettings(secret_key="bench-" + "x" * 40,
                                                           session_cookie_secure=False, mfa_required=False),
                      "MELDCODE_ENGINE_SETTINGS": Settings(database_url=url, processes_dir=ROOT / "processes"),
                      "MELDCODE_DB_ENGINE": db})
    frozen = freeze_startup_objects() if freeze else 0
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    lists, completions = [], []
    with FullPasses() as passes:
        for _ in range(pairs):
            started = time.perf_counter()
            response = client.get("/api/tasks", headers=headers)
            lists.append((time.perf_counter() - started) * 1000)
            task_id = response.get_json()["tasks"][0]["id"]
            started = time.perf_counter()
            response = client.post(f"/api/tasks/{task_id}/complete", headers=headers,
                                   json={"data": throughput.ANSWER})
            completions.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.data
    db.dispose()
    return {"frozen": frozen, "pauses": passes.pauses, "lists": lists, "completions": completions}


def _in_process(database_url: str, pairs: int, freeze: bool) -> dict:
    with postgres_schema(database_url) as url:
        command = [sys.executable, str(Path(__file__).resolve()), "--database-url", database_url, "--pairs",
                   str(pairs), "--child", url] + (["--freeze"] if freeze else [])
        out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "MELDCODE_MFA_REQUIRED": "0"}).stdout
    return json.loads(out.strip().splitlines()[-1])


def _figures(ms: list[float]) -> str:
    cuts = statistics.quantiles(ms, n=100, method="inclusive")  # never above the slowest
    return f"p50 {statistics.median(ms):5.1f}  p99 {cuts[98]:6.1f}  max {max(ms):6.1f}"


def main() -> None:
    parser = database_parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--pairs", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--freeze", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.pairs, args.freeze)))
        return
    print(f"{args.pairs} task lists and completions per process, in-process over the API, PostgreSQL; ms")
    for round_ in range(1, args.rounds + 1):
        for freeze in (False, True):
            found = _in_process(args.database_url, args.pairs, freeze)
            label = f"frozen ({found['frozen']:,} objects)" if freeze else "not frozen (before)"
            pauses = found["pauses"]
            longest = f"{max(pauses):.0f}" if pauses else "-"
            print(f"round {round_}  {label:28}  full passes {len(pauses)} (longest {longest} ms)")
            print(f"    task list   {_figures(found['lists'])}")
            print(f"    completion  {_figures(found['completions'])}")


if __name__ == "__main__":
    main()
