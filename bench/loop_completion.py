"""Benchmark: the cost of completing one task as a case's loop history grows.

For the `lus` test diagram (one user task in a loop) it prints, after 1, 10, 100
and 1,000 loop iterations, the median wall time of one completion through the
engine (load, validate, run, compact, save, audit, commit) with the CPU time this process spent on it (less
disturbed by other work on the machine; without the database server's share on PostgreSQL), the stored case
size and the round trips to the database per completion (statements, BEGIN, COMMIT), next to the bare
SpiffWorkflow cost of the same step in the same run
(run the task, do_engine_steps, serialize_json; no database), and their ratio.

The bare workflow is cut back to one pass of the loop after every step, untimed, as the engine does
(engine/runtime.py `_compact`), so both work on a task tree of the same size ("bare ms"); "bare+load ms" adds
what any stored workflow costs, restoring it from the previous step's JSON (deserialize_json). Uncut ("bare
uncut ms", the figure this benchmark printed before), SpiffWorkflow keeps every pass, its cost grows with them,
and after 250 passes (4 tasks each) its task iterator stops at depth 1000 (`TaskIterator(max_depth=1000)`): the
ready task is out of sight and the workflow reports itself completed, so that column ends there.

A second table gives the floor in the same run: the statements the engine sent for each completion, with their
parameters as the driver got them, sent again in a second database prepared alike through the bare driver (no
ORM, no SpiffWorkflow, no Python of ours; each statement must touch as many rows as it did for the engine), added
to the bare step with loading; and the least any stored completion must pay, one transaction that writes one row.
The engine's distance to the floor is what our own Python costs.

    .venv/bin/python bench/loop_completion.py [--database-url URL] [--samples N]
"""
from __future__ import annotations

import argparse
import copy
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def bare_costs(samples: int, compact: bool = True, load: bool = False
               ) -> dict[int, tuple[float | None, int | None, str]]:
    """Median ms of one completion + serialize_json in plain SpiffWorkflow, per checkpoint; with `load`, the
    step also starts from the JSON of the previous one (deserialize_json), as a stored workflow must."""
    parser = SpiffBpmnParser(validator=VALIDATOR)
    parser.add_bpmn_file(str(DIAGRAMS / "lus.bpmn"))
    serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
    workflow = BpmnWorkflow(parser.get_spec("lus"))
    workflow.do_engine_steps()
    state = serializer.serialize_json(workflow)
    results, done = {}, 0
    for checkpoint in CHECKPOINTS:
        timings, size, note = [], None, ""
        try:
            while done < checkpoint + samples:
                started = time.perf_counter()
                if load:
                    workflow = serializer.deserialize_json(state)
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                if not ready:
                    raise RuntimeError(f"no ready task after {done} rounds (workflow reports "
                                       f"completed={workflow.is_completed()})")
                ready[0].data["duurzame_veiligheid"] = False
                ready[0].run()
                workflow.do_engine_steps()
                elapsed = time.perf_counter() - started
                if compact:
                    _cut_back(workflow)
                started = time.perf_counter()
                state = serializer.serialize_json(workflow)
                elapsed += time.perf_counter() - started
                done += 1
                if done > checkpoint:
                    timings.append(elapsed * 1000)
                    size = len(state)
        except (RecursionError, RuntimeError) as exc:
            note = f"uncut fails: {type(exc).__name__}: {str(exc)[:60]}"
        results[checkpoint] = (statistics.median(timings) if timings else None, size, note)
        if note:
            for later in CHECKPOINTS[CHECKPOINTS.index(checkpoint) + 1:]:
                results[later] = (None, None, note)
            break
    return results


def _cut_back(workflow: BpmnWorkflow) -> None:
    """Reset the tree to the first instance of the ready task, keeping its data (engine/runtime.py `_compact`)."""
    [point] = workflow.get_tasks(state=TaskState.READY, manual=True)
    first, node = None, point.parent
    while node is not None:
        if node.task_spec is point.task_spec:
            first = node
        node = node.parent
    if first is not None:
        data = copy.deepcopy(point.data)
        workflow.reset_from_task_id(first.id, data=copy.deepcopy(data))
        first.data = data


