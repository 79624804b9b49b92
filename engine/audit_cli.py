"""`meldcode audit ...`: check the audit trail's hash chain.

    meldcode audit verify     exit 0 when the chain holds; else exit 1 naming the first broken event
    meldcode audit head       print the chain head (seq and hash) as JSON, to keep outside the database
"""
from __future__ import annotations

import json
import sys

import click
from sqlalchemy.orm import Session, sessionmaker

from .settings import Settings


def _sessions() -> sessionmaker[Session]:
    from .db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(Settings.from_env().database_url))


@click.group("audit")
def audit() -> None:
    """The audit trail (NEN 7513): verify its hash chain."""


@audit.command("verify")
@click.option("--expect-head", default=None, metavar="SEQ:HASH",
              help="A head printed earlier by `meldcode audit head`: that event must still be in the chain.")
def verify(expect_head: str | None) -> None:
    """Verify the hash chain of audit_event; exit 1 and name the first event changed, removed or reordered."""
    from . import audit_chain

    anchor = None
    if expect_head:
        seq, _, digest = expect_head.partition(":")
        if not seq.isdigit() or len(digest) != 64:
            raise click.BadParameter("expected SEQ:HASH as printed by `meldcode audit head`", param_hint="--expect-head")
        anchor = int(seq), digest
    with _sessions()() as session:
        result = audit_chain.verify(session)
        anchored = _check_anchor(session, *anchor) if result.ok and anchor else None
    if not result.ok:
        click.echo(f"audit chain BROKEN after {result.checked} good event(s): {result.first_break.describe()}",  # type: ignore[union-attr]
                   err=True)
        sys.exit(1)
    if anchored:
        click.echo(f"audit chain BROKEN: {anchored}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {result.checked} event(s), head seq {result.head_seq} {result.head_hash}")


def _check_anchor(session: Session, seq: int, digest: str) -> str | None:
    """Why the chain no longer holds the event kept outside the database, or None."""
    from sqlalchemy import select

    from .models import AuditChainHead, AuditEvent

    head = session.get(AuditChainHead, 1)
    assert head is not None  # the migration creates the single head row
    gone = f"the event at seq {seq} that was kept outside the database is no longer in the chain"
    if seq > head.seq:
        return gone + f" (the chain now ends at seq {head.seq})"
    if seq <= head.pruned_through_seq:  # removed by retention: only the last removed hash is still known
        return gone if seq == head.pruned_through_seq and digest != head.pruned_through_hash else None
    if session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == seq)) != digest:
        return gone
    return None


@audit.command("head")
def head() -> None:
    """Print the chain head as JSON (store it outside the database to detect a rewritten chain later)."""
    from .models import AuditChainHead

    with _sessions()() as session:
        row = session.get(AuditChainHead, 1)
        assert row is not None  # the migration creates the single head row
        click.echo(json.dumps({"seq": row.seq, "hash": row.hash, "expect_head": f"{row.seq}:{row.hash}"}))
