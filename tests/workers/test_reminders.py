"""Reminders and escalation: when they fall due (working days with Dutch public holidays), who receives them,
and that each is stored once — on SQLite and PostgreSQL, with the engine clock frozen."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine import clock, notifications
from engine.notifications import ESCALATION_AANDACHTSFUNCTIONARIS as ESC_AF
from engine.notifications import ESCALATION_LEIDINGGEVENDE as ESC_LG
from engine.notifications import REMINDER_BEFORE, REMINDER_DUE
from engine.reminders import ReminderPolicy, due_for_task, schedule, workdays_before
from engine.workdays import WorkdayCalendar
from workers.context import build_context
from workers.reminding import create_due_notifications
from workers.settings import WorkerSettings
from workers.sweep import run_sweep

from .conftest import at

CALENDAR = WorkdayCalendar()
CREATED = at("2026-03-31 09:00")  # Tuesday; `wegen` is due werkdagen(2) later
DUE = at("2026-04-02 09:00")  # Thursday before Goede Vrijdag (3 April) and Tweede Paasdag (6 April)


# -- the calendar of one task --------------------------------------------------------------------

def test_workdays_before_skips_weekends_and_public_holidays():
    assert workdays_before(CALENDAR, at("2026-04-13 09:00"), 1) == at("2026-04-10 09:00")  # Monday -> Friday
    assert workdays_before(CALENDAR, at("2026-04-07 09:00"), 1) == at("2026-04-02 09:00")  # over Easter
    assert workdays_before(CALENDAR, at("2026-04-28 14:30"), 1) == at("2026-04-24 14:30")  # over Koningsdag (27th)
    assert workdays_before(CALENDAR, DUE, 0) == DUE
    for start in (at("2026-04-02 09:00"), at("2026-04-23 09:00"), at("2026-12-23 09:00")):
        assert workdays_before(CALENDAR, CALENDAR.add_workdays(start, 5), 5) == start


def test_escalation_counts_working_days_across_easter():
    moments = [(m.kind, m.at) for m in schedule(DUE, ReminderPolicy(), CALENDAR)]
    assert moments == [
        (REMINDER_BEFORE, at("2026-04-01 09:00")),
        (REMINDER_DUE, DUE),
        (ESC_AF, at("2026-04-07 09:00")),  # not Friday (Goede Vrijdag), the weekend or Monday (Tweede Paasdag)
        (ESC_LG, at("2026-04-08 09:00")),
    ]
    longer = [(m.kind, m.at) for m in schedule(DUE, ReminderPolicy(before_workdays=2, escalation_workdays=2),
                                               CALENDAR)]
    assert longer == [(REMINDER_BEFORE, at("2026-03-31 09:00")), (REMINDER_DUE, DUE),
                      (ESC_AF, at("2026-04-08 09:00")), (ESC_LG, at("2026-04-10 09:00"))]
    assert [m.kind for m in schedule(DUE, ReminderPolicy(0, 0), CALENDAR)] == [REMINDER_DUE]


def test_advance_reminder_is_left_out_when_it_would_only_add_noise():
    policy = ReminderPolicy()
    kinds = lambda created, now: [m.kind for m in due_for_task(created, DUE, now, policy, CALENDAR)]  # noqa: E731
    assert kinds(CREATED, at("2026-04-01 08:59")) == []
    assert kinds(CREATED, at("2026-04-01 09:00")) == [REMINDER_BEFORE]
    # A task created inside the advance window gets no "due soon" message together with the task itself.
    assert kinds(at("2026-04-01 12:00"), at("2026-04-01 12:00")) == []
    # After downtime past the due time the due reminder says it all.
    assert kinds(CREATED, at("2026-04-02 10:00")) == [REMINDER_DUE]
    assert kinds(CREATED, at("2026-04-08 10:00")) == [REMINDER_DUE, ESC_AF, ESC_LG]
    done = {REMINDER_DUE, ESC_AF}
    assert [m.kind for m in due_for_task(CREATED, DUE, at("2026-04-08 10:00"), policy, CALENDAR, done)] == [ESC_LG]


def test_policy_rejects_nonsense():
    with pytest.raises(ValueError):
        ReminderPolicy(before_workdays=-1)
    with pytest.raises(TypeError):
        ReminderPolicy(escalation_workdays=1.5)


# -- the chain in the database -------------------------------------------------------------------

@pytest.fixture
def ctx(deployed, people):
    return build_context(WorkerSettings(engine=deployed.settings), deployed)


def start_wegen(engine, person, client_ref="CL-2026-0042", **kwargs):
    with clock.frozen_at(CREATED):
        case_id = engine.start_case("voorbeeld", client_ref, person.actor, **kwargs)
    task = engine.open_tasks(case_id=case_id)[0]
    assert (task.element_id, task.due_at) == ("wegen", DUE)
    return case_id, task


def sweep_at(ctx, moment):
    with clock.frozen_at(moment):
        return run_sweep(ctx)


def notified(ctx, case_id):
    with ctx.sessions() as session:
        return [(n.kind, n.recipient) for n in notifications.for_case(session, case_id)]


def test_reminder_and_escalation_chain_across_a_weekend_and_public_holidays(ctx, deployed, people):
    case_id, task = start_wegen(deployed, people["piet"])
    other_case, _ = start_wegen(deployed, people["zuid"], "CL-ZUID-1")

    assert sweep_at(ctx, at("2026-04-01 08:59")).notifications == []
    # One working day before the due time: the task's lane in the case's team (not the other team, not Anna).
    sweep_at(ctx, at("2026-04-01 09:00"))
    assert notified(ctx, case_id) == [(REMINDER_BEFORE, "karin"), (REMINDER_BEFORE, "piet"),
                                      (REMINDER_BEFORE, "zonder_mail")]
    assert notified(ctx, other_case) == [(REMINDER_BEFORE, "zuid")]
    assert sweep_at(ctx, at("2026-04-01 15:00")).notifications == []  # stored once

    # Piet takes the task: from now on reminders go to him alone.
    with clock.frozen_at(at("2026-04-01 16:00")):
        deployed.claim_task(task.id, people["piet"].actor)
    sweep_at(ctx, at("2026-04-02 09:00"))
    assert notified(ctx, case_id)[3:] == [(REMINDER_DUE, "piet")]

    # Goede Vrijdag, the weekend and Tweede Paasdag are no working days: no escalation yet.
    for moment in ("2026-04-03 09:00", "2026-04-04 12:00", "2026-04-05 12:00", "2026-04-06 09:00",
                   "2026-04-07 08:59"):
        assert sweep_at(ctx, at(moment)).notifications == [], moment

    sweep_at(ctx, at("2026-04-07 09:00"))  # overdue by one working day
    assert notified(ctx, case_id)[4:] == [(ESC_AF, "anna")]
    assert sweep_at(ctx, at("2026-04-07 17:00")).notifications == []
    sweep_at(ctx, at("2026-04-08 09:00"))  # overdue by two working days
    assert notified(ctx, case_id)[5:] == [(ESC_LG, "lotte")]
    assert sweep_at(ctx, at("2026-04-20 09:00")).notifications == []

    with ctx.sessions() as session:
        anna = notifications.for_user(session, "anna")
        piet = notifications.for_user(session, "piet", unread_only=True)
        case_file = notifications.for_case(session, case_id)
    assert [(n.kind, n.role, n.level) for n in anna] == [(ESC_AF, "aandachtsfunctionaris", "warning")]
    assert anna[0].text == ("Escalatie aan de aandachtsfunctionaris: de taak 'Wegen' voor CL-2026-0042 is over de "
                            "termijn (donderdag 2 april 2026 09:00).")
    assert [n.kind for n in piet] == [REMINDER_DUE, REMINDER_BEFORE]  # newest first
    assert [n.role for n in piet] == [None, "professional"]  # as assignee, then as one of the lane
    # Without SMTP the notifications are in-app only.
    assert {n.status for n in case_file} == {notifications.SKIPPED}


def test_completed_task_gets_no_more_reminders(ctx, deployed, people):
    case_id, task = start_wegen(deployed, people["piet"])
    sweep_at(ctx, at("2026-04-01 09:00"))
    with clock.frozen_at(at("2026-04-01 10:00")):
        deployed.complete_task(task.id, people["piet"].actor, {"vermoeden": False, "toelichting": "geen zorgen"})
    assert sweep_at(ctx, at("2026-04-10 09:00")).notifications == []
    assert {kind for kind, _ in notified(ctx, case_id)} == {REMINDER_BEFORE}


def test_after_downtime_everything_due_is_notified_once(ctx, deployed, people):
    case_id, _ = start_wegen(deployed, people["piet"])
    first = sweep_at(ctx, at("2026-04-08 10:00"))  # the first sweep in a week
    assert notified(ctx, case_id) == [(REMINDER_DUE, "karin"), (REMINDER_DUE, "piet"), (REMINDER_DUE, "zonder_mail"),
                                      (ESC_AF, "anna"), (ESC_LG, "lotte")]
    assert len(first.notifications) == 5
    assert sweep_at(ctx, at("2026-04-08 10:00")).notifications == []


def test_nobody_in_the_role_is_recorded_for_the_case_file(ctx, deployed, people, db):
    from sqlalchemy import text

    with db.begin() as conn:
        conn.execute(text("UPDATE app_user SET active = :f WHERE username = 'lotte'"), {"f": False})
    case_id, _ = start_wegen(deployed, people["piet"])
    sweep_at(ctx, at("2026-04-08 10:00"))
    with ctx.sessions() as session:
        last = notifications.for_case(session, case_id)[-1]
    assert (last.kind, last.recipient, last.role, last.status) == (ESC_LG, "", "leidinggevende", "skipped")
    assert "niemand" in last.last_error


def test_creating_twice_or_concurrently_stores_each_notification_once(ctx, deployed, people):
    case_id, task = start_wegen(deployed, people["piet"])
    moment = at("2026-04-02 09:30")
    assert len(create_due_notifications(ctx, moment)) == 3
    assert create_due_notifications(ctx, moment) == []
    # Two workers that computed the same notification both insert it: the unique constraint keeps one.
    item = notifications.NewNotification(case_id, task.id, REMINDER_DUE, "piet", "professional")
    with ctx.sessions.begin() as session:
        assert notifications.create(session, [item, item], moment, mail=False) == []
    assert notified(ctx, case_id).count((REMINDER_DUE, "piet")) == 1


def test_read_marks_only_the_users_own_notifications(ctx, deployed, people):
    case_id, _ = start_wegen(deployed, people["piet"])
    sweep_at(ctx, at("2026-04-01 09:00"))
    moment = at("2026-04-01 09:05")
    with ctx.sessions.begin() as session:
        mine = notifications.for_user(session, "piet")[0]
        assert not notifications.mark_read(session, mine.id, "karin", moment)
        assert notifications.mark_read(session, mine.id, "piet", moment)
        assert not notifications.mark_read(session, mine.id, "piet", moment)
    inbox = notifications.inbox_provider(ctx.sessions)
    assert inbox(people["piet"].actor) == []
    assert [n.kind for n in inbox(people["karin"].actor)] == [REMINDER_BEFORE]
    assert [n.text for n in notifications.case_notifications(ctx.sessions, case_id)][0] == (
        "De taak 'Wegen' voor CL-2026-0042 moet uiterlijk donderdag 2 april 2026 09:00 zijn afgerond.")


def test_team_without_the_lane_and_case_without_team(ctx, deployed, people):
    # A case of a team nobody works in: the lane reminder is recorded as "nobody".
    case_id, _ = start_wegen(deployed, people["piet"], team="wijkteam-west")
    sweep_at(ctx, DUE + timedelta(minutes=1))
    assert notified(ctx, case_id) == [(REMINDER_DUE, "")]
