"""Finding cases on Zaken and through the API: search by client reference, filters, sorting, Mijn zaken, paging;
audited like every list; only cases the user may read."""
from __future__ import annotations

import re

from .conftest import STAP1_ANSWERS, audit_rows, login, open_task, start_case, user_of


def _rows(html: str) -> list[str]:
    return re.findall(r'class="case-link">([^<]+)</a>', html)


def _complete_stap1(services, case_id: int, username: str = "professional") -> None:
    task = open_task(services, case_id, "stap1")
    data = {**STAP1_ANSWERS, "betreft_beroepskracht": False, "besproken_met": ["Mentor"]}
    services.cases.complete_task(task.id, user_of(services, username).actor, data)


def test_search_by_client_reference_on_zaken(app, services, client):
    start_case(services, client_ref="CL-1001")
    start_case(services, client_ref="CL-2002")
    start_case(services, "zuid", client_ref="CL-1003")  # another team
    login(client, "professional")
    page = client.get("/zaken?q=cl-100")
    assert page.status_code == 200
    assert _rows(page.text) == ["CL-1001"]
    assert "1 zaak gevonden" in page.text
    assert _rows(client.get("/zaken?q=bestaat-niet").text) == []
    assert "Geen zaken gevonden voor ‘bestaat-niet’" in client.get("/zaken?q=bestaat-niet").text
    listed = [e for e in audit_rows(services, action="case.list") if e.details.get("q") == "cl-100"]
    assert listed and listed[-1].details["client_refs"] == ["CL-1001"]


def test_filters_sorting_and_mijn_zaken(app, services, client):
    first = start_case(services, client_ref="CL-A")
    start_case(services, client_ref="CL-B")
    start_case(services, "aandachtsfunctionaris", client_ref="CL-C")  # responsible: the aandachtsfunctionaris
    _complete_stap1(services, first)
    login(client, "professional")
    assert _rows(client.get("/zaken?stap=2").text) == ["CL-A"]
    assert _rows(client.get("/zaken?stap=1&sort=client").text) == ["CL-B", "CL-C"]
    assert _rows(client.get("/zaken?sort=client").text) == ["CL-A", "CL-B", "CL-C"]
    mine = client.get("/zaken?verantwoordelijke=mij")
    assert _rows(mine.text) == ["CL-B", "CL-A"] and "<h1>Mijn zaken</h1>" in mine.text
    assert _rows(client.get("/zaken?verantwoordelijke=aandachtsfunctionaris").text) == ["CL-C"]
    assert _rows(client.get("/zaken?te_laat=1").text) == []
    assert _rows(client.get("/zaken?status=afgerond").text) == []
    page = client.get("/zaken?stap=2").text
    assert "Stap 2 van 6 · Collegiale consultatie en advies" in page
    assert '<td role="cell" data-label="Verantwoordelijke"><strong>u</strong></td>' in page  # oneself: "u"
    assert "Test aandachtsfunctionaris" in client.get("/zaken?verantwoordelijke=aandachtsfunctionaris").text


def test_bad_filters_get_a_dutch_message_and_are_ignored(app, services, client):
    start_case(services, client_ref="CL-1")
    login(client, "professional")
    page = client.get("/zaken?stap=9&van=gisteren&sort=raar")
    assert page.status_code == 422
    assert "Kies een stap van 0 tot en met 6." in page.text
    assert "Gestart vanaf: vul een datum in als jjjj-mm-dd." in page.text
    assert "Onbekende sortering." in page.text
    assert _rows(page.text) == ["CL-1"]


def test_paging(app, services, client):
    for n in range(27):
        start_case(services, client_ref=f"CL-{n:03d}")
    login(client, "professional")
    first = client.get("/zaken?sort=client")
    assert _rows(first.text)[0] == "CL-000" and len(_rows(first.text)) == 25
    assert "27 zaken gevonden · pagina 1 van 2" in first.text
    assert 'href="/zaken?pagina=2&amp;sort=client"' in first.text
    assert _rows(client.get("/zaken?sort=client&pagina=2").text) == ["CL-025", "CL-026"]


def test_api_searches_by_client_reference(app, services, client):
    first = start_case(services, client_ref="CL-API-1")
    start_case(services, client_ref="CL-API-2")
    start_case(services, "zuid", client_ref="CL-API-3")
    _complete_stap1(services, first)
    login(client, "professional")
    found = client.get("/api/cases?q=api-1").json
    assert [c["client_ref"] for c in found["cases"]] == ["CL-API-1"]
    row = found["cases"][0]
    assert (row["responsible"], row["step"], found["total"], found["page"]) == ("professional", 2, 1, 1)
    assert row["step_label"].startswith("Stap 2 van 6")
    assert [c["client_ref"] for c in client.get("/api/cases?step=1").json["cases"]] == ["CL-API-2"]
    assert [c["client_ref"] for c in client.get("/api/cases?sort=client_ref&responsible=me").json["cases"]] == [
        "CL-API-1", "CL-API-2"]
    bad = client.get("/api/cases?step=x")
    assert bad.status_code == 400 and "step" in bad.json["errors"]
    assert client.get("/api/cases?q=CL-API-3").json["cases"] == []  # another team's case
    assert client.get("/api/cases").json["cases"]  # without search parameters: the list as before
    listed = [e for e in audit_rows(services, action="case.list") if e.details.get("q") == "api-1"]
    assert listed and listed[-1].details["client_refs"] == ["CL-API-1"] and listed[-1].channel == "api"
