"""Account use cases: create users, check passwords with a rate limit, API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from engine import clock

from ..roles import ROLES
from .identity import CurrentUser
from .models import ApiToken, LoginFailure, Team, User, UserRole

HASHER = PasswordHasher()
# Verified when the username does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = HASHER.hash("no such user")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")
EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
TOKEN_PREFIX = "mc_"
MIN_PASSWORD = 10
# One address may fail this many times more across all usernames (a shared office NAT) before it is slowed down.
ADDRESS_FACTOR = 4


class AccountError(ValueError):
    """A request about accounts that cannot be carried out (message in Dutch, for people)."""


@dataclass(frozen=True)
class SignIn:
    user: CurrentUser | None
    rate_limited: bool = False


def _identity(user: User, via_token: bool = False) -> CurrentUser:
    return CurrentUser(id=user.id, username=user.username, display_name=user.display_name or user.username,
                       team=user.team.name, team_title=user.team.title or user.team.name, roles=user.roles,
                       session_version=user.session_version, via_token=via_token)


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def create_user(sessions: sessionmaker, username: str, password: str, roles, team: str, *,
                display_name: str | None = None, team_title: str | None = None, email: str | None = None,
                check_strength: bool = True) -> CurrentUser:
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
                    role_rows=[UserRole(role=r) for r in roles])
        session.add(user)
        session.flush()
        return _identity(user)


def set_password(sessions: sessionmaker, username: str, password: str) -> None:
    """Set a new password and end the user's open sessions."""
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"wachtwoord: minstens {MIN_PASSWORD} tekens")
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        user.password_hash = HASHER.hash(password)
        user.session_version += 1


def user_exists(sessions: sessionmaker, username: str) -> bool:
    with sessions() as session:
        return session.scalar(select(User.id).where(User.username == normalise_username(username))) is not None


def load_user(sessions: sessionmaker, user_id: int, session_version: int) -> CurrentUser | None:
    with sessions() as session:
        user = session.get(User, user_id)
        if user is None or not user.active or user.session_version != session_version:
            return None
        return _identity(user)


def sign_in(sessions: sessionmaker, username: str, password: str, ip: str, *, max_failures: int,
            window_seconds: int) -> SignIn:
    """Check a password. At most `max_failures` wrong attempts per username and address per window, and
    `ADDRESS_FACTOR` times that from one address over all usernames (password spraying)."""
    username = normalise_username(username)[:100]
    ip = (ip or "?")[:64]
    now = clock.now()
    since = now - timedelta(seconds=window_seconds)
    with sessions.begin() as session:
        failures = session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.ip == ip, LoginFailure.at > since))
        from_address = session.scalar(select(func.count()).select_from(LoginFailure).where(
            LoginFailure.ip == ip, LoginFailure.at > since))
        if failures >= max_failures or from_address >= max_failures * ADDRESS_FACTOR:
            return SignIn(None, rate_limited=True)
        user = session.scalar(select(User).where(User.username == username))
        ok = _verify(user.password_hash if user is not None else _DUMMY_HASH, password or "")
        if user is None or not ok or not user.active:
            session.add(LoginFailure(username=username, ip=ip, at=now))
            # Keep the table small: forget failures older than a day.
            session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
            return SignIn(None)
        if HASHER.check_needs_rehash(user.password_hash):
            user.password_hash = HASHER.hash(password)
        session.execute(delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.ip == ip))
        return SignIn(_identity(user))


def _verify(password_hash: str, password: str) -> bool:
    try:
        return HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# -- API tokens -------------------------------------------------------------------------------
def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(sessions: sessionmaker, username: str, label: str) -> str:
    """A new API token for the user; the secret is returned once and stored only as a hash."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == normalise_username(username)))
        if user is None:
            raise AccountError(f"gebruiker {username!r} bestaat niet")
        session.add(ApiToken(user_id=user.id, token_hash=_token_hash(secret), label=(label or "API")[:100],
                             created_at=clock.now()))
    return secret


def user_for_token(sessions: sessionmaker, secret: str) -> CurrentUser | None:
    if not secret or not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    with sessions.begin() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
        if token is None or token.revoked_at is not None:
            return None
        user = session.get(User, token.user_id)
        if user is None or not user.active:
            return None
        now = clock.now()
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
            token.last_used_at = now
        return _identity(user, via_token=True)


def list_tokens(sessions: sessionmaker, user_id: int) -> list[ApiToken]:
    with sessions() as session:
        return list(session.scalars(select(ApiToken).where(ApiToken.user_id == user_id)
                                    .order_by(ApiToken.created_at.desc())))


def revoke_token(sessions: sessionmaker, user_id: int, token_id: int) -> bool:
    with sessions.begin() as session:
        token = session.get(ApiToken, token_id)
        if token is None or token.user_id != user_id or token.revoked_at is not None:
            return False
        token.revoked_at = clock.now()
        return True
