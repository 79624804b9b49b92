"""Notes and attachments on the case file (web/cases/notes.py, web/cases/attachments.py): forms with CSRF, Dutch
errors that keep what was typed, full access only, downloads served as downloads and audited; and in Chromium: a
professional writes a note, uploads a PDF and downloads it again."""
from __future__ import annotations

import pytest

from web.settings import WebSettings

from .axe import assert_accessible
from .browser_steps import screenshot, send, sign_in
from .conftest import audit_rows, csrf_from, login, open_task, start_case, user_of

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
MAX_BYTES = 50_000
SIGNALS = {"signalen": "Blauwe plekken op beide armen, gezien op 3 februari in de gymles.", "bron": "De mentor",
           "besproken_met": ["Mentor"], "betreft_beroepskracht": False, "zorg": "hoog",
           "datum_signalering": "2026-02-03"}


@pytest.fixture
def web_settings(tmp_path):
    """The test app's settings, with the attachments in a directory of this test and a small size limit."""
    return WebSettings(secret_key="test-secret-" + "x" * 40, session_cookie_secure=False, start_process="proef",
                       attachments_dir=tmp_path / "bijlagen", attachment_max_bytes=MAX_BYTES)


def _case_with_signals(services, client_ref: str = "CL-2026-042") -> int:
    case_id = start_case(services, client_ref=client_ref)
    services.cases.complete_task(open_task(services, case_id, "stap1").id, user_of(services, "professional").actor,
                                 SIGNALS)
    return case_id


def test_a_note_is_validated_in_dutch_keeps_the_text_and_is_audited(app, services, client):
    case_id = _case_with_signals(services)
    token = login(client, "professional")
    page = client.get(f"/zaken/{case_id}")
    assert 'id="aantekeningen"' in page.text and "Nog geen aantekeningen" in page.text
    assert f'href="/zaken/{case_id}/dossier"' in page.text

    empty = client.post(f"/zaken/{case_id}/aantekeningen", data={"csrf_token": token, "tekst": "  ",
                                                                  "soort": "aantekening"})
    assert empty.status_code == 422 and "lege aantekening wordt niet opgeslagen" in empty.text
    no_outcome = client.post(f"/zaken/{case_id}/aantekeningen", data={
        "csrf_token": token, "tekst": "Vermoeden bij de schoolarts nagevraagd.", "soort": "hypothese"})
    assert no_outcome.status_code == 422 and "bevestigd of weerlegd" in no_outcome.text
    assert "Vermoeden bij de schoolarts nagevraagd." in no_outcome.text  # what was typed comes back
    no_csrf = client.post(f"/zaken/{case_id}/aantekeningen", data={"tekst": "Zonder token"})
    assert no_csrf.status_code == 400
    assert not [e for e in audit_rows(services, action="case.note") if e.outcome == "success"]

    done = client.post(f"/zaken/{case_id}/aantekeningen", data={
        "csrf_token": token, "tekst": "Vermoeden bij de schoolarts nagevraagd.", "soort": "hypothese",
        "uitkomst": "bevestigd"})
    assert done.status_code == 302 and done.location.endswith(f"/zaken/{case_id}#aantekeningen")
    page = client.get(f"/zaken/{case_id}")
    assert "Vermoeden bij de schoolarts nagevraagd." in page.text and "Hypothese bevestigd" in page.text
    [event] = audit_rows(services, action="case.note")
    assert (event.actor, event.case_id, event.client_ref, event.outcome) == (
        "professional", case_id, "CL-2026-042", "success")


@pytest.mark.parametrize("username", ["beheerder", "veilig-thuis", "zuid"])
def test_without_full_access_there_are_no_notes_attachments_or_export(app, services, client, username):
    case_id = _case_with_signals(services)
    login(client, "professional")
    page = client.get(f"/zaken/{case_id}")
    professional_token = csrf_from(page.text)
    client.post(f"/zaken/{case_id}/aantekeningen", data={"csrf_token": professional_token, "tekst": "Geheim"})
    client.post(f"/zaken/{case_id}/bijlagen", data={"csrf_token": professional_token,
                                                    "bestand": (__import__("io").BytesIO(PDF), "a.pdf")},
                content_type="multipart/form-data")
    [attachment] = [e.details["attachment_id"] for e in audit_rows(services, action="case.attachment")]

    other = app.test_client()
    token = login(other, username)
    shown = other.get(f"/zaken/{case_id}")
    if shown.status_code == 200:  # the beheerder sees the metadata, never the notes or the attachments
        assert "Geheim" not in shown.text and 'id="aantekeningen"' not in shown.text and 'id="bijlagen"' not in shown.text
    for response in (other.post(f"/zaken/{case_id}/aantekeningen", data={"csrf_token": token, "tekst": "Ook"}),
                     other.post(f"/zaken/{case_id}/bijlagen", data={"csrf_token": token,
                                                                    "bestand": (__import__("io").BytesIO(PDF), "b.pdf")},
                                content_type="multipart/form-data"),
                     other.get(f"/zaken/{case_id}/bijlagen/{attachment}"),
                     other.get(f"/zaken/{case_id}/dossier"),
                     other.get(f"/zaken/{case_id}/dossier.pdf")):
        assert response.status_code == 403, response.request.path
    denied = {e.action for e in audit_rows(services, actor=username, outcome="denied")}
    assert {"case.note", "case.attachment", "case.attachment.download", "case.export"} <= denied
    assert len(audit_rows(services, action="case.note", outcome="success")) == 1
    assert len(audit_rows(services, action="case.attachment", outcome="success")) == 1
    assert not audit_rows(services, action="case.attachment.download", outcome="success")
    assert not audit_rows(services, action="case.export", outcome="success")


