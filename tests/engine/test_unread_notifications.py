"""The inbox's unread notifications (engine/notifications.py `for_user`) are found through an index of unread ones
(revision 0012): a professional's read notifications pile up over the years, and the inbox asks on every page."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from engine import notifications
from engine.models import CaseTask, Notification
from tests.engine.fixtures_proef import PIET, T0, proef_engine, start  # noqa: F401 - the `engine` fixture
from tests.engine.plans import analyze, plan, statements_during

READ, UNREAD = 600, 3


def _history(engine) -> None:
    """PIET's case with READ + UNREAD finished tasks, each with a reminder to him; the last UNREAD unread."""
    case_id = start(engine, "CL-LEZEN", PIET, T0)
    with engine.sessions.begin() as session:
        tasks = [{"case_id": case_id, "spiff_task_id": f"t{n}", "element_id": "stap1", "name": f"Stap {n}",
                  "lane": "professional", "state": "completed", "created_at": T0 + timedelta(hours=n)}
                 for n in range(READ + UNREAD)]
        session.execute(insert(CaseTask), tasks)
        ids = session.scalars(select(CaseTask.id).where(CaseTask.spiff_task_id.like("t%"))
                              .order_by(CaseTask.created_at)).all()
        session.execute(insert(Notification), [
            {"case_id": case_id, "task_id": task_id, "kind": notifications.REMINDER_DUE, "recipient": "piet",
             "role": "professional", "created_at": T0 + timedelta(hours=n), "status": "sent", "attempts": 1,
             "read_at": T0 + timedelta(hours=n + 1) if n < READ else None}
            for n, task_id in enumerate(ids)])
        analyze(session, "notification", "case_task", "cases")


def test_unread_notifications_come_from_the_index_of_unread_ones(engine):
    _history(engine)
    bind = engine.sessions.kw["bind"]

    def unread():
        with engine.sessions() as session:
            return notifications.for_user(session, "piet", unread_only=True, limit=20)

    shown, sent = statements_during(bind, "FROM notification", unread)
    assert [n.created_at for n in shown] == [T0 + timedelta(hours=n) for n in reversed(range(READ, READ + UNREAD))]
    with engine.sessions() as session:
        assert len(notifications.for_user(session, "piet", limit=20)) == 20  # read ones too, newest first
    [(statement, parameters)] = sent
    planned = plan(bind, statement, parameters)
    assert "ix_notification_unread" in planned, planned
