"""Account use cases: create users, check passwords with an atomic rate limit, roles, API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload, sessionmaker

from engine import clock, text_input
from engine.db import Sessions

from ..roles import ROLES
from . import sessions as user_sessions
from . import throttle
from .identity import CurrentUser
from .models import ApiToken, Team, User, UserRole, UserSession

HASHER = PasswordHasher()
# Verified when the username does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("no such user")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "mc_"
MIN_PASSWORD = 10
# One address may fail this many times more across all usernames (a shared office NAT) before it is slowed down,
# and one username this many times more across all addresses (guessing spread over many machines).
ADDRESS_FACTOR = 4
DEFAULT_TOKEN_DAYS = 90


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (message in Dutch, for people); `field` names the
    form field it is about, where there is one."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignIn:
    user: CurrentUser | None
    rate_limited: bool = False


def _signed_in_user(session, user_id: int) -> User | None:
    """The user of a request with its team and roles in one statement (every request asks)."""
    return session.get(User, user_id, options=[joinedload(User.role_rows)])


def _identity(user: User) -> CurrentUser:
    """The identity of a user entity, outside a request's sign-in (`_request_identity`)."""
    return CurrentUser(id=user.id, username=user.username, display_name=user.display_name or user.username,
                       team=user.team.name, team_title=user.team.title or user.team.name, roles=user.roles,
                       session_version=user.session_version, mfa_enabled=user.totp_enabled_at is not None,
                       mfa_exempt=bool(user.mfa_exempt))


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def create_user(sessions: sessionmaker, username: str, password: str, roles, team: str, *,
                display_name: str | None = None, team_title: str | None = None, email: str | None = None,
                check_strength: bool = True, mfa_exempt: bool = False) -> CurrentUser:
    username = normalise_username(username)
    roles = sorted(set(roles))
    if not USERNAME.match(username):
        raise AccountError("gebruikersnaam: 2–100 tekens, kleine letters, cijfers, '.', '_' of '-'")
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise AccountError(f"onbekende rol(len): {', '.join(unknown)}; kies uit {', '.join(ROLES)}")
    if not roles:
        raise AccountError("geef minstens één rol")
    if not team or not team.strip():
        raise AccountError("geef een team")
    # The same text rules as every other boundary (forms, API): nothing unstorable or invisible gets in.
    for label, text, limit in (("team", team, 100), ("naam", display_name, 200), ("teamnaam", team_title, 200),
                               ("e-mailadres", email, 254)):
        problems = text_input.text_problems(text, limit) if text is not None else []
        if problems:
            raise AccountError(f"{label}: {' '.join(problems)}")
    email = (email or "").strip() or None
    if email is not None and not EMAIL.match(email):
        raise AccountError(f"e-mailadres {email!r} is ongeldig")
    if check_strength and len(password or "") < MIN_PASSWORD:
        raise AccountError(f"wachtwoord: minstens {MIN_PASSWORD} tekens")
    with sessions.begin() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            raise AccountError(f"gebruiker {username!r} bestaat al")
        team_row = session.scalar(select(Team).where(Team.name == team.strip()))
        if team_row is None:
            team_row = Team(name=team.strip(), title=team_title)
            session.add(team_row)
        user = User(username=username, display_name=display_name, email=email, password_hash=HASHER.hash(password),
                    team=team_row, active=True, session_version=1, created_at=clock.now(),
                    role_rows=[UserRole(role=r) for r in roles], mfa_exempt=mfa_exempt)
        session.add(user)
        session.flush()
        return _identity(user)


def set_password(sessions: sessionmaker, username: str, password: str, *, keep_session_id: int | None = None) -> None:
    """Set a new password; the user's open sessions (but `keep_session_id`, the one changing it) and API tokens
    end at once."""
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"wachtwoord: minstens {MIN_PASSWORD} tekens", field="new")
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        user.password_hash = HASHER.hash(password)
        if keep_session_id is None:
            user.session_version += 1
        user_sessions.revoke_all(session, user.id, "password changed", except_id=keep_session_id)
        session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                        .values(revoked_at=clock.now()))


