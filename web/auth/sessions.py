"""Server-side records of signed-in browsers.

The session cookie carries a random secret; the table holds its SHA-256 with the user, times, address and
browser. Every request looks the record up (`load`), so a session ends on the server the moment its record
is revoked: sign-out, "overal afmelden", a password or role change. A cookie copied before that opens nothing.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import sessionmaker

from engine import clock
from engine.db import Sessions

from .models import Team, User, UserRole, UserSession

# last_seen_at is written at most this often per session (it drives the idle timeout and the account page).
TOUCH_SECONDS = 30
KEEP_ENDED_DAYS = 30  # ended sessions stay this long (sign-in history), then go at the user's next sign-in


@dataclass(frozen=True)
class OpenSession:
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    mfa_verified: bool

    @property
    def device(self) -> str:
        return describe_user_agent(self.user_agent)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def start(sessions: sessionmaker, user_id: int, *, lifetime_minutes: int, ip: str | None, user_agent: str | None,
          mfa_verified: bool) -> tuple[str, int]:
    """A new session record; returns the secret for the cookie and the record's id."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    with sessions.begin() as session:
        session.execute(delete(UserSession).where(UserSession.user_id == user_id,
                                                  UserSession.expires_at < now - timedelta(days=KEEP_ENDED_DAYS)))
        row = UserSession(token_hash=_hash(secret), user_id=user_id, created_at=now, last_seen_at=now,
                          expires_at=now + timedelta(minutes=lifetime_minutes), ip=(ip or None) and ip[:64],
                          user_agent=(user_agent or None) and user_agent[:300], mfa_verified=mfa_verified)
        session.add(row)
        session.flush()
        return secret, row.id


@dataclass(frozen=True)
class SignedInUser:
    """The user of a request as its sign-in reads it (columns, not entities: every request signs in)."""

    id: int
    username: str
    display_name: str | None
    active: bool
    session_version: int
    totp_enabled: bool
    mfa_exempt: bool
    team: str
    team_title: str | None
    roles: frozenset[str]


_USER_COLUMNS = (User.id, User.username, User.display_name, User.active, User.session_version,
                 User.totp_enabled_at, User.mfa_exempt, Team.name, Team.title, UserRole.role)


def with_user(credential, *columns) -> Select:
    """`columns` of a credential (session record or API token) by its hash, then its user, team and one role per
    row: one statement, built once by the caller (building a statement costs more than running it)."""
    return (select(*columns, *_USER_COLUMNS).join(User, User.id == credential.user_id)
            .join(Team, Team.id == User.team_id).outerjoin(UserRole, UserRole.user_id == User.id)
            .where(credential.token_hash == bindparam("token_hash")))


def signed_in_user(rows: list[Row], offset: int) -> SignedInUser:
    """The user of the rows of a `with_user` statement whose credential had `offset` columns."""
    (user_id, username, display_name, active, session_version, totp_enabled_at, mfa_exempt, team,
     team_title, _) = rows[0][offset:]
    return SignedInUser(user_id, username, display_name, bool(active), session_version, totp_enabled_at is not None,
                        bool(mfa_exempt), team, team_title, frozenset(r[-1] for r in rows if r[-1] is not None))


@dataclass(frozen=True)
class Record:
    """What a request needs of its session record."""

    id: int
    mfa_verified: bool


_RECORD_COLUMNS = (UserSession.id, UserSession.user_id, UserSession.revoked_at, UserSession.expires_at,
                   UserSession.last_seen_at, UserSession.mfa_verified)
_RECORD_WITH_USER = with_user(UserSession, *_RECORD_COLUMNS)


def load(sessions: Sessions, secret: str | None, user_id: int, *, idle_minutes: int
         ) -> tuple[Record, SignedInUser] | None:
    """The live record for this cookie secret and user, touched, with the user (team and roles) read in the same
    statement (every request asks); None when revoked, expired, idle or unknown."""
    if not secret or not isinstance(secret, str) or len(secret) > 100:
        return None
    now = clock.now()
    # One round trip; an expiry or a touch is one UPDATE, committed by itself.
    with sessions.read_connection() as connection:
        rows = connection.execute(_RECORD_WITH_USER, {"token_hash": _hash(secret)}).all()
        if not rows:
            return None
        record_id, record_user_id, revoked_at, expires_at, last_seen_at, mfa_verified = rows[0][:len(_RECORD_COLUMNS)]
        if record_user_id != user_id or revoked_at is not None:
            return None
        if now >= expires_at or now - last_seen_at > timedelta(minutes=idle_minutes):
            connection.execute(update(UserSession).where(UserSession.id == record_id)
                               .values(revoked_at=now, revoked_reason="expired"))
            connection.commit()
            return None
        if (now - last_seen_at).total_seconds() > TOUCH_SECONDS:
            connection.execute(update(UserSession).where(UserSession.id == record_id).values(last_seen_at=now))
            connection.commit()
        return Record(record_id, bool(mfa_verified)), signed_in_user(rows, len(_RECORD_COLUMNS))


def revoke(sessions: sessionmaker, user_id: int, session_id: int, reason: str) -> bool:
    """End one session of this user; False when it is not theirs or already ended."""
    with sessions.begin() as session:
        result = session.execute(update(UserSession).where(
            UserSession.id == session_id, UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
            .values(revoked_at=clock.now(), revoked_reason=reason))
        return result.rowcount == 1


def revoke_secret(sessions: sessionmaker, secret: str | None, reason: str) -> None:
    if not secret or not isinstance(secret, str):
        return
    with sessions.begin() as session:
        session.execute(update(UserSession).where(UserSession.token_hash == _hash(secret),
                                                  UserSession.revoked_at.is_(None))
                        .values(revoked_at=clock.now(), revoked_reason=reason))


def revoke_all(session, user_id: int, reason: str, *, except_id: int | None = None) -> int:
    """End every open session of the user (inside the caller's transaction); returns how many."""
    statement = update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if except_id is not None:
        statement = statement.where(UserSession.id != except_id)
    return session.execute(statement.values(revoked_at=clock.now(), revoked_reason=reason)).rowcount


def list_open(sessions: sessionmaker, user_id: int, *, idle_minutes: int) -> list[OpenSession]:
    now = clock.now()
    with sessions() as session:
        rows = session.scalars(select(UserSession).where(
            UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now,
            UserSession.last_seen_at > now - timedelta(minutes=idle_minutes))
            .order_by(UserSession.last_seen_at.desc()))
        return [OpenSession(r.id, r.created_at, r.last_seen_at, r.expires_at, r.ip, r.user_agent, r.mfa_verified)
                for r in rows]


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"),
            ("Mac OS X", "macOS"), ("Linux", "Linux"))


def describe_user_agent(agent: str | None) -> str:
    """'Firefox op Windows' — enough to recognise one's own devices; the full string is in the title."""
    if not agent:
        return "onbekend"
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} op {system}"
    return browser or system or agent[:60]
