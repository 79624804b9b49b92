"""A team's inbox in pages of 50, most urgent first (issue 14: at a million cases a team holds ~300 open tasks and
rendering them all was most of the page's time). Only the clients on the page shown are audited as read."""
from __future__ import annotations

import re

from web.inbox.service import PER_PAGE

from .conftest import audit_rows, login, start_case

ROW = re.compile(r'<tr role="row" class="([^"]*)" data-task-id="\d+">.*?title="Dossier van zaak (\d+)">([^<]+)</a>',
                 re.S)


def _rows(html: str) -> list[tuple[str, int, str]]:
    return [(classes, int(case_id), ref) for classes, case_id, ref in ROW.findall(html)]


def test_the_inbox_shows_fifty_tasks_a_page_and_audits_only_those(services, client):
    case_ids = [start_case(services, client_ref=f"CL-{n:03d}") for n in range(PER_PAGE + 5)]
    login(client, "professional")

    first = client.get("/").get_data(as_text=True)
    assert len(_rows(first)) == PER_PAGE
    assert 'rel="next"' in first and 'rel="prev"' not in first and "Pagina 1 van 2" in first
    assert f'<span class="count">{PER_PAGE + 5}</span>' in first  # the tab counts every task, not the page

    second = client.get("/?filter=team&pagina=2").get_data(as_text=True)
    shown = _rows(second)
    assert [case_id for _, case_id, _ in shown] == case_ids[PER_PAGE:]  # oldest first without deadlines
    assert 'rel="prev"' in second and 'rel="next"' not in second

    views = [e for e in audit_rows(services, actor="professional") if e.action == "inbox.view"][-2:]
    assert [e.details["page"] for e in views] == [1, 2]
    assert views[0].details["count"] == PER_PAGE
    assert views[1].details["client_refs"] == [ref for _, _, ref in shown]
    assert "CL-000" not in views[1].details["client_refs"]

    # a page beyond the last shows the last one
    assert _rows(client.get("/?pagina=9").get_data(as_text=True)) == shown


def test_a_highlighted_case_opens_the_page_it_stands_on(services, client):
    case_ids = [start_case(services, client_ref=f"CL-{n:03d}") for n in range(PER_PAGE + 2)]
    login(client, "professional")
    page = client.get(f"/?zaak={case_ids[-1]}").get_data(as_text=True)
    rows = _rows(page)
    assert len(rows) == 2 and "Pagina 2 van 2" in page
    assert [case_id for classes, case_id, _ in rows if "row-new" in classes] == [case_ids[-1]]



def _transactions(services, request) -> int:
    """How many transactions one request begins."""
    from sqlalchemy import event

    bind = services.sessions.kw["bind"]
    begins: list[int] = []

    def began(conn):
        begins.append(1)

    event.listen(bind, "begin", began)
    try:
        request()
    finally:
        event.remove(bind, "begin", began)
    return len(begins)


def test_the_inbox_page_reads_and_audits_in_one_transaction_after_signing_in(services, client):
    """Issue 14: the inbox page began a transaction per read (its tasks, the audit event, returned tasks,
    notifications, case overviews) after the sign-in's two; now the sign-in is one and the page another, which
    commits the page's audit event with the reads."""
    start_case(services, client_ref="CL-ONE")
    login(client, "professional")
    before = len(audit_rows(services, action="inbox.view"))
    page = {}
    assert _transactions(services, lambda: page.update(html=client.get("/").get_data(as_text=True))) == 2
    assert "CL-ONE" in page["html"]
    events = audit_rows(services, action="inbox.view")
    assert len(events) == before + 1 and events[-1].details["client_refs"] == ["CL-ONE"]


def test_an_api_task_list_and_its_audit_event_are_one_transaction(services, client):
    from web.auth import service as accounts

    start_case(services, client_ref="CL-API")
    headers = {"Authorization": "Bearer " + accounts.create_token(services.sessions, "professional", "test")}
    listed = {}
    assert _transactions(services, lambda: listed.update(body=client.get("/api/tasks", headers=headers).json)) == 2
    assert [t["client_ref"] for t in listed["body"]["tasks"]] == ["CL-API"]
    [event] = audit_rows(services, action="task.list")
    assert event.details["client_refs"] == ["CL-API"] and event.outcome == "success"
