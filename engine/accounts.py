"""Accounts: teams, users with roles and a second factor, server-side sessions, API tokens, sign-in attempt
counters — the tables, and the look-ups of who holds a role in a team.

One module for both sides: the web app signs people in with these tables (web/auth/), the workers find the
recipients of reminders in them (workers/directory.py). They share the engine's declarative base so one
Alembic history covers every table (migration 0002_accounts). The engine's use cases never read them: they
see an `Actor`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, Select, String, false, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .models import Base


class Team(Base):
    """An organisation unit; cases belong to the team of the professional who started them."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # the value of Case.team
    title: Mapped[str | None] = mapped_column(String(200))


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))  # for reminders by e-mail (migration 0003)
    password_hash: Mapped[str] = mapped_column(String(255))
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of the session identity: raising it signs the user out everywhere (password change, blocking).
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime]
    # Second factor (migration 0005): a TOTP secret counts once confirmed (totp_enabled_at set).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)  # a code is accepted once
    mfa_exempt: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # demo users only
    team: Mapped[Team] = relationship(lazy="joined")
    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> frozenset[str]:
        return frozenset(r.role for r in self.role_rows)


class UserRole(Base):
    __tablename__ = "app_user_role"
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)


class ApiToken(Base):
    """A bearer token for the JSON API. Only its SHA-256 is stored; the secret is shown once."""

    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]  # None only for tokens made before migration 0005


class UserSession(Base):
    """A signed-in browser. The cookie holds a random secret; only its SHA-256 is stored here, so the
    session can be ended on the server (sign-out, password or role change, "overal afmelden")."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # the absolute limit
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    mfa_verified: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(50))


class RecoveryCode(Base):
    """A one-time recovery code for the second factor, stored as an argon2 hash."""

    __tablename__ = "mfa_recovery_code"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class LoginCounter(Base):
    """Attempts per key (user, address, user+address, second factor) in a fixed window, raised with one
    atomic upsert before a password or code is checked, so parallel guesses cannot pass the limit."""

    __tablename__ = "login_counter"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[datetime] = mapped_column(index=True)
    count: Mapped[int] = mapped_column(Integer)


class LoginFailure(Base):
    """One failed sign-in (migration 0002). No longer written: `LoginCounter` counts atomically since 0005."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_lookup", "username", "ip", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)


# -- look-ups ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Recipient:
    """An active user to notify."""

    username: str
    email: str | None
    display_name: str | None = None


def _active_users() -> Select[str, str | None, str | None]:
    return (select(User.username, User.email, User.display_name)
            .where(User.active.is_(True)).order_by(User.username))


def active_user(conn: Connection | Session, username: str) -> Recipient | None:
    row = conn.execute(_active_users().where(User.username == username)).first()
    return Recipient(row[0], row[1], row[2]) if row else None


def users_with_role(conn: Connection | Session, team_name: str | None, role: str | None) -> list[Recipient]:
    """Active users of the team who hold the role (none when there is no team or no role)."""
    if not team_name or not role:
        return []
    query = (_active_users().join(Team, Team.id == User.team_id)
             .join(UserRole, UserRole.user_id == User.id)
             .where(Team.name == team_name, UserRole.role == role))
    return [Recipient(username, email, name) for username, email, name in conn.execute(query)]
