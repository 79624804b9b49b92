"""Write audit events (NEN 7513): who (user, name, role), on whose behalf, when, which client, what action on
what, through which access point (client address, user agent, channel web/api/cli/worker), on which
authorisation basis (role and team, or break-the-glass with its reason) and with which outcome.

The access point and the identity's name and roles come from the *audit context*, which the caller's
surroundings set once (the web app per request, a worker per job, the CLI per command) so that the engine's
use cases need not pass them around:

    with audit.context(channel="worker"):
        engine.fire_due_timers()

Every event is appended to the hash chain of engine.audit_chain in the same transaction as the change it
records.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from contextvars import ContextVar, Token
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.orm import Session

from . import audit_chain, clock
from .models import AuditEvent

CHANNELS = ("web", "api", "cli", "worker")
BASIS_ROLE, BASIS_GLASS, BASIS_SYSTEM = "role", "break-the-glass", "system"


@dataclass(frozen=True)
class Identity:
    """What the log keeps of the person acting: name, roles and team at the moment of the event."""

    username: str
    name: str | None = None
    roles: tuple[str, ...] = ()
    team: str | None = None


@dataclass(frozen=True)
class AuditContext:
    channel: str = "cli"
    client_address: str | None = None
    user_agent: str | None = None
    on_behalf_of: str | None = None
    basis: str | None = None  # None: derived (role and team, or system)
    basis_detail: str | None = None
    # Returns the identity acting now (e.g. the signed-in web user), or None; read when an event is written.
    identity: Callable[[], Identity | None] | None = None


# AuditContext is a frozen dataclass: sharing one default instance is safe.
_context: ContextVar[AuditContext] = ContextVar("meldcode_audit_context", default=AuditContext())  # noqa: B039


def current_context() -> AuditContext:
    return _context.get()


@contextlib.contextmanager
def context(**fields: Any) -> Iterator[AuditContext]:
    """Set audit context fields for the block (nested blocks add to the outer one)."""
    token = _context.set(replace(_context.get(), **fields))
    try:
        yield _context.get()
    finally:
        _context.reset(token)


def set_context(**fields: Any) -> Token[AuditContext]:
    """Set the context until `reset_context(token)` (for request hooks that cannot use `with`)."""
    return _context.set(replace(_context.get(), **fields))


def reset_context(token: Token[AuditContext]) -> None:
    _context.reset(token)


def record(session: Session, actor: str, action: str, *, case_id: int | None = None, task_id: int | None = None,
           client_ref: str | None = None,
           outcome: str = "success", basis: str | None = None, basis_detail: str | None = None,
           on_behalf_of: str | None = None, **details: Any) -> AuditEvent:
    ctx = _context.get()
    identity = ctx.identity() if ctx.identity else None
    if identity is not None and identity.username != actor:
        identity = None  # e.g. a timer fired by the system while a user's request runs
    basis = basis or ctx.basis
    basis_detail = basis_detail or ctx.basis_detail
    if basis is not None and basis not in (BASIS_ROLE, BASIS_GLASS, BASIS_SYSTEM):
        # A decision's own words (engine.access: "role professional in team noord", "break-the-glass #3: ...")
        basis_detail = basis_detail or basis
        basis = BASIS_GLASS if basis.startswith(BASIS_GLASS) else BASIS_ROLE
    if basis is None:
        if identity is None and actor == "system":
            basis = BASIS_SYSTEM
        else:
            basis = BASIS_ROLE
            if identity is not None and basis_detail is None:
                basis_detail = f"rollen: {', '.join(identity.roles) or '-'}; team: {identity.team or '-'}"
    # What is hashed must be exactly what the database gives back: plain JSON, integers as integers.
    details = json.loads(json.dumps(details))
    event = AuditEvent(at=clock.now(), actor=actor, action=action, outcome=outcome,
                       case_id=None if case_id is None else int(case_id),
                       task_id=None if task_id is None else int(task_id), client_ref=client_ref, details=details,
                       actor_name=identity.name[:200] if identity and identity.name else None,
                       actor_roles=",".join(identity.roles) if identity else None,
                       on_behalf_of=on_behalf_of or ctx.on_behalf_of, channel=ctx.channel,
                       client_address=ctx.client_address and ctx.client_address[:64], user_agent=(ctx.user_agent or None) and ctx.user_agent[:300],
                       basis=basis, basis_detail=basis_detail and basis_detail[:500])
    _append(session, event)
    return event


def _append(session: Session, event: AuditEvent) -> None:
    # Write the transaction's other changes first: the chain lock is held until commit, and taking no row
    # lock after it means two writers can never wait for each other in a circle. No second flush: the event is
    # written as it is (audit_chain.append) and never changes (append-only).
    session.flush()
    audit_chain.append(session, event)
