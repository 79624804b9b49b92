"""The dossier export (web/cases/dossier.py, engine/dossier.py): a printable page and a PDF with the case's
signals, decision, milestones, deadlines, notes and attachments; full access only; every export audited. In
Chromium: a professional opens the printable dossier and downloads the PDF, whose text holds the client reference
and a recorded signal."""
from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from engine import notes

from .axe import assert_accessible
from .conftest import audit_rows, login, user_of
from .test_browser import screenshot, sign_in
from .test_notes_attachments import PDF, _case_with_signals, web_settings  # noqa: F401 - the settings fixture


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_dossier_page_and_pdf_hold_the_case_and_are_audited(app, services, client):
    case_id = _case_with_signals(services)
    notes.add_note(services.sessions, user_of(services, "professional").actor, case_id,
                   "Hypothese uit Stap 1 nagevraagd bij de schoolarts.", kind="hypothese", outcome="bevestigd")
    login(client, "professional")

    page = client.get(f"/zaken/{case_id}/dossier")
    assert page.status_code == 200
    for text in ("Dossier cliënt", "CL-2026-042", "Signalen (Stap 1)", "Blauwe plekken op beide armen",
                 "Ernstige zorg", "Aantekeningen", "Hypothese bevestigd", "nagevraagd bij de schoolarts",
                 "Besluit volgens het afwegingskader", "Mijlpalen en termijnen", "Bijlagen",
                 "dossier.css", "PDF downloaden"):
        assert text in page.text, text

    pdf = client.get(f"/zaken/{case_id}/dossier.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"] == f"attachment; filename=dossier-zaak-{case_id}.pdf"
    assert pdf.data.startswith(b"%PDF-")
    text = _pdf_text(pdf.data)
    for wanted in ("CL-2026-042", "Blauwe plekken op beide armen", "Ernstige zorg", "nagevraagd bij de schoolarts"):
        assert wanted in text, wanted

    exports = audit_rows(services, action="case.export")
    assert [(e.actor, e.case_id, e.client_ref, e.outcome, e.details["format"]) for e in exports] == [
        ("professional", case_id, "CL-2026-042", "success", "html"),
        ("professional", case_id, "CL-2026-042", "success", "pdf")]
    assert exports[0].details["notes"] == 1 and exports[0].details["access"] == "full"


def test_an_export_of_a_missing_case_is_refused_like_a_foreign_one(app, services, client):
    login(client, "professional")
    assert client.get("/zaken/999999/dossier").status_code == 403
    assert client.get("/zaken/999999/dossier.pdf").status_code == 403
    assert [e.outcome for e in audit_rows(services, action="case.export")] == ["denied", "denied"]


@pytest.mark.parametrize("width", [1280])
def test_a_professional_prints_the_dossier_and_downloads_its_pdf_in_the_browser(app, services, live_server, page,
                                                                                database_url, tmp_path, width):
    case_id = _case_with_signals(services)
    notes.add_note(services.sessions, user_of(services, "professional").actor, case_id,
                   "Moeder belde: zij wil graag een gesprek op school.")
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/zaken/{case_id}")
    page.click("a:has-text('Dossier afdrukken / PDF')")
    page.wait_for_selector("h1:has-text('Dossier cliënt')")
    assert page.is_visible("button[data-print]")  # the print button appears with JavaScript
    assert "Blauwe plekken op beide armen" in page.inner_text("[data-section=signalen]")
    page.emulate_media(media="print")
    assert not page.is_visible("header.topbar") and not page.is_visible(".dossier-actions")
    page.emulate_media(media="screen")
    screenshot(page, "dossier-afdrukken", database_url)

    # Making the PDF takes WeasyPrint a few seconds (longer on a busy machine): more than the default 15 s.
    with page.expect_download(timeout=120_000) as caught:
        page.click("a:has-text('PDF downloaden')", timeout=120_000)
    download = caught.value
    assert download.suggested_filename == f"dossier-zaak-{case_id}.pdf"
    text = _pdf_text(open(download.path(), "rb").read())
    assert "CL-2026-042" in text and "Blauwe plekken op beide armen" in text and "Moeder belde" in text
    assert [e.details["format"] for e in audit_rows(services, action="case.export")] == ["html", "pdf"]
    assert_accessible(page, "the printable dossier")
    assert page.problems == [], page.problems
