"""Notes (aantekeningen) on a case: a free note at any moment, or the follow-up of a hypothesis (issue 13).

The meldcode asks that a suspicion be recorded as a hypothesis in Stap 1 and later confirmed or refuted by a
follow-up entry (shared/docs/meldcode.md, Stap 1): a note of kind `hypothese` with its outcome `bevestigd` or
`weerlegd`. Every other note is an `aantekening`.

Need-to-know: notes belong to the team's own file. Writing and reading them needs *full* access to the case
(engine/access.py): the team lanes of the case's team, the leidinggevende and the aandachtsfunctionaris on the
internal route, or break-the-glass. The beheerder (metadata only) and Veilig Thuis (another organisation, which
sees only its own tasks and the melding) neither read nor write them. A note is written together with its audit
event in one transaction; a refusal is audited as denied and changes nothing. Listing the notes is part of
reading the case file, which the case view audits (`case.view`); `case_notes` therefore checks access without an
event of its own.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock
from .errors import CaseNotRunningError, NotFoundError, ValidationError
from .models import Case, CaseNote
from .states import ENDED_CASE_STATUSES, HypothesisOutcome, NoteKind
from .text_input import DEFAULT_MAX_LENGTH, text_problems
from .views import Actor

EMPTY = "Schrijf eerst een aantekening: een lege aantekening wordt niet opgeslagen."
UNKNOWN_KIND = "Kies het soort aantekening: een aantekening of het vervolg op een hypothese."
OUTCOME_NEEDED = "Kies of de hypothese is bevestigd of weerlegd."
OUTCOME_ONLY_FOR_HYPOTHESIS = "Alleen het vervolg op een hypothese heeft een uitkomst (bevestigd of weerlegd)."


@dataclass(frozen=True)
class NoteView:
    id: int
    case_id: int
    author: str
    created_at: datetime
    kind: str
    text: str
    hypothesis_outcome: str | None


def require_full_access(session: Session, actor: Actor, case_id: int, now: datetime,
                        what: str) -> tuple[Case, access.Decision]:
    """The case, when `actor` has full access to it (engine/access.py); else AccessDenied (or NotFoundError)."""
    case = session.get(Case, case_id)
    if case is None:
        raise NotFoundError(f"case {case_id} does not exist")
    decision = access.check_case(session, actor, case, now)
    if decision.scope != access.FULL:
        raise access.AccessDenied(f"{actor.username} may not {what} of case {case_id}: only with full access "
                                  f"(has {decision.scope})")
    return case, decision


def audit_denied(sessions: sessionmaker[Session], actor: Actor, action: str, case_id: int, reason: str,
                 **details: Any) -> None:
    """A refusal, in its own transaction (the refused one was rolled back)."""
    with sessions.begin() as session:
        client_ref = session.scalar(select(Case.client_ref).where(Case.id == case_id))
        audit.record(session, actor.username, action, outcome="denied", case_id=case_id, client_ref=client_ref,
                     reason=reason, **details)


def check_note(text: object, kind: object, outcome: object, max_length: int = DEFAULT_MAX_LENGTH) -> tuple[
        str, NoteKind, HypothesisOutcome | None]:
    """The note's fields, or ValidationError with Dutch reasons per field (text, kind, outcome)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(text, str) or not text.strip():
        errors["text"] = [EMPTY]
    else:
        problems = text_problems(text, max_length)
        if problems:
            errors["text"] = problems
    try:
        note_kind = NoteKind(kind if isinstance(kind, str) else "")
    except ValueError:
        errors["kind"] = [UNKNOWN_KIND]
        note_kind = NoteKind.AANTEKENING
    result: HypothesisOutcome | None = None
    if note_kind == NoteKind.HYPOTHESE:
        try:
            result = HypothesisOutcome(outcome if isinstance(outcome, str) else "")
        except ValueError:
            errors["outcome"] = [OUTCOME_NEEDED]
    elif outcome not in (None, ""):
        errors["outcome"] = [OUTCOME_ONLY_FOR_HYPOTHESIS]
    if errors:
        raise ValidationError(errors, {field: [("text", reason) for reason in reasons]
                                       for field, reasons in errors.items()})
    assert isinstance(text, str)
    return text.strip(), note_kind, result


def add_note(sessions: sessionmaker[Session], actor: Actor, case_id: int, text: object, *,
             kind: object = NoteKind.AANTEKENING, outcome: object = None,
             max_length: int = DEFAULT_MAX_LENGTH) -> NoteView:
    """Write a note on a case that has not ended; with its audit event (`case.note`), in one transaction."""
    clean, note_kind, result = check_note(text, kind, outcome, max_length)
    now = clock.now()
    try:
        with sessions.begin() as session:
            case, decision = require_full_access(session, actor, case_id, now, "write notes")
            if case.status in ENDED_CASE_STATUSES:
                raise CaseNotRunningError(f"case {case_id} is {case.status}: no new notes")
            note = CaseNote(case_id=case.id, author=actor.username, created_at=now, kind=note_kind.value,
                            text=clean, hypothesis_outcome=result.value if result else None)
            session.add(note)
            session.flush()
            # The note's text stays in the dossier; the log keeps that it was written, its kind and its size.
            audit.record(session, actor.username, "case.note", case_id=case.id, client_ref=case.client_ref,
                         note_id=note.id, kind=note.kind, outcome_hypothesis=note.hypothesis_outcome,
                         length=len(clean), **decision.audit_details())
            return _view(note)
    except access.AccessDenied as exc:
        audit_denied(sessions, actor, "case.note", case_id, str(exc))
        raise


def case_notes(sessions: sessionmaker[Session], actor: Actor, case_id: int) -> list[NoteView]:
    """The notes of a case, oldest first, for someone with full access (audited with the case view)."""
    with sessions() as session:
        require_full_access(session, actor, case_id, clock.now(), "read the notes")
        rows = session.scalars(select(CaseNote).where(CaseNote.case_id == case_id)
                               .order_by(CaseNote.created_at, CaseNote.id))
        return [_view(row) for row in rows]


def _view(note: CaseNote) -> NoteView:
    return NoteView(note.id, note.case_id, note.author, note.created_at, note.kind, note.text,
                    note.hypothesis_outcome)
