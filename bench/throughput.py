"""Benchmark: sustained task completions per second on PostgreSQL, direct (engine calls), with no lost update.

P processes (default: 1, 2 and 4), each with its own CaseEngine, complete tasks of the `lus` test diagram (one
user task in a loop) for `--seconds`, each on its own cases; then a contended round in which every process
completes the open task of the SAME few cases (optimistic lock: a lost race is refused with a conflict, never
written twice). Afterwards the database must hold exactly as many completed task rows and `task.complete` audit
events as completions succeeded (no lost update), and the audit chain must verify.

    .venv/bin/python bench/throughput.py [--database-url URL] [--seconds S] [--processes 1,2,4]

(Over HTTP with gunicorn — issue 14's second throughput figure — see bench/http_throughput.py.)
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench.throwaway import postgres_schema  # noqa: E402
from engine import audit_chain  # noqa: E402
from engine.cases import Actor, CaseEngine  # noqa: E402
from engine.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from engine.errors import EngineError  # noqa: E402
from engine.models import AuditEvent, CaseTask  # noqa: E402
from engine.settings import Settings  # noqa: E402

DIAGRAMS = ROOT / "tests" / "engine" / "diagrams"
ACTOR = Actor("bench", frozenset({"professional"}), team="bench")
ANSWER = {"duurzame_veiligheid": False}


def _engine(url: str) -> tuple[CaseEngine, object]:
    db = make_engine(url)
    return CaseEngine(make_sessionmaker(db), Settings(database_url=url)), db


def worker(url: str, case_ids: list[int], seconds: float, queue) -> None:
    engine, db = _engine(url)
    done = refused = 0
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        case_id = case_ids[i % len(case_ids)]
        i += 1
        tasks = engine.open_tasks(case_id=case_id)
        if not tasks:
            continue
        try:
            engine.complete_task(tasks[0].id, ACTOR, ANSWER)
            done += 1
        except EngineError:  # a conflict (another process completed it first) or the task is no longer open
            refused += 1
    db.dispose()
    queue.put((done, refused))


def run(url: str, processes: int, seconds: float, cases_per_process: int, shared: list[int] | None):
    engine, db = _engine(url)
    if shared is None:
        groups = [[engine.start_case("lus", f"T-{processes}-{p}-{c}", ACTOR) for c in range(cases_per_process)]
                  for p in range(processes)]
    else:
        groups = [shared] * processes
    db.dispose()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    procs = [context.Process(target=worker, args=(url, group, seconds, queue)) for group in groups]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    for proc in procs:
        proc.join()
    elapsed = time.perf_counter() - started
    return sum(r[0] for r in results), sum(r[1] for r in results), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", default="1,2,4")
    args = parser.parse_args()
    with postgres_schema(args.database_url) as url:
        db = make_engine(url)
        upgrade(db)
        engine = CaseEngine(make_sessionmaker(db), Settings(database_url=url))
        engine.deploy_directory(DIAGRAMS, "bench")
        total = 0
        print(f"direct completions on PostgreSQL, {args.seconds:.0f} s each (wall time includes process start)")
        for p in (int(x) for x in args.processes.split(",")):
            done, refused, elapsed = run(url, p, args.seconds, 20, None)
            total += done
            print(f"  {p} process(es), own cases:    {done / args.seconds:6.0f} completions/s "
                  f"({done} done, {refused} refused)")
        shared = [engine.start_case("lus", f"SHARED-{c}", ACTOR) for c in range(3)]
        p = max(int(x) for x in args.processes.split(","))
        done, refused, _ = run(url, p, args.seconds, 0, shared)
        total += done
        print(f"  {p} process(es), 3 shared cases: {done / args.seconds:6.0f} completions/s "
              f"({done} done, {refused} refused as conflicts)")
        with engine.sessions() as session:
            rows = session.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.state == "completed"))
            events = session.scalar(select(func.count()).select_from(AuditEvent)
                                    .where(AuditEvent.action == "task.complete", AuditEvent.outcome == "success"))
            chain = audit_chain.verify(session)
        print(f"no lost update: {total} completions, {rows} completed task rows, {events} task.complete events "
              f"-> {'OK' if total == rows == events else 'MISMATCH'}; audit chain "
              f"{'verifies' if chain.ok else 'BROKEN'}")
        db.dispose()


if __name__ == "__main__":
    main()
