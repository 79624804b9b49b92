"""Benchmark: how exactly timers fire, and how fast a sweep works through a backlog, on real Redis + PostgreSQL.

1. Lateness: 200 timers due over 20 seconds, announced to Celery as the web process does (engine listener ->
   ETA task); one `celery worker` process (prefork, concurrency 2, as in docker-compose.yml) fires them.
   No beat runs, so every firing is an exact-time task. Lateness = firing time - due time, per timer.
2. Sweep throughput: a backlog of already-due timers (default 400) and one `meldcode.sweep` task, with 1 and
   with 2 `celery worker` processes (solo pool; the sweep asks the other worker to help); timers fired per
   second from sending the sweep until the last one fired.

    .venv/bin/python bench/timers.py [--postgres-url URL] [--redis-url URL] [--timers N] [--backlog N]

A throwaway PostgreSQL schema and a Celery queue of its own are made and removed afterwards.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402

from engine import clock  # noqa: E402
from engine.cases import Actor, CaseEngine  # noqa: E402
from engine.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from engine.models import CaseTimer  # noqa: E402
from engine.settings import Settings  # noqa: E402
from workers.celery_app import SWEEP, connect_engine, make_celery  # noqa: E402
from workers.settings import WorkerSettings  # noqa: E402

DIAGRAMS = ROOT / "tests" / "workers" / "diagrams"  # `wacht`: a timer due at the start data's `wacht_tot`
ACTOR = Actor("bench", frozenset({"professional"}), team="bench")


def start_cases(engine: CaseEngine, due_times, frozen_at=None) -> list[int]:
    with clock.frozen_at(frozen_at):
        return [engine.start_case("wacht", f"BENCH-{i}", ACTOR, data={"wacht_tot": due.isoformat()})
                for i, due in enumerate(due_times)]


def fired(engine: CaseEngine, case_ids) -> list[tuple[datetime, datetime]]:
    with engine.sessions() as session:
        return session.execute(select(CaseTimer.due_at, CaseTimer.ended_at)
                               .where(CaseTimer.case_id.in_(case_ids), CaseTimer.state == "fired")).all()


def waiting(engine: CaseEngine) -> int:
    with engine.sessions() as session:
        return session.scalar(select(func.count()).where(CaseTimer.state == "waiting"))


def wait_until(predicate, timeout: float, interval: float = 0.02) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out after {timeout} s")
        time.sleep(interval)
    return time.monotonic() - started


class Worker:
    def __init__(self, settings: WorkerSettings, name: str, pool: list[str], logdir: Path, parallelism: int = 1,
                 legacy: bool = False):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MELDCODE_")}
        env.update(PYTHONPATH=str(ROOT), DATABASE_URL=settings.engine.database_url, REDIS_URL=settings.redis_url,
                   MELDCODE_CELERY_QUEUE=settings.queue, MELDCODE_SWEEP_PARALLELISM=str(parallelism))
        self.log = logdir / f"{name}.log"
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, *([str(ROOT / "bench" / "legacy_timer_worker.py")] if legacy else ["-m", "celery"]),
                 "-A", "workers.celery_app", "worker", *pool, "-Q", settings.queue,
                 "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat",
                 "--loglevel=WARNING"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def wait_ready(self, app, timeout: float = 30) -> None:
        # A worker that answers a ping has its consumer running.
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited:\n{self.log.read_text()}")
            replies = app.control.ping(timeout=0.5)
            if any(self.name_in(r) for r in replies):
                return
        raise RuntimeError("worker did not start")

    def name_in(self, reply: dict) -> bool:
        return any(key.split("@")[0] == self.log.stem for key in reply)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def lateness_run(engine, settings, logdir, count: int, spread: float) -> list[float]:
    app = make_celery(settings)
    worker = Worker(settings, "eta", ["--pool=prefork", "--concurrency=2"], logdir)
    try:
        worker.wait_ready(app)
        connect_engine(app, engine)  # as the web process: each new timer becomes an ETA task after commit
        first = datetime.now(UTC) + timedelta(seconds=6)
        due_times = [first + timedelta(seconds=spread * i / count) for i in range(count)]
        started = time.monotonic()
        case_ids = start_cases(engine, due_times)
        if time.monotonic() - started > 6:
            raise RuntimeError("creating the cases took longer than the lead time; lower --timers")
        wait_until(lambda: len(fired(engine, case_ids)) == count, spread + 60, 0.1)
        engine.timer_listeners.clear()
        return sorted((ended - due).total_seconds() for due, ended in fired(engine, case_ids))
    finally:
        worker.stop()
        app.close()


def sweep_run(engine, settings, logdir, name: str, workers: int, make_backlog, timeout: float, interval: float = 0.02,
              legacy: bool = False) -> tuple[float, float]:
    """Fired/s and total seconds for one `meldcode.sweep` over the due timers of `make_backlog()` (its case ids,
    made once the `workers` real Celery workers are up)."""
    app = make_celery(settings)
    started_workers = [Worker(settings, f"{name}{workers}_{i}", ["--pool=solo"], logdir, parallelism=workers,
                              legacy=legacy) for i in range(workers)]
    try:
        for worker in started_workers:
            worker.wait_ready(app)
        time.sleep(1.0)  # let the start-up re-scheduling (nothing waiting yet) settle
        case_ids = make_backlog()
        sent = time.monotonic()
        app.send_task(SWEEP, queue=settings.queue)
        wait_until(lambda: len(fired(engine, case_ids)) == len(case_ids), timeout, interval)
        elapsed = time.monotonic() - sent
        return len(case_ids) / elapsed, elapsed
    finally:
        for worker in started_workers:
            worker.stop()
        app.close()


def throughput_run(engine, settings, logdir, backlog: int, workers: int) -> tuple[float, float]:
    def due_cases() -> list[int]:
        past = datetime.now(UTC) - timedelta(hours=1)
        case_ids = start_cases(engine, [past] * backlog, frozen_at=past - timedelta(minutes=1))
        assert waiting(engine) == backlog
        return case_ids

    return sweep_run(engine, settings, logdir, "sweep", workers, due_cases, 300)


def clone_due_cases(engine: CaseEngine, db, count: int, due: datetime) -> list[int]:
    """`count` running cases with one timer due at `due`, in bulk: one case is started by the engine, its row and
    timer are copied by SQL (a backlog of 10,000 made in seconds rather than minutes)."""
    [first] = start_cases(engine, [due], frozen_at=due - timedelta(minutes=1))
    with db.begin() as conn:
        ids = list(conn.scalars(text("""
            INSERT INTO cases (process_version_id, client_ref, team, started_by, started_at, updated_at, status,
                               state, variables, compactions, row_version, responsible)
            SELECT process_version_id, 'BENCH-C' || g, team, started_by, started_at, updated_at, status, state,
                   variables, compactions, row_version, responsible
            FROM cases, generate_series(2, :n) AS g WHERE id = :first RETURNING id"""), {"n": count, "first": first}))
        conn.execute(text("""
            INSERT INTO case_timer (case_id, spiff_task_id, element_id, due_at, state, created_at)
            SELECT c, t.spiff_task_id, t.element_id, t.due_at, t.state, t.created_at
            FROM case_timer t, unnest(CAST(:ids AS integer[])) AS c WHERE t.case_id = :first"""),
                     {"ids": ids, "first": first})
        conn.execute(text("""
            INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, form, state, created_at, due_at)
            SELECT c, t.spiff_task_id, t.element_id, t.name, t.lane, t.form, t.state, t.created_at, t.due_at
            FROM case_task t, unnest(CAST(:ids AS integer[])) AS c WHERE t.case_id = :first"""),
                     {"ids": ids, "first": first})
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))
    return [first, *ids]


def backlog_run(engine, db, settings, logdir, backlog: int, workers: int, legacy: bool) -> tuple[float, float]:
    """Fired/s and total seconds for `backlog` timers due at once, with `workers` real Celery workers."""
    return sweep_run(engine, settings, logdir, "legacy" if legacy else "new", workers,
                     lambda: clone_due_cases(engine, db, backlog, datetime.now(UTC) - timedelta(hours=1)), 1800, 0.5,
                     legacy=legacy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres-url", default=os.environ.get(
        "MELDCODE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    parser.add_argument("--timers", type=int, default=200, help="timers in the lateness run")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds over which they fall due")
    parser.add_argument("--backlog", type=int, default=400, help="due timers per throughput run")
    parser.add_argument("--due-at-once", type=int, default=10_000,
                        help="timers due at once for the 2-worker run (issue 14: all fired within 30 s)")
    parser.add_argument("--baseline-due", type=int, default=2_000,
                        help="the same with the sweep as before issue 14 (quadratic: keep it smaller)")
    parser.add_argument("--only-backlog", action="store_true", help="only the due-at-once comparison")
    args = parser.parse_args()

    schema = f"bench_timers_{uuid.uuid4().hex[:10]}"
    admin = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{args.postgres_url}?options=-csearch_path%3D{schema}"
    settings = WorkerSettings(redis_url=args.redis_url, queue=f"bench-{uuid.uuid4().hex[:10]}",
                              engine=Settings(database_url=url))
    db = make_engine(url)
    try:
        upgrade(db)
        engine = CaseEngine(make_sessionmaker(db), settings.engine)
        engine.deploy_directory(DIAGRAMS, "bench")
        with tempfile.TemporaryDirectory() as logdir:
            results = []
            for legacy, count in ((True, args.baseline_due), (False, args.due_at_once)):
                if count:
                    rate, elapsed = backlog_run(engine, db, settings, Path(logdir), count, 2, legacy)
                    results.append((legacy, count, rate, elapsed))
            print("timers due at once, 2 Celery workers (solo pool, real Redis), same run:")
            for legacy, count, rate, elapsed in results:
                print(f"  {'before issue 14 (sweep per case)' if legacy else 'batched sweep (now)':34} "
                      f"{count:>6,} timers: {rate:6.0f} fired/s, all fired in {elapsed:6.1f} s")
            if args.only_backlog:
                return
            lateness = lateness_run(engine, settings, Path(logdir), args.timers, args.spread)
            print(f"timer lateness over {len(lateness)} exact-time timers (1 worker, prefork x2): "
                  f"median {statistics.median(lateness) * 1000:.0f} ms, "
                  f"p95 {lateness[int(0.95 * (len(lateness) - 1))] * 1000:.0f} ms, "
                  f"max {max(lateness) * 1000:.0f} ms, min {min(lateness) * 1000:.0f} ms")
            for workers in (1, 2):
                rate, elapsed = throughput_run(engine, settings, Path(logdir), args.backlog, workers)
                print(f"sweep throughput with {workers} worker{'s' if workers > 1 else ''}: {rate:.0f} timers/s "
                      f"({args.backlog} due timers in {elapsed:.2f} s)")
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()
        _clean_redis(settings)


def _clean_redis(settings: WorkerSettings) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url)
    keys = [k for pattern in (f"*{settings.queue}*", f"meldcode:eta:{settings.queue}:*")
            for k in client.scan_iter(match=pattern)]
    if keys:
        client.delete(*keys)


if __name__ == "__main__":
    main()
