"""The hash chain that makes audit_event tamper-evident, and its verification.

Canonical form of an event (version 1). The *content* of an event is this JSON object, serialised with
sorted keys, no whitespace (separators "," and ":"), non-ASCII kept as UTF-8, and encoded as UTF-8:

    {"action", "actor", "actor_name", "actor_roles", "at", "basis", "basis_detail", "case_id", "channel",
     "client_address", "client_ref", "details", "on_behalf_of", "outcome", "task_id", "user_agent"}

`at` is written as ISO 8601 in UTC with microseconds and a trailing "Z" (2026-11-30T23:54:52.123456Z); absent
values are null. The event's `content_hash` is the SHA-256 (hex) of that content, and its `hash` is

    SHA-256("meldcode-audit-v1\\n" + seq + "\\n" + prev_hash + "\\n" + content_hash)

where `seq` is the event's position in the chain (1, 2, 3, ... without gaps) and `prev_hash` the hash of the
event at seq - 1 (64 zeros for the first). The chain covers the content only through its hash, so retention
can destroy an expired prefix of the chain and keep the hash of its last event in `audit_chain_head`
(`pruned_through_seq`, `pruned_through_hash`) as the new starting point: the remaining events verify unchanged.

`audit_chain_head` (one row) holds the seq and hash of the newest event (and, since revision 0011, the hash before
it). Appending locks that row (see engine.audit), so concurrent writers on PostgreSQL form one linear chain; and it
lets verification see events removed at the end of the chain or a truncated table, which a chain alone cannot show.

Why a lock at append time rather than sealing later: a sealer that chains events after they commit must
update rows of an append-only table (the app role could then rewrite them), and ids from a sequence commit
out of order, so it can never be sure an older id will not still appear; the log is also unsealed, so
unprotected, until it runs. Holding the head row until commit serialises only the appends: every writer
flushes its other changes first and takes no lock after the head, so no two writers can wait for each other.
Appending (`append`) is one statement on PostgreSQL and two on SQLite: the content hash does not depend on the
event's place, so the database locks the head and computes the new link hash from the row it locked (SHA-256:
PostgreSQL's sha256(), on SQLite a function engine/db.py registers on every connection); Python checks the result
against `link_hash`. Cost: bench/audit_append.py.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, bindparam, cast, insert, literal, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from .models import AuditChainHead, AuditEvent

GENESIS = "0" * 64
PREFIX = "meldcode-audit-v1"
CONTENT_FIELDS = ("action", "actor", "actor_name", "actor_roles", "at", "basis", "basis_detail", "case_id",
                  "channel", "client_address", "client_ref", "details", "on_behalf_of", "outcome", "task_id",
                  "user_agent")


def format_at(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_content(event: AuditEvent) -> bytes:
    content = {name: getattr(event, name) for name in CONTENT_FIELDS}
    content["at"] = format_at(event.at)
    content["details"] = event.details or {}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(event: AuditEvent) -> str:
    return hashlib.sha256(canonical_content(event)).hexdigest()


def link_hash(seq: int, prev_hash: str, content_digest: str) -> str:
    return hashlib.sha256(f"{PREFIX}\n{seq}\n{prev_hash}\n{content_digest}".encode("ascii")).hexdigest()


def seal(event: AuditEvent, seq: int, prev_hash: str) -> None:
    """Give `event` its place in the chain after an event with hash `prev_hash`."""
    event.seq, event.prev_hash = seq, prev_hash
    event.content_hash = content_hash(event)
    event.hash = link_hash(seq, prev_hash, event.content_hash)


class sha256_hex(FunctionElement[str]):  # noqa: N801  # a SQL function, named as in SQL
    """SHA-256 of a text (UTF-8), as 64 hex digits, computed by the database."""

    type = String()
    inherit_cache = True


@compiles(sha256_hex)
def _sha256_hex_sqlite(element: sha256_hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"sha256_hex({compiler.process(element.clauses, **kw)})"  # engine/db.py registers it


@compiles(sha256_hex, "postgresql")
def _sha256_hex_postgresql(element: sha256_hex, compiler: SQLCompiler, **kw: Any) -> str:
    return f"encode(sha256(convert_to({compiler.process(element.clauses, **kw)}, 'UTF8')), 'hex')"


_head = AuditChainHead.__table__.c
# Built once: what differs per event is its content hash, a parameter ("\n" + digest).
_ADVANCE = (update(AuditChainHead).where(_head.id == 1)
            .values(seq=_head.seq + 1, prev_hash=_head.hash,
                    hash=sha256_hex(literal(f"{PREFIX}\n").concat(cast(_head.seq + 1, String)).concat("\n")
                                    .concat(_head.hash).concat(bindparam("tail", type_=String))))
            .returning(_head.seq, _head.prev_hash, _head.hash))


_event = AuditEvent.__table__.c
_LINK = ("seq", "prev_hash", "hash")
_FIELDS = [c.key for c in AuditEvent.__table__.c if c.key not in ("id", *_LINK)]  # content_hash among them
_INSERT = insert(AuditEvent).returning(_event.id)
_moved = _ADVANCE.cte("moved_head")
# PostgreSQL: the head's UPDATE as a CTE and the event's INSERT from what it returned, one statement.
_ADVANCE_AND_INSERT = (insert(AuditEvent)
                       .from_select([*_FIELDS, *_LINK],
                                    select(*[bindparam(k, type_=_event[k].type) for k in _FIELDS],
                                           _moved.c.seq, _moved.c.prev_hash, _moved.c.hash))
                       .returning(_event.id, _event.seq, _event.prev_hash, _event.hash))


def append(session: Session, event: AuditEvent) -> None:
    """Give `event` its place in the chain and write it: take the chain's lock (the head row, until the
    transaction ends), move the head past the event and insert it.

    The content hash comes first: it does not depend on the event's place. Then one UPDATE … RETURNING of the
    head: on PostgreSQL it waits for the writer that holds the row and then works on that writer's head; on
    SQLite it takes the database's single write lock. The database computes the link hash from the row it
    locked (the SET expressions see the row before the update) and keeps the hash it replaced as prev_hash,
    since RETURNING shows only new values; Python checks the result. On PostgreSQL the event's INSERT is the
    same statement (the UPDATE as a CTE); on SQLite, which has no UPDATE in a CTE, the next one."""
    event.content_hash = content_hash(event)
    values = {k: getattr(event, k) for k in _FIELDS}
    values["tail"] = f"\n{event.content_hash}"
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        event.id, seq, prev_hash, digest = connection.execute(_ADVANCE_AND_INSERT, values).one()
    else:
        seq, prev_hash, digest = connection.execute(_ADVANCE, values).one()
    if prev_hash is None or link_hash(seq, prev_hash, event.content_hash) != digest:
        raise RuntimeError("the database's link hash differs from link_hash(): the chain would not verify")
    event.seq, event.prev_hash, event.hash = seq, prev_hash, digest
    if event.id is None:
        event.id = connection.execute(_INSERT, {k: getattr(event, k) for k in (*_FIELDS, *_LINK)}).scalar_one()


@dataclass(frozen=True)
class Break:
    """The first place where the chain does not hold."""

    kind: str  # changed | removed | reordered | truncated
    message: str
    event_id: int | None = None
    seq: int | None = None

    def describe(self) -> str:
        where = f"event #{self.event_id} (seq {self.seq})" if self.event_id is not None else \
            (f"seq {self.seq}" if self.seq is not None else "the audit log")
        return f"{self.kind}: {where}: {self.message}"


@dataclass(frozen=True)
class Verification:
    checked: int
    head_seq: int
    head_hash: str
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(session: Session, batch: int = 5000) -> Verification:
    """Walk the chain in seq order and report the first event that was changed, removed or reordered."""
    head = session.get(AuditChainHead, 1)
    if head is None:
        return Verification(0, 0, GENESIS, Break("removed", "the chain head (audit_chain_head) is missing"))
    expected_seq, expected_prev = head.pruned_through_seq + 1, head.pruned_through_hash
    checked, last_id, after = 0, None, head.pruned_through_seq

    def result(brk: Break | None) -> Verification:
        return Verification(checked, head.seq, head.hash, brk)

    while True:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.seq > after)
                                      .order_by(AuditEvent.seq).limit(batch)))
        if not events:
            break
        for event in events:
            if event.seq != expected_seq:
                return result(Break("removed", f"events with seq {expected_seq}..{event.seq - 1} are missing before "  # type: ignore[operator]
                                               f"this event", event.id, event.seq))
            if event.prev_hash != expected_prev:
                return result(Break("reordered", "its previous hash is not the hash of the event before it: that "
                                                 "event was changed, removed or moved", event.id, event.seq))
            if content_hash(event) != event.content_hash:
                return result(Break("changed", f"its content ({event.action} by {event.actor}) does not match "
                                               f"its hash", event.id, event.seq))
            if link_hash(event.seq, event.prev_hash, event.content_hash) != event.hash:
                return result(Break("changed", "its hash does not match its place in the chain", event.id, event.seq))
            if last_id is not None and event.id <= last_id:
                return result(Break("reordered", f"its id is not after the id of the event before it (#{last_id})",
                                    event.id, event.seq))
            last_id, expected_prev, expected_seq = event.id, event.hash, expected_seq + 1
            checked += 1
        after = events[-1].seq  # type: ignore[assignment]  # the query selects sealed events (seq set)
    unsealed = session.scalar(select(AuditEvent.id).where(AuditEvent.seq.is_(None)).limit(1))
    if unsealed is not None:
        return result(Break("changed", "it has no place in the chain (inserted around it)", unsealed, None))
    if expected_seq - 1 != head.seq or expected_prev != head.hash:
        if checked == 0:
            return result(Break("truncated", f"no events remain, but the chain head records {head.seq} "
                                             f"(seq {head.pruned_through_seq + 1}..{head.seq} removed)",
                                seq=head.pruned_through_seq + 1))
        return result(Break("removed", f"the chain ends at seq {expected_seq - 1}, but the head records seq "
                                       f"{head.seq}: the newest events were removed", seq=expected_seq))
    return result(None)
