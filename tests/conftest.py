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