def change_own_password(sessions: sessionmaker, user_id: int, current: str, new: str, session_id: int) -> None:
    """The account page: the current password proves it is the user; other sessions and all tokens end."""
    with sessions() as session:
        user = session.get(User, user_id)
        if user is None or not _verify(user.password_hash, current or ""):
            raise AccountError("Het huidige wachtwoord klopt niet.", field="current")
        username = user.username
    set_password(sessions, username, new, keep_session_id=session_id)


def set_roles(sessions: sessionmaker, username: str, roles) -> frozenset[str]:
    """Replace a user's roles; their open sessions end at once (a page must never show the old rights)."""
    roles = sorted(set(roles))
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise AccountError(f"onbekende rol(len): {', '.join(unknown)}; kies uit {', '.join(ROLES)}")
    if not roles:
        raise AccountError("geef minstens één rol")
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        user.role_rows = [UserRole(role=r) for r in roles]
        end_sessions_in(session, user, "roles changed")
        return frozenset(roles)


def end_sessions_in(session, user: User, reason: str) -> int:
    """For any code that changes a user's rights (roles, team, blocking) inside its own transaction: end every
    open session of the user. Returns how many were open."""
    user.session_version += 1
    return user_sessions.revoke_all(session, user.id, reason)


def end_sessions(sessions: sessionmaker, username: str, reason: str = "signed out everywhere") -> int:
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        return end_sessions_in(session, user, reason)


def user_exists(sessions: sessionmaker, username: str) -> bool:
    with sessions() as session:
        return session.scalar(select(User.id).where(User.username == normalise_username(username))) is not None


def load_user(sessions: sessionmaker, user_id: int, session_version: int) -> CurrentUser | None:
    """The user as they are now (for code outside a request, and tests); no session record involved."""
    with sessions() as session:
        user = _signed_in_user(session, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        return _identity(user)


def load_session_user(sessions: Sessions, secret: str | None, user_id: int, session_version: int, *,
                      idle_minutes: int) -> CurrentUser | None:
    """The user of a browser session, only while its server-side record is open."""
    found = user_sessions.load(sessions, secret, user_id, idle_minutes=idle_minutes)
    if found is None:
        return None
    record, user = found
    if not user.active or user.session_version != session_version:
        return None
    return _request_identity(user, session_id=record.id, mfa_verified=record.mfa_verified)


def _request_identity(user: user_sessions.SignedInUser, *, via_token: bool = False, session_id: int | None = None,
                      mfa_verified: bool = False) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, display_name=user.display_name or user.username,
                       team=user.team, team_title=user.team_title or user.team, roles=user.roles,
                       session_version=user.session_version, via_token=via_token, session_id=session_id,
                       mfa_enabled=user.totp_enabled, mfa_exempt=user.mfa_exempt, mfa_verified=mfa_verified)


def sign_in(sessions: sessionmaker, username: str, password: str, ip: str, *, max_failures: int,
            window_seconds: int) -> SignIn:
    """Check a password. Per window at most `max_failures` attempts per username and address, `ADDRESS_FACTOR`
    times that from one address over all usernames (password spraying) and for one username over all
    addresses. The counters are raised atomically and committed before the hash is checked."""
    username = normalise_username(username)[:100]
    ip = (ip or "?")[:64]
    keys = (f"pw:{username}|{ip}", f"ip:{ip}", f"user:{username}")
    limits = (max_failures, max_failures * ADDRESS_FACTOR, max_failures * ADDRESS_FACTOR)
    with sessions.begin() as session:
        counts = [throttle.hit(session, key, window_seconds) for key in keys]
    if any(count > limit for count, limit in zip(counts, limits)):
        return SignIn(None, rate_limited=True)
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == username))
        ok = _verify(user.password_hash if user is not None else _DUMMY_HASH, password or "")
        if user is None or not ok or not user.active:
            return SignIn(None)
        if HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
        throttle.clear(session, keys[0])
        for key in keys[1:]:
            throttle.give_back(session, key)
        throttle.forget_old(session)
        return SignIn(_identity(user))


