"""Who receives a notification: users, teams and roles from the account tables (engine/accounts.py, the same
module the web app signs people in with). Only active users count.
"""
from __future__ import annotations

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.accounts import Recipient, active_user, users_with_role
from engine.reminders import DueReminder

__all__ = ["Recipient", "email_of", "recipients_for", "user", "users_with_role"]


def user(conn: Connection | Session, username: str) -> Recipient | None:
    return active_user(conn, username)


def recipients_for(conn: Connection | Session, due: DueReminder) -> list[tuple[Recipient, str | None]]:
    """(recipient, role they were chosen by) for a due reminder; role None means: the task's assignee.

    Reminders go to the assignee when the task is claimed by an active user, else to the task's lane in the
    case's team; escalations go to the team's aandachtsfunctionaris or leidinggevende.
    """
    if due.role is None:
        if due.claimed_by:
            assignee = user(conn, due.claimed_by)
            if assignee is not None:
                return [(assignee, None)]
        return [(r, due.lane) for r in users_with_role(conn, due.team, due.lane)]
    return [(r, due.role) for r in users_with_role(conn, due.team, due.role)]


def email_of(conn: Connection | Session, username: str) -> str | None:
    found = user(conn, username)
    return found.email if found and found.email else None
