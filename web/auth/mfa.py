"""The second factor: TOTP (RFC 6238, 30-second steps, 6 digits) plus ten one-time recovery codes.

The secret is made at the start of enrolment and counts only once confirmed with a code. A code is accepted
once: the step it belongs to is remembered, so a code seen over someone's shoulder cannot be replayed.
Recovery codes are stored as argon2 hashes and each works once.
"""
from __future__ import annotations

import re
import secrets

import pyotp
import segno
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from engine import clock

from . import sessions as user_sessions
from .models import RecoveryCode, User

ISSUER = "Meldcode"
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i
STEP = 30
CODE = re.compile(r"^\d{6}$")


def _locked_user(session, user_id: int) -> User | None:
    """The user row locked for this transaction (two tabs confirming, or two code checks, go one by one)."""
    return session.scalar(select(User).where(User.id == user_id).with_for_update(of=User))


class MfaError(ValueError):
    """Enrolment cannot go on (message in Dutch)."""


def begin_enrolment(sessions: sessionmaker, user_id: int) -> tuple[str, str]:
    """A fresh secret for a user without a confirmed second factor; returns (secret, otpauth URI)."""
    secret = pyotp.random_base32()
    with sessions.begin() as session:
        user = _locked_user(session, user_id)
        if user.totp_enabled_at is not None:
            raise MfaError("Tweestapsverificatie is al ingesteld.")
        user.totp_secret = secret
        user.totp_last_step = None
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=ISSUER)
    return secret, uri


def qr_data_uri(uri: str) -> str:
    """The otpauth URI as an inline SVG QR code (a data: URI, so nothing is stored or served separately)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff")


def _matching_step(secret: str, code: str, last_step: int | None) -> int | None:
    """The time step whose code this is (now, or one step either side for clock drift), if not used before."""
    code = (code or "").strip().replace(" ", "")
    if not CODE.match(code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = int(clock.now().timestamp()) // STEP
    for step in (now_step, now_step - 1, now_step + 1):
        if secrets.compare_digest(totp.at(step * STEP), code) and (last_step is None or step > last_step):
            return step
    return None


def confirm_enrolment(sessions: sessionmaker, hasher, user_id: int, code: str,
                      keep_session_id: int | None) -> list[str] | None:
    """Switch the second factor on when `code` fits the pending secret. Returns the recovery codes (shown once)
    or None for a wrong code. Other sessions of the user end: they were opened without the second factor."""
    with sessions.begin() as session:
        user = _locked_user(session, user_id)
        if user.totp_enabled_at is not None:
            raise MfaError("Tweestapsverificatie is al ingesteld.")
        if not user.totp_secret:
            raise MfaError("Start de instelling opnieuw: er is geen geheime sleutel aangemaakt.")
        step = _matching_step(user.totp_secret, code, user.totp_last_step)
        if step is None:
            return None
        user.totp_last_step = step
        user.totp_enabled_at = clock.now()
        codes = _replace_recovery_codes(session, hasher, user.id)
        user_sessions.revoke_all(session, user.id, "mfa enabled", except_id=keep_session_id)
        return codes


def _replace_recovery_codes(session, hasher, user_id: int) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id)):
        session.delete(old)
    codes = ["".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10)) for _ in range(RECOVERY_CODES)]
    now = clock.now()
    for code in codes:
        session.add(RecoveryCode(user_id=user_id, code_hash=hasher.hash(code), created_at=now))
    return [f"{c[:5]}-{c[5:]}" for c in codes]


def new_recovery_codes(sessions: sessionmaker, hasher, user_id: int) -> list[str]:
    with sessions.begin() as session:
        user = _locked_user(session, user_id)
        if user.totp_enabled_at is None:
            raise MfaError("Stel eerst tweestapsverificatie in.")
        return _replace_recovery_codes(session, hasher, user_id)


def check(sessions: sessionmaker, hasher, user_id: int, code: str) -> str | None:
    """Check a sign-in code: 'totp', 'recovery' (that code is now used up) or None."""
    code = (code or "").strip()
    with sessions.begin() as session:
        user = _locked_user(session, user_id)
        if user is None or user.totp_enabled_at is None or not user.totp_secret:
            return None
        step = _matching_step(user.totp_secret, code, user.totp_last_step)
        if step is not None:
            user.totp_last_step = step
            return "totp"
        normalised = re.sub(r"[\s-]", "", code.lower())
        if len(normalised) != 10:
            return None
        for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user_id,
                                                              RecoveryCode.used_at.is_(None))
                                   .with_for_update()):
            try:
                if hasher.verify(row.code_hash, normalised):
                    row.used_at = clock.now()
                    return "recovery"
            except (VerificationError, InvalidHashError):
                continue
        return None


def remaining_recovery_codes(sessions: sessionmaker, user_id: int) -> int:
    with sessions() as session:
        return len(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user_id,
                                                                 RecoveryCode.used_at.is_(None))).all())


def reset(sessions: sessionmaker, username: str) -> bool:
    """Operator: remove a user's second factor (lost phone); they enrol again at their next sign-in."""
    with sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            return False
        user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
        for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
            session.delete(row)
        user.session_version += 1
        user_sessions.revoke_all(session, user.id, "mfa reset")
        return True


def current_code(secret: str, step_offset: int = 0) -> str:
    """The code an authenticator app shows now (on the app's clock); tests use it."""
    return pyotp.TOTP(secret).at(int(clock.now().timestamp()) + step_offset * STEP)