def test_an_upload_is_checked_by_content_and_size_and_a_download_is_a_download(app, services, client, tmp_path):
    import io

    case_id = _case_with_signals(services)
    token = login(client, "professional")

    def upload(content: bytes, name: str, description: str = ""):
        return client.post(f"/zaken/{case_id}/bijlagen", data={
            "csrf_token": token, "omschrijving": description, "bestand": (io.BytesIO(content), name)},
            content_type="multipart/form-data")

    html = upload(HTML, "foto.png.pdf", "Verslag")
    assert html.status_code == 422 and "geen PDF, PNG of JPEG" in html.text and 'value="Verslag"' in html.text
    large = upload(PDF + b"\x00" * MAX_BYTES, "groot.pdf")
    assert large.status_code == 422 and "te groot" in large.text
    huge = upload(PDF + b"\x00" * (MAX_BYTES + 300_000), "enorm.pdf")  # beyond the request limit itself
    assert huge.status_code == 413 and "te groot" in huge.text
    nothing = upload(b"", "")
    assert nothing.status_code == 422 and "leeg" in nothing.text
    no_csrf = client.post(f"/zaken/{case_id}/bijlagen", data={"bestand": (io.BytesIO(PDF), "a.pdf")},
                          content_type="multipart/form-data")
    assert no_csrf.status_code == 400
    assert not list((tmp_path / "bijlagen").rglob("*.*")) and not audit_rows(services, action="case.attachment")

    stored = upload(PDF, "verslag <school>.pdf", "Verslag van school")
    assert stored.status_code == 302
    page = client.get(f"/zaken/{case_id}")
    assert "verslag &lt;school&gt;.pdf" in page.text and "Verslag van school" in page.text
    [event] = audit_rows(services, action="case.attachment")
    download = client.get(f"/zaken/{case_id}/bijlagen/{event.details['attachment_id']}")
    assert download.status_code == 200 and download.data == PDF
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Cache-Control"] == "no-store"
    [seen] = audit_rows(services, action="case.attachment.download")
    assert (seen.actor, seen.case_id, seen.client_ref, seen.outcome) == ("professional", case_id, "CL-2026-042",
                                                                         "success")
    other_case = _case_with_signals(services, "CL-2026-043")
    assert client.get(f"/zaken/{other_case}/bijlagen/{event.details['attachment_id']}").status_code == 404
    files = [p for p in (tmp_path / "bijlagen").rglob("*") if p.is_file()]
    assert len(files) == 1 and "verslag" not in files[0].name


def test_a_professional_writes_a_note_and_uploads_and_downloads_a_pdf_in_the_browser(app, services, live_server, page,
                                                                                      database_url, tmp_path):
    case_id = _case_with_signals(services)
    sign_in(page, live_server, "professional")
    page.goto(f"{live_server}/zaken/{case_id}")
    page.wait_for_selector("#aantekeningen")
    # First as a hypothesis follow-up without its outcome: refused in Dutch, the text kept, nothing saved.
    send(page, {"input[name=soort][value=hypothese]": True,
                "#notitie-tekst": "Moeder belde: zij wil graag een gesprek op school, volgende week dinsdag."},
         "#aantekeningen button:has-text('Aantekening toevoegen')", "#notitie-uitkomst-fout")
    assert "bevestigd of weerlegd" in page.inner_text("#notitie-uitkomst-fout")
    assert page.input_value("#notitie-tekst").startswith("Moeder belde")
    assert_accessible(page, "the note form with an error")
    send(page, {"input[name=soort][value=aantekening]": True}, "button:has-text('Aantekening toevoegen')",
         ".banner.success:has-text('aantekening is toegevoegd')")
    assert "Moeder belde" in page.inner_text("#aantekeningen ol.notes")

    upload = tmp_path / "verslag-school.pdf"
    upload.write_bytes(PDF)
    page.set_input_files("#bijlage-bestand", str(upload))
    send(page, {"#bijlage-omschrijving": "Verslag van de intern begeleider"},
         "#bijlagen button:has-text('Bijlage toevoegen')", ".banner.success:has-text('bijlage is toegevoegd')")
    assert "verslag-school.pdf" in page.inner_text("#bijlagen table")
    page.locator("#aantekeningen").scroll_into_view_if_needed()
    screenshot(page, "dossier-aantekeningen", database_url)
    page.click("#aantekeningen summary:has-text('Aantekening toevoegen')")  # the form, opened, checked too
    assert_accessible(page, "the case file with notes and attachments")

    with page.expect_download() as caught:
        page.click("#bijlagen a:has-text('verslag-school.pdf')")
    download = caught.value
    assert download.suggested_filename == "verslag-school.pdf"
    assert open(download.path(), "rb").read() == PDF
    assert [e.outcome for e in audit_rows(services, action="case.attachment.download")] == ["success"]
    assert page.problems == [], page.problems
