"""The dossier export (engine/dossier.py): the recorded steps grouped into the meldcode's parts with their forms'
labels, the notes and attachments added, full access only, every export audited (also a failing renderer)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import attachments, dossier, notes
from engine.access import AccessDenied
from engine.models import AuditEvent
from engine.views import Actor

BEHEERDER = Actor("bert", frozenset({"beheerder"}), team=None)
LABELS = {"vermoeden": {"title": "Is er een vermoeden?", "options": {}},
          "toelichting": {"title": "Toelichting", "options": {}}}


def _exports(engine) -> list[tuple[str, str, str]]:
    with engine.sessions() as session:
        return [(e.actor, e.outcome, e.details["format"]) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case.export").order_by(AuditEvent.id))]


def test_section_of_names_the_meldcode_parts():
    assert [dossier.section_of(e) for e in ("stap1_signalen", "kindcheck_vragen", "stap2_consultatie",
                                            "stap3_gesprek_voeren", "stap4_afweging2", "stap5_afweging5",
                                            "stap5_melden", "regie_na_melding", "stap6_evaluatiemoment",
                                            "vt_terugkoppeling")] == [
        "signalen", "signalen", "consultatie", "gesprek", "afwegingen", "afwegingen", "besluit", "afspraken",
        "vervolg", "overig"]


def test_the_dossier_holds_steps_notes_and_attachments_and_the_export_is_audited(deployed, professional, tmp_path):
    case_id = deployed.start_case("voorbeeld", "CL-D1", professional)
    [task] = deployed.open_tasks(case_id=case_id)
    deployed.complete_task(task.id, professional, {"vermoeden": True, "toelichting": "Signalen gewogen"})
    notes.add_note(deployed.sessions, professional, case_id, "Gebeld met school")
    attachments.add_attachment(deployed.sessions, professional, case_id, "verslag.pdf", b"%PDF-1.4\n%%EOF\n",
                               tmp_path)
    seen: list[dossier.Dossier] = []

    def render(d: dossier.Dossier) -> str:
        seen.append(d)
        return f"dossier {d.case.client_ref}"

    result = dossier.export_dossier(deployed, deployed.sessions, case_id, professional, fmt="pdf",
                                    labels=lambda cid: {task.id: LABELS}, timer_names=lambda: {}, render=render)
    assert result == "dossier CL-D1"
    [d] = seen
    assert [s.key for s in d.sections] == ["afwegingen"]
    [step] = d.sections[0].steps
    assert [(a.label, a.value) for a in step.answers] == [("Is er een vermoeden?", True),
                                                          ("Toelichting", "Signalen gewogen")]
    assert [n.text for n in d.notes] == ["Gebeld met school"] and [a.filename for a in d.attachments] == [
        "verslag.pdf"]
    assert d.exported_by == "piet"
    assert _exports(deployed) == [("piet", "success", "pdf")]


def test_only_full_access_exports_and_a_failing_renderer_is_audited(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-D2", professional)
    with pytest.raises(AccessDenied):
        dossier.export_dossier(deployed, deployed.sessions, case_id, BEHEERDER, fmt="html",
                               labels=lambda cid: {}, timer_names=lambda: {}, render=lambda d: "nooit")

    def broken(d: dossier.Dossier) -> str:
        raise RuntimeError("printer on fire")

    with pytest.raises(RuntimeError):
        dossier.export_dossier(deployed, deployed.sessions, case_id, professional, fmt="html",
                               labels=lambda cid: {}, timer_names=lambda: {}, render=broken)
    assert _exports(deployed) == [("bert", "denied", "html"), ("piet", "error", "html")]
