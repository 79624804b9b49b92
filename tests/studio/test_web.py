"""The studio's pages for the process owner (Flask test client; the browser test drives the modeler itself)."""
from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import func, select

from engine.contract import LANES
from engine.models import AuditEvent, StudioDraft
from engine.views import Actor

from .conftest import USERNAMES, csrf_from, login
from .edits import broken_afsluiten, renamed_task, scenario

WORKER = Actor("piet", frozenset(LANES), team="noord")


def _owner(app):
    client = app.test_client()
    token = login(client, USERNAMES["procesbeheerder"])
    return client, token


def _new_draft(client, token) -> int:
    response = client.post("/studio/concepten/nieuw", data={"csrf_token": token, "proces": "meldcode", "versie": "1"})
    assert response.status_code == 302
    return int(re.search(r"id=(\d+)", response.location).group(1))


def _post_json(client, token, url, body):
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def test_overview_lists_versions_and_downloads_a_zip(studio_app):
    client, _ = _owner(studio_app)
    page = client.get("/studio/")
    assert page.status_code == 200
    assert "eerste versie" in page.text and "Download (zip)" in page.text and "Studio" in page.text
    download = client.get("/studio/versie.zip?proces=meldcode&versie=1")
    assert download.status_code == 200 and download.mimetype == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.data)).namelist()
    assert "meldcode.bpmn" in names and "scenarios/geen_vermoeden_afsluiten.json" in names
    assert client.get("/studio/versie.zip?proces=meldcode&versie=9").status_code == 404


def test_a_draft_is_edited_checked_run_and_deployed(studio_app, studio_services):
    client, token = _owner(studio_app)
    draft_id = _new_draft(client, token)
    page = client.get(f"/studio/concept?id={draft_id}")
    assert page.status_code == 200 and 'id="draft-data"' in page.text
    assert 'src="/studio/vendor/bpmn-js/bpmn-modeler.production.min.js"' in page.text
    assert client.get("/studio/vendor/bpmn-js/bpmn-modeler.production.min.js").status_code == 200
    assert client.get("/studio/vendor/bpmn-js/../package.json").status_code == 404

    saved = _post_json(client, token, "/studio/concept/bestand",
                       {"id": draft_id, "name": "meldcode.bpmn", "content": broken_afsluiten()})
    assert saved.json["ok"]
    no_csrf = client.post("/studio/concept/bestand", json={"id": draft_id, "name": "meldcode.bpmn", "content": "x"})
    assert no_csrf.status_code == 400  # refused, nothing saved
    problems = _post_json(client, token, "/studio/concept/controleren", {"id": draft_id}).json["problems"]
    assert problems == []
    results = _post_json(client, token, "/studio/concept/scenarios", {"id": draft_id}).json["results"]
    failed = [r for r in results if not r["passed"]]
    assert [r["file"] for r in failed] == ["geen_vermoeden_afsluiten.json"]
    assert "afgesloten" in failed[0]["error"] and failed[0]["state"] == "completed"

    refused = client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id,
                                                            "toelichting": "kapot"}, follow_redirects=True)
    assert "geen vermoeden: de meldcode wordt afgesloten" in refused.text and "Niet gedeployed" in refused.text

    _post_json(client, token, "/studio/concept/bestand", {"id": draft_id, "name": "meldcode.bpmn",
                                                          "content": renamed_task()})
    extra = scenario("disclosure_acute_melding.json")
    added = _post_json(client, token, "/studio/concept/scenario", {"id": draft_id, "name": "extra.json",
                                                                   "scenario": extra})
    assert "extra.json" in added.json["scenarios"]
    bad = _post_json(client, token, "/studio/concept/scenario", {"id": draft_id, "name": "x.json",
                                                                 "scenario": {"name": "x"}})
    assert bad.status_code == 422
    changes = _post_json(client, token, "/studio/concept/vergelijken", {"id": draft_id}).json["files"]
    assert changes[0]["changed"][0]["id"] == "stap0_inschatting"
    preview = _post_json(client, token, "/studio/concept/voorbeeld",
                         {"id": draft_id, "schema": {"type": "object", "title": "Proef", "properties": {
                             "vraag": {"type": "boolean", "title": "Een vraag?"}}}})
    assert "Een vraag?" in preview.json["html"]
    deployed = client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id,
                                                             "toelichting": "Stap 0 korter"}, follow_redirects=True)
    assert "Gedeployed: meldcode versie 2" in deployed.text
    with studio_services.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "procesbeheerder")))
    assert {"studio.processes", "studio.draft_create", "studio.draft_save", "studio.draft_scenarios",
            "studio.draft_scenario", "studio.deploy"} <= actions


def test_another_owners_draft_is_not_found(studio_app, studio_services):
    from web.auth import service as accounts

    client, token = _owner(studio_app)
    draft_id = _new_draft(client, token)
    accounts.create_user(studio_services.sessions, "pb2", "correct horse battery", ["procesbeheerder"], "noord")
    other = studio_app.test_client()
    other_token = login(other, "pb2")
    assert other.get(f"/studio/concept?id={draft_id}").status_code == 404
    assert _post_json(other, other_token, "/studio/concept/bestand",
                      {"id": draft_id, "name": "meldcode.bpmn", "content": "x"}).status_code == 404


