"""Fixtures of the studio tests: the web app's fixtures (tests/web/conftest.py, reused as they are) and an app with
the shipped meldcode deployed with a few attached scenarios, plus one user per role."""
from __future__ import annotations

import pytest

from engine.diagrams import read_directory
from tests.web.conftest import (  # noqa: F401
    PASSWORD,
    USERNAMES,
    add_test_users,
    cheap_password_hashing,
    csrf_from,
    engine_settings,
    login,
    make_app,
    web_settings,
)

from .edits import PROCESSES, scenario

ATTACHED = ["geen_vermoeden_afsluiten.json", "acuut_melden_en_hulp.json"]


@pytest.fixture
def studio_app(make_app, web_settings):  # noqa: F811 - the fixtures imported above
    app = make_app(web_settings.replace(start_process="meldcode"))
    services = app.extensions["meldcode"]
    services.cases.deploy_files(read_directory(PROCESSES), "cli", [(n, scenario(n)) for n in ATTACHED],
                                comment="eerste versie")
    add_test_users(services)
    return app


@pytest.fixture
def studio_services(studio_app):
    return studio_app.extensions["meldcode"]


@pytest.fixture
def studio_server(studio_app):
    """The studio app served on a free port for Chromium; yields its base URL."""
    from tests.conftest import served

    with served(studio_app) as base:
        yield base
