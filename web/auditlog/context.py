"""Per request, tell engine.audit who acts and through which access point (NEN 7513), so every event the
engine writes during the request carries the channel (web or api), client address, user agent and the
signed-in user's name, roles and team."""
from __future__ import annotations

from flask import Blueprint, g, request
from flask_login import current_user

from engine import audit


def _identity() -> audit.Identity | None:
    if not current_user or not current_user.is_authenticated:
        return None
    return audit.Identity(current_user.username, current_user.display_name, tuple(sorted(current_user.roles)),
                          current_user.team)


def _begin():
    channel = "api" if request.path.startswith("/api/") else "web"
    g.meldcode_audit_token = audit.set_context(channel=channel, client_address=request.remote_addr,
                                               user_agent=request.user_agent.string or None, identity=_identity)


def _end(_exc=None):
    token = g.pop("meldcode_audit_token", None)
    if token is not None:
        try:
            audit.reset_context(token)
        except ValueError:  # set in another context (e.g. a streamed response finished elsewhere)
            pass


def register(bp: Blueprint) -> None:
    bp.before_app_request(_begin)
    bp.teardown_app_request(_end)
