"""A PostgreSQL schema of the benchmark's own, created at the start and dropped at the end, so a benchmark never
touches real data (the tests do the same with their fixtures; the scenario runner with ThrowawayEngine)."""
from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, text

from engine.db import make_engine, upgrade

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def database_parser() -> argparse.ArgumentParser:
    """The command line of a benchmark on a throwaway schema: --database-url, plus what the benchmark adds."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=DEFAULT_POSTGRES_URL)
    return parser


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


@contextmanager
def migrated_schema(database_url: str, **engine_options) -> Iterator[Engine]:
    """An engine on a throwaway schema (`postgres_schema`) with the migrations applied; disposed at the end."""
    with postgres_schema(database_url) as url:
        db = make_engine(url, **engine_options)
        try:
            upgrade(db)
            yield db
        finally:
            db.dispose()
