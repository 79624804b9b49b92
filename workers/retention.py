"""The retention job: report what expired (dry run), and with MELDCODE_RETENTION_APPLY=1 (or `--apply`)
destroy or anonymise it and log that (engine/retention.py has the rules and how the audit chain survives).

Celery beat runs it daily (`meldcode.retention`); operators run `meldcode worker retention [--apply]`."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from engine import audit
from engine.retention import RetentionPolicy, RetentionReport, apply, plan

log = logging.getLogger(__name__)


def apply_enabled(env=None) -> bool:
    env = os.environ if env is None else env
    return (env.get("MELDCODE_RETENTION_APPLY") or "").strip().lower() in ("1", "true", "yes", "ja", "on")


def run_retention(sessions, policy: RetentionPolicy | None = None, *, do_apply: bool = False,
                  attachments_dir: Path | None = None) -> RetentionReport:
    """Always the dry-run report first (logged); then, when asked, the destruction, with the stored bytes of the
    destroyed cases' attachments under `attachments_dir` (the engine settings' MELDCODE_ATTACHMENTS_DIR)."""
    policy = policy or RetentionPolicy.from_env()
    with audit.context(channel="worker"), sessions() as session:
        report = plan(session, policy)
    log.info("retention dry run: %d case(s) expired (%s), %d held, %d audit event(s) older than %s",
             len(report.expired_cases), policy.case_rule(), len(report.held_cases), report.audit_events,
             report.audit_cutoff.date())
    if not do_apply:
        return report
    with audit.context(channel="worker"):
        report = apply(sessions, policy, attachments_dir=attachments_dir)
    log.info("retention applied: %d case(s) %s, %d audit event(s) pruned%s", len(report.destroyed_cases),
             policy.case_action, report.pruned_events, f"; errors: {report.errors}" if report.errors else "")
    return report
