"""Benchmark: what the audit hash chain costs per event on the completion path.

Per transaction, one audit event: a bare INSERT (what 0006 did) against `engine.audit.record` (flush, hash the
content, lock and move the chain head in one UPDATE … RETURNING, insert), sequentially and from 8 threads at
once, on PostgreSQL in a throwaway schema.

    .venv/bin/python bench/audit_append.py [--database-url URL] [--events N]
"""
from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


from bench.throwaway import database_parser, migrated_schema  # noqa: E402
from engine import audit, clock  # noqa: E402
from engine.db import make_sessionmaker  # noqa: E402
from engine.models import AuditEvent  # noqa: E402


def bare(session, i):
    session.add(AuditEvent(at=clock.now(), actor="bench", action="task.complete", outcome="success", case_id=i,
                           client_ref=f"CL-{i}", details={"fields": ["a", "b"]}))


def chained(session, i):
    audit.record(session, "bench", "task.complete", case_id=i, client_ref=f"CL-{i}", fields=["a", "b"])


def sequential(sessions, write, n):
    times = []
    for i in range(n):
        started = time.perf_counter()
        with sessions.begin() as session:
            write(session, i)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def concurrent(sessions, write, n, threads=8):
    barrier = threading.Barrier(threads + 1)

    def run():
        barrier.wait()
        for i in range(n // threads):
            with sessions.begin() as session:
                write(session, i)

    workers = [threading.Thread(target=run) for _ in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    started = time.perf_counter()
    for w in workers:
        w.join()
    return n / (time.perf_counter() - started)


def main():
    parser = database_parser()
    parser.add_argument("--events", type=int, default=400)
    args = parser.parse_args()
    with migrated_schema(args.database_url, pool_size=10) as db:
        sessions = make_sessionmaker(db)
        print(f"{'':24}{'median ms/event (1 writer)':>28}{'events/s (8 writers)':>24}")
        for name, write in (("bare insert", bare), ("hash chain (record)", chained)):
            ms = sequential(sessions, write, args.events)
            rate = concurrent(sessions, write, args.events)
            print(f"{name:24}{ms:>28.2f}{rate:>24.0f}")


if __name__ == "__main__":
    main()
