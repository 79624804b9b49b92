""""Terug bij u": a case comes back to its responsible professional after a colleague's step (engine/notifications.py,
found by the reminder sweep in engine/reminders.py and at read time by the inbox)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from engine import clock, notifications, reminders
from engine.views import Actor
from engine.workdays import WorkdayCalendar

PROEF = Path(__file__).resolve().parents[1] / "web" / "diagrams"
STAP1 = {"signalen": "Blauwe plek", "betreft_beroepskracht": False, "zorg": "hoog",
         "datum_signalering": "2026-02-03"}
STAP2 = {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Gesprek voeren", "advies_veilig_thuis": False}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

PIET = Actor("piet", frozenset({"professional"}), team="noord")
KLAAS = Actor("klaas", frozenset({"professional"}), team="noord")
ANNA = Actor("anna", frozenset({"aandachtsfunctionaris"}), team="noord")


@pytest.fixture
def engine(case_engine):
    case_engine.deploy_directory(PROEF, "tester")
    return case_engine


def complete(engine, case_id: int, element_id: str, actor: Actor, data: dict, at: datetime) -> int:
    task = next(t for t in engine.open_tasks(case_id=case_id) if t.element_id == element_id)
    with clock.frozen_at(at):
        engine.complete_task(task.id, actor, data)
    return task.id


def walk_to_stap4(engine, stap1_by: Actor = PIET) -> int:
    with clock.frozen_at(T0):
        case_id = engine.start_case("proef", "CL-TERUG", PIET, team="noord",
                                    data={"levensbedreigend": False, "aanleiding": "test"})
    complete(engine, case_id, "stap1", stap1_by, STAP1, T0 + timedelta(hours=1))
    complete(engine, case_id, "stap2", ANNA, STAP2, T0 + timedelta(hours=2))
    return case_id


def test_the_case_comes_back_after_the_aandachtsfunctionaris_completes_stap_2(engine):
    case_id = walk_to_stap4(engine)
    now = T0 + timedelta(hours=3)
    shown = notifications.returned_for_user(engine.sessions, PIET, now)
    assert [(n.kind, n.case_id, n.id) for n in shown] == [("returned", case_id, 0)]
    assert shown[0].text == "De zaak CL-TERUG is terug bij u: de taak 'Stap 4: wegen' staat voor u klaar."
    assert notifications.TITLES[shown[0].kind] == "Terug bij u"
    # Only for the responsible professional, not for a colleague in the same lane
    assert notifications.returned_for_user(engine.sessions, KLAAS, now) == []
    assert notifications.returned_for_user(engine.sessions, ANNA, now) == []


def test_the_sweep_stores_it_once_for_the_responsible_professional(engine):
    case_id = walk_to_stap4(engine)
    now = T0 + timedelta(hours=3)
    calendar = WorkdayCalendar()
    with engine.sessions.begin() as session:
        due = [d for d in reminders.due_reminders(session, reminders.ReminderPolicy(), calendar, now)
               if d.kind == notifications.RETURNED]
        assert [(d.case_id, d.claimed_by, d.role) for d in due] == [(case_id, "piet", None)]
        created = notifications.create(session, [notifications.NewNotification(
            d.case_id, d.task_id, d.kind, d.claimed_by) for d in due], now, mail=False)
        assert len(created) == 1
    with engine.sessions() as session:
        assert [n.kind for n in notifications.for_user(session, "piet", unread_only=True)] == ["returned"]
        assert [d for d in reminders.due_reminders(session, reminders.ReminderPolicy(), calendar, now)
                if d.kind == notifications.RETURNED] == []
    # Stored: the inbox no longer derives it (the stored row is shown, and can be marked read)
    assert notifications.returned_for_user(engine.sessions, PIET, now) == []
    # Tasks older than the window are not looked at by the sweep
    later = now + notifications.RETURN_WINDOW + timedelta(days=1)
    with engine.sessions() as session:
        assert reminders.returned_reminders(session, later) == []


def test_no_notification_when_the_responsible_did_the_step_before_or_the_task_is_elsewhere(engine):
    with clock.frozen_at(T0):
        case_id = engine.start_case("proef", "CL-EIGEN", PIET, team="noord",
                                    data={"levensbedreigend": False, "aanleiding": "test"})
    now = T0 + timedelta(hours=3)
    # stap1 is open in the professional lane, but nobody else completed a step: not "back"
    assert notifications.returned_for_user(engine.sessions, PIET, now) == []
    # a colleague completes stap1: the case moves to the aandachtsfunctionaris, not to me
    complete(engine, case_id, "stap1", KLAAS, STAP1, T0 + timedelta(hours=1))
    assert notifications.returned_for_user(engine.sessions, PIET, now) == []
    with engine.sessions() as session:
        assert reminders.returned_reminders(session, now) == []
