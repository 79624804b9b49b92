"""The pool of migrated PostgreSQL schemas (tests/migrated.py): a test's schema goes to the next test empty, with
only what the migrations wrote, and not at all if the test changed its objects or privileges."""
from __future__ import annotations

import uuid

from sqlalchemy import text

from engine.cases import Actor, CaseEngine
from engine.db import make_sessionmaker
from engine.settings import Settings
from tests import migrated
from tests.conftest import POSTGRES_URL, TEST_DIAGRAMS


def _migrated_schema(postgres_admin) -> tuple[str, str]:
    schema = f"t_pool_{uuid.uuid4().hex[:8]}"
    with postgres_admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    url = f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    migrated.migrated_engine(url).dispose()
    return schema, url


def _drop(postgres_admin, schema: str) -> None:
    with postgres_admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def test_a_schema_comes_back_empty_with_the_migrations_rows_under_a_new_name(postgres_admin):
    schema, url = _migrated_schema(postgres_admin)
    db = migrated.migrated_engine(url)
    engine = CaseEngine(make_sessionmaker(db), Settings())
    engine.deploy_directory(TEST_DIAGRAMS, "tester")
    engine.start_case("voorbeeld", "CL-POOL", Actor("piet", frozenset({"professional"}), team="noord"))
    with db.begin() as conn:
        conn.execute(text("INSERT INTO team (name) VALUES ('noord')"))
        assert conn.execute(text("SELECT seq FROM audit_chain_head")).scalar() > 0
    db.dispose()
    assert migrated.give_back(postgres_admin, schema)
    reused = migrated.take()
    try:
        assert reused is not None and reused != schema and reused.startswith(f"{schema}_r")  # the last given back
        with postgres_admin.connect() as conn:
            assert not conn.execute(text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"),
                                    {"s": schema}).scalar()
            for table in ("team", "cases", "case_task", "audit_event", "process_version"):
                assert conn.execute(text(f'SELECT count(*) FROM "{reused}".{table}')).scalar() == 0, table
            assert conn.execute(text(f'SELECT version_num FROM "{reused}".alembic_version')).scalar() \
                == conn.execute(text(f'SELECT version_num FROM "{migrated._postgres()[0]}".alembic_version')).scalar()
            assert conn.execute(text(f'SELECT seq FROM "{reused}".audit_chain_head')).scalar() == 0
        db = migrated.migrated_engine(f"{POSTGRES_URL}?options=-csearch_path%3D{reused}")
        with db.begin() as conn:  # sequences start again; the function that names its schema follows the rename
            assert conn.execute(text("INSERT INTO team (name) VALUES ('zuid') RETURNING id")).scalar() == 1
            assert conn.execute(text("SELECT audit_event_prune(now()::timestamp - interval '6 years')")).scalar() == 0
        db.dispose()
    finally:
        _drop(postgres_admin, reused or schema)


def test_a_schema_whose_objects_or_privileges_changed_is_not_reused(postgres_admin):
    for change in ("CREATE TABLE {s}.extra (id int)", "GRANT SELECT ON {s}.cases TO PUBLIC",
                   "ALTER TABLE {s}.cases ADD COLUMN extra int", "DROP INDEX {s}.ix_cases_team_id"):
        schema, _ = _migrated_schema(postgres_admin)
        try:
            with postgres_admin.connect() as conn:
                conn.execute(text(change.format(s=schema)))
            assert not migrated.give_back(postgres_admin, schema), change
            assert not [pooled for pooled in migrated._pool if pooled.startswith(schema)]  # (earlier tests' may be)
        finally:
            _drop(postgres_admin, schema)
