"""Daily check of the audit trail's hash chain, run by Celery beat (`meldcode.audit_check`).

It logs the chain head (seq and hash) every day: that log line, kept by the log collector outside the database,
is the anchor `meldcode audit verify --expect-head SEQ:HASH` checks a rewritten chain against. A broken chain is
logged as an ERROR naming the first changed, removed or reordered event."""
from __future__ import annotations

import logging

from engine import audit_chain

log = logging.getLogger(__name__)


def check_chain(sessions) -> audit_chain.Verification:
    with sessions() as session:
        result = audit_chain.verify(session)
    if result.ok:
        log.info("audit chain intact: %d event(s); head %d:%s", result.checked, result.head_seq, result.head_hash)
    else:
        log.error("audit chain BROKEN after %d good event(s): %s (head %d:%s)", result.checked,
                  result.first_break.describe(), result.head_seq, result.head_hash)
    return result
