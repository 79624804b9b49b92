"""Notes on a case (engine/notes.py): written with their audit event, refused without full access, validated."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import clock, notes
from engine.access import AccessDenied
from engine.errors import CaseNotRunningError, ValidationError
from engine.models import AccessGrant, AuditEvent, Case, CaseInvolvement, CaseNote, CaseRestriction
from engine.views import Actor

BEHEERDER = Actor("bert", frozenset({"beheerder"}), team=None)
OTHER_TEAM = Actor("zora", frozenset({"professional"}), team="wijkteam-zuid")
VEILIG_THUIS = Actor("vera", frozenset({"veilig_thuis"}), team="wijkteam-noord")


def _counts(engine) -> tuple[int, int]:
    with engine.sessions() as session:
        return (session.scalar(select(func.count()).select_from(CaseNote)),
                session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "case.note",
                                                                                  AuditEvent.outcome == "success")))


def _events(engine, action: str) -> list[AuditEvent]:
    with engine.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_a_note_and_a_hypothesis_follow_up_are_written_with_their_audit_event(deployed, professional,
                                                                             aandachtsfunctionaris):
    case_id = deployed.start_case("voorbeeld", "CL-N1", professional)
    first = notes.add_note(deployed.sessions, professional, case_id, "  Moeder belde: afspraak verzet.  ")
    second = notes.add_note(deployed.sessions, aandachtsfunctionaris, case_id,
                            "Schoolarts zag geen letsel; vermoeden van mishandeling niet bevestigd.",
                            kind="hypothese", outcome="weerlegd")
    assert (first.kind, first.text, first.hypothesis_outcome, first.author) == (
        "aantekening", "Moeder belde: afspraak verzet.", None, "piet")
    assert (second.kind, second.hypothesis_outcome, second.author) == ("hypothese", "weerlegd", "anna")
    listed = notes.case_notes(deployed.sessions, professional, case_id)
    assert [n.id for n in listed] == [first.id, second.id]
    events = _events(deployed, "case.note")
    assert [(e.actor, e.case_id, e.client_ref, e.outcome) for e in events] == [
        ("piet", case_id, "CL-N1", "success"), ("anna", case_id, "CL-N1", "success")]
    assert events[1].details["kind"] == "hypothese" and events[1].details["outcome_hypothesis"] == "weerlegd"
    assert events[0].details["access"] == "full"
    assert "Moeder" not in str(events[0].details)  # the log records that a note was written, not its text


@pytest.mark.parametrize(("text", "kind", "outcome", "field"), [
    ("", "aantekening", None, "text"),
    ("   \n\t ", "aantekening", None, "text"),
    ("a\x00b", "aantekening", None, "text"),
    ("x" * 10_001, "aantekening", None, "text"),
    ("Vervolg", "hypothese", None, "outcome"),
    ("Vervolg", "hypothese", "misschien", "outcome"),
    ("Gewoon", "aantekening", "bevestigd", "outcome"),
    ("Iets", "geheim", None, "kind"),
])
def test_bad_notes_are_refused_in_dutch_and_change_nothing(deployed, professional, text, kind, outcome, field):
    case_id = deployed.start_case("voorbeeld", "CL-N2", professional)
    before = _counts(deployed)
    with pytest.raises(ValidationError) as caught:
        notes.add_note(deployed.sessions, professional, case_id, text, kind=kind, outcome=outcome)
    assert field in caught.value.errors
    assert all(reason[0].isupper() for reasons in caught.value.errors.values() for reason in reasons)
    assert _counts(deployed) == before


@pytest.mark.parametrize("actor", [BEHEERDER, OTHER_TEAM, VEILIG_THUIS], ids=["beheerder", "other-team", "vt"])
def test_notes_need_full_access_and_a_refusal_is_audited(deployed, professional, actor):
    case_id = deployed.start_case("voorbeeld", "CL-N3", professional)
    notes.add_note(deployed.sessions, professional, case_id, "Eerste aantekening")
    with deployed.sessions.begin() as session:  # Veilig Thuis involved: it still sees only its own part
        session.add(CaseInvolvement(case_id=case_id, party="veilig_thuis", reason="melding", since=clock.now()))
    before = _counts(deployed)
    with pytest.raises(AccessDenied):
        notes.add_note(deployed.sessions, actor, case_id, "Mag niet")
    with pytest.raises(AccessDenied):
        notes.case_notes(deployed.sessions, actor, case_id)
    assert _counts(deployed) == before
    denied = [e for e in _events(deployed, "case.note") if e.outcome == "denied"]
    assert [(e.actor, e.case_id, e.client_ref) for e in denied] == [(actor.username, case_id, "CL-N3")]


def test_internal_route_and_break_the_glass(deployed, professional, aandachtsfunctionaris):
    case_id = deployed.start_case("voorbeeld", "CL-N4", professional)
    with deployed.sessions.begin() as session:
        session.add(CaseRestriction(case_id=case_id, kind="interne_route", since=clock.now()))
    with pytest.raises(AccessDenied):  # the reporting professional keeps no access on the internal route
        notes.add_note(deployed.sessions, professional, case_id, "Mag niet")
    notes.add_note(deployed.sessions, aandachtsfunctionaris, case_id, "Besproken met de leidinggevende")
    with deployed.sessions.begin() as session:
        session.add(AccessGrant(username=OTHER_TEAM.username, user_team=OTHER_TEAM.team, case_id=case_id,
                                team="wijkteam-noord", reason="waarneming", granted_at=clock.now(),
                                expires_at=clock.now() + timedelta(hours=1)))
    note = notes.add_note(deployed.sessions, OTHER_TEAM, case_id, "Waargenomen tijdens afwezigheid")
    assert note.author == "zora"
    assert _events(deployed, "case.note")[-1].basis == "break-the-glass"


def test_an_ended_case_takes_no_new_notes(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-N5", professional)
    with deployed.sessions.begin() as session:
        session.get(Case, case_id).status = "completed"
    before = _counts(deployed)
    with pytest.raises(CaseNotRunningError):
        notes.add_note(deployed.sessions, professional, case_id, "Te laat")
    assert _counts(deployed) == before
    assert notes.case_notes(deployed.sessions, professional, case_id) == []