def second_factor_allowed(sessions: sessionmaker, user_id: int, ip: str, *, max_failures: int,
                          window_seconds: int) -> bool:
    """Count one attempt at the second step (per user, and per address); False when over the limit."""
    ip = (ip or "?")[:64]
    with sessions.begin() as session:
        per_user = throttle.hit(session, f"mfa:{user_id}", window_seconds)
        per_address = throttle.hit(session, f"mfa-ip:{ip}", window_seconds)
    return per_user <= max_failures and per_address <= max_failures * ADDRESS_FACTOR


def mark_session_verified(sessions: sessionmaker, session_id: int | None) -> None:
    """The session that just set up the second factor counts as having passed it."""
    if session_id is None:
        return
    with sessions.begin() as session:
        session.execute(update(UserSession).where(UserSession.id == session_id).values(mfa_verified=True))


def second_factor_passed(sessions: sessionmaker, user_id: int) -> None:
    with sessions.begin() as session:
        throttle.clear(session, f"mfa:{user_id}")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- API tokens -------------------------------------------------------------------------------
def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(sessions: sessionmaker, username: str, label: str, days: int = DEFAULT_TOKEN_DAYS) -> str:
    """A new API token for the user, valid `days`; the secret is returned once and stored only as a hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        session.add(ApiToken(user_id=user.id, token_hash=_token_hash(secret), label=(label or "API")[:100],
                             created_at=now, expires_at=now + timedelta(days=max(1, days))))
    return secret


def token_expiry(token: ApiToken):
    """Tokens made before expiry existed (migration 0005) run out DEFAULT_TOKEN_DAYS after they were made."""
    return _expiry(token.created_at, token.expires_at)


def _expiry(created_at, expires_at):
    return expires_at or created_at + timedelta(days=DEFAULT_TOKEN_DAYS)


def user_for_token(sessions: Sessions, secret: str) -> CurrentUser | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    # One round trip; the touch below is one UPDATE, committed by itself.
    with sessions.read_connection() as connection:
        rows = connection.execute(_TOKEN_WITH_USER, {"token_hash": _token_hash(secret)}).all()
        now = clock.now()
        if not rows:
            return None
        token_id, created_at, expires_at, revoked_at, last_used_at = rows[0][:len(_TOKEN_COLUMNS)]
        user = user_sessions.signed_in_user(rows, len(_TOKEN_COLUMNS))
        if revoked_at is not None or now >= _expiry(created_at, expires_at) or not user.active:
            return None
        if last_used_at is None or now - last_used_at > timedelta(minutes=5):
            connection.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
            connection.commit()
        return _request_identity(user, via_token=True)


_TOKEN_COLUMNS = (ApiToken.id, ApiToken.created_at, ApiToken.expires_at, ApiToken.revoked_at, ApiToken.last_used_at)
_TOKEN_WITH_USER = user_sessions.with_user(ApiToken, *_TOKEN_COLUMNS)


def list_tokens(sessions: sessionmaker, user_id: int) -> list[ApiToken]:
    with sessions() as session:
        return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                    .order_by(ApiToken.created_at.desc())))


def revoke_token(sessions: sessionmaker, user_id: int | None, token_id: int) -> bool:
    """Revoke a token of `user_id` (its owner), or of anyone when `user_id` is None (a beheerder)."""
    with sessions.begin() as session:
        token = session.get(ApiToken, token_id)
        if token is None or (user_id is not None and token.user_id != user_id) or token.revoked_at is not None:
            return False
        token.revoked_at = clock.now()
        return True


@dataclass(frozen=True)
class TokenRow:
    id: int
    username: str
    display_name: str
    label: str
    created_at: object
    last_used_at: object
    expires_at: object
    revoked_at: object


def all_tokens(sessions: sessionmaker, *, only_active: bool = False) -> list[TokenRow]:
    """Every user's tokens, for the beheerder (metadata only: the secrets are not stored)."""
    now = clock.now()
    with sessions() as session:
        rows = session.execute(select(ApiToken, User.username, User.display_name)
                               .join(User, User.id == ApiToken.user_id)
                               .order_by(User.username, ApiToken.created_at.desc())).all()
        result = [TokenRow(t.id, username, display or username, t.label, t.created_at, t.last_used_at,
                           token_expiry(t), t.revoked_at) for t, username, display in rows]
    if only_active:
        result = [r for r in result if r.revoked_at is None and r.expires_at > now]
    return result
