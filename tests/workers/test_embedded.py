"""Embedded mode: without Redis the web process runs the same sweep in a daemon thread."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine import clock, notifications
from workers import embedded
from workers.attach import attach_timers
from workers.embedded import start_sweeper
from workers.settings import WorkerSettings

from .conftest import at, start_waiting_cases, wait_for
from .test_celery_timers import firing_times


def now() -> datetime:
    return datetime.now(UTC)


def test_sweeper_thread_fires_a_timer_at_its_time_not_at_the_next_interval(wacht):
    handle = start_sweeper(wacht, interval=30, settings=WorkerSettings(engine=wacht.settings))
    try:
        wait_for(lambda: handle.sweeps >= 1, 30, message="the first sweep")
        started = now()
        [case_id] = start_waiting_cases(wacht, [started + timedelta(seconds=1)])
        fired = wait_for(lambda: firing_times(wacht, [case_id]), 30, 0.02, "the timer to fire")
        due, ended = fired[case_id]
        assert 0 <= (ended - due).total_seconds() < 0.5  # the new timer woke the thread; it slept until due
        assert [t.element_id for t in wacht.open_tasks(case_id=case_id)] == ["opvolgen"]
    finally:
        handle.stop()
    assert not handle.alive
    assert handle._on_new_timer not in wacht.timer_listeners


def test_sweeper_thread_creates_reminders_and_sends_mail(deployed, people, smtp_server):
    with clock.frozen_at(at("2026-03-31 09:00")):  # long ago: the task is overdue by many working days
        case_id = deployed.start_case("voorbeeld", "CL-EMB-1", people["piet"].actor)
    settings = WorkerSettings(smtp_url=smtp_server.url, engine=deployed.settings)
    handle = start_sweeper(deployed, interval=0.2, settings=settings)
    try:
        wait_for(lambda: len(smtp_server.messages) == 4, 10, message="four e-mails")
    finally:
        handle.stop()
    with deployed.sessions() as session:
        rows = notifications.for_case(session, case_id)
    assert sorted((n.kind, n.recipient, n.status) for n in rows) == [
        ("escalation_aandachtsfunctionaris", "anna", "sent"), ("escalation_leidinggevende", "lotte", "sent"),
        ("reminder_due", "karin", "sent"), ("reminder_due", "piet", "sent"),
        ("reminder_due", "zonder_mail", "skipped")]


def test_a_failing_sweep_does_not_end_the_thread(wacht, monkeypatch):
    calls = []
    real = embedded.run_sweep

    def flaky(ctx):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away for a moment")
        return real(ctx)

    monkeypatch.setattr(embedded, "run_sweep", flaky)
    handle = start_sweeper(wacht, interval=0.1, settings=WorkerSettings(engine=wacht.settings))
    try:
        wait_for(lambda: handle.sweeps >= 3, 30,
                 message=lambda: f"sweeps after a failure (so far {handle.sweeps}, last error {handle.last_error!r})")
        assert handle.alive and handle.last_error is None
    finally:
        handle.stop()


def test_attach_timers_chooses_celery_with_redis_and_the_thread_without(wacht, redis_url):
    before = list(wacht.timer_listeners)
    handle = attach_timers(wacht, WorkerSettings(engine=wacht.settings), interval=30)
    try:
        assert handle is not None and handle.alive
    finally:
        handle.stop()
    assert wacht.timer_listeners == before
    assert attach_timers(wacht, WorkerSettings(redis_url=redis_url, engine=wacht.settings)) is None
    assert len(wacht.timer_listeners) == len(before) + 1  # new timers now go to Celery


def test_interval_must_be_positive(wacht):
    with pytest.raises(ValueError):
        start_sweeper(wacht, interval=-1, settings=WorkerSettings(engine=wacht.settings))
