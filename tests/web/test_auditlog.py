"""The audit trail as NEN 7513 asks (who, name, role, when, which client, what, access point, basis, outcome),
lists audited, and the logbeheerder's search, CSV export, AVG art. 15 PDF and GET /api/audit."""
from __future__ import annotations

import csv
import io

import pytest

from engine import audit_chain, audit_search

from .conftest import audit_rows, login, open_task, reads_during, start_case

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


def test_a_case_view_records_who_from_where_on_which_basis(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-7001")
    login(client, "professional")
    assert client.get(f"/zaken/{case_id}", headers={"User-Agent": "Testbrowser/1.0"}).status_code == 200
    [event] = [e for e in audit_rows(services, action="case.view") if e.case_id == case_id]
    assert event.actor == "professional" and event.actor_name == "Test professional"
    assert event.actor_roles == "professional"
    assert event.client_ref == "CL-7001" and event.outcome == "success"
    assert event.channel == "web" and event.client_address == "127.0.0.1" and event.user_agent == "Testbrowser/1.0"
    assert event.basis == "role" and "professional" in event.basis_detail and "noord" in event.basis_detail
    # The API is another channel
    client.get(f"/api/cases/{case_id}")
    api_event = [e for e in audit_rows(services, action="case.view") if e.case_id == case_id][-1]
    assert api_event.channel == "api"


def test_inbox_case_list_and_api_lists_are_audited_with_their_clients(app, services, client):
    start_case(services, "professional", client_ref="CL-A")
    start_case(services, "professional", client_ref="CL-B")
    login(client, "professional")
    client.get("/")
    client.get("/zaken")
    client.get("/api/tasks")
    client.get("/api/cases")
    events = {e.action + ":" + e.channel: e for e in audit_rows(services, actor="professional")
              if e.action in ("inbox.view", "case.list", "task.list")}
    assert set(events) == {"inbox.view:web", "case.list:web", "task.list:api", "case.list:api"}
    for event in events.values():
        assert event.details["client_refs"] == ["CL-A", "CL-B"] and event.details["count"] == 2
    # A search by client finds the lists that showed it
    with services.sessions() as session:
        found = audit_search.search_page(session, audit_search.AuditQuery(client_ref="CL-A", action="case.list"))
    assert found.total == 2


def test_logbeheerder_searches_exports_and_reading_is_logged(app, services, client):
    case_a = start_case(services, "professional", client_ref="CL-100")
    start_case(services, "professional", client_ref="CL-200")
    viewer = app.test_client()
    login(viewer, "aandachtsfunctionaris")
    viewer.get(f"/zaken/{case_a}")
    login(client, "logbeheerder")

    page = client.get("/auditlog?client_ref=CL-100&action=case.view")
    assert page.status_code == 200
    assert "Test aandachtsfunctionaris" in page.text and "1 gebeurtenis(sen) gevonden" in page.text
    assert client.get("/auditlog?user=aandachtsfunctionaris&action=case.").status_code == 200
    assert client.get("/auditlog?van=2000-01-01&tot=2000-01-02").text.count("0 gebeurtenis(sen)") == 1
    assert client.get("/auditlog?van=gisteren").status_code == 400

    exported = client.get("/auditlog/export.csv?client_ref=CL-100")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert {r["action"] for r in rows} >= {"case.start", "case.view"}
    assert all(r["client_ref"] == "CL-100" or "CL-100" in r["details"] for r in rows)
    assert {"actor_name", "channel", "client_address", "basis", "hash"} <= set(rows[0])

    reads = [e for e in audit_rows(services, actor="logbeheerder") if e.action.startswith("auditlog.")]
    assert [e.action for e in reads] == ["auditlog.search"] * 3 + ["auditlog.export"]
    assert reads[0].details["filters"] == {"client_ref": "CL-100", "action": "case.view"}
    assert reads[0].details["client_refs"] == ["CL-100"]


def test_paging(app, services, client):
    from engine import audit

    with services.sessions.begin() as session:
        for i in range(120):
            audit.record(session, "piet", "case.view", client_ref="CL-P", case_id=1, i=i)
    login(client, "logbeheerder")
    first = client.get("/auditlog?client_ref=CL-P")
    assert "120 gebeurtenis(sen) gevonden, pagina 1 van 3" in first.text and 'rel="next"' in first.text
    last = client.get("/auditlog?client_ref=CL-P&pagina=3")
    # 120 views and the first search itself (a lookup of CL-P is logged with that client)
    assert "121 gebeurtenis(sen)" in last.text
    assert last.text.count("<tr>") == 1 + 21 and 'rel="prev"' in last.text


def test_a_page_that_ends_the_matches_is_counted_from_the_page(app, services):
    """The search of one client's events is one statement when its page holds them all; a full page counts."""
    from engine import audit

    with services.sessions.begin() as session:
        for i in range(7):
            audit.record(session, "piet", "case.view", client_ref="CL-R", case_id=1, i=i)

    def search(**paging):
        with services.sessions() as session:
            return audit_search.search_page(session, audit_search.AuditQuery(client_ref="CL-R"), **paging)

    def counts(reads):
        return sum("count(" in s.lower() for s in reads)

    found, reads = reads_during(services, lambda: search())
    assert (len(found.events), found.total, found.total_capped, counts(reads)) == (7, 7, False, 0)
    last, reads = reads_during(services, lambda: search(page=2, per_page=5))
    assert (len(last.events), last.total, counts(reads)) == (2, 7, 0)
    full, reads = reads_during(services, lambda: search(per_page=7))
    assert (full.total, counts(reads)) == (7, 1)
    beyond, reads = reads_during(services, lambda: search(page=3, per_page=5))
    assert (beyond.events, beyond.total, counts(reads)) == ([], 7, 1)


def test_a_search_with_more_matches_than_the_count_cap_says_so_and_pages_on(app, services, client, monkeypatch):
    from engine import audit

    monkeypatch.setattr(audit_search, "COUNT_CAP", 60)  # the real cap is 10,000 events
    with services.sessions.begin() as session:
        for i in range(130):
            audit.record(session, "piet", "case.view", client_ref="CL-Q", case_id=1, i=i)
    login(client, "logbeheerder")
    first = client.get("/auditlog?client_ref=CL-Q&pagina=2")
    assert "Meer dan 60 gebeurtenissen gevonden, pagina 2." in first.text
    assert 'rel="next"' in first.text and first.text.count("<tr>") == 1 + 50
    last = client.get("/auditlog?client_ref=CL-Q&pagina=3")
    assert last.text.count("<tr>") == 1 + 31 and 'rel="next"' not in last.text  # 130 views, the first search
    with services.sessions() as session:
        logged = audit_search.search_page(session, audit_search.AuditQuery(action="auditlog.search")).events[-1]
    assert logged.details["found"] == 60 and logged.details["found_capped"] is True
    api = client.get("/api/audit?client_ref=CL-Q&per_page=100&page=2").get_json()
    assert (api["total"], api["total_capped"], len(api["events"])) == (60, True, 32)  # and both searches
    exact = client.get("/api/audit?client_ref=CL-Q&user=logbeheerder").get_json()
    assert (exact["total"], exact["total_capped"]) == (3, False)


def test_who_has_seen_the_file_as_pdf(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-AVG")
    other = start_case(services, "professional", client_ref="CL-OTHER")
    for username in ("professional", "aandachtsfunctionaris"):
        c = app.test_client()
        login(c, username)
        c.get(f"/zaken/{case_id}")
        c.get(f"/zaken/{other}")
    with services.sessions() as session:
        seen = audit_search.seen_by(session, "CL-AVG")
    assert {(e.actor, e.action) for e in seen} >= {("professional", "case.view"), ("aandachtsfunctionaris", "case.view")}
    assert all(e.client_ref == "CL-AVG" or "CL-AVG" in e.details.get("client_refs", []) for e in seen)

    login(client, "logbeheerder")
    report = client.get("/auditlog/inzage.pdf?client_ref=CL-AVG")
    assert report.status_code == 200 and report.mimetype == "application/pdf"
    assert report.data.startswith(b"%PDF-") and report.data.rstrip().endswith(b"%%EOF")
    assert 'filename="inzage-CL-AVG.pdf"' in report.headers["Content-Disposition"]
    [logged] = [e for e in audit_rows(services, action="auditlog.report")]
    assert logged.details["client_refs"] == ["CL-AVG"] and logged.details["rows"] == len(seen)
    assert client.get("/auditlog/inzage.pdf").status_code == 400


def test_api_audit_for_the_logbeheerder_only(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-API")
    viewer = app.test_client()
    login(viewer, "professional")
    viewer.get(f"/zaken/{case_id}")
    for username in ("professional", "beheerder", "aandachtsfunctionaris"):
        c = app.test_client()
        login(c, username)
        assert c.get("/api/audit?client_ref=CL-API").status_code == 403
    assert app.test_client().get("/api/audit").status_code == 401

    login(client, "logbeheerder")
    response = client.get("/api/audit?client_ref=CL-API&user=professional&since=2000-01-01")
    assert response.status_code == 200
    events = response.get_json()["events"]
    assert {e["action"] for e in events} >= {"case.start", "case.view"}
    view = next(e for e in events if e["action"] == "case.view")
    assert set(view) == set(audit_search.FIELDS)
    assert view["client_ref"] == "CL-API" and view["channel"] == "web" and view["actor_name"] == "Test professional"
    assert view["at"].endswith("Z") and view["hash"]
    assert client.get("/api/audit?since=nooit").status_code == 400
    assert audit_rows(services, action="auditlog.api")[-1].actor == "logbeheerder"
    with services.sessions() as session:
        assert audit_chain.verify(session).ok


def test_api_audit_with_a_bearer_token(app, services):
    from web.auth import service as accounts

    token = accounts.create_token(services.sessions, "logbeheerder", "siem")
    response = app.test_client().get("/api/audit", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200 and "events" in response.get_json()
    assert audit_rows(services, action="auditlog.api")[-1].channel == "api"


def test_task_view_and_completion_carry_the_fields(app, services, client):
    case_id = start_case(services, "professional", client_ref="CL-T")
    task = open_task(services, case_id, "stap1")
    login(client, "professional")
    client.get(f"/taken/{task.id}")
    [event] = audit_rows(services, action="task.view", task_id=task.id)
    assert event.channel == "web" and event.actor_name == "Test professional" and event.basis == "role"


def test_a_client_reference_with_accents_is_found_in_lists(app, services, client):
    start_case(services, "professional", client_ref="CL-Zoë")
    login(client, "professional")
    client.get("/zaken")
    with services.sessions() as session:
        found = audit_search.search_page(session, audit_search.AuditQuery(client_ref="CL-Zoë", action="case.list"))
    assert found.total == 1 and found.events[0].details["client_refs"] == ["CL-Zoë"]
    with services.sessions() as session:
        none = audit_search.search_page(session, audit_search.AuditQuery(client_ref="CL-Zo", action="case.list"))
    assert none.total == 0


def test_a_large_export_streams_every_row(app, services, client):
    from engine import audit

    with services.sessions.begin() as session:
        for i in range(700):
            audit.record(session, "piet", "case.view", client_ref="CL-GROOT", case_id=i, note="x" * 150)
    login(client, "logbeheerder")
    response = client.get("/auditlog/export.csv?client_ref=CL-GROOT&action=case.view")
    assert response.is_streamed or len(response.data) > 64_000
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 700 and [int(r["case_id"]) for r in rows] == list(range(700))


def test_an_unread_export_leaves_no_signed_in_context_behind(app, services):
    """A client that never reads the streamed CSV must not leave its sign-in to the next request."""
    reader = app.test_client()
    login(reader, "logbeheerder")
    unread = reader.get("/auditlog/export.csv")  # kept, body never read
    stranger = app.test_client()
    assert stranger.get("/inloggen").status_code == 200
    assert stranger.get("/auditlog").status_code == 302  # to the sign-in page
    unread.close()
