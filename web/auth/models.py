"""Accounts of the web app: teams, users with roles and a second factor, server-side sessions, API tokens,
sign-in attempt counters. The tables live in engine/accounts.py, shared with the workers (reminder recipients).
"""
from __future__ import annotations

from engine.accounts import (
    ApiToken,
    LoginCounter,
    LoginFailure,
    RecoveryCode,
    Team,
    User,
    UserRole,
    UserSession,
)

__all__ = ["ApiToken", "LoginCounter", "LoginFailure", "RecoveryCode", "Team", "User", "UserRole", "UserSession"]