def test_a_hostile_upload_is_refused_with_a_clear_message(studio_app, studio_services):
    client, token = _owner(studio_app)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../../meldcode.bpmn", "<x/>")
    response = client.post("/studio/concepten/upload", data={"csrf_token": token, "zip": (io.BytesIO(
        buffer.getvalue()), "boos.zip")}, content_type="multipart/form-data", follow_redirects=True)
    assert "Upload geweigerd, er is niets gewijzigd" in response.text and "onveilige bestandsnaam" in response.text
    with studio_services.sessions() as session:
        assert session.scalar(select(func.count()).select_from(StudioDraft)) == 0


def test_migration_page_dry_run_then_move(studio_app, studio_services):
    engine = studio_services.cases
    cases = [engine.start_case("meldcode", f"M-{i}", WORKER) for i in range(3)]
    client, token = _owner(studio_app)
    draft_id = _new_draft(client, token)
    _post_json(client, token, "/studio/concept/bestand", {"id": draft_id, "name": "meldcode.bpmn",
                                                          "content": renamed_task()})
    client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id, "toelichting": "v2"})
    page = client.get("/studio/migratie?proces=meldcode&van=1&naar=2")
    assert '<strong id="case-count">3</strong>' in page.text
    form = {"csrf_token": csrf_from(page.text), "proces": "meldcode", "van": "1", "naar": "2", "actie": "proef",
            "zaak": [str(c) for c in cases]}
    dry = client.post("/studio/migratie", data=form)
    assert dry.status_code == 200 and dry.text.count('class="ok"') == 3 and "3 zaken verplaatsen" in dry.text
    assert {engine.case(c, WORKER, audit_read=False).process_version for c in cases} == {1}
    moved = client.post("/studio/migratie", data={**form, "actie": "verplaatsen"})
    assert "3 van 3 zaken verplaatst naar versie 2" in moved.text
    assert {engine.case(c, WORKER, audit_read=False).process_version for c in cases} == {2}

    reverted = client.post("/studio/migratie/terugdraaien", data={"csrf_token": token, "zaak": cases[0]},
                           follow_redirects=True)
    assert f"Zaak #{cases[0]} staat weer op versie 1." in reverted.text
    again = client.post("/studio/migratie/terugdraaien", data={"csrf_token": token, "zaak": cases[0]},
                        follow_redirects=True)
    assert "is niet teruggezet" in again.text
    assert engine.case(cases[0], WORKER, audit_read=False).process_version == 1


def test_four_eyes_rule_in_the_pages(make_app, web_settings, studio_app):
    from web.auth import service as accounts

    studio_app.config["MELDCODE_STUDIO_FOUR_EYES"] = "ja"
    services = studio_app.extensions["meldcode"]
    accounts.create_user(services.sessions, "pb2", "correct horse battery", ["procesbeheerder"], "noord")
    client, token = _owner(studio_app)
    draft_id = _new_draft(client, token)
    _post_json(client, token, "/studio/concept/bestand", {"id": draft_id, "name": "meldcode.bpmn",
                                                          "content": renamed_task()})
    refused = client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id,
                                                            "toelichting": "x"}, follow_redirects=True)
    assert "tweede procesbeheerder" in refused.text
    client.post("/studio/concept/aanbieden", data={"csrf_token": token, "id": draft_id})
    reviewer = studio_app.test_client()
    reviewer_token = login(reviewer, "pb2")
    overview = reviewer.get("/studio/")
    assert 'id="ter-goedkeuring"' in overview.text
    page = reviewer.get(f"/studio/beoordelen?id={draft_id}")
    assert "stap0_inschatting" in page.text and "was ‘Stap 0 – Is er acuut levensgevaar?’" in page.text
    assert client.get(f"/studio/beoordelen?id={draft_id}").status_code == 404  # not one's own
    reviewer.post("/studio/beoordelen/goedkeuren", data={"csrf_token": reviewer_token, "id": draft_id})
    deployed = client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id,
                                                             "toelichting": "goedgekeurd"}, follow_redirects=True)
    assert "Gedeployed: meldcode versie 2" in deployed.text


def test_a_migration_shows_in_the_case_timeline(studio_app, studio_services):
    engine = studio_services.cases
    case_id = engine.start_case("meldcode", "TIJD-1", WORKER)
    client, token = _owner(studio_app)
    draft_id = _new_draft(client, token)
    _post_json(client, token, "/studio/concept/bestand", {"id": draft_id, "name": "meldcode.bpmn",
                                                          "content": renamed_task()})
    client.post("/studio/concept/deployen", data={"csrf_token": token, "id": draft_id, "toelichting": "v2"})
    _post_json(client, token, "/api/cases/migrate", {"case_ids": [case_id], "to_version": 2, "dry_run": False})
    professional = studio_app.test_client()
    login(professional, USERNAMES["professional"])
    page = professional.get(f"/zaken/{case_id}")
    assert page.status_code == 200, page.status_code
    assert "Zaak gemigreerd naar versie 2 (was versie 1)" in page.text
