"""Retention: what expired is destroyed (or anonymised) and logged, after a dry-run report.

Rules (settings, per record type):
- case data: `case_years` (default 20, the Jeugdwet) after the case ended (completed or terminated); a case
  under legal hold (`cases.legal_hold`) is kept whatever its age. `case_action` is `destroy` (the case and
  every row that belongs to it) or `anonymise` (the case row stays as metadata; client reference, variables,
  workflow state and form answers are wiped).
- audit events: `audit_years` (at least 5, NEN 7513) after they were written.

How the hash chain survives: audit events are only ever removed as a *prefix* of the chain (the oldest
events, up to the newest one older than the cutoff). Before they are deleted the chain head records the seq and
hash of the last removed event (`pruned_through_seq/hash`); `verify` then starts from there, so every remaining
event still checks against its unchanged predecessor hash. The append-only triggers allow exactly that DELETE
and nothing else; on PostgreSQL it runs inside `audit_event_prune`, a SECURITY DEFINER function (the app role
has no DELETE on audit_event), which refuses a cutoff younger than 5 years. What retention destroyed is
itself audited (one event per case, one per audit prune), in the chain.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Column, Row, Table, delete, func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from . import attachments, audit, clock
from .models import (
    AuditChainHead,
    AuditEvent,
    Base,
    Case,
    CaseAttachment,
    CaseHandover,
    CaseMigration,
    CaseNote,
    CaseTask,
    TaskCorrection,
    TaskDraft,
)
from .states import ENDED_CASE_STATUSES
from .views import SYSTEM

ANONYMISED = "[geanonimiseerd]"  # what stays of a note or a correction's reason after anonymisation

MIN_AUDIT_YEARS = 5
ENDED = ENDED_CASE_STATUSES


@dataclass(frozen=True)
class RetentionPolicy:
    case_years: int = 20
    audit_years: int = MIN_AUDIT_YEARS
    case_action: str = "destroy"  # destroy | anonymise

    def __post_init__(self) -> None:
        if self.audit_years < MIN_AUDIT_YEARS:
            raise ValueError(f"audit events are kept at least {MIN_AUDIT_YEARS} years (NEN 7513)")
        if self.case_years < 1:
            raise ValueError("case data is kept at least a year after the case ended")
        if self.case_action not in ("destroy", "anonymise"):
            raise ValueError("case_action is destroy or anonymise")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionPolicy:
        env = os.environ if env is None else env
        d = cls()
        return cls(case_years=int(env.get("MELDCODE_RETENTION_CASE_YEARS", d.case_years)),
                   audit_years=int(env.get("MELDCODE_RETENTION_AUDIT_YEARS", d.audit_years)),
                   case_action=env.get("MELDCODE_RETENTION_CASE_ACTION", d.case_action))

    def case_rule(self) -> str:
        return f"case data: {self.case_years} years after the case ended ({self.case_action})"

    def audit_rule(self) -> str:
        return f"audit events: {self.audit_years} years"


def _years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February
        return moment.replace(year=moment.year - years, day=28)


@dataclass
class RetentionReport:
    now: datetime
    case_cutoff: datetime
    audit_cutoff: datetime
    expired_cases: list[dict[str, Any]] = field(default_factory=list)
    held_cases: list[dict[str, Any]] = field(default_factory=list)  # expired, but under legal hold: kept
    audit_events: int = 0  # audit events that would go (a prefix of the chain)
    applied: bool = False
    destroyed_cases: list[int] = field(default_factory=list)
    pruned_events: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def iso(v: Any) -> Any:
            return v.isoformat() if isinstance(v, datetime) else v
        return {"now": iso(self.now), "case_cutoff": iso(self.case_cutoff), "audit_cutoff": iso(self.audit_cutoff),
                "expired_cases": [{k: iso(v) for k, v in c.items()} for c in self.expired_cases],
                "held_cases": [{k: iso(v) for k, v in c.items()} for c in self.held_cases],
                "audit_events": self.audit_events, "applied": self.applied, "destroyed_cases": self.destroyed_cases,
                "pruned_events": self.pruned_events, "errors": self.errors}


def plan(session: Session, policy: RetentionPolicy, now: datetime | None = None) -> RetentionReport:
    """The dry run: what would be destroyed now, and what is kept only because of a legal hold."""
    now = now or clock.now()
    report = RetentionReport(now, _years_before(now, policy.case_years), _years_before(now, policy.audit_years))
    for case_id, ended_at, status, hold in session.execute(
            select(Case.id, Case.ended_at, Case.status, Case.legal_hold)
            .where(Case.status.in_(ENDED), Case.ended_at < report.case_cutoff).order_by(Case.id)):
        entry = {"case_id": case_id, "ended_at": ended_at, "status": status}
        (report.held_cases if hold else report.expired_cases).append(entry | ({"legal_hold": hold} if hold else {}))
    if policy.case_action == "anonymise":
        anonymised = set(session.scalars(select(Case.id).where(Case.client_ref.like("geanonimiseerd-%"))))
        report.expired_cases = [c for c in report.expired_cases if c["case_id"] not in anonymised]
    last = _last_prunable(session, report.audit_cutoff)
    head = session.get(AuditChainHead, 1)
    assert head is not None  # the migration creates the single head row
    report.audit_events = (last[0] - head.pruned_through_seq) if last else 0
    return report


def apply(sessions: sessionmaker[Session], policy: RetentionPolicy, now: datetime | None = None, *,
          attachments_dir: Path | None = None) -> RetentionReport:
    """Destroy (or anonymise) what `plan` lists, one case per transaction, then prune the audit chain's
    expired prefix; each step is audited. The stored bytes of the cases' attachments (under `attachments_dir`)
    are removed once their rows are gone: a file without a row is unreachable, a row without a file would not be."""
    with sessions() as session:
        report = plan(session, policy, now)
    report.applied = True
    for entry in report.expired_cases:
        with sessions.begin() as session:
            case = session.get(Case, entry["case_id"])
            if case is None or case.legal_hold or case.status not in ENDED:
                continue  # changed since the plan
            stored = list(session.scalars(select(CaseAttachment.storage_key)
                                          .where(CaseAttachment.case_id == case.id)))
            if policy.case_action == "destroy":
                _destroy_case(session, case.id)
            else:
                _anonymise_case(session, case)
            audit.record(session, SYSTEM.username, f"retention.{policy.case_action}_case", case_id=entry["case_id"],
                         rule=policy.case_rule(), ended_at=entry["ended_at"].isoformat())
            report.destroyed_cases.append(entry["case_id"])
        if attachments_dir is not None:
            for key in stored:
                attachments.remove_stored(attachments_dir, key)
    if report.audit_events:
        try:
            with sessions.begin() as session:
                pruned, through = prune_audit(session, report.audit_cutoff)
                if pruned:
                    audit.record(session, SYSTEM.username, "retention.prune_audit", rule=policy.audit_rule(),
                                 cutoff=report.audit_cutoff.isoformat(), events=pruned, through_seq=through)
                report.pruned_events = pruned
        except Exception as exc:  # noqa: BLE001 - reported; the cases above are done and stay done
            report.errors.append(f"audit prune failed: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
    return report


def _last_prunable(session: Session, cutoff: datetime) -> Row[int, str] | None:
    """(seq, hash) of the newest event of the prefix older than `cutoff`, or None."""
    keep_from = session.scalar(select(func.min(AuditEvent.seq)).where(AuditEvent.at >= cutoff))
    query = select(AuditEvent.seq, AuditEvent.hash).where(AuditEvent.at < cutoff, AuditEvent.seq.is_not(None))
    if keep_from is not None:
        query = query.where(AuditEvent.seq < keep_from)
    return cast("Row[int, str] | None", session.execute(query.order_by(AuditEvent.seq.desc()).limit(1)).first())


def prune_audit(session: Session, cutoff: datetime) -> tuple[int, int]:
    """Remove the chain's prefix older than `cutoff` (>= 5 years); returns (events removed, last removed seq)."""
    if cutoff > _years_before(clock.now(), MIN_AUDIT_YEARS):
        raise ValueError(f"audit events are kept at least {MIN_AUDIT_YEARS} years")
    if session.get_bind().dialect.name == "postgresql":
        naive = cutoff.astimezone(UTC).replace(tzinfo=None)  # the columns hold naive UTC
        removed = session.scalar(text("SELECT audit_event_prune(:cutoff)"), {"cutoff": naive})
        return cast(int, removed), cast(int, session.scalar(select(AuditChainHead.pruned_through_seq)))
    # The write lock first (SQLite): no event is appended meanwhile
    session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(pruned_at=AuditChainHead.pruned_at))
    last = _last_prunable(session, cutoff)
    if last is None:
        return 0, cast(int, session.scalar(select(AuditChainHead.pruned_through_seq)))
    session.execute(update(AuditChainHead).where(AuditChainHead.id == 1).values(
        pruned_through_seq=last.seq, pruned_through_hash=last.hash, pruned_at=clock.now()))
    removed = session.execute(delete(AuditEvent).where(AuditEvent.seq <= last.seq)).rowcount  # type: ignore[attr-defined]
    return removed, cast(int, last.seq)


