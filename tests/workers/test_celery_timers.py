"""Timers on Celery + Redis + PostgreSQL: exact-time tasks, several workers, a killed worker, Redis away.

Everything here is real: the Redis server (a db number of this run, a queue of this test), Celery workers in
a thread or as `celery worker` processes, PostgreSQL (a schema of this test).
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine import clock
from engine.models import CaseTimer
from workers.celery_app import FIRE_CASE_TIMERS, SWEEP, connect_engine, make_celery

from .conftest import (
    activity,
    assert_each_fired_once,
    fired_count,
    postgres_only,
    start_waiting_cases,
    wait_for,
    wait_quiet,
)

pytestmark = postgres_only


def now() -> datetime:
    return datetime.now(UTC)


def firing_times(engine, case_ids) -> dict[int, tuple[datetime, datetime]]:
    with engine.sessions() as session:
        rows = session.execute(select(CaseTimer.case_id, CaseTimer.due_at, CaseTimer.ended_at)
                               .where(CaseTimer.case_id.in_(case_ids), CaseTimer.state == "fired")).all()
    return {case_id: (due, ended) for case_id, due, ended in rows}


def test_a_future_timer_fires_by_its_exact_time_task_never_early(wacht, celery_app, thread_worker):
    """No sweep and no beat run here: the timer can only fire through the ETA task announced after commit.

    How late it fires is a figure for bench/timers.py, not an assertion here."""
    connect_engine(celery_app, wacht)  # as the web process does: new timers become exact-time tasks
    [case_id] = start_waiting_cases(wacht, [now() + timedelta(seconds=2)])
    assert firing_times(wacht, [case_id]) == {}
    fired = wait_for(lambda: firing_times(wacht, [case_id]), 30, 0.02, "the timer to fire")
    due, ended = fired[case_id]
    assert ended >= due  # never before its due time
    assert [t.element_id for t in wacht.open_tasks(case_id=case_id)] == ["opvolgen"]


def test_two_worker_processes_fire_200_due_timers_each_exactly_once(wacht, worker_settings, celery_processes):
    past = now() - timedelta(minutes=5)
    case_ids = start_waiting_cases(wacht, [past + timedelta(seconds=i) for i in range(200)],
                                   frozen_at=past - timedelta(minutes=1))
    assert fired_count(wacht) == 0
    app = make_celery(worker_settings)
    # Every way work arrives at once: both workers' start-up re-scheduling (an ETA task per timer each),
    # plus several sweeps; all race for the same 200 cases.
    for _ in range(4):
        app.send_task(SWEEP, queue=worker_settings.queue)
    workers = [celery_processes("worker", worker_settings, f"w{i}") for i in (1, 2)]
    for worker in workers:
        worker.start()
    wait_for(lambda: fired_count(wacht) == 200, 60, 0.2, "200 timers to fire")
    # Stragglers (duplicate ETA tasks) may still run: wait until nothing changes any more, then check.
    wait_quiet(lambda: activity(wacht), message="the workers to fall idle")
    assert_each_fired_once(wacht, case_ids)
    for worker in workers:
        assert "Traceback" not in worker.log(), worker.log()
    app.close()


def test_worker_killed_mid_sweep_then_restarted_loses_nothing_and_fires_nothing_twice(
        wacht, worker_settings, celery_processes):
    past = now() - timedelta(minutes=5)
    case_ids = start_waiting_cases(wacht, [past] * 300, frozen_at=past - timedelta(minutes=1))
    worker = celery_processes("worker", worker_settings, "crashy").start()
    app = make_celery(worker_settings)
    app.send_task(SWEEP, queue=worker_settings.queue)
    wait_for(lambda: fired_count(wacht) >= 20, 30, 0.01, "the sweep to be under way")
    worker.kill()
    at_kill = fired_count(wacht)
    assert 20 <= at_kill < 300, "the worker must die in the middle of the sweep"
    # Nothing half-done is committed after the kill: the count settles where the kill left it.
    assert wait_quiet(lambda: fired_count(wacht), message="the database to settle") == at_kill

    worker.start()  # on start it re-schedules every due timer; beat's sweep would do the same
    wait_for(lambda: fired_count(wacht) == 300, 60, 0.2, "the rest of the timers to fire")
    wait_quiet(lambda: activity(wacht), message="the worker to fall idle")
    assert_each_fired_once(wacht, case_ids)
    app.close()


def test_redis_away_then_back_everything_due_fires_once_and_the_web_keeps_working(
        wacht, worker_settings, private_redis, celery_processes, caplog):

    settings = worker_settings.replace(redis_url=private_redis.url)
    web_app = make_celery(settings)
    connect_engine(web_app, wacht)  # the web process's engine announces timers to Celery
    worker = celery_processes("worker", settings, "w1").start()
    beat = celery_processes("beat", settings, "beat").start()

    # Before the outage: exact-time timers work.
    [early] = start_waiting_cases(wacht, [now() + timedelta(seconds=1)])
    wait_for(lambda: firing_times(wacht, [early]), 30, 0.05, "a timer before the outage")

    private_redis.stop()
    # The web app keeps working: starting cases (which announce timers to Redis) succeeds, and fast.
    caplog.set_level(logging.ERROR, logger="engine.cases")
    # (How fast a start is without Redis is a figure for bench/, not an assertion here.)
    during, latest_due = [], now() + timedelta(seconds=1.5)
    for offset in (0.5, 1.0, 1.5):
        during += start_waiting_cases(wacht, [now() + timedelta(seconds=offset)])
    assert "timer listener failed" in caplog.text
    # The timers fall due while Redis is away; nothing can fire them.
    wait_for(lambda: now() > latest_due + timedelta(seconds=0.5), 10, 0.05, "the timers to fall due")
    assert firing_times(wacht, during) == {}

    private_redis.start()
    # Recovery: beat's sweep (or the reconnected worker) fires everything that fell due, once.
    wait_for(lambda: len(firing_times(wacht, during)) == 3, 45, 0.2, "catch-up after Redis came back")
    # And exact-time scheduling works again from the web process (the producer reconnects).
    started = now()
    [late] = start_waiting_cases(wacht, [started + timedelta(seconds=1)])
    wait_for(lambda: firing_times(wacht, [late]), 15, 0.05, "a timer after the outage")
    wait_quiet(lambda: activity(wacht), message="the workers to fall idle")
    assert_each_fired_once(wacht, [early, *during, late])
    # The worker rode out the outage (kombu would have made it exit; see workers/redis_transport.py).
    assert worker.process.poll() is None and "Unrecoverable error" not in worker.log()
    web_app.close()
    beat.stop()


def test_timer_due_beyond_the_horizon_is_queued_when_it_comes_near(wacht, worker_settings, celery_app):
    from workers.scheduling import EtaLedger, schedule_upcoming

    settings = worker_settings.replace(eta_horizon=60)
    ledger = EtaLedger(settings.redis_url, settings.queue, settings.eta_horizon)
    sent = []
    celery_app.send_task = lambda name, **kw: sent.append((name, kw["args"][0]))  # record instead of queueing
    connect_engine(celery_app, wacht)
    near, far = start_waiting_cases(wacht, [now() + timedelta(seconds=30), now() + timedelta(hours=2)])
    assert sent == [(FIRE_CASE_TIMERS, near)]  # the far one waits for schedule_timers
    sent.clear()
    assert schedule_upcoming(celery_app, settings, wacht.sessions, ledger) == 0  # the listener queued it
    assert schedule_upcoming(celery_app, settings, wacht.sessions, ledger, force=True) == 1  # worker start
    with clock.frozen_at(now() + timedelta(hours=1, minutes=59, seconds=30)):
        assert schedule_upcoming(celery_app, settings, wacht.sessions, ledger) == 1  # far came within the horizon
        assert schedule_upcoming(celery_app, settings, wacht.sessions, ledger) == 0  # ... and is queued once
    assert sent == [(FIRE_CASE_TIMERS, near), (FIRE_CASE_TIMERS, far)]


def test_many_exact_time_timers_each_fire_once_and_never_early(wacht, celery_app, thread_worker):
    """A smaller version of bench/timers.py (which prints the lateness figures): 40 timers spread over two
    seconds all fire through their own ETA tasks, each once, none before its due time."""
    connect_engine(celery_app, wacht)
    base = now() + timedelta(seconds=2)
    case_ids = start_waiting_cases(wacht, [base + timedelta(seconds=2 * i / 40) for i in range(40)])
    fired = wait_for(lambda: (f := firing_times(wacht, case_ids)) and len(f) == 40 and f, 60, 0.1,
                     "all timers to fire")
    assert all(ended >= due for due, ended in fired.values())
    wait_quiet(lambda: activity(wacht), message="the worker to fall idle")
    assert_each_fired_once(wacht, case_ids)


def test_a_task_retries_after_a_retryable_database_error(wacht, celery_app, thread_worker, monkeypatch):
    from sqlalchemy.exc import OperationalError

    from workers import tasks
    from workers.celery_app import FIRE_DUE_TIMERS

    real, calls = tasks.fire_timers, []

    def flaky(ctx, limit=None):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly"))
        return real(ctx, limit)

    monkeypatch.setattr(tasks, "fire_timers", flaky)
    past = now() - timedelta(minutes=1)
    [case_id] = start_waiting_cases(wacht, [past], frozen_at=past - timedelta(minutes=1))
    celery_app.send_task(FIRE_DUE_TIMERS, queue=celery_app.meldcode_settings.queue)
    wait_for(lambda: len(calls) >= 2, 10, 0.05, "the task to be retried")
    wait_for(lambda: firing_times(wacht, [case_id]), 30, 0.05, "the timer to fire")
