"""Reading the audit trail (for the logbeheerder): search, one page at a time, and each event by field name."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, String, TextClause, cast, or_, select, text
from sqlalchemy.orm import Session

from .audit_chain import format_at
from .models import AuditEvent
from .paging import capped_count, page_total

FIELDS = ("id", "seq", "at", "actor", "actor_name", "actor_roles", "on_behalf_of", "action", "outcome", "case_id",
          "task_id", "client_ref", "channel", "client_address", "user_agent", "basis", "basis_detail", "details",
          "hash")
# Actions that showed a client's data to someone (views, lists, exports, prints)
COUNT_CAP = 10_000  # search_page counts this many matches at most
READ_ACTIONS = ("case.view", "task.view", "case.diagram", "case.list", "inbox.view", "task.list", "case.export",
                "case.print", "auditlog.report")


@dataclass(frozen=True)
class AuditQuery:
    client_ref: str | None = None
    user: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "case.")
    outcome: str | None = None


_Query = TypeVar("_Query", bound=Select[Any])


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _listed(client_ref: str, dialect: str) -> ColumnElement[bool] | TextClause:
    """A list event (no client_ref of its own) that named `client_ref` in details.client_refs (a JSON list)."""
    if dialect == "postgresql":
        # JSON containment, the expression of the GIN index ix_audit_event_listed_clients (revision 0010)
        return text("(CAST(audit_event.details AS jsonb) -> 'client_refs') @> CAST(:listed_ref AS jsonb)").bindparams(
            listed_ref=json.dumps([client_ref]))
    # Elsewhere the text of the JSON column (json.dumps, so non-ASCII is escaped the same way)
    return cast(AuditEvent.details, String).like(f"%{_like_escape(json.dumps(client_ref))}%", escape="\\")


def _where(query: _Query, q: AuditQuery, dialect: str = "postgresql") -> _Query:
    if q.client_ref:
        query = query.where(or_(AuditEvent.client_ref == q.client_ref,
                                (AuditEvent.client_ref.is_(None)) & _listed(q.client_ref, dialect)))
    if q.user:
        query = query.where(AuditEvent.actor == q.user.strip().lower())
    if q.since:
        query = query.where(AuditEvent.at >= q.since)
    if q.until:
        query = query.where(AuditEvent.at < q.until)
    if q.action:
        if q.action.endswith("."):
            query = query.where(AuditEvent.action.like(_like_escape(q.action) + "%", escape="\\"))
        else:
            query = query.where(AuditEvent.action == q.action)
    if q.outcome:
        query = query.where(AuditEvent.outcome == q.outcome)
    return query


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    total: int  # exact when not `total_capped`
    total_capped: bool  # True: more than COUNT_CAP match (counting stopped there)


def search_page(session: Session, q: AuditQuery, *, page: int = 1, per_page: int = 50) -> AuditPage:
    """One page of matching events, newest first, and how many match, counted up to COUNT_CAP ("meer dan
    10.000"): at millions of events an exact count of a broad search (everything, an action prefix) costs seconds,
    the page itself a millisecond."""
    dialect = _dialect(session)
    page = max(page, 1)
    events = _page(session, q, page, per_page, dialect)
    counted = page_total(len(events), page, per_page,
                         lambda: capped_count(session, _where(select(AuditEvent.id), q, dialect), COUNT_CAP))
    return AuditPage(events, min(counted, COUNT_CAP), counted > COUNT_CAP)


def _page(session: Session, q: AuditQuery, page: int, per_page: int, dialect: str) -> list[AuditEvent]:
    return list(session.scalars(_where(select(AuditEvent), q, dialect).order_by(AuditEvent.id.desc())
                                .offset((max(page, 1) - 1) * per_page).limit(per_page)).all())


def iterate(session: Session, q: AuditQuery, batch: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event, oldest first, in batches (for exports)."""
    after = 0
    while True:
        events = batch_after(session, q, after, batch)
        if not events:
            return
        yield from events
        after = events[-1].id


def batch_after(session: Session, q: AuditQuery, after: int, batch: int = 1000) -> list[AuditEvent]:
    """The next `batch` matching events after id `after`, oldest first.

    A streamed export reads each batch in a session of its own, so no transaction stays open while a client
    reads (or never reads) the response."""
    return list(session.scalars(_where(select(AuditEvent), q, _dialect(session)).where(AuditEvent.id > after)
                                .order_by(AuditEvent.id).limit(batch)).all())


def seen_by(session: Session, client_ref: str) -> list[AuditEvent]:
    """Who saw the file of `client_ref` (AVG art. 15): every successful read of it, oldest first."""
    q = AuditQuery(client_ref=client_ref, outcome="success")
    return [e for e in iterate(session, q) if e.action in READ_ACTIONS]


def as_dict(event: AuditEvent) -> dict[str, Any]:
    data = {name: getattr(event, name) for name in FIELDS}
    data["at"] = format_at(event.at)
    data["details"] = dict(event.details or {})
    return data
