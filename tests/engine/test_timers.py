"""Timers: stored with their due time, fired by the engine clock, idempotently."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from sqlalchemy import event, select

from engine import clock
from engine import timers as timers_module
from engine.models import CaseTimer

START = datetime(2026, 4, 2, 9, 0, tzinfo=timezone(timedelta(hours=2)))
DUE = datetime(2026, 4, 13, 7, 0, tzinfo=UTC)  # werkdagen(5) from Thu 2 April 09:00 CEST


def melding_case(engine, actor):
    with clock.frozen_at(START):
        case_id = engine.start_case("voorbeeld", "CL-T1", actor)
        task = engine.open_tasks(case_id=case_id)[0]
        engine.complete_task(task.id, actor, {"vermoeden": True, "toelichting": "melding gedaan"})
    return case_id


def timers(engine, case_id):
    with engine.sessions() as session:
        return session.execute(select(CaseTimer.element_id, CaseTimer.state, CaseTimer.due_at)
                               .where(CaseTimer.case_id == case_id)).all()


def test_waiting_timer_is_stored_with_its_due_time(deployed, professional):
    case_id = melding_case(deployed, professional)
    assert timers(deployed, case_id) == [("te_laat_timer", "waiting", DUE)]
    assert deployed.next_timer_due() == DUE
    assert deployed.due_timer_cases(DUE - timedelta(seconds=1)) == []
    assert deployed.due_timer_cases(DUE) == [case_id]


def test_timer_fires_once_when_due(deployed, professional):
    case_id = melding_case(deployed, professional)
    assert deployed.fire_due_timers(DUE - timedelta(minutes=1)) == 0
    assert deployed.fire_due_timers(DUE + timedelta(seconds=1)) == 1
    assert deployed.fire_due_timers(DUE + timedelta(seconds=2)) == 0  # idempotent
    assert timers(deployed, case_id) == [("te_laat_timer", "fired", DUE)]
    info = deployed.case(case_id, professional)
    assert info.milestones == ["melding_veilig_thuis", "vt_terugkoppeling_te_laat"]
    # The interrupting timer cancelled the feedback task and opened the proactive-contact task.
    assert [t.element_id for t in info.open_tasks] == ["proactief"]
    assert info.open_tasks[0].lane == "aandachtsfunctionaris"


def test_feedback_on_time_cancels_the_timer(deployed, professional):
    case_id = melding_case(deployed, professional)
    task = deployed.open_tasks(case_id=case_id)[0]
    with clock.frozen_at(START + timedelta(days=3)):
        deployed.complete_task(task.id, professional, {"vt_terugkoppeling_ontvangen": True})
    assert timers(deployed, case_id) == [("te_laat_timer", "cancelled", DUE)]
    assert deployed.fire_due_timers(DUE + timedelta(days=1)) == 0
    assert "vt_terugkoppeling_te_laat" not in deployed.milestones(case_id)
    assert deployed.case(case_id, professional).status == "completed"


def test_every_firing_is_audited_as_the_system(deployed, professional):
    from engine.models import AuditEvent

    case_id = melding_case(deployed, professional)
    deployed.fire_due_timers(DUE + timedelta(seconds=1))
    with deployed.sessions() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire")).one()
    assert (event.actor, event.case_id, event.client_ref) == ("system", case_id, "CL-T1")
    assert event.details["milestones"] == ["vt_terugkoppeling_te_laat"]


def test_new_timers_are_announced_only_after_commit(deployed, professional):
    announced = []
    deployed.timer_listeners.append(lambda case_id, due: announced.append((case_id, due)))
    with clock.frozen_at(START):
        case_id = deployed.start_case("voorbeeld", "CL-T2", professional)
        task = deployed.open_tasks(case_id=case_id)[0]
        with __import__("pytest").raises(Exception):
            deployed.complete_task(task.id, professional, {"vermoeden": "geen bool", "toelichting": "x"})
        assert announced == []  # a refused change announces nothing
        deployed.complete_task(task.id, professional, {"vermoeden": True, "toelichting": "x"})
    assert announced == [(case_id, DUE)]


def test_a_failing_listener_does_not_undo_the_change(deployed, professional):
    def broken(case_id, due):
        raise ConnectionError("redis is down")

    deployed.timer_listeners.append(broken)
    case_id = melding_case(deployed, professional)
    assert timers(deployed, case_id) == [("te_laat_timer", "waiting", DUE)]


def test_sweep_limit_and_several_cases(deployed, professional):
    ids = [melding_case(deployed, professional) for _ in range(3)]
    assert deployed.fire_due_timers(DUE, limit=2) == 2
    assert deployed.fire_due_timers(DUE) == 1
    assert all(timers(deployed, i)[0][1] == "fired" for i in ids)


def test_a_sweep_asks_the_same_small_statements_however_many_cases_it_already_fired(deployed, professional):
    """A sweep once added every case it had passed to each claim (NOT IN): quadratic in a backlog of 10,000."""
    ids = [melding_case(deployed, professional) for _ in range(12)]
    widest: list[int] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            widest.append(len(parameters))

    engine = deployed.sessions.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert deployed.fire_due_timers(DUE) == 12
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert all(timers(deployed, i)[0][1] == "fired" for i in ids)
    # Every read carries its few filters (before: the 12th claim also carried the 11 cases passed until then).
    assert len(widest) >= 12 and max(widest) <= 5


def test_cycle_timer_fires_each_occurrence_and_leaves_the_task_open(case_engine, professional):
    """A non-interrupting R2/PT1H reminder on a task: two firings an hour apart, then no more."""
    from tests.conftest import PROJECT

    case_engine.deploy_directory(PROJECT / "tests" / "engine" / "cycle_timer", "tester")
    t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    with clock.frozen_at(t0):
        case_id = case_engine.start_case("cyclus", "CL-C1", professional)
    assert timers(case_engine, case_id) == [("herinnering", "waiting", t0 + timedelta(hours=1))]
    fired = [case_engine.fire_due_timers(t0 + timedelta(hours=h, minutes=1)) for h in (1, 2, 3)]
    assert fired == [1, 1, 0]
    assert [t.element_id for t in case_engine.open_tasks(case_id=case_id)] == ["taak"]
    assert timers(case_engine, case_id) == [("herinnering", "fired", t0 + timedelta(hours=2))]


def test_a_sweep_that_finds_cases_taken_reads_again_instead_of_trying_each_one(deployed, professional, monkeypatch):
    """Two sweeps side by side read the same batch of due cases. With the batch shuffled, each tried every case of
    it and found half of them fired by the other; now three claims that find their case taken make it read what
    is still due. Here "the other worker" fires 100 of the 150 right after this sweep read its batch."""
    ids = [melding_case(deployed, professional) for _ in range(150)]
    taken: list[int] = []
    claim = timers_module.fire_one
    other_worker = iter([True])

    def counted(store, now, case_id, passed):
        if next(other_worker, False):
            monkeypatch.setattr(timers_module, "fire_one", claim)
            assert deployed.fire_due_timers(DUE, limit=100) == 100
            monkeypatch.setattr(timers_module, "fire_one", counted)
        claimed, count = claim(store, now, case_id, passed)
        if claimed is None:
            taken.append(case_id)
        return claimed, count

    monkeypatch.setattr(timers_module, "fire_one", counted)
    assert deployed.fire_due_timers(DUE) == 50
    assert all(timers(deployed, i)[0][1] == "fired" for i in ids)
    assert len(taken) <= 3, f"{len(taken)} claims found their case taken"