Sent = tuple[str, Any, bool, int]  # one statement as the driver got it: SQL, parameters, executemany, rowcount


def _case_db(url: str) -> tuple[Any, CaseEngine, int, Callable[[], None] | None]:
    """A new database (a temporary schema on PostgreSQL) with the test diagrams deployed and one `lus` case."""
    drop = None
    if url.startswith("postgresql"):
        url, drop = _fresh_schema(url)
    db = make_engine(url)
    upgrade(db)
    engine = CaseEngine(make_sessionmaker(db), Settings(database_url=url))
    engine.deploy_directory(DIAGRAMS, "bench")
    return db, engine, engine.start_case("lus", "BENCH-1", ACTOR), drop


def engine_costs(url: str, samples: int, sent: list[list[Sent]]) -> dict[int, tuple[float, int, float, float]]:
    """The engine's completions; `sent` receives, per completion, the statements it sent (for `replay_costs`)."""
    db, engine, case_id, drop = _case_db(url)
    statements: list[int] = []
    event.listen(db, "before_cursor_execute", lambda *args: statements.append(1))
    capturing: list[list[Sent]] = []  # the completion being measured, if any

    @event.listens_for(db, "after_cursor_execute")
    def capture(_conn: Any, cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
        if capturing:
            capturing[0].append((statement, parameters, executemany, cursor.rowcount))

    # Round trips the driver makes without a statement of ours: BEGIN and COMMIT. Not counted: a ping before a
    # pooled PostgreSQL connection is used, which engine/db.py sends only after the connection sat idle.
    event.listen(db, "begin", lambda conn: statements.append(1))
    event.listen(db, "commit", lambda conn: statements.append(1))
    results, done = {}, 0
    for checkpoint in CHECKPOINTS:
        timings, cpu, trips = [], [], []
        while done < checkpoint + samples:
            task = engine.open_tasks(case_id=case_id)[0]
            statements.clear()
            sent.append([])
            capturing.append(sent[-1])
            started, started_cpu = time.perf_counter(), time.process_time()
            engine.complete_task(task.id, ACTOR, {"duurzame_veiligheid": False})
            elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
            trips.append(len(statements))
            capturing.clear()
            done += 1
            if done > checkpoint:
                timings.append(elapsed * 1000)
                cpu.append(elapsed_cpu * 1000)
        with engine.sessions() as session:
            size = len(session.get(Case, case_id).state)
        results[checkpoint] = (statistics.median(timings), size, statistics.median(trips), statistics.median(cpu))
    db.dispose()
    if drop:
        drop()
    return results


def replay_costs(url: str, samples: int, sent: list[list[Sent]]) -> dict[int, tuple[float, float]]:
    """The engine's own statements without the engine: in a second database prepared alike, every completion's
    statements and parameters, as the driver got them, sent again in order through the bare driver connection
    (a DB-API cursor, its implicit BEGIN, fetching each result, COMMIT). No ORM, no SpiffWorkflow, no Python of
    ours: what the database and the driver cost for exactly our work, per checkpoint (median). Next to it, the
    least any completion must send: a transaction that durably writes one row (the case's), then commits."""
    db, _engine, case_id, drop = _case_db(url)
    raw = db.raw_connection()
    # A real change: SQLite writes no page, and so does not sync, for an UPDATE that leaves a row as it was.
    mark = "?" if db.dialect.paramstyle == "qmark" else "%s"
    one_write = f"UPDATE cases SET compactions = compactions + {mark} WHERE id = {mark}"
    results, done = {}, 0
    try:
        for checkpoint in CHECKPOINTS:
            timings = []
            while done < checkpoint + samples:
                statements = sent[done]
                started = time.perf_counter()
                cursor = raw.cursor()
                for sql, parameters, many, rowcount in statements:
                    if many:
                        cursor.executemany(sql, parameters)
                    else:
                        cursor.execute(sql, parameters)
                    if cursor.rowcount != rowcount:  # the twin must do the same work, row for row
                        raise RuntimeError(f"replay of completion {done + 1} diverged at {sql[:60]!r}: "
                                           f"{cursor.rowcount} rows, the engine's {rowcount}")
                    if cursor.description:
                        cursor.fetchall()
                raw.commit()
                elapsed = time.perf_counter() - started
                cursor.close()
                done += 1
                if done > checkpoint:
                    timings.append(elapsed * 1000)
            least = []
            for sample in range(samples):
                started = time.perf_counter()
                cursor = raw.cursor()
                cursor.execute(one_write, (1 - 2 * (sample % 2), case_id))
                raw.commit()
                least.append((time.perf_counter() - started) * 1000)
                cursor.close()
            results[checkpoint] = (statistics.median(timings), statistics.median(least))
    finally:
        raw.close()
        db.dispose()
        if drop:
            drop()
    return results


def _fresh_schema(url: str) -> str:
    """A new schema in the given PostgreSQL database, so the benchmark never touches real data."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{time.time_ns()}"
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
        sent: list[list[Sent]] = []
        ours = engine_costs(url, args.samples, sent)
        replayed = replay_costs(args.database_url or f"sqlite:///{tmp}/twin.sqlite3", args.samples, sent)
        bare = bare_costs(args.samples)
        loaded = bare_costs(args.samples, load=True)
        uncut = bare_costs(args.samples, compact=False)
    print(f"database: {url.split('@')[-1] if args.database_url else 'temporary SQLite file'}; "
          f"{args.samples} completions per checkpoint (median)")
    print(f"{'iterations':>10} | {'engine ms':>9} | {'CPU ms':>6} | {'stored bytes':>12} | {'round trips':>11} | "
          f"{'bare ms':>8} | "
          f"{'bare JSON bytes':>15} | {'ratio':>6} | {'bare+load ms':>12} | {'ratio':>6} | {'bare uncut ms':>13} | "
          f"{'ratio':>6}")
    for checkpoint in CHECKPOINTS:
        ms, size, trips, cpu_ms = ours[checkpoint]
        bare_ms, bare_size, _ = bare[checkpoint]
        loaded_ms = loaded[checkpoint][0]
        uncut_ms, _, note = uncut[checkpoint]
        print(f"{checkpoint:>10} | {ms:9.2f} | {cpu_ms:6.2f} | {size:12d} | {trips:>11.0f} | {_ms(bare_ms, 8)} | "
              f"{bare_size or 'n/a':>15} | {_ratio(ms, bare_ms)} | {_ms(loaded_ms, 12)} | {_ratio(ms, loaded_ms)} | "
              f"{_ms(uncut_ms, 13)} | {_ratio(ms, uncut_ms)} {note}")
    target = 2.0 if args.database_url else 1.5
    print(f"\nthe floor: what no rewrite of our Python can go below (target: engine <= {target}x bare+load)")
    print("replay: our statements sent again through the bare driver; floor = bare+load + replay; one write: a "
          "transaction writing one row; least = bare+load + one write")
    print(f"{'iterations':>10} | {'bare+load ms':>12} | {'replay ms':>9} | {'floor ms':>8} | {'ratio':>6} | "
          f"{'one write ms':>12} | {'least ms':>8} | {'ratio':>6} | {'engine ratio':>12} | {'engine - floor ms':>17}")
    for checkpoint in CHECKPOINTS:
        ms, loaded_ms = ours[checkpoint][0], loaded[checkpoint][0] or 0.0
        replay_ms, write_ms = replayed[checkpoint]
        floor, least = loaded_ms + replay_ms, loaded_ms + write_ms
        print(f"{checkpoint:>10} | {_ms(loaded_ms, 12)} | {replay_ms:9.2f} | {floor:8.2f} | {_ratio(floor, loaded_ms)} | "
              f"{write_ms:12.2f} | {least:8.2f} | {_ratio(least, loaded_ms)} | {_ratio(ms, loaded_ms):>12} | "
              f"{ms - floor:17.2f}")


def _ms(value: float | None, width: int) -> str:
    return f"{value:{width}.2f}" if value else f"{'n/a':>{width}}"


def _ratio(ms: float, bare_ms: float | None) -> str:
    return f"{ms / bare_ms:6.1f}" if bare_ms else f"{'n/a':>6}"


if __name__ == "__main__":
    main()
