"""A test database at the newest revision in milliseconds instead of a second: the Alembic migrations run once per
test process, and each test's database is made from that result.

- SQLite: the migrated file is copied.
- PostgreSQL: the statements the migrations sent are recorded once (in a schema of their own) and replayed in the
  test's schema, in one transaction. Replaying costs 200-300 ms (the server creates a file per table and index),
  so a test's migrated schema is emptied afterwards and handed to the next test of the process (`give_back`,
  `take`): its rows deleted, the migrations' own rows put back, its sequences restarted, and the schema renamed,
  so that a connection a finished test left behind can no longer reach it. A schema whose objects or privileges
  a test changed (compared by a fingerprint of its catalog entries) is dropped instead.

The migrations themselves are tested as migrations (tests/web/test_cli_and_migration.py, tests/workers/
test_migration.py, the audit chain's upgrade test): those call `engine.db.upgrade` directly.
"""
from __future__ import annotations

import atexit
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
_template_fingerprint: str | None = None
_migrated: set[str] = set()  # PostgreSQL schemas of this process at the newest revision, in use or pooled
_pool: list[str] = []  # emptied ones, ready for the next test


def schema_of(database_url: str) -> str:
    """The schema a PostgreSQL test URL sets as its search path (tests/conftest.py)."""
    return make_url(database_url).query["options"].split("search_path=", 1)[1]


def migrated_engine(database_url: str) -> Engine:
    """An engine for `database_url` whose (empty) database is at the newest revision."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        shutil.copyfile(_sqlite(), url.database)
        return make_engine(database_url)
    engine = make_engine(database_url)
    schema = schema_of(database_url)
    if schema in _migrated:  # taken from the pool
        return engine
    template_schema, statements = _postgres()
    with engine.begin() as conn:
        for statement, parameters in statements:
            conn.exec_driver_sql(statement.replace(template_schema, schema), parameters)
    _migrated.add(schema)
    return engine


def take() -> str | None:
    """A migrated, emptied schema of an earlier test of this process, or None."""
    return _pool.pop() if _pool else None


def give_back(admin: Engine, schema: str) -> bool:
    """Empty a migrated schema for the next test under a new name; False (the caller drops it) if the test changed
    its objects or privileges, or if it was never migrated."""
    if schema not in _migrated:
        return False
    _migrated.discard(schema)
    template_schema, _ = _postgres()
    global _template_fingerprint
    with admin.connect() as conn:
        if _template_fingerprint is None:
            _template_fingerprint = _fingerprint(conn, template_schema)
        if _fingerprint(conn, schema) != _template_fingerprint:
            return False
        renamed = f"{schema.split('_r', 1)[0]}_r{uuid.uuid4().hex[:6]}"
        try:
            conn.exec_driver_sql(_reset_script(conn, schema, template_schema, renamed))
        except Exception:  # noqa: BLE001 - e.g. a lock a finished test left: the caller drops the schema
            conn.exec_driver_sql("ROLLBACK")
            return False
    _migrated.add(renamed)
    _pool.append(renamed)
    return True


_FINGERPRINT = text("""
    WITH ns AS (SELECT oid, nspacl FROM pg_namespace WHERE nspname = :schema),
    items AS (
        SELECT concat_ws(' ', 'r', c.relname, c.relkind, c.relowner, c.relacl) AS item
        FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM ns)
        UNION ALL SELECT concat_ws(' ', 'a', c.relname, a.attname, a.atttypid, a.attnum, a.attnotnull,
                                             a.atthasdef)
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
        WHERE c.relnamespace = (SELECT oid FROM ns) AND a.attnum > 0 AND NOT a.attisdropped
        UNION ALL SELECT concat_ws(' ', 'c', conname, contype) FROM pg_constraint
        WHERE connamespace = (SELECT oid FROM ns)
        UNION ALL SELECT concat_ws(' ', 't', t.tgname, t.tgenabled)
        FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid
        WHERE c.relnamespace = (SELECT oid FROM ns) AND NOT t.tgisinternal
        UNION ALL SELECT concat_ws(' ', 'p', proname, md5(prosrc), proowner) FROM pg_proc
        WHERE pronamespace = (SELECT oid FROM ns))
    SELECT md5(concat_ws('|', (SELECT nspacl::text FROM ns), string_agg(item, '|' ORDER BY item))) FROM items""")


def _fingerprint(conn, schema: str) -> str:
    return conn.execute(_FINGERPRINT, {"schema": schema}).scalar_one()


_reset_parts: tuple[list[str], ...] | None = None


def _reset_script(conn, schema: str, template_schema: str, renamed: str) -> str:
    """One transaction, sent as one string: empty every table (triggers off, so the audit log's append-only guard
    and the foreign keys do not object), copy back the rows the migrations wrote, restart the sequences, rename."""
    global _reset_parts
    if _reset_parts is None:
        tables = list(conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind IN ('r', 'p') ORDER BY 1"), {"schema": template_schema}).scalars())
        seeded = [table for table in tables
                  if conn.exec_driver_sql(f'SELECT EXISTS (SELECT FROM "{template_schema}"."{table}")').scalar()]
        sequences = list(conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relkind = 'S' ORDER BY 1"), {"schema": template_schema}).scalars())
        functions = list(conn.execute(text(
            "SELECT p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = :schema AND array_to_string(p.proconfig, ',') LIKE '%search_path=%'"),
            {"schema": template_schema}).scalars())
        _reset_parts = (tables, seeded, sequences, [f.split("(", 1)[1] for f in functions],
                        [f.split("(", 1)[0].split(".")[-1] for f in functions])
    tables, seeded, sequences, signatures, names = _reset_parts
    statements = ["BEGIN", "SET LOCAL session_replication_role = replica", "SET LOCAL lock_timeout = '5s'"]
    statements += [f'DELETE FROM "{schema}"."{table}"' for table in tables]
    statements += [f'INSERT INTO "{schema}"."{table}" SELECT * FROM "{template_schema}"."{table}"' for table in seeded]
    statements += [f'ALTER SEQUENCE "{schema}"."{sequence}" RESTART' for sequence in sequences]
    statements.append(f'ALTER SCHEMA "{schema}" RENAME TO "{renamed}"')
    # A function that names its schema in its search path (audit_event_prune) follows the rename.
    statements += [f'ALTER FUNCTION "{renamed}".{name}({signature} SET search_path = "{renamed}"'
                   for name, signature in zip(names, signatures, strict=True)]
    statements.append("COMMIT")
    return ";\n".join(statements)


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
        except BaseException:
            with admin.begin() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
            raise
        finally:
            engine.dispose()
        # Kept while the process runs: the rows the migrations wrote and the fingerprint are read from it.
        atexit.register(_drop_schemas, admin, schema)
        _postgres_script = (schema, recorded)
    return _postgres_script


def _drop_schemas(admin: Engine, template_schema: str) -> None:
    with admin.begin() as conn:
        for schema in [template_schema, *_pool]:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()
