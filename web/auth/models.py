"""Accounts of the web app: teams, users with roles, API tokens, failed sign-ins.

They share the engine's declarative base so one Alembic history covers every table
(migration 0002_accounts). The engine never reads them: it sees an `Actor`.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from engine.models import Base


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
    team: Mapped[Team] = relationship(lazy="joined")
    role_rows: Mapped[list["UserRole"]] = relationship(cascade="all, delete-orphan", lazy="selectin")

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


class LoginFailure(Base):
    """One failed sign-in; counted per username and address to rate-limit guessing."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_lookup", "username", "ip", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100))
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(index=True)
