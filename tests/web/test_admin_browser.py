"""In Chromium: the beheerder pauses and resumes a case from the instance console (diagram drawn, reason
required), and the logbeheerder searches the audit log and downloads the CSV export and the AVG art. 15 PDF."""
from __future__ import annotations

from pathlib import Path

from .browser_steps import screenshot, send, sign_in
from .conftest import audit_rows, login, start_case


def test_the_beheerder_pauses_and_resumes_a_case(app, services, live_server, page, database_url):  # noqa: F811
    case_id = start_case(services, "professional", client_ref="CL-BROWSER")
    sign_in(page, live_server, "beheerder")
    send(page, {}, "nav >> text=Beheer", "h1:has-text('Procesinstanties')")
    assert "CL-BROWSER" not in page.content()
    page.select_option("select[name=status]", "running")
    page.click("button:has-text('Filteren')")
    page.click(f"#instanties a:has-text('#{case_id}')")
    page.wait_for_selector(f"h1:has-text('Zaak #{case_id}')")
    page.wait_for_selector("#diagram[data-state=ready]")
    assert page.locator("#diagram .djs-element.highlight, #diagram [data-element-id]").count() > 0
    assert "CL-BROWSER" not in page.content()

    # A reason is required: the browser does not send the form without one
    page.click("#pauzeren button")
    assert page.locator("#pauzeren input[name=reden]:invalid").count() == 1
    assert services.cases.case_progress(case_id)[0] == "running"
    send(page, {"#pauzeren input[name=reden]": "Controle van de registratie"}, "#pauzeren button",
         "text=De zaak is gepauzeerd")
    assert page.locator("h1 .status").inner_text() == "Gepauzeerd"
    assert page.locator("#status-reden").inner_text() == "Controle van de registratie"
    screenshot(page, "beheer-zaak-gepauzeerd", database_url)
    send(page, {"#hervatten input[name=reden]": "Registratie klopt"}, "#hervatten button", "text=De zaak is hervat")
    assert services.cases.case_progress(case_id)[0] == "running"
    assert [e.details["reason"] for e in audit_rows(services, actor="beheerder")
            if e.action in ("oversight.suspend", "oversight.resume")] == ["Controle van de registratie",
                                                                          "Registratie klopt"]
    assert not page.problems, page.problems


def test_the_logbeheerder_searches_and_downloads(app, services, live_server, page, database_url,  # noqa: F811
                                                tmp_path: Path):
    case_id = start_case(services, "professional", client_ref="CL-INZAGE")
    viewer = app.test_client()
    login(viewer, "aandachtsfunctionaris")
    viewer.get(f"/zaken/{case_id}")

    sign_in(page, live_server, "logbeheerder")
    send(page, {}, "nav >> text=Auditlog", "h1:has-text('Auditlog')")
    send(page, {"form[role=search] input[name=client_ref]": "CL-INZAGE",
                "form[role=search] input[name=action]": "case.view"}, "button:has-text('Zoeken')", "#auditlog")
    rows = page.locator("#auditlog tbody tr")
    assert rows.count() == 1 and "Test aandachtsfunctionaris" in rows.first.inner_text()
    screenshot(page, "auditlog-zoeken", database_url)

    with page.expect_download() as csv_download:
        page.click("a:has-text('Exporteren als CSV')")
    csv_path = tmp_path / "auditlog.csv"
    csv_download.value.save_as(csv_path)
    assert csv_path.read_text().startswith("id,seq,at,actor") and "CL-INZAGE" in csv_path.read_text()

    page.fill("form[aria-label=Inzageoverzicht] input[name=client_ref]", "CL-INZAGE")
    with page.expect_download() as pdf_download:
        page.click("button:has-text('Overzicht als PDF')")
    assert pdf_download.value.suggested_filename == "inzage-CL-INZAGE.pdf"
    pdf_path = tmp_path / "inzage.pdf"
    pdf_download.value.save_as(pdf_path)
    assert pdf_path.read_bytes().startswith(b"%PDF-")
    assert [e.action for e in audit_rows(services, actor="logbeheerder") if e.action.startswith("auditlog.")] == [
        "auditlog.search", "auditlog.search", "auditlog.export", "auditlog.report"]
    assert not page.problems, page.problems
