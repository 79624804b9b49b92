"""Shared fixtures: every engine test runs on SQLite and on PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432 (database `test`); each test
gets its own schema, created by the Alembic migrations and dropped afterwards,
so runs cannot interfere with each other or with the developer's data.
"""
from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.cases import Actor, CaseEngine
from engine.db import make_engine, make_sessionmaker, upgrade
from engine.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
TEST_DIAGRAMS = PROJECT / "tests" / "engine" / "diagrams"
POSTGRES_URL = os.environ.get("MELDCODE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def postgres_admin():
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _database_url(backend: str, tmp_path: Path, request) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'meldcode.sqlite3'}", lambda: None
    admin = request.getfixturevalue("postgres_admin")
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", drop


@pytest.fixture(params=BACKENDS)
def database_url(request, tmp_path):
    url, drop = _database_url(request.param, tmp_path, request)
    yield url
    drop()


@pytest.fixture
def db(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings():
    return Settings()


@pytest.fixture
def case_engine(db, settings):
    return CaseEngine(make_sessionmaker(db), settings)


@pytest.fixture
def deployed(case_engine):
    """The small test diagrams (`voorbeeld`, `lus`) deployed."""
    case_engine.deploy_directory(TEST_DIAGRAMS, "tester")
    return case_engine


@pytest.fixture
def professional():
    return Actor("piet", frozenset({"professional"}), team="wijkteam-noord")


@pytest.fixture
def aandachtsfunctionaris():
    return Actor("anna", frozenset({"aandachtsfunctionaris"}), team="wijkteam-noord")
