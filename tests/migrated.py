"""A test database at the newest revision in milliseconds instead of a second: the Alembic migrations run once per
test process, and each test's database is made from that result.

- SQLite: the migrated file is copied.
- PostgreSQL: the statements the migrations sent are recorded once (in a schema of their own) and replayed in the
  test's schema, in one transaction.

The migrations themselves are tested as migrations (tests/web/test_cli_and_migration.py, tests/workers/
test_migration.py, the audit chain's upgrade test): those call `engine.db.upgrade` directly.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine, make_url

from engine.db import make_engine, upgrade

_sqlite_template: Path | None = None
_postgres_script: tuple[str, list[tuple[str, Any]]] | None = None


def migrated_engine(database_url: str) -> Engine:
    """An engine for `database_url` whose (empty) database is at the newest revision."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(_sqlite(), url.database)
        return make_engine(database_url)
    engine = make_engine(database_url)
    template_schema, statements = _postgres()
    with engine.begin() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar_one()
        for statement, parameters in statements:
            conn.exec_driver_sql(statement.replace(template_schema, schema), parameters)
    return engine


def _sqlite() -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        path = Path(tempfile.mkdtemp(prefix="meldcode-template-")) / "migrated.sqlite3"
        engine = make_engine(f"sqlite:///{path}")
        upgrade(engine)
        engine.dispose()
        _sqlite_template = path
    return _sqlite_template


def _postgres() -> tuple[str, list[tuple[str, Any]]]:
    global _postgres_script
    if _postgres_script is None:
        from tests.conftest import POSTGRES_URL

        schema = f"template_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        admin = make_engine(POSTGRES_URL)
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        engine = make_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
        recorded: list[tuple[str, Any]] = []

        @event.listens_for(engine, "before_cursor_execute")
        def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001 - the event's signature
            recorded.append((statement, parameters))

        try:
            upgrade(engine)
        finally:
            engine.dispose()
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            admin.dispose()
        _postgres_script = (schema, recorded)
    return _postgres_script
