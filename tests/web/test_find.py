"""Finding cases on Zaken and through the API: search by client reference, filters, sorting, Mijn zaken, paging;
audited like every list; only cases the user may read."""
from __future__ import annotations

import re

import pytest

from .conftest import STAP1_ANSWERS, audit_rows, login, open_task, start_case, user_of

# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


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


# -- in the browser ------------------------------------------------------------------------------------------------

def test_a_professional_searches_filters_and_sorts_in_the_browser(app, services, live_server, page, database_url):
    from .axe import assert_accessible
    from .browser_steps import screenshot, send, sign_in

    first = start_case(services, client_ref="CL-2026-042")
    start_case(services, client_ref="CL-2026-043")
    start_case(services, client_ref="AB-7")
    start_case(services, "aandachtsfunctionaris", client_ref="CL-2026-050")
    _complete_stap1(services, first)

    sign_in(page, live_server, "professional")
    send(page, {}, "nav a:has-text('Zaken')", "h1:has-text('Zaken van')")
    assert page.locator("table.cases tbody tr").count() == 4
    send(page, {"#veld-q": "cl-2026-04"}, "button:has-text('Zoeken')", "#aantal-zaken:has-text('2 zaken gevonden')")
    assert _rows(page.content()) == ["CL-2026-043", "CL-2026-042"]
    # The step filter keeps the search term
    page.select_option("#veld-stap", "2")
    page.click("button:has-text('Filters toepassen')")
    page.wait_for_selector("#aantal-zaken:has-text('1 zaak gevonden')")
    row = page.locator("table.cases tbody tr")
    assert "CL-2026-042" in row.inner_text() and "Stap 2" in row.inner_text()
    assert page.input_value("#veld-q") == "cl-2026-04"
    sr_label = page.locator("table.cases .progress .visually-hidden").first.inner_text()
    assert sr_label == "Stap 2 van 6 · Collegiale consultatie en advies"
    screenshot(page, "zaken-zoeken", database_url)
    assert_accessible(page, "zaken (zoeken)")

    # Sorting by client reference, all steps
    page.select_option("#veld-stap", "")
    page.fill("#veld-q", "")
    page.select_option("#veld-sort", "client")
    page.click("button:has-text('Filters toepassen')")
    page.wait_for_selector("#aantal-zaken:has-text('4 zaken gevonden')")
    assert _rows(page.content()) == ["AB-7", "CL-2026-042", "CL-2026-043", "CL-2026-050"]

    # Mijn zaken: only the cases of which I am the responsible professional, also from the inbox
    page.click("nav a:has-text('Inbox')")
    page.click("a.button:has-text('Mijn zaken')")
    page.wait_for_selector("h1:has-text('Mijn zaken')")
    assert _rows(page.content()) == ["AB-7", "CL-2026-043", "CL-2026-042"]
    page.select_option("#veld-verantwoordelijke", "aandachtsfunctionaris")
    page.click("button:has-text('Filters toepassen')")
    page.wait_for_selector("#aantal-zaken:has-text('1 zaak gevonden')")
    assert "Test aandachtsfunctionaris" in page.inner_text("table.cases")
    assert page.problems == [], page.problems


def test_the_case_list_fits_a_phone(app, services, live_server, page, database_url):
    from .axe import assert_accessible
    from .browser_steps import screenshot, sign_in

    for n in range(3):
        start_case(services, client_ref=f"CL-2026-LANGE-REFERENTIE-{n:03d}")
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "professional")
    page.goto(live_server + "/zaken")
    page.wait_for_selector("table.cases")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # The column names stay available to screen readers (the header is visually hidden, not removed)
    for name in ("Cliënt", "Voortgang", "Verantwoordelijke", "Termijn", "Status", "Gestart"):
        assert page.get_by_role("columnheader", name=name).count() == 1, name
    assert page.get_by_role("cell", name="Stap 1 van 6 · Signalen in kaart brengen").count() == 3
    screenshot(page, "zaken-mobiel", database_url)
    assert_accessible(page, "zaken (390 px)")
