"""The signed-in user as the request sees it: a plain value, detached from any database session."""
from __future__ import annotations

from dataclasses import dataclass

from flask_login import AnonymousUserMixin, UserMixin

from engine.cases import Actor
from engine.contract import LANES


@dataclass(frozen=True, eq=False)
class CurrentUser(UserMixin):
    id: int
    username: str
    display_name: str
    team: str
    team_title: str
    roles: frozenset[str]
    session_version: int = 1
    via_token: bool = False
    session_id: int | None = None  # the server-side session record (None for API tokens)
    mfa_enabled: bool = False  # a confirmed second factor
    mfa_exempt: bool = False  # demo users of the local run
    mfa_verified: bool = False  # this session passed the second factor

    def get_id(self) -> str:
        # The session version is part of the identity, so raising it ends every open session.
        return f"{self.id}:{self.session_version}"

    @property
    def lanes(self) -> frozenset[str]:
        return self.roles & frozenset(LANES)

    def has_any(self, roles) -> bool:
        return bool(self.roles & frozenset(roles))

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.roles, self.team)


class Anonymous(AnonymousUserMixin):
    username = "anoniem"
    session_id = None
    mfa_enabled = mfa_exempt = mfa_verified = False
    roles: frozenset[str] = frozenset()
    lanes: frozenset[str] = frozenset()
    team = None
    via_token = False

    def has_any(self, roles) -> bool:
        return False

    @property
    def actor(self) -> Actor:
        return Actor(self.username)
