"""Atomic attempt counters for sign-in and the second factor.

Each attempt first raises its counters with one `INSERT ... ON CONFLICT DO UPDATE ... RETURNING` (PostgreSQL
locks the row, SQLite serialises writers), and only an attempt whose own count is within the limit goes on to
the password or code check. So 60 parallel guesses for one user get at most `limit` checks, not "as many as
read the old count before the first write".
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import clock

from .models import LoginCounter


def _insert_for(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def hit(session: Session, key: str, window_seconds: int) -> int:
    """Count one attempt for `key` in the current window and return the count including this one."""
    now = clock.now()
    stale = LoginCounter.window_start <= now - timedelta(seconds=window_seconds)
    insert = _insert_for(session)(LoginCounter).values(key=key[:200], window_start=now, count=1)
    statement = insert.on_conflict_do_update(
        index_elements=[LoginCounter.key],
        set_={"count": case((stale, 1), else_=LoginCounter.count + 1),
              "window_start": case((stale, now), else_=LoginCounter.window_start)},
    ).returning(LoginCounter.count)
    return session.execute(statement).scalar_one()


def give_back(session: Session, key: str) -> None:
    """Undo one counted attempt (it succeeded), so an office of colleagues behind one address is not slowed."""
    session.execute(update(LoginCounter).where(LoginCounter.key == key[:200], LoginCounter.count > 0)
                    .values(count=LoginCounter.count - 1))


def clear(session: Session, key: str) -> None:
    session.execute(update(LoginCounter).where(LoginCounter.key == key[:200]).values(count=0))


def forget_old(session: Session, older_than: timedelta = timedelta(days=1)) -> None:
    """Counters of past windows carry nothing; drop them so guessing many names does not grow the table."""
    session.execute(delete(LoginCounter).where(LoginCounter.window_start < clock.now() - older_than))
