"""NEN 7513 access point of what workers do: a timer fired by the sweeper is audited as channel `worker`, by the
system, on the system's basis — also when the sweeper is a thread of the web process."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine import audit_chain
from engine.models import AuditEvent
from tests.audit_tampering import owner_sql
from workers.embedded import start_sweeper
from workers.settings import WorkerSettings

from .conftest import start_waiting_cases, wait_for


def test_a_fired_timer_is_audited_as_the_worker_channel(wacht):
    [case_id] = start_waiting_cases(wacht, [datetime.now(UTC) + timedelta(milliseconds=200)])
    handle = start_sweeper(wacht, interval=0.2, settings=WorkerSettings(engine=wacht.settings))

    def fired():
        with wacht.sessions() as session:
            return session.scalars(select(AuditEvent).where(AuditEvent.action == "timer.fire",
                                                            AuditEvent.case_id == case_id)).first()
    try:
        event = wait_for(fired, 10, message="the timer.fire event")
    finally:
        handle.stop()
    assert (event.channel, event.actor, event.basis) == ("worker", "system", "system")
    with wacht.sessions() as session:
        start = session.scalars(select(AuditEvent).where(AuditEvent.action == "case.start")).first()
        assert start.channel == "cli"  # started by the test itself, outside any worker or request
        assert audit_chain.verify(session).ok


def test_the_daily_check_logs_the_head_and_a_break(wacht, caplog):
    import logging

    from sqlalchemy import text

    from workers.audit_watch import check_chain

    start_waiting_cases(wacht, [datetime.now(UTC) + timedelta(days=1)] * 3)
    with caplog.at_level(logging.INFO, logger="workers.audit_watch"):
        assert check_chain(wacht.sessions).ok
    with wacht.sessions() as session:
        head = session.execute(text("SELECT seq, hash FROM audit_chain_head")).one()
    assert f"head {head.seq}:{head.hash}" in caplog.text
    db = wacht.sessions.kw["bind"]
    owner_sql(db, "UPDATE audit_event SET actor = 'x' WHERE seq = 2")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="workers.audit_watch"):
        assert not check_chain(wacht.sessions).ok
    [record] = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "BROKEN" in record.getMessage() and "(seq 2)" in record.getMessage()
