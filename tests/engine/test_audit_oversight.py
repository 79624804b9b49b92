"""The beheerder's oversight actions (engine/oversight.py and `meldcode cases ...`): each needs a reason, is
audited in the hash chain, and does what it says: a suspended case takes no completions and fires no timers."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from engine import audit_chain, clock
from engine.cli import main
from engine.errors import CaseNotRunningError, ValidationError
from engine.models import AuditEvent, CaseTimer
from engine.oversight import InstanceFilter, Oversight, OversightError, instance, list_instances
from engine.views import Actor
from tests.workers.conftest import OTHER_TEAM, WORKER_DIAGRAMS, add_people, start_waiting_cases

BEA = Actor("bea", frozenset({"beheerder"}))
PAST = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def wacht(deployed):
    deployed.deploy_directory(WORKER_DIAGRAMS, "tester")
    return deployed


def oversight_events(engine, case_id):
    with engine.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.case_id == case_id,
                                                             AuditEvent.action.like("oversight.%"))
                                    .order_by(AuditEvent.id)))


def test_suspend_stops_completions_and_timers_until_resumed(wacht, professional):
    ops = Oversight(wacht.sessions)
    case_id = wacht.start_case("voorbeeld", "CL-1", professional, data={"a": 1})
    [task] = wacht.open_tasks(case_id=case_id)
    [timer_case] = start_waiting_cases(wacht, [PAST + timedelta(days=1)], frozen_at=PAST)

    with pytest.raises(ValidationError, match="reason"):
        ops.suspend(case_id, BEA, "  ")
    ops.suspend(case_id, BEA, "Onderzoek naar dubbele registratie")
    ops.suspend(timer_case, BEA, "Storing in de koppeling")
    with pytest.raises(CaseNotRunningError):
        wacht.complete_task(task.id, professional, {})
    assert wacht.fire_due_timers(PAST + timedelta(days=2)) == 0
    assert wacht.due_timer_cases(PAST + timedelta(days=2)) == []  # a sweep does not try it on every round
    with pytest.raises(OversightError):
        ops.suspend(case_id, BEA, "nog eens")

    ops.resume(timer_case, BEA, "Koppeling hersteld")
    assert wacht.fire_due_timers(PAST + timedelta(days=2)) == 1
    [event] = [e for e in oversight_events(wacht, case_id)]
    assert (event.action, event.actor, event.details["reason"]) == ("oversight.suspend", "bea",
                                                                     "Onderzoek naar dubbele registratie")
    assert [e.action for e in oversight_events(wacht, timer_case)] == ["oversight.suspend", "oversight.resume"]
    with wacht.sessions() as session:
        assert audit_chain.verify(session).ok
        detail = instance(session, case_id)
    assert detail.status == "suspended" and detail.status_reason == "Onderzoek naar dubbele registratie"


def test_terminate_cancels_tasks_and_timers(wacht, professional):
    ops = Oversight(wacht.sessions)
    [case_id] = start_waiting_cases(wacht, [PAST + timedelta(days=1)], frozen_at=PAST)
    ops.terminate(case_id, BEA, "Dubbel aangemaakt")
    with wacht.sessions() as session:
        detail = instance(session, case_id)
        states = set(session.scalars(select(CaseTimer.state).where(CaseTimer.case_id == case_id)))
    assert detail.status == "terminated" and detail.ended_at is not None and not detail.open_tasks
    assert states == {"cancelled"}
    assert wacht.fire_due_timers(PAST + timedelta(days=5)) == 0
    with pytest.raises(OversightError):
        ops.resume(case_id, BEA, "terug")


def test_reassign_to_a_user_or_a_team(wacht, db, professional):
    add_people(db)
    ops = Oversight(wacht.sessions)
    case_id = wacht.start_case("voorbeeld", "CL-2", professional, data={"a": 1})  # team wijkteam-noord
    [task] = wacht.open_tasks(case_id=case_id)
    with pytest.raises(ValidationError, match="no active user"):
        ops.reassign_task(task.id, BEA, "Ziekte", user="niemand")
    with pytest.raises(ValidationError, match="lacks the role"):
        ops.reassign_task(task.id, BEA, "Ziekte", user="anna")  # aandachtsfunctionaris, not professional
    with pytest.raises(ValidationError, match="either a user or a team"):
        ops.reassign_task(task.id, BEA, "Ziekte")
    with pytest.raises(ValidationError, match="is in team"):
        ops.reassign_task(task.id, BEA, "Ziekte", user="zuid")
    with pytest.raises(ValidationError, match="no team"):
        ops.reassign_task(task.id, BEA, "Ziekte", team="nergens")
    ops.reassign_task(task.id, BEA, "Piet is ziek", user="karin")
    assert wacht.open_tasks(case_id=case_id)[0].claimed_by == "karin"
    ops.reassign_task(task.id, BEA, "Verhuisd naar zuid", team=OTHER_TEAM)
    with wacht.sessions() as session:
        detail = instance(session, case_id)
    assert detail.team == OTHER_TEAM and detail.open_tasks[0]["claimed_by"] is None
    [first, second] = oversight_events(wacht, case_id)
    assert first.details["after"] == {"claimed_by": "karin", "team": "wijkteam-noord"}
    assert second.details["before"]["team"] == "wijkteam-noord" and second.details["after"]["team"] == OTHER_TEAM


def test_retry_a_parked_timer(wacht):
    ops = Oversight(wacht.sessions)
    [case_id] = start_waiting_cases(wacht, [PAST + timedelta(days=1)], frozen_at=PAST)
    wacht._timer_failed(case_id, PAST + timedelta(days=2), "script error: division by zero")  # parked
    with wacht.sessions() as session:
        [failed] = instance(session, case_id).failed_timers
    assert failed["error"] == "script error: division by zero"
    assert wacht.fire_due_timers(PAST + timedelta(days=3)) == 0
    assert ops.retry_timers(case_id, BEA, "Diagram hersteld") == 1
    assert wacht.fire_due_timers(PAST + timedelta(days=3)) == 1
    with pytest.raises(OversightError, match="no parked timers"):
        ops.retry_timers(case_id, BEA, "nog eens")
    [event] = oversight_events(wacht, case_id)
    assert event.details["errors"] == ["script error: division by zero"]


def test_list_filters_and_keyset_paging(wacht, professional):
    ops = Oversight(wacht.sessions)
    ids = [wacht.start_case("voorbeeld", f"CL-{i}", professional, data={"a": 1}) for i in range(5)]
    waiting = start_waiting_cases(wacht, [PAST + timedelta(days=1)], frozen_at=PAST)
    ops.suspend(ids[0], BEA, "x")
    with wacht.sessions() as session:
        page, after = list_instances(session, InstanceFilter(), limit=4)
        assert [r.id for r in page] == [waiting[0], *ids[::-1][:3]] and after == ids[2]
        rest, after2 = list_instances(session, InstanceFilter(), after_id=after, limit=4)
        assert [r.id for r in rest] == [ids[1], ids[0]] and after2 is None
        assert [r.id for r in list_instances(session, InstanceFilter(status="suspended"))[0]] == [ids[0]]
        assert [r.id for r in list_instances(session, InstanceFilter(process_id="wacht"))[0]] == waiting
        step = wacht.open_tasks(case_id=ids[1])[0].element_id
        assert set(r.id for r in list_instances(session, InstanceFilter(step=step))[0]) == set(ids)
        assert list_instances(session, InstanceFilter(team="elders"))[0] == []
        later = clock.now() + timedelta(days=1)
        assert list_instances(session, InstanceFilter(started_from=later))[0] == []
        assert len(list_instances(session, InstanceFilter(started_until=later, version=1))[0]) == 6
        # overdue: the voorbeeld task has a due date? Only tasks past due count
        overdue_now = [r.id for r in list_instances(session, InstanceFilter(overdue=True),
                                                    now=datetime(2100, 1, 1, tzinfo=UTC))[0]]
        due_tasks = {t.case_id for t in wacht.open_tasks() if t.due_at is not None}
        assert set(overdue_now) == due_tasks
        row = next(r for r in page if r.id == ids[4])
        assert row.open_steps and row.status == "running"


def test_the_cases_commands(wacht, database_url, professional):
    case_id = wacht.start_case("voorbeeld", "CL-CLI", professional, data={"a": 1})
    runner = CliRunner()
    env = {"DATABASE_URL": database_url}
    result = runner.invoke(main, ["cases", "suspend", str(case_id), "--reason", "Controle", "--by", "Bea"], env=env)
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["cases", "list", "--status", "suspended"], env=env)
    assert f'"id": {case_id}' in listed.output and "CL-CLI" not in listed.output  # metadata only
    shown = runner.invoke(main, ["cases", "show", str(case_id)], env=env)
    assert '"status": "suspended"' in shown.output and "CL-CLI" not in shown.output
    missing = runner.invoke(main, ["cases", "resume", str(case_id), "--by", "bea"], env=env)
    assert missing.exit_code != 0  # --reason is required
    wrong = runner.invoke(main, ["cases", "terminate", "9999", "--reason", "x", "--by", "bea"], env=env)
    assert wrong.exit_code == 1 and "does not exist" in wrong.output
    assert runner.invoke(main, ["cases", "resume", str(case_id), "--reason", "Klaar", "--by", "bea"],
                         env=env).exit_code == 0
    assert runner.invoke(main, ["cases", "hold", str(case_id), "--reason", "Rechtszaak", "--by", "bea"],
                         env=env).exit_code == 0
    events = oversight_events(wacht, case_id)
    assert [(e.action, e.actor, e.channel) for e in events] == [
        ("oversight.suspend", "bea", "cli"), ("oversight.resume", "bea", "cli"), ("oversight.legal_hold", "bea", "cli")]
