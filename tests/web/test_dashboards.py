"""The team dashboards (web/dashboards/): own team only, charts with tables, CSV equal to the table, audited,
refused to a professional; in Chromium the aandachtsfunctionaris finds the dashboard from the menu."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import lxml.html

from engine import clock

from .conftest import audit_rows, login, open_task, start_case, user_of
from .test_browser import screenshot, sign_in

STAP1 = {"signalen": "Blauwe plek.", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-05"}


def _cases(services) -> None:
    """Team noord: one case overdue at Stap 1, one at Stap 1 in time, one at Stap 2 after Stap 1 took a day.
    Team zuid: two cases at Stap 1 (never counted for noord)."""
    with clock.frozen_at(clock.now() - timedelta(days=9)):
        start_case(services, client_ref="CL-OUD")
    start_case(services, client_ref="CL-NIEUW")
    with clock.frozen_at(clock.now() - timedelta(days=2)):
        case_id = start_case(services, client_ref="CL-STAP2")
    task = open_task(services, case_id, "stap1")
    with clock.frozen_at(clock.now() - timedelta(days=1)):
        services.cases.complete_task(task.id, user_of(services, "professional").actor, STAP1)
    for ref in ("CL-Z1", "CL-Z2"):
        start_case(services, "zuid", client_ref=ref)


def _table(html: str, key: str) -> list[list[str]]:
    table = lxml.html.fromstring(html).get_element_by_id(f"tabel-{key}")
    return [[cell.text_content().strip() for cell in row.xpath("./th|./td")] for row in table.xpath(".//tr")]


def test_the_aandachtsfunctionaris_sees_the_counts_of_the_own_team(app, services, client):
    _cases(services)
    login(client, "aandachtsfunctionaris")
    page = client.get("/dashboard")
    assert page.status_code == 200
    assert _table(page.text, "stappen") == [["Stap", "Open zaken", "Taken over termijn"],
                                            ["Stap 1 · Signalen in kaart brengen", "2", "1"], ["Stap 2 · Collegiale consultatie en advies", "1", "0"]]
    durations = _table(page.text, "doorlooptijd")
    assert durations[1][:2] == ["Stap 1 · Signalen in kaart brengen", "1"] and durations[1][2] == durations[1][3] == "1,0"
    months = _table(page.text, "maanden")
    assert len(months) == 13 and all(row[1:] == ["0", "0"] for row in months[1:])
    for key in ("stappen", "maanden", "doorlooptijd"):
        assert f'id="grafiek-{key}" role="img"' in page.text
    assert "CL-" not in page.text  # counts only: no client reference on the dashboard
    [event] = audit_rows(services, action="dashboard.view")
    assert (event.actor, event.outcome, event.client_ref, event.details["team"]) == (
        "aandachtsfunctionaris", "success", None, "noord")


def test_the_csv_of_every_dataset_is_the_table(app, services, client):
    _cases(services)
    login(client, "leidinggevende")
    page = client.get("/dashboard?maanden=6")
    assert "Laatste 6 maanden" in page.text
    for key in ("stappen", "maanden", "doorlooptijd"):
        response = client.get(f"/dashboard/{key}.csv?maanden=6")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert response.headers["Content-Disposition"].startswith(f'attachment; filename="dashboard-noord-{key}-')
        assert list(csv.reader(io.StringIO(response.text))) == _table(page.text, key), key
    assert len(_table(page.text, "maanden")) == 7
    assert client.get("/dashboard/onbekend.csv").status_code == 404
    exports = audit_rows(services, action="dashboard.export")
    assert [e.details["dataset"] for e in exports] == ["stappen", "maanden", "doorlooptijd"]


def test_another_teams_cases_are_never_counted(app, services, client):
    from web.auth import service as accounts

    from .conftest import PASSWORD
    _cases(services)
    accounts.create_user(services.sessions, "zuid-af", PASSWORD, ["aandachtsfunctionaris"], "zuid")
    login(client, "zuid-af")
    page = client.get("/dashboard")
    assert _table(page.text, "stappen") == [["Stap", "Open zaken", "Taken over termijn"], ["Stap 1 · Signalen in kaart brengen", "2", "0"]]


def test_a_professional_is_refused(app, services, client):
    login(client, "professional")
    assert client.get("/dashboard").status_code == 403
    assert client.get("/dashboard/stappen.csv").status_code == 403
    assert "Dashboard" not in client.get("/").text  # no menu item either
    assert [e.outcome for e in audit_rows(services, actor="professional", action="page.dashboards.index")] == [
        "denied"]


def test_the_aandachtsfunctionaris_opens_the_dashboard_in_the_browser(app, services, live_server, page,
                                                                      database_url):
    _cases(services)
    sign_in(page, live_server, "aandachtsfunctionaris")
    page.click("nav a:has-text('Dashboard')")
    page.wait_for_selector("h1:has-text('Dashboard')")
    chart = page.locator("svg#grafiek-stappen[role=img]")
    assert chart.is_visible()
    assert chart.locator("title").text_content() == "Open zaken per stap"
    assert chart.locator("rect.series-0").count() == 2 + 1  # the legend's swatch and a bar per step
    rows = page.locator("#tabel-stappen tbody tr")
    assert rows.count() == 2 and rows.nth(0).inner_text().split() == ["Stap", "1", "·", "Signalen", "in", "kaart", "brengen", "2", "1"]
    page.select_option("#veld-maanden", "3")
    page.click("button:has-text('Toon')")
    page.wait_for_selector("#tabel-maanden")
    assert page.locator("#tabel-maanden tbody tr").count() == 3
    with page.expect_download() as download:
        page.click("#stappen a:has-text('CSV downloaden')")
    assert download.value.suggested_filename.startswith("dashboard-noord-stappen-")
    screenshot(page, "dashboard", database_url)
    page.set_viewport_size({"width": 390, "height": 844})  # on a phone: charts above their tables, no sideways scroll
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "dashboard-mobiel", database_url)
    assert page.problems == [], page.problems
