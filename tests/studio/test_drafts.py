"""Drafts on the server, zip download and upload (hostile archives refused, nothing changed), checks while editing,
scenarios against a draft, comparing a draft with a version, deploying a draft."""
from __future__ import annotations

import io
import zipfile

import pytest
from sqlalchemy import func, select

from engine.errors import DiagramError, NotFoundError
from engine.models import AuditEvent, StudioDraft
from engine.studio import zipfiles
from engine.studio.service import Studio
from engine.studio.versions import ScenariosFailed

from .edits import PROCESSES, broken_afsluiten, renamed_task, scenario
from .fixtures_studio import ATTACHED, deploy_with_scenarios, deployed_studio  # noqa: F401 - the `studio` fixture


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _drafts(studio) -> int:
    with studio.sessions() as session:
        return session.scalar(select(func.count()).select_from(StudioDraft))


def test_a_draft_from_a_version_is_saved_on_the_server_and_only_its_owner_sees_it(studio):
    draft = studio.new_draft("pb", "meldcode", 1)
    assert draft.files["meldcode.bpmn"] == (PROCESSES / "meldcode.bpmn").read_text(encoding="utf-8")
    assert sorted(draft.scenarios) == sorted(ATTACHED)
    studio.save_file("pb", draft.id, "meldcode.bpmn", renamed_task())
    assert studio.draft("pb", draft.id).files["meldcode.bpmn"] == renamed_task()  # a reload finds the work
    assert [d.id for d in studio.drafts("pb")] == [draft.id]
    assert studio.drafts("pb2") == []
    with pytest.raises(NotFoundError):
        studio.draft("pb2", draft.id)
    with pytest.raises(NotFoundError):
        studio.save_file("pb2", draft.id, "meldcode.bpmn", "<x/>")
    with pytest.raises(DiagramError):
        studio.save_file("pb", draft.id, "../../etc/passwd", "x")
    with studio.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == "pb")))
    assert {"studio.draft_create", "studio.draft_save", "studio.draft_view"} <= actions


def test_scenarios_in_a_draft_are_validated(studio):
    draft = studio.new_draft("pb", "meldcode", 1)
    with pytest.raises(DiagramError, match="name"):
        studio.save_scenario("pb", draft.id, "leeg.json", {"process": "meldcode"})
    extra = scenario("disclosure_acute_melding.json")
    assert "extra.json" in studio.save_scenario("pb", draft.id, "extra.json", extra).scenarios
    assert "extra.json" not in studio.save_scenario("pb", draft.id, "extra.json", None).scenarios


def test_download_and_upload_round_trip(studio):
    files, scenarios = studio.version_files("pb", "meldcode", 1)
    data = zipfiles.write_zip(files, scenarios)
    draft = studio.upload_draft("pb", "uit git", data)
    assert draft.file_bytes() == files and draft.scenarios == scenarios


HOSTILE = {
    "not a zip": (b"PK\x03\x04 nope", "geen (leesbaar) zip"),
    "path traversal": (_zip({"../meldcode.bpmn": b"<x/>"}), "onveilige bestandsnaam"),
    "absolute path": (_zip({"/etc/meldcode.bpmn": b"<x/>"}), "onveilige bestandsnaam"),
    "unknown file": (_zip({"meldcode.bpmn": b"<x/>", "run.sh": b"rm -rf /"}), "hoort niet in een procesversie"),
    "zip bomb": (_zip({"meldcode.bpmn": b"<a>" + b" " * 1_900_000 + b"</a>"}), "zip-bom"),
    "huge file": (_zip({"meldcode.bpmn": b"<a>" + b"x" * 2_100_000 + b"</a>"}, zipfile.ZIP_STORED), "maximum"),
    "no diagram": (_zip({"forms/a.json": b"{}"}), "geen .bpmn"),
    "xxe": (_zip({"meldcode.bpmn": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                                   b'<d>&x;</d>'}), ""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_uploads_are_refused_and_change_nothing(studio, case):
    data, message = HOSTILE[case]
    before = _drafts(studio)
    with pytest.raises(DiagramError) as refused:
        studio.upload_draft("pb", case, data)
    assert message in str(refused.value)
    assert _drafts(studio) == before
    with studio.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "studio.draft_create", AuditEvent.outcome == "denied")) == 1


def test_a_script_escape_in_an_upload_is_refused(studio):
    files, scenarios = studio.version_files("pb", "meldcode", 1)
    files["meldcode.bpmn"] = renamed_task().replace(
        "</bpmn:process>", "<bpmn:scriptTask id=\"boos\"><bpmn:script>().__class__.__bases__[0].__subclasses__()"
        "</bpmn:script></bpmn:scriptTask></bpmn:process>", 1).encode()
    with pytest.raises(DiagramError, match="script rejected"):
        studio.upload_draft("pb", "boos", zipfiles.write_zip(files, scenarios))
    assert _drafts(studio) == 0