def _dependents() -> list[tuple[Table, Column[Any], str | None]]:
    """Tables whose rows belong to a case: (table, column, via) with via None (case id) or "case_task"."""
    from . import notifications  # noqa: F401 - its table is part of the metadata

    found: list[tuple[Table, Column[Any], str | None]] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target == "cases" and table.name != "cases":
                found.append((table, fk.parent, None))
            elif target == "case_task" and table.name != "case_task":
                found.append((table, fk.parent, "case_task"))
    return found


def _destroy_case(session: Session, case_id: int) -> None:
    dependents = _dependents()
    for table, column, via in dependents:  # rows that point at the case's tasks first
        if via == "case_task":
            session.execute(delete(table).where(column.in_(select(CaseTask.id).where(CaseTask.case_id == case_id))))
    for table, column, via in dependents:
        if via is None and table.name != "case_task":
            session.execute(delete(table).where(column == case_id))
    session.execute(delete(CaseTask.__table__).where(CaseTask.case_id == case_id))  # type: ignore[arg-type]
    session.execute(delete(Case.__table__).where(Case.id == case_id))  # type: ignore[arg-type]


def _anonymise_case(session: Session, case: Case) -> None:
    case.client_ref = f"geanonimiseerd-{case.id}"
    case.variables, case.state = {}, b""
    session.execute(update(CaseTask).where(CaseTask.case_id == case.id).values(data=None))
    # What the professionals' daily work adds to a case is case data too: drafts, notes, corrections, handover
    # notes and attachments go; who did what when (the rows' metadata) stays like the task rows.
    task_ids = select(CaseTask.id).where(CaseTask.case_id == case.id)
    session.execute(delete(TaskDraft).where(TaskDraft.task_id.in_(task_ids)))
    session.execute(update(CaseNote).where(CaseNote.case_id == case.id).values(text=ANONYMISED))
    session.execute(update(TaskCorrection).where(TaskCorrection.case_id == case.id)
                    .values(reason=ANONYMISED, changes={}))
    session.execute(update(CaseHandover).where(CaseHandover.case_id == case.id).values(note=None))
    session.execute(delete(CaseAttachment).where(CaseAttachment.case_id == case.id))
    # A migrated case keeps its state from before the move (to revert it): that is case data too.
    session.execute(update(CaseMigration).where(CaseMigration.case_id == case.id)
                    .values(state_before=b"", variables_before={}))
