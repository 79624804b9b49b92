"""What earlier steps recorded that this step needs, shown on the task page (no need to open the dossier).

Which earlier answers a step shows is data, kept with the form (processes/forms/*.json), so that a process owner
changes it with the form and it travels with the process version:

    "x-context": [
        {"step": "stap1_signalen", "fields": ["signalen", "hypothesen"]},
        {"step": "stap3_gesprek_voeren"}
    ]

`step` is the element id of an earlier user task; `fields` the answers to show, in that order (left out: every
answer of that step, in its form's order). Of a step done more than once (a loop) the latest completion is shown.
Answers carry their form's words (title, option labels) so the page reads like the form did.

Only what the reader may see (engine/access.py): whoever may work on the task; Veilig Thuis only its own lane's
steps and the steps that carried a melding. Reading the task with its context is one audited event (`task.view`,
with the steps shown).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock
from .involvement import VEILIG_THUIS
from .models import Case, CaseTask, ProcessVersion
from .states import CaseTaskState
from .views import Actor, CompletedStep

CONTEXT_KEY = "x-context"


@dataclass(frozen=True)
class ContextAnswer:
    """One recorded answer with its form's words."""

    name: str
    title: str
    value: Any
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ContextStep(CompletedStep):
    """An earlier step's completion, with the answers this step needs."""

    answers: list[ContextAnswer]


@dataclass(frozen=True)
class ContextWanted:
    step: str
    fields: list[str] | None  # None: every answer


def wanted(schema: Mapping[str, Any] | None) -> list[ContextWanted]:
    """The form's `x-context` read leniently: a step id as text or {"step": ..., "fields": [...]}; others skipped."""
    entries = (schema or {}).get(CONTEXT_KEY)
    if not isinstance(entries, list):
        return []
    result = []
    for entry in entries:
        if isinstance(entry, str) and entry:
            result.append(ContextWanted(entry, None))
        elif isinstance(entry, Mapping) and isinstance(entry.get("step"), str) and entry["step"]:
            names = entry.get("fields")
            fields = [n for n in names if isinstance(n, str)] if isinstance(names, list) else None
            result.append(ContextWanted(entry["step"], fields))
    return result


def field_words(schema: Mapping[str, Any] | None) -> dict[str, tuple[str, dict[str, str]]]:
    """Per field of a form: its title and its options' labels (value -> label), in the form's order."""
    words: dict[str, tuple[str, dict[str, str]]] = {}
    properties = (schema or {}).get("properties") or {}
    for name, prop in properties.items():
        if not isinstance(prop, Mapping):
            continue
        items = prop.get("items")
        source: Mapping[str, Any] = items if prop.get("type") == "array" and isinstance(items, Mapping) else prop
        values, labels = source.get("enum") or [], source.get("x-enumLabels") or []
        options = {str(v): str(labels[i]) for i, v in enumerate(values) if i < len(labels)}
        words[name] = (str(prop.get("title") or name), options)
    return words


def _answers(data: Mapping[str, Any], schema: Mapping[str, Any] | None,
             fields: list[str] | None) -> list[ContextAnswer]:
    words = field_words(schema)
    names = fields if fields is not None else [*words, *(n for n in data if n not in words)]
    answers = []
    for name in names:
        value = data.get(name)
        if value is None or value == "" or value == []:
            continue
        title, options = words.get(name, (name, {}))
        answers.append(ContextAnswer(name, title, value, options))
    return answers


def steps_for(session: Session, case: Case, schema: Mapping[str, Any] | None, decision: access.Decision,
              *, before_task: int | None = None) -> list[ContextStep]:
    """The earlier completions `schema` asks for, as far as `decision` lets the reader see them."""
    asked = wanted(schema)
    if not asked or decision.scope not in (access.FULL, access.VT_LIMITED):
        return []
    rows = session.scalars(select(CaseTask).where(CaseTask.case_id == case.id,
                                                  CaseTask.state == CaseTaskState.COMPLETED,
                                                  CaseTask.element_id.in_({w.step for w in asked}))
                           .order_by(CaseTask.ended_at, CaseTask.id)).all()
    if decision.scope == access.VT_LIMITED:
        shown = set(access.melding_task_ids(session, case.id))
        rows = [r for r in rows if r.lane == VEILIG_THUIS or r.id in shown]
    if before_task is not None:
        rows = [r for r in rows if r.id != before_task]
    latest = {r.element_id: r for r in rows}  # ordered by time: the last one wins
    forms = session.scalar(select(ProcessVersion.forms).where(ProcessVersion.id == case.process_version_id)) or {}
    steps = []
    for want in asked:
        row = latest.get(want.step)
        if row is None:
            continue
        answers = _answers(row.data or {}, forms.get(row.form) if row.form else None, want.fields)
        if answers:
            steps.append(ContextStep(row.id, row.element_id, row.name, row.lane, row.completed_by, row.ended_at,
                                     answers))
    return steps


def task_view(sessions: sessionmaker[Session], task_id: int, actor: Actor) -> list[ContextStep]:
    """The audited view of a task page: the earlier answers the task's form asks for (`x-context`), for someone
    who may work on the task. One `task.view` audit event names the steps shown; a refusal is audited."""
    try:
        with sessions.begin() as session:
            row, case, decision = access.task_with_access(session, actor, task_id, clock.now())
            forms = session.scalar(select(ProcessVersion.forms)
                                   .where(ProcessVersion.id == case.process_version_id)) or {}
            schema = forms.get(row.form) if row.form else None
            steps = steps_for(session, case, schema, decision, before_task=row.id)
            audit.record(session, actor.username, "task.view", case_id=case.id, task_id=row.id,
                         client_ref=case.client_ref, context_tasks=[s.task_id for s in steps],
                         **decision.audit_details())
            return steps
    except access.AccessDenied as exc:
        with sessions.begin() as session:
            case_row = session.execute(select(Case.id, Case.client_ref).join(CaseTask, CaseTask.case_id == Case.id)
                                       .where(CaseTask.id == task_id)).first()
            audit.record(session, actor.username, "task.view", outcome="denied", task_id=task_id,
                         case_id=case_row[0] if case_row else None,
                         client_ref=case_row[1] if case_row else None, reason=str(exc))
        raise