def test_a_symlink_entry_is_refused(studio):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("meldcode.bpmn")
        info.external_attr = (0o120777 << 16)
        archive.writestr(info, "/etc/passwd")
    with pytest.raises(DiagramError, match="link"):
        studio.upload_draft("pb", "link", buffer.getvalue())


def test_checks_while_editing_name_the_element(studio):
    draft = studio.new_draft("pb", "meldcode", 1)
    assert studio.check_draft("pb", draft.id) == []
    fake_join = renamed_task().replace('targetRef="gw_vt_proactief_contact_samen"', 'targetRef="vt_proactief_contact"')
    studio.save_file("pb", draft.id, "meldcode.bpmn", fake_join.replace(
        "<bpmn:incoming>f_gw_vt_proactief_contact_samen_vt_proactief_contact</bpmn:incoming>",
        "<bpmn:incoming>f_gw_terugkoppeling_vt_proactief_contact</bpmn:incoming>"
        "<bpmn:incoming>f_vt_terugkoppeling_te_laat_vt_proactief_contact</bpmn:incoming>"
        "<bpmn:incoming>f_gw_vt_proactief_contact_samen_vt_proactief_contact</bpmn:incoming>"))
    problems = studio.check_draft("pb", draft.id)
    lint = [p for p in problems if p.source == "bpmnlint"]
    assert any(p.element_id == "vt_proactief_contact" and "samenvoegende gateway" in p.message for p in lint)
    no_form = renamed_task().replace('<spiffworkflow:property name="formJsonSchemaFilename" '
                                     'value="stap0_inschatting.json" />', "", 1)
    studio.save_file("pb", draft.id, "meldcode.bpmn", no_form)
    [engine_problem] = [p for p in studio.check_draft("pb", draft.id) if p.source == "engine"]
    assert engine_problem.element_id == "stap0_inschatting" and "form" in engine_problem.message


def test_scenarios_run_against_a_draft_and_compare_shows_the_change(studio):
    draft = studio.new_draft("pb", "meldcode", 1)
    studio.save_file("pb", draft.id, "meldcode.bpmn", broken_afsluiten())
    results = dict(studio.run_draft_scenarios("pb", draft.id))
    assert results["acuut_melden_en_hulp.json"].passed
    failed = results["geen_vermoeden_afsluiten.json"]
    assert not failed.passed and "afgesloten" in failed.error
    [changes] = studio.compare_draft("pb", draft.id, "meldcode", 1)
    assert [a["id"] for a in changes.added] == ["einde_zonder_mijlpaal"]
    assert [r["id"] for r in changes.removed] == ["afgesloten"]
    with pytest.raises(ScenariosFailed):
        studio.deploy_draft("pb", draft.id, "kapot")
    studio.save_file("pb", draft.id, "meldcode.bpmn", renamed_task())
    [changes] = studio.compare_draft("pb", draft.id)
    assert [(c["id"], c["what"]) for c in changes.changed] == [("stap0_inschatting", "naam")]
    result = studio.deploy_draft("pb", draft.id, "Stap 0 korter")
    assert result.versions["meldcode"] == 2


def test_four_eyes_rule_a_second_process_owner_approves_before_deploying(case_engine):
    deploy_with_scenarios(case_engine, "v1")
    studio = Studio(case_engine, four_eyes=True)
    draft = studio.new_draft("pb", "meldcode", 1)
    studio.save_file("pb", draft.id, "meldcode.bpmn", renamed_task())
    with pytest.raises(DiagramError, match="tweede procesbeheerder"):
        studio.deploy_draft("pb", draft.id, "zonder goedkeuring")
    assert studio.drafts_to_review("pb2") == []  # not offered yet
    studio.submit_draft("pb", draft.id)
    assert studio.drafts_to_review("pb") == []  # never one's own
    with pytest.raises(NotFoundError):
        studio.approve_draft("pb", draft.id)
    [pending] = studio.drafts_to_review("pb2")
    _, changes = studio.review_changes("pb2", pending.id)
    assert changes[0].changed[0]["id"] == "stap0_inschatting"
    studio.approve_draft("pb2", draft.id)
    studio.save_file("pb", draft.id, "meldcode.bpmn", renamed_task() + "\n")  # changed after the approval
    with pytest.raises(DiagramError, match="opnieuw goedkeuren"):
        studio.deploy_draft("pb", draft.id, "na wijziging")
    studio.approve_draft("pb2", draft.id)
    assert studio.deploy_draft("pb", draft.id, "goedgekeurd door pb2").versions["meldcode"] == 2
    with studio.sessions() as session:
        approvals = session.scalars(select(AuditEvent).where(AuditEvent.action == "studio.draft_approve")).all()
    assert [(a.actor, a.details["owner"]) for a in approvals] == [("pb2", "pb"), ("pb2", "pb")]
