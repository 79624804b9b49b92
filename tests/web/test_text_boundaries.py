"""Issue 10 item 3, as the probe made it: unstorable text and control characters are refused at every boundary
(API, HTML form, CLI) with a clear error, and nothing is stored; the case file keeps opening."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from web.auth import service as accounts
from web.cli import web_commands

from .conftest import STAP1_ANSWERS, WEB_DIAGRAMS, csrf_from, login, open_task, start_case

BAD_TEXTS = {"lone surrogate": "a\ud800b", "bell": "a\x07b", "escape": "rood\x1b[31m", "lone CR": "a\rb"}


# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def _bearer(services, username="professional"):
    return {"Authorization": "Bearer " + accounts.create_token(services.sessions, username, "test")}


def _history(services, case_id):
    user = accounts.load_user(services.sessions, *_id_and_version(services, "professional"))
    return services.cases.case(case_id, user.actor, audit_read=False).history


def _id_and_version(services, username):
    from sqlalchemy import select

    from web.auth.models import User
    with services.sessions() as session:
        row = session.scalar(select(User).where(User.username == username))
        return row.id, row.session_version


@pytest.mark.parametrize("text", BAD_TEXTS.values(), ids=BAD_TEXTS.keys())
def test_the_api_refuses_bad_text_with_422_and_the_case_file_keeps_opening(client, services, text):
    headers = _bearer(services)
    case_id = start_case(services)
    task = open_task(services, case_id)
    data = {"signalen": text, "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-02"}
    refused = client.post(f"/api/tasks/{task.id}/complete", json={"data": data}, headers=headers)
    assert refused.status_code == 422 and "signalen" in refused.json["errors"]
    assert _history(services, case_id) == []  # nothing stored
    assert client.get(f"/api/cases/{case_id}", headers=headers).status_code == 200
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}").status_code == 200


def test_the_api_refuses_a_client_reference_with_a_surrogate(client, services):
    started = client.post("/api/cases", json={"client_ref": "CL-\ud800", "aanleiding": "signalen",
                                              "levensbedreigend": False}, headers=_bearer(services))
    assert started.status_code == 422
    assert client.get("/api/cases", headers=_bearer(services)).json["cases"] == []


def test_the_html_form_refuses_a_control_character_and_keeps_the_answers(client, services):
    case_id = start_case(services)
    task = open_task(services, case_id)
    page = login(client, "professional") and client.get(f"/taken/{task.id}").get_data(as_text=True)
    answers = dict(STAP1_ANSWERS, signalen="Blauwe plek\x07 op de arm")
    response = client.post(f"/taken/{task.id}", data={**answers, "csrf_token": csrf_from(page)})
    assert response.status_code in (200, 422)
    body = response.get_data(as_text=True)
    assert "stuurteken" in body
    assert _history(services, case_id) == []


@pytest.mark.parametrize("option,value", [("--name", "Anna\x1b[2J"), ("--team-title", "Noord\ud800"),
                                          ("--team", "noord\x00")])
def test_the_cli_refuses_bad_text_and_creates_no_user(db, database_url, option, value):
    from sqlalchemy import select

    from engine.db import make_sessionmaker
    from web.auth.models import User

    env = {"DATABASE_URL": database_url, "MELDCODE_PROCESSES_DIR": str(WEB_DIAGRAMS),
           "MELDCODE_START_PROCESS": "proef"}
    args = ["user", "add", "anna", "--role", "professional", "--team", "noord", option, value, "--password-stdin"]
    if option == "--team":
        args = ["user", "add", "anna", "--role", "professional", "--team", value, "--password-stdin"]
    result = CliRunner().invoke(web_commands, args, input="een lang wachtwoord\n", env=env)
    assert result.exit_code != 0 and "Traceback" not in result.output
    with make_sessionmaker(db)() as session:
        assert session.scalar(select(User.id).where(User.username == "anna")) is None
