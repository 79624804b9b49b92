"""A PostgreSQL schema of the benchmark's own, created at the start and dropped at the end, so a benchmark never
touches real data (the tests do the same with their fixtures; the scenario runner with ThrowawayEngine)."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text


@contextmanager
def postgres_schema(database_url: str, prefix: str = "bench") -> Iterator[str]:
    """Yield a URL of `database_url` whose search_path is a new, empty schema; drop the schema afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
