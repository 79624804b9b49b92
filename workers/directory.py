"""Who receives a notification: users, teams and roles from the web app's account tables.

Read with SQLAlchemy Core on the table names (`team`, `app_user`, `app_user_role`), so the workers do not
depend on the web package. Only active users count.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import column, select, table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from engine.reminders import DueReminder

team = table("team", column("id"), column("name"))
app_user = table("app_user", column("id"), column("username"), column("display_name"), column("team_id"),
                 column("active"), column("email"))
app_user_role = table("app_user_role", column("user_id"), column("role"))


@dataclass(frozen=True)
class Recipient:
    username: str
    email: str | None
    display_name: str | None = None


def _users():
    return (select(app_user.c.username, app_user.c.email, app_user.c.display_name)
            .where(app_user.c.active.is_(True)).order_by(app_user.c.username))


def user(conn: Connection | Session, username: str) -> Recipient | None:
    row = conn.execute(_users().where(app_user.c.username == username)).first()
    return Recipient(*row) if row else None


def users_with_role(conn: Connection | Session, team_name: str | None, role: str | None) -> list[Recipient]:
    """Active users of the team who hold the role (none when the case has no team or the task no lane)."""
    if not team_name or not role:
        return []
    query = (_users().join(team, team.c.id == app_user.c.team_id)
             .join(app_user_role, app_user_role.c.user_id == app_user.c.id)
             .where(team.c.name == team_name, app_user_role.c.role == role))
    return [Recipient(*row) for row in conn.execute(query)]


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
