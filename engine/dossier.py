"""The dossier of a case as one document (issue 13): for the phone call with Veilig Thuis and for the file.

`export_dossier` reads the case through the engine's case read (engine/access.py decides; only *full* access may
export), adds the notes and the list of attachments, groups the recorded steps into the meldcode's parts
(signals, consultation, conversation, afwegingen, decision, agreements, follow-up) and hands the resulting
`Dossier` to a renderer (the web app's HTML page or PDF). The export is audited as `case.export` with its format:
a refusal as denied, a renderer that fails as error.

The Dutch titles of the parts are the web app's (web/templates/cases/dossier.html); the engine names them by key.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock
from .attachments import AttachmentView, case_attachments
from .models import Case
from .notes import NoteView, audit_denied, case_notes
from .views import Actor, CaseInfo, CompletedStep

T = TypeVar("T")
EXPORT = "case.export"
FORMATS = ("html", "pdf")

# The meldcode's parts, in the order of the dossier, each with the element id prefixes of its steps (the shipped
# meldcode.bpmn and its variants name their tasks this way; contract.md). A step matching none is "overig".
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("acuut", ("stap0", "acute_actie", "leidinggevende_agressieprotocol")),
    ("signalen", ("stap1", "kindcheck")),
    ("consultatie", ("stap2", "vt_advies")),
    ("gesprek", ("stap3",)),
    ("afwegingen", ("stap4", "stap5_afweging", "wegen")),
    ("besluit", ("stap5_melden", "stap5_hulp", "afsluiten", "melding")),
    ("afspraken", ("regie", "monitoring")),
    ("vervolg", ("stap6",)),
    ("overig", ("",)),
)


class CaseReader(Protocol):
    """The engine's audited case read (CaseEngine.case)."""

    def case(self, case_id: int, actor: Actor, *, audit_read: bool = ...,
             present: Callable[..., Any] | None = ...) -> Any: ...


@dataclass(frozen=True)
class Answer:
    """One recorded answer, named as its form named it; `value` is text, a bool, or a list of texts."""

    name: str
    label: str
    value: Any


@dataclass(frozen=True)
class Step(CompletedStep):
    answers: list[Answer]


@dataclass(frozen=True)
class Section:
    key: str  # acuut | signalen | consultatie | gesprek | afwegingen | besluit | afspraken | vervolg | overig
    steps: list[Step]


@dataclass(frozen=True)
class Deadline:
    name: str
    due_at: datetime
    kind: str  # task (an open task's due date) | timer (a waiting timer: an evaluation moment, a term)


@dataclass(frozen=True)
class Dossier:
    case: CaseInfo
    sections: list[Section]
    besluit: str | None  # the afwegingskader's outcome (contract.md `besluit`)
    milestones: list[str]
    deadlines: list[Deadline]
    notes: list[NoteView]
    attachments: list[AttachmentView]
    exported_by: str
    exported_at: datetime
    variables: dict[str, Any] = field(default_factory=dict)


def section_of(element_id: str) -> str:
    for key, prefixes in SECTIONS:
        if any(element_id.startswith(prefix) for prefix in prefixes):
            return key
    return "overig"


def build(info: CaseInfo, labels: Mapping[int, Mapping[str, Mapping[str, Any]]], notes: list[NoteView],
          attachments: list[AttachmentView], *, timer_names: Mapping[str, str], actor: Actor,
          now: datetime) -> Dossier:
    """The dossier of a case read with full access. `labels`: per task id, per field {"title", "options"}."""
    steps: dict[str, list[Step]] = {key: [] for key, _ in SECTIONS}
    history = sorted(info.history, key=lambda h: (h["completed_at"] is None, h["completed_at"] or now,
                                                  h["task_id"]))
    for h in history:
        form = labels.get(h["task_id"], {})
        data = h["data"] if isinstance(h["data"], dict) else ({} if h["data"] is None else {"gegevens": h["data"]})
        answers = [_answer(name, value, form.get(name)) for name, value in data.items()]
        steps[section_of(h["element_id"])].append(
            Step(h["task_id"], h["element_id"], h["name"], h["lane"], h["completed_by"], h["completed_at"], answers))
    deadlines = [Deadline(t.name or t.element_id, t.due_at, "task") for t in info.open_tasks if t.due_at]
    deadlines += [Deadline(timer_names.get(t["element_id"], t["element_id"]), t["due_at"], "timer")
                  for t in info.waiting_timers]
    besluit = info.variables.get("besluit")
    return Dossier(case=info, sections=[Section(key, steps[key]) for key, _ in SECTIONS if steps[key]],
                   besluit=besluit if isinstance(besluit, str) else None, milestones=list(info.milestones),
                   deadlines=sorted(deadlines, key=lambda d: d.due_at), notes=notes, attachments=attachments,
                   exported_by=actor.username, exported_at=now, variables=dict(info.variables))


def export_dossier(cases: CaseReader, sessions: sessionmaker[Session], case_id: int, actor: Actor, *, fmt: str,
                   labels: Callable[[int], Mapping[int, Mapping[str, Mapping[str, Any]]]],
                   timer_names: Callable[[], Mapping[str, str]], render: Callable[[Dossier], T]) -> T:
    """Read, gather and render the dossier; audited as `case.export` (format `fmt`)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown dossier format {fmt!r}")
    info, decision = cases.case(case_id, actor, audit_read=False,
                                present=lambda info, decision: (info, decision))
    if decision.scope != access.FULL:
        reason = f"{actor.username} may not export case {case_id}: only with full access (has {decision.scope})"
        audit_denied(sessions, actor, EXPORT, case_id, reason, format=fmt)
        raise access.AccessDenied(reason)
    try:
        dossier = build(info, labels(case_id), case_notes(sessions, actor, case_id),
                        case_attachments(sessions, actor, case_id), timer_names=timer_names(), actor=actor,
                        now=clock.now())
        result = render(dossier)
    except access.AccessDenied as exc:  # access ended between the reads (e.g. a break-the-glass grant expired)
        audit_denied(sessions, actor, EXPORT, case_id, str(exc), format=fmt)
        raise
    except Exception as exc:
        _record(sessions, actor, case_id, decision, fmt, outcome="error", reason=f"{type(exc).__name__}: {exc}"[:300])
        raise
    _record(sessions, actor, case_id, decision, fmt, outcome="success", steps=len(info.history),
            notes=len(dossier.notes), attachments=len(dossier.attachments))
    return result


def _record(sessions: sessionmaker[Session], actor: Actor, case_id: int, decision: access.Decision, fmt: str, *,
            outcome: str, **details: Any) -> None:
    with sessions.begin() as session:
        case = session.get(Case, case_id)
        audit.record(session, actor.username, EXPORT, outcome=outcome, case_id=case_id,
                     client_ref=case.client_ref if case else None, format=fmt, **decision.audit_details(),
                     **details)


def _answer(name: str, value: Any, field_labels: Mapping[str, Any] | None) -> Answer:
    title = str((field_labels or {}).get("title") or name)
    options: Mapping[str, str] = (field_labels or {}).get("options") or {}
    if isinstance(value, list):
        value = [options.get(str(v), v) if not isinstance(v, (dict, list)) else v for v in value]
    elif isinstance(value, str) and value in options:
        value = options[value]
    return Answer(name, title, value)
