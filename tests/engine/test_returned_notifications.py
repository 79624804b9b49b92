""""Terug bij u": a case comes back to its responsible professional after a colleague's step (engine/notifications.py,
found by the reminder sweep in engine/reminders.py and at read time by the inbox)."""
from __future__ import annotations

from datetime import timedelta

from engine import notifications, reminders
from engine.views import Actor
from engine.workdays import WorkdayCalendar
from tests.engine.fixtures_proef import (
    ANNA,
    KLAAS,
    PIET,
    STAP1,
    STAP2,
    T0,
    complete,
    proef_engine,  # noqa: F401 - the `engine` fixture
    start,
)


def walk_to_stap4(engine, stap1_by: Actor = PIET) -> int:
    case_id = start(engine, "CL-TERUG", PIET, T0)
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
    case_id = start(engine, "CL-EIGEN", PIET, T0)
    now = T0 + timedelta(hours=3)
    # stap1 is open in the professional lane, but nobody else completed a step: not "back"
    assert notifications.returned_for_user(engine.sessions, PIET, now) == []
    # a colleague completes stap1: the case moves to the aandachtsfunctionaris, not to me
    complete(engine, case_id, "stap1", KLAAS, STAP1, T0 + timedelta(hours=1))
    assert notifications.returned_for_user(engine.sessions, PIET, now) == []
    with engine.sessions() as session:
        assert reminders.returned_reminders(session, now) == []
