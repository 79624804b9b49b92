"""Benchmark: the beheerder's instance list (engine.oversight.list_instances) at a million cases.

Fills a throwaway PostgreSQL schema with N synthetic cases (20 teams, 5 years of start dates, 80% running with
one open task at one of 6 steps, some overdue) by SQL, then prints the median time of the first page and of
a deep page (keyset: continuing after an id in the middle) for each filter.

    .venv/bin/python bench/oversight_list.py [--database-url URL] [--cases N]
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bench.throwaway import database_parser, migrated_schema  # noqa: E402
from engine.cases import CaseEngine  # noqa: E402
from engine.db import make_sessionmaker  # noqa: E402
from engine.oversight import InstanceFilter, list_instances  # noqa: E402
from engine.settings import Settings  # noqa: E402

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def fill(db, n: int) -> None:
    with db.begin() as conn:
        pv = conn.execute(text("SELECT id FROM process_version ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("""
            INSERT INTO cases (id, process_version_id, client_ref, team, started_by, started_at, updated_at, ended_at,
                               status, state, variables, compactions, row_version)
            SELECT i, :pv, 'CL-' || i, 'team-' || (i % 20), 'piet',
                   TIMESTAMP '2021-06-01' + (i::float / :n) * INTERVAL '5 years',
                   TIMESTAMP '2021-06-01' + (i::float / :n) * INTERVAL '5 years',
                   CASE WHEN i % 5 = 0 THEN TIMESTAMP '2026-01-01' END,
                   CASE WHEN i % 5 = 0 THEN 'completed' WHEN i % 97 = 0 THEN 'suspended' ELSE 'running' END,
                   '\\x'::bytea, '{}', 0, 1
            FROM generate_series(1, :n) AS i"""), {"pv": pv, "n": n})
        conn.execute(text("""
            INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, state, created_at, due_at)
            SELECT i, 'x', 'stap' || (i % 6), 'Stap ' || (i % 6), 'professional', 'ready',
                   TIMESTAMP '2021-06-01', TIMESTAMP '2026-06-01' + ((i % 50) - 3) * INTERVAL '1 day'
            FROM generate_series(1, :n) AS i WHERE i % 5 <> 0"""), {"n": n})
        conn.execute(text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :n)"), {"n": n})
    with db.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def timed(sessions, f, after_id=None, repeat=5) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with sessions() as session:
            list_instances(session, f, after_id=after_id, limit=50, now=NOW)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main():
    parser = database_parser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    args = parser.parse_args()
    with migrated_schema(args.database_url) as db:
        CaseEngine(make_sessionmaker(db), Settings()).deploy_directory(ROOT / "tests" / "engine" / "diagrams", "bench")
        started = time.perf_counter()
        fill(db, args.cases)
        print(f"{args.cases:,} cases filled in {time.perf_counter() - started:.0f} s")
        sessions = make_sessionmaker(db)
        middle = args.cases // 2
        filters = {
            "no filter": InstanceFilter(),
            "status=suspended": InstanceFilter(status="suspended"),
            "team=team-7": InstanceFilter(team="team-7"),
            "process=voorbeeld v1": InstanceFilter(process_id="voorbeeld", version=1),
            "step=stap3": InstanceFilter(step="stap3"),
            "overdue": InstanceFilter(overdue=True),
            "started in one month": InstanceFilter(started_from=datetime(2023, 3, 1, tzinfo=UTC),
                                                   started_until=datetime(2023, 4, 1, tzinfo=UTC)),
            "team + step + overdue": InstanceFilter(team="team-7", step="stap1", overdue=True),
        }
        print(f"{'filter':28}{'first page ms':>16}{'deep page ms':>16}")
        for name, f in filters.items():
            print(f"{name:28}{timed(sessions, f):>16.1f}{timed(sessions, f, after_id=middle):>16.1f}")


if __name__ == "__main__":
    main()
