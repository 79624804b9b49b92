"""Drafts: a process owner's work on a set of files and scenarios, saved on the server (one row per draft).

A draft starts from a deployed version (its deployment's files and scenarios) or from an uploaded zip; only its
owner sees and changes it. Every change is audited.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..errors import DiagramError, NotFoundError
from ..models import StudioDraft
from .filenames import check_filename
from .versions import (
    check_scenarios,
    deployment_files,
    deployment_scenarios,
    version_row,
)

MAX_TITLE = 200


@dataclass(frozen=True)
class Draft:
    id: int
    owner: str
    title: str
    files: dict[str, str]
    scenarios: dict[str, dict[str, Any]]
    created_at: datetime
    updated_at: datetime
    row_version: int
    submitted_at: datetime | None = None
    approved_by: str | None = None
    approved_at: datetime | None = None
    approved_hash: str | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.files, self.scenarios)

    @property
    def approved(self) -> bool:
        """Approved by someone else for exactly this content (a later change needs a new approval)."""
        return bool(self.approved_by) and self.approved_by != self.owner and self.approved_hash == self.content_hash

    def file_bytes(self) -> dict[str, bytes]:
        return {name: text.encode("utf-8") for name, text in self.files.items()}


def content_hash(files: dict[str, Any], scenarios: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps({"files": files, "scenarios": scenarios}, sort_keys=True).encode()).hexdigest()


def _view(row: StudioDraft) -> Draft:
    return Draft(row.id, row.owner, row.title, dict(row.files), dict(row.scenarios), row.created_at, row.updated_at,
                 row.row_version, row.submitted_at, row.approved_by, row.approved_at, row.approved_hash)


def _decode(files: dict[str, bytes]) -> dict[str, str]:
    out = {}
    for name, content in files.items():
        check_filename(name)
        try:
            out[name] = content.decode("utf-8")
        except UnicodeDecodeError:
            raise DiagramError(name, None, "het bestand is geen UTF-8-tekst") from None
    return out


def list_drafts(session: Session, owner: str) -> list[Draft]:
    return [_view(r) for r in session.scalars(select(StudioDraft).where(StudioDraft.owner == owner)
                                              .order_by(StudioDraft.updated_at.desc()))]


def get(session: Session, owner: str, draft_id: int) -> StudioDraft:
    row = session.get(StudioDraft, draft_id)
    if row is None or row.owner != owner:
        raise NotFoundError(f"draft {draft_id} does not exist")  # someone else's draft is not there for you
    return row


def view(session: Session, owner: str, draft_id: int) -> Draft:
    """The owner's draft (an audited read)."""
    row = get(session, owner, draft_id)
    audit.record(session, owner, "studio.draft_view", draft_id=draft_id)
    return _view(row)


def create(session: Session, owner: str, title: str, files: dict[str, bytes], scenarios: dict[str, dict[str, Any]],
           *, base_deployment_id: int | None = None, source: str) -> Draft:
    now = clock.now()
    row = StudioDraft(owner=owner, title=(title or "Concept").strip()[:MAX_TITLE] or "Concept",
                      base_deployment_id=base_deployment_id, files=_decode(files),
                      scenarios=check_scenarios(dict(scenarios)), created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    audit.record(session, owner, "studio.draft_create", draft_id=row.id, source=source, files=sorted(row.files))
    return _view(row)


def create_from_version(session: Session, owner: str, process_id: str, version: int) -> Draft:
    pv = version_row(session, process_id, version)
    if pv is None:
        raise NotFoundError(f"{process_id} version {version} does not exist")
    return create(session, owner, f"{process_id} (van versie {version})", deployment_files(session, pv.deployment_id),
                  deployment_scenarios(session, pv.deployment_id), base_deployment_id=pv.deployment_id,
                  source=f"{process_id} v{version}")


def save_file(session: Session, owner: str, draft_id: int, name: str, text: str, max_bytes: int) -> Draft:
    row = get(session, owner, draft_id)
    check_filename(name)
    if not isinstance(text, str) or len(text.encode("utf-8", "surrogatepass")) > max_bytes:
        raise DiagramError(name, None, f"het bestand is groter dan {max_bytes} bytes")
    row.files = {**row.files, name: text}
    row.updated_at = clock.now()
    audit.record(session, owner, "studio.draft_save", draft_id=row.id, file=name)
    session.flush()
    return _view(row)


def save_scenario(session: Session, owner: str, draft_id: int, name: str, scenario: dict[str, Any] | None) -> Draft:
    """Add or replace a scenario (validated against the scenario schema); None removes it."""
    row = get(session, owner, draft_id)
    check_filename(name, scenario=True)
    scenarios = dict(row.scenarios)
    if scenario is None:
        scenarios.pop(name, None)
    else:
        check_scenarios({name: scenario})
        scenarios[name] = json.loads(json.dumps(scenario))
    row.scenarios = scenarios
    row.updated_at = clock.now()
    audit.record(session, owner, "studio.draft_scenario", draft_id=row.id, scenario=name, removed=scenario is None)
    session.flush()
    return _view(row)


def delete(session: Session, owner: str, draft_id: int) -> None:
    row = get(session, owner, draft_id)
    session.delete(row)
    audit.record(session, owner, "studio.draft_delete", draft_id=draft_id)


def submit(session: Session, owner: str, draft_id: int) -> Draft:
    """Offer the draft to the other process owners for approval (four-eyes rule)."""
    row = get(session, owner, draft_id)
    row.submitted_at = clock.now()
    audit.record(session, owner, "studio.draft_submit", draft_id=row.id)
    session.flush()
    return _view(row)


def pending(session: Session, reviewer: str) -> list[Draft]:
    """Drafts of other process owners offered for approval."""
    return [_view(r) for r in session.scalars(select(StudioDraft).where(StudioDraft.submitted_at.is_not(None),
                                                                       StudioDraft.owner != reviewer)
                                              .order_by(StudioDraft.submitted_at))]


def for_review(session: Session, reviewer: str, draft_id: int) -> StudioDraft:
    row = session.get(StudioDraft, draft_id)
    if row is None or row.submitted_at is None or row.owner == reviewer:
        raise NotFoundError(f"no draft {draft_id} to review")
    return row


def review(session: Session, reviewer: str, draft_id: int) -> Draft:
    """A draft offered for approval, read by a second process owner (audited)."""
    row = for_review(session, reviewer, draft_id)
    audit.record(session, reviewer, "studio.draft_review", draft_id=draft_id, owner=row.owner)
    return _view(row)


def approve(session: Session, reviewer: str, draft_id: int) -> Draft:
    """A second process owner approves the draft's content as it is now."""
    row = for_review(session, reviewer, draft_id)
    row.approved_by, row.approved_at = reviewer, clock.now()
    row.approved_hash = content_hash(row.files, row.scenarios)
    audit.record(session, reviewer, "studio.draft_approve", draft_id=row.id, owner=row.owner,
                 content_hash=row.approved_hash)
    session.flush()
    return _view(row)
