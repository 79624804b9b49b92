"""Shared fixtures: every engine test runs on SQLite and on PostgreSQL.

PostgreSQL is the real server at 127.0.0.1:5432 (database `test`); each test
gets its own schema, created by the Alembic migrations and dropped afterwards,
so runs cannot interfere with each other or with the developer's data.
"""
from __future__ import annotations

import os
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from werkzeug.serving import make_server

from engine.cases import Actor, CaseEngine
from engine.db import make_sessionmaker
from engine.settings import Settings

PROJECT = Path(__file__).resolve().parent.parent
TEST_DIAGRAMS = PROJECT / "tests" / "engine" / "diagrams"
POSTGRES_URL = os.environ.get("MELDCODE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "postgres"]


# Catalogs that every schema made and dropped by the tests leaves dead rows in (a schema of ours: ~150 relations).
CHURNED_CATALOGS = ("pg_class", "pg_attribute", "pg_depend", "pg_type", "pg_constraint", "pg_index", "pg_trigger",
                    "pg_proc", "pg_attrdef", "pg_sequence", "pg_namespace", "pg_description", "pg_statistic")


def _vacuum_catalogs(full_if_bloated: bool) -> None:
    """This machine kind's PostgreSQL runs with autovacuum off, so the dead catalog rows of earlier runs pile up
    (1.1 M in pg_attribute, 184 MB, after some days of runs) and every CREATE, DROP and catalog scan of a test
    slows down. After a run the catalogs are vacuumed (their space reused by the next run); before one, catalogs
    that are mostly dead rows are compacted first (VACUUM FULL, about a second)."""
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if full_if_bloated:
                dead, live = conn.execute(text(
                    "SELECT coalesce(sum(n_dead_tup), 0), coalesce(sum(n_live_tup), 0) FROM pg_stat_sys_tables "
                    "WHERE schemaname = 'pg_catalog' AND relname = ANY(:names)"), {"names": list(CHURNED_CATALOGS)}).one()
                if dead <= live:
                    return
            conn.exec_driver_sql(("VACUUM (FULL, ANALYZE) " if full_if_bloated else "VACUUM ")
                                 + ", ".join(f"pg_catalog.{name}" for name in CHURNED_CATALOGS))
    except OperationalError:
        pass  # no server: the PostgreSQL tests say so themselves
    finally:
        admin.dispose()


def pytest_sessionstart(session):
    if not hasattr(session.config, "workerinput"):  # once, in the process that runs or distributes the tests
        _vacuum_catalogs(full_if_bloated=True)


def pytest_sessionfinish(session):
    if not hasattr(session.config, "workerinput"):
        _vacuum_catalogs(full_if_bloated=False)


@pytest.fixture(scope="session")
def postgres_admin():
    engine = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _database_url(backend: str, tmp_path: Path, request) -> tuple[str, callable]:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'meldcode.sqlite3'}", lambda: None
    from tests import migrated

    admin = request.getfixturevalue("postgres_admin")
    # A test that migrates its database (`db`) may get the emptied schema of an earlier one (tests/migrated.py).
    schema = migrated.take() if "db" in request.fixturenames else None
    if schema is None:
        schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        if not migrated.give_back(admin, schema):
            with admin.connect() as conn:
                conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))

    return f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", drop


# The web and studio tests exercise the Flask layer, the browser and the studio's use cases; the database under
# them is the engine's, which tests/engine and tests/workers run on both backends. So they run on SQLite (the
# README's run command's database) unless their module says otherwise: one whose behaviour depends on the
# database (concurrency, search, stored text, migrations, the demo walk) sets
# `pytestmark = pytest.mark.backends("sqlite", "postgres")`.
ONE_BACKEND_DIRS = {"web": ["sqlite"], "studio": ["sqlite"]}


def pytest_generate_tests(metafunc):
    """Parametrize `database_url` by the test's `backends` mark, its folder's default, or both backends."""
    if "database_url" not in metafunc.fixturenames:
        return
    if any(mark.args and mark.args[0] == "database_url" for mark in metafunc.definition.iter_markers("parametrize")):
        return  # the test names its backends itself
    mark = metafunc.definition.get_closest_marker("backends")
    backends = list(mark.args) if mark else ONE_BACKEND_DIRS.get(metafunc.definition.path.parent.name, BACKENDS)
    assert set(backends) <= set(BACKENDS), backends
    metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture
def database_url(request, tmp_path):
    url, drop = _database_url(request.param, tmp_path, request)
    yield url
    drop()


@pytest.fixture
def db(database_url):
    from tests.migrated import migrated_engine

    engine = migrated_engine(database_url)
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


# -- the browser (one Chromium per test session, shared by tests/web and tests/studio) ---------------
# Defined once here: a session fixture imported into several test modules would start one Playwright per module,
# and Playwright's sync API allows only one per thread.

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync"]
VIEWER = PROJECT / "node_modules" / "bpmn-js" / "dist" / "bpmn-navigated-viewer.production.min.js"


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium` (scripts/setup.sh --test)")
    if not VIEWER.exists():
        pytest.fail("bpmn-js is not installed: run `npm ci` in the project (scripts/setup.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread, f"http://127.0.0.1:{server.server_port}"


@contextmanager
def served(app):
    """`app` served on a free port in a thread (for Chromium); yields its base URL."""
    server, thread, url = serve(app)
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def live_server(app):
    with served(app) as url:
        yield url


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(15_000)
    problems = []
    # Chromium logs every non-2xx document as a console error; the 422 of a form with errors is intended.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and "status of 422" not in msg.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.problems = problems
    yield page
    context.close()


