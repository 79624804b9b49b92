"""Corrections of a completed step (engine/corrections.py), on SQLite and PostgreSQL: an addendum, never an
overwrite; validated against the step's form; only for who may work in the step's lane; audited with the write."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import corrections
from engine.access import AccessDenied
from engine.cases import Actor
from engine.decisions import decision_of
from engine.errors import TaskNotReadyError, ValidationError
from engine.models import AuditEvent, CaseTask, TaskCorrection
from tests.engine.fixtures_audit import audit_unavailable

TEAM = "wijkteam-noord"
PIET = Actor("piet", frozenset({"professional"}), TEAM)
ANNA = Actor("anna", frozenset({"aandachtsfunctionaris"}), TEAM)
ZOE = Actor("zoe", frozenset({"professional"}), "wijkteam-zuid")
ANSWERS = {"vermoeden": True, "toelichting": "Blauwe plekken gezien."}


def completed(engine):
    case_id = engine.start_case("voorbeeld", "CL-C1", PIET)
    task = engine.open_tasks(case_id=case_id)[0]
    engine.complete_task(task.id, PIET, dict(ANSWERS))
    return case_id, task.id


def stored(engine, task_id):
    with engine.sessions() as session:
        data = session.scalar(select(CaseTask.data).where(CaseTask.id == task_id))
        rows = session.scalars(select(TaskCorrection.id).where(TaskCorrection.task_id == task_id)).all()
        events = session.scalars(select(AuditEvent.id).where(AuditEvent.action == "task.correct",
                                                             AuditEvent.outcome == "success")).all()
        return data, list(rows), list(events)


def test_a_correction_is_an_addendum_with_author_time_reason_and_values(deployed):
    case_id, task_id = completed(deployed)
    made = corrections.add(deployed.sessions, task_id, PIET, {"toelichting": "Blauwe plekken op beide armen."},
                           "  Verkeerd overgenomen uit mijn aantekeningen. ")
    assert made.author == "piet" and made.reason == "Verkeerd overgenomen uit mijn aantekeningen."
    assert made.changes == {"toelichting": "Blauwe plekken op beide armen."}
    assert made.previous == {"toelichting": "Blauwe plekken gezien."}
    data, rows, events = stored(deployed, task_id)
    assert data == ANSWERS  # the step's own record is untouched
    assert len(rows) == 1 and len(events) == 1
    with deployed.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.correct")).one()
    assert (event.actor, event.case_id, event.task_id, event.client_ref) == ("piet", case_id, task_id, "CL-C1")
    assert event.details["fields"] == ["toelichting"] and event.details["correction_id"] == rows[0]
    # A second correction builds on the first; the step shows both, oldest first.
    corrections.add(deployed.sessions, task_id, PIET, {"datum": "2026-02-03"}, "Datum vergeten.")
    step = corrections.step(deployed.sessions, task_id, PIET)
    assert step.recorded == ANSWERS
    assert step.current == {**ANSWERS, "toelichting": "Blauwe plekken op beide armen.", "datum": "2026-02-03"}
    assert [c.changes for c in step.corrections] == [{"toelichting": "Blauwe plekken op beide armen."},
                                                    {"datum": "2026-02-03"}]
    assert step.corrections[1].previous == {"datum": None}
    shown = corrections.case_corrections(deployed.sessions, case_id, ANNA, [task_id])
    assert [c.author for c in shown[task_id]] == ["piet", "piet"]


@pytest.mark.parametrize(("changes", "reason", "field"), [
    ({"toelichting": ""}, "leeg", "toelichting"),  # minLength of the form
    ({"vermoeden": "ja"}, "typefout", "vermoeden"),  # not a boolean
    ({"datum": "3 februari"}, "datum", "datum"),  # not a date
    ({"onbekend": "x"}, "extra veld", "onbekend"),  # not a field of the form
    ({"toelichting": "stuur\x00teken"}, "teken", "toelichting"),
    ({"toelichting": "Blauwe plekken gezien."}, "niets gewijzigd", corrections.CHANGES_FIELD),
    ({"toelichting": "Nieuwe tekst"}, "   ", corrections.REASON_FIELD),  # a reason is required
    ({"toelichting": "Nieuwe tekst"}, "x" * (corrections.MAX_REASON + 1), corrections.REASON_FIELD),
])
def test_bad_correction_data_changes_nothing(deployed, changes, reason, field):
    _, task_id = completed(deployed)
    before = stored(deployed, task_id)
    with pytest.raises(ValidationError) as refused:
        corrections.add(deployed.sessions, task_id, PIET, changes, reason)
    assert field in refused.value.errors
    assert stored(deployed, task_id) == before


def test_only_who_may_work_in_the_steps_lane_and_team_corrects_it(deployed):
    case_id, task_id = completed(deployed)
    before = stored(deployed, task_id)
    for outsider in (ANNA, ZOE):  # another lane of the team; another team
        with pytest.raises(AccessDenied):
            corrections.add(deployed.sessions, task_id, outsider, {"toelichting": "anders"}, "reden")
    assert stored(deployed, task_id) == before
    with deployed.sessions() as session:
        denied = session.scalars(select(AuditEvent.actor).where(AuditEvent.action == "task.correct",
                                                                AuditEvent.outcome == "denied")).all()
    assert sorted(denied) == ["anna", "zoe"]
    assert corrections.may_correct(deployed.sessions, case_id, PIET) == {task_id}
    assert corrections.may_correct(deployed.sessions, case_id, ANNA) == set()


def test_an_open_step_is_completed_not_corrected(deployed):
    case_id = deployed.start_case("voorbeeld", "CL-C2", PIET)
    task = deployed.open_tasks(case_id=case_id)[0]
    with pytest.raises(TaskNotReadyError):
        corrections.add(deployed.sessions, task.id, PIET, {"toelichting": "x"}, "reden")


def test_the_correction_and_its_audit_event_are_one_transaction(deployed):
    _, task_id = completed(deployed)
    before = stored(deployed, task_id)
    with audit_unavailable(), pytest.raises(RuntimeError):
        corrections.add(deployed.sessions, task_id, PIET, {"toelichting": "anders"}, "reden")
    assert stored(deployed, task_id) == before


def test_the_decision_entry_is_derived_from_the_afwegingen():
    """engine/decisions.py: the outcome with the answers of the afwegingen, after the last of them."""
    history = [
        {"task_id": 1, "completed_at": None, "data": {"signalen": "x"}},
        {"task_id": 3, "completed_at": None, "data": {"hulp_mogelijk": True, "meewerken": False, "x": "y"}},
        {"task_id": 2, "completed_at": None, "data": {"vermoeden": True, "acute_onveiligheid": False,
                                                     "structurele_onveiligheid": True}},
    ]
    entry = decision_of(history, {"besluit": "melden"}, {3: ["meewerken"]})
    assert entry.besluit == "melden" and entry.after_task_id == 3 and entry.based_on == [2, 3]
    assert list(entry.answers) == ["vermoeden", "acute_onveiligheid", "structurele_onveiligheid", "hulp_mogelijk",
                                   "meewerken"]
    assert entry.corrected == ["meewerken"]
    assert decision_of(history, {}) is None  # the decision table did not run (yet)
    assert decision_of([{"task_id": 1, "completed_at": None, "data": None}], {"besluit": "hulp"}) is None
