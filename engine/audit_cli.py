"""`meldcode audit ...`: check the audit trail's hash chain.

    meldcode audit verify     exit 0 when the chain holds; else exit 1 naming the first broken event
    meldcode audit head       print the chain head (seq and hash) as JSON, to keep outside the database
"""
from __future__ import annotations

import json
import sys

import click

from .settings import Settings


def _sessions():
    from .db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(Settings.from_env().database_url))


@click.group("audit")
def audit():
    """The audit trail (NEN 7513): verify its hash chain."""


@audit.command("verify")
@click.option("--expect-head", default=None, metavar="SEQ:HASH",
              help="A head printed earlier by `meldcode audit head`: that event must still be in the chain.")
def verify(expect_head):
    """Verify the hash chain of audit_event; exit 1 and name the first event changed, removed or reordered."""
    from . import audit_chain
    from .models import AuditEvent

    with _sessions()() as session:
        result = audit_chain.verify(session)
        anchored = None
        if result.ok and expect_head:
            seq, _, digest = expect_head.partition(":")
            event = session.query(AuditEvent).filter(AuditEvent.seq == int(seq)).one_or_none()
            if int(seq) > result.head_seq or (event is None and int(seq) > 0) or (event and event.hash != digest):
                anchored = f"the event at seq {seq} that was kept outside the database is no longer in the chain"
    if not result.ok:
        click.echo(f"audit chain BROKEN after {result.checked} good event(s): {result.first_break.describe()}",
                   err=True)
        sys.exit(1)
    if anchored:
        click.echo(f"audit chain BROKEN: {anchored}", err=True)
        sys.exit(1)
    click.echo(f"audit chain intact: {result.checked} event(s), head seq {result.head_seq} {result.head_hash}")


@audit.command("head")
def head():
    """Print the chain head as JSON (store it outside the database to detect a rewritten chain later)."""
    from .models import AuditChainHead

    with _sessions()() as session:
        row = session.get(AuditChainHead, 1)
        click.echo(json.dumps({"seq": row.seq, "hash": row.hash, "expect_head": f"{row.seq}:{row.hash}"}))
