"""Benchmark: the cost of completing one task as a case's loop history grows.

For the `lus` test diagram (one user task in a loop) it prints, after 1, 10, 100
and 1,000 loop iterations, the median wall time of one completion through the
engine (load, validate, run, compact, save, audit, commit) and the stored case
size and the round trips to the database per completion (statements, BEGIN, COMMIT), next to the bare
SpiffWorkflow cost of the same step in the same run
(run the task, do_engine_steps, serialize_json; no database), and their ratio.

    .venv/bin/python bench/loop_completion.py [--database-url URL] [--samples N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer  # noqa: E402
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser  # noqa: E402
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from sqlalchemy import event  # noqa: E402

from engine.cases import Actor, CaseEngine  # noqa: E402
from engine.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from engine.models import Case  # noqa: E402
from engine.settings import Settings  # noqa: E402

DIAGRAMS = ROOT / "tests" / "engine" / "diagrams"
CHECKPOINTS = (1, 10, 100, 1000)
ACTOR = Actor("bench", frozenset({"professional"}), team="bench")


def bare_costs(samples: int) -> dict[int, tuple[float | None, int | None, str]]:
    """Median ms of one completion + serialize_json in plain SpiffWorkflow, per checkpoint."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAMS / "lus.bpmn"))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    workflow = BpmnWorkflow(parser.get_spec("lus"))
    workflow.do_engine_steps()
    results, done = {}, 0
    for checkpoint in CHECKPOINTS:
        timings, size, note = [], None, ""
        try:
            while done < checkpoint + samples:
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                if not ready:
                    raise RuntimeError(f"no ready task after {done} rounds (workflow reports "
                                       f"completed={workflow.is_completed()})")
                started = time.perf_counter()
                ready[0].data["duurzame_veiligheid"] = False
                ready[0].run()
                workflow.do_engine_steps()
                state = serializer.serialize_json(workflow)
                elapsed = time.perf_counter() - started
                done += 1
                if done > checkpoint:
                    timings.append(elapsed * 1000)
                    size = len(state)
        except (RecursionError, RuntimeError) as exc:
            note = f"fails: {type(exc).__name__}: {str(exc)[:80]}"
        results[checkpoint] = (statistics.median(timings) if timings else None, size, note)
        if note:
            for later in CHECKPOINTS[CHECKPOINTS.index(checkpoint) + 1:]:
                results[later] = (None, None, note)
            break
    return results


def engine_costs(url: str, samples: int) -> dict[int, tuple[float, int]]:
    drop = None
    if url.startswith("postgresql"):
        url, drop = _fresh_schema(url)
    db = make_engine(url)
    upgrade(db)
    engine = CaseEngine(make_sessionmaker(db), Settings(database_url=url))
    engine.deploy_directory(DIAGRAMS, "bench")
    case_id = engine.start_case("lus", "BENCH-1", ACTOR)
    statements = []
    event.listen(db, "before_cursor_execute", lambda *args: statements.append(1))
    # A round trip the driver makes without a statement of ours: BEGIN/COMMIT (and pre-ping on PostgreSQL)
    event.listen(db, "begin", lambda conn: statements.append(1))
    event.listen(db, "commit", lambda conn: statements.append(1))
    results, done = {}, 0
    for checkpoint in CHECKPOINTS:
        timings, trips = [], []
        while done < checkpoint + samples:
            task = engine.open_tasks(case_id=case_id)[0]
            statements.clear()
            started = time.perf_counter()
            engine.complete_task(task.id, ACTOR, {"duurzame_veiligheid": False})
            elapsed = time.perf_counter() - started
            trips.append(len(statements))
            done += 1
            if done > checkpoint:
                timings.append(elapsed * 1000)
        with engine.sessions() as session:
            size = len(session.get(Case, case_id).state)
        results[checkpoint] = (statistics.median(timings), size, statistics.median(trips))
    db.dispose()
    if drop:
        drop()
    return results


def _fresh_schema(url: str) -> str:
    """A new schema in the given PostgreSQL database, so the benchmark never touches real data."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{int(time.time())}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()

    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}", drop


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--samples", type=int, default=25, help="completions measured per checkpoint")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        ours = engine_costs(url, args.samples)
        bare = bare_costs(args.samples)
    print(f"database: {url.split('@')[-1] if args.database_url else 'temporary SQLite file'}; "
          f"{args.samples} completions per checkpoint (median)")
    print(f"{'iterations':>10} | {'engine ms':>9} | {'stored bytes':>12} | {'bare ms':>8} | {'bare JSON bytes':>15} | "
          f"{'ratio':>6} | {'round trips':>11}")
    for checkpoint in CHECKPOINTS:
        ms, size, trips = ours[checkpoint]
        bare_ms, bare_size, note = bare[checkpoint]
        ratio = f"{ms / bare_ms:6.1f}" if bare_ms else "   n/a"
        bare_txt = f"{bare_ms:8.2f}" if bare_ms else "     n/a"
        bare_size_txt = f"{bare_size:15d}" if bare_size else "            n/a"
        print(f"{checkpoint:>10} | {ms:9.2f} | {size:12d} | {bare_txt} | {bare_size_txt} | {ratio} | "
              f"{trips:>11.0f} {note}")


if __name__ == "__main__":
    main()
