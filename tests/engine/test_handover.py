"""Handing over a case or a task to a named colleague (engine/handover.py), on SQLite and PostgreSQL: who may,
to whom, refusals that change nothing, and an audit event in the same transaction as the change."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import handover
from engine.access import AccessDenied
from engine.cases import Actor
from engine.errors import ValidationError
from engine.models import AuditEvent, Case, CaseHandover, CaseRestriction, CaseTask
from tests.engine.fixtures_audit import audit_unavailable

TEAM = "wijkteam-noord"
PIET = Actor("piet", frozenset({"professional"}), TEAM)
KEES = Actor("kees", frozenset({"professional"}), TEAM)
ANNA = Actor("anna", frozenset({"aandachtsfunctionaris"}), TEAM)
LOTTE = Actor("lotte", frozenset({"leidinggevende"}), TEAM)
ZOE = Actor("zoe", frozenset({"professional"}), "wijkteam-zuid")
TEAM_MEMBERS = [PIET, KEES, ANNA, LOTTE]


def state(engine, case_id):
    """Everything a handover may change, to show that a refusal changed nothing."""
    with engine.sessions() as session:
        case = session.get(Case, case_id)
        claims = session.execute(select(CaseTask.id, CaseTask.claimed_by).where(CaseTask.case_id == case_id)
                                 .order_by(CaseTask.id)).all()
        rows = session.scalars(select(CaseHandover.id).where(CaseHandover.case_id == case_id)).all()
        events = session.scalars(select(AuditEvent.action).where(AuditEvent.case_id == case_id,
                                                                 AuditEvent.outcome == "success")).all()
        return case.responsible, case.row_version, claims, list(rows), list(events)


def started(engine):
    case_id = engine.start_case("voorbeeld", "CL-H1", PIET)
    return case_id, engine.open_tasks(case_id=case_id)[0]


def test_the_starter_is_responsible_and_hands_the_case_to_a_colleague_with_a_note(deployed):
    case_id, _ = started(deployed)
    assert handover.ownership(deployed.sessions, case_id, PIET).responsible == "piet"
    offered = handover.options(deployed.sessions, case_id, PIET, TEAM_MEMBERS + [ZOE])
    assert offered.may_hand_over_case and offered.case_candidates == ["kees"]  # a professional of the team
    record = handover.hand_over_case(deployed.sessions, case_id, PIET, KEES, "  Ik ben drie weken met verlof.  ")
    assert (record.from_user, record.to_user, record.note, record.handed_by) == ("piet", "kees",
                                                                                  "Ik ben drie weken met verlof.",
                                                                                  "piet")
    seen = handover.ownership(deployed.sessions, case_id, KEES)
    assert seen.responsible == "kees" and [h.to_user for h in seen.history] == ["kees"]
    with deployed.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.handover")).one()
        [row] = session.scalars(select(CaseHandover)).all()
    assert event.case_id == case_id and event.actor == "piet" and event.client_ref == "CL-H1"
    assert event.details["from_user"] == "piet" and event.details["to_user"] == "kees"
    assert "verlof" not in str(event.details)  # the note is case content, not log content
    assert row.handed_by == "piet"
    # The former holder no longer hands it over; the new one does.
    assert not handover.options(deployed.sessions, case_id, PIET, TEAM_MEMBERS).may_hand_over_case
    with pytest.raises(handover.HandoverError) as refused:
        handover.hand_over_case(deployed.sessions, case_id, PIET, PIET, None)
    assert refused.value.code == handover.NOT_HOLDER


@pytest.mark.parametrize(("target", "code"), [
    (ZOE, handover.UNKNOWN_COLLEAGUE),  # another team
    (ANNA, handover.LACKS_ROLE),  # not a professional
    (LOTTE, handover.LACKS_ROLE),
    (PIET, handover.ALREADY_HOLDS),
    (None, handover.UNKNOWN_COLLEAGUE),  # no such account
])
def test_a_case_is_not_handed_to_someone_outside_the_team_or_role(deployed, target, code):
    case_id, _ = started(deployed)
    before = state(deployed, case_id)
    with pytest.raises(handover.HandoverError) as refused:
        handover.hand_over_case(deployed.sessions, case_id, PIET, target, "graag overnemen")
    assert refused.value.code == code
    assert state(deployed, case_id) == before


def test_a_note_that_cannot_be_stored_changes_nothing(deployed):
    case_id, _ = started(deployed)
    before = state(deployed, case_id)
    for note in ("x" * (handover.MAX_NOTE + 1), "stuur\x00teken"):
        with pytest.raises(ValidationError) as refused:
            handover.hand_over_case(deployed.sessions, case_id, PIET, KEES, note)
        assert handover.NOTE_FIELD in refused.value.errors
    assert state(deployed, case_id) == before


def test_a_colleague_who_may_not_read_the_case_cannot_receive_it(deployed):
    case_id, _ = started(deployed)
    with deployed.sessions.begin() as session:  # the internal route: professionals do not read it
        session.add(CaseRestriction(case_id=case_id, kind="interne_route", since=session.get(Case, case_id).started_at))
    before = state(deployed, case_id)
    with pytest.raises(handover.HandoverError) as refused:
        handover.hand_over_case(deployed.sessions, case_id, LOTTE, KEES, None)
    assert refused.value.code == handover.NO_ACCESS
    assert state(deployed, case_id) == before


def test_the_leidinggevende_reassigns_within_the_team(deployed):
    case_id, task = started(deployed)
    deployed.claim_task(task.id, PIET)  # piet is away; his claim would strand the task
    offered = handover.options(deployed.sessions, case_id, LOTTE, TEAM_MEMBERS + [ZOE])
    assert offered.leads_team and offered.may_hand_over_case and offered.case_candidates == ["kees"]
    assert [(t.task_id, t.candidates) for t in offered.tasks] == [(task.id, ["kees"])]
    handover.hand_over_case(deployed.sessions, case_id, LOTTE, KEES, "Piet is ziek.")
    record = handover.hand_over_task(deployed.sessions, task.id, LOTTE, KEES, None)
    assert (record.from_user, record.to_user, record.handed_by, record.reassigned) == ("piet", "kees", "lotte", True)
    assert deployed.open_tasks(case_id=case_id)[0].claimed_by == "kees"
    assert [(h.task_id, h.to_user) for h in handover.ownership(deployed.sessions, case_id, KEES).history] == \
        [(None, "kees"), (task.id, "kees")]
    with deployed.sessions() as session:
        actions = session.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.task_id).where(
            AuditEvent.action.like("%.handover")).order_by(AuditEvent.id)).all()
    assert actions == [("case.handover", "lotte", None), ("task.handover", "lotte", task.id)]
    # A leidinggevende of another team does not.
    other = Actor("lars", frozenset({"leidinggevende"}), "wijkteam-zuid")
    before = state(deployed, case_id)
    with pytest.raises(AccessDenied):
        handover.hand_over_case(deployed.sessions, case_id, other, PIET, None)
    assert state(deployed, case_id) == before
    with deployed.sessions() as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.handover",
                                                          AuditEvent.outcome == "denied")).one()
    assert denied.actor == "lars" and denied.case_id == case_id


def test_a_task_goes_to_someone_of_its_lane_and_only_from_its_holder(deployed):
    case_id, task = started(deployed)
    deployed.claim_task(task.id, PIET)
    before = state(deployed, case_id)
    with pytest.raises(handover.HandoverError) as refused:  # the aandachtsfunctionaris does not work in the lane
        handover.hand_over_task(deployed.sessions, task.id, PIET, ANNA, None)
    assert refused.value.code == handover.LACKS_ROLE
    with pytest.raises(handover.HandoverError) as refused:  # another team
        handover.hand_over_task(deployed.sessions, task.id, PIET, ZOE, None)
    assert refused.value.code == handover.UNKNOWN_COLLEAGUE
    with pytest.raises(handover.HandoverError) as refused:  # kees does not hold piet's claim
        handover.hand_over_task(deployed.sessions, task.id, KEES, KEES, None)
    assert refused.value.code in (handover.NOT_HOLDER, handover.ALREADY_HOLDS)
    with pytest.raises(handover.HandoverError) as refused:  # the aandachtsfunctionaris reads, not works, here
        handover.hand_over_task(deployed.sessions, task.id, ANNA, KEES, None)
    assert refused.value.code == handover.NOT_HOLDER
    assert state(deployed, case_id)[:4] == before[:4]
    handover.hand_over_task(deployed.sessions, task.id, PIET, KEES, "Jij kent het gezin.")
    assert deployed.open_tasks(case_id=case_id)[0].claimed_by == "kees"
    assert handover.ownership(deployed.sessions, case_id, PIET).responsible == "piet"  # the case stays his


def test_nothing_is_handed_over_on_a_finished_case(deployed):
    case_id, task = started(deployed)
    deployed.complete_task(task.id, PIET, {"vermoeden": False, "toelichting": "geen zorgen"})
    assert handover.options(deployed.sessions, case_id, PIET, TEAM_MEMBERS).may_hand_over_case is False
    before = state(deployed, case_id)
    with pytest.raises(handover.HandoverError) as refused:
        handover.hand_over_case(deployed.sessions, case_id, PIET, KEES, None)
    assert refused.value.code == handover.NOT_RUNNING
    with pytest.raises(handover.HandoverError):
        handover.hand_over_task(deployed.sessions, task.id, PIET, KEES, None)
    assert state(deployed, case_id) == before


def test_the_handover_and_its_audit_event_are_one_transaction(deployed):
    """When the audit event cannot be written, the handover is not made either."""
    case_id, task = started(deployed)
    before = state(deployed, case_id)
    with audit_unavailable():
        with pytest.raises(RuntimeError):
            handover.hand_over_case(deployed.sessions, case_id, PIET, KEES, "overdracht")
        with pytest.raises(RuntimeError):
            handover.hand_over_task(deployed.sessions, task.id, PIET, KEES, "overdracht")
    assert state(deployed, case_id) == before


def test_break_the_glass_reads_but_does_not_hand_the_teams_work_around(deployed):
    from engine import glass

    case_id, task = started(deployed)
    glass.request_access(deployed.sessions, ZOE, case_id, "Spoed: de cliënt staat aan mijn balie")
    offered = handover.options(deployed.sessions, case_id, ZOE, TEAM_MEMBERS)
    assert not offered.may_hand_over_case and offered.tasks == []
    before = state(deployed, case_id)
    with pytest.raises(handover.HandoverError) as refused:
        handover.hand_over_task(deployed.sessions, task.id, ZOE, KEES, None)
    assert refused.value.code == handover.NOT_HOLDER
    assert state(deployed, case_id)[:4] == before[:4]
