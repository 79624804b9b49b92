"""Read-only look-ups the web app needs that the engine's use cases do not offer.

They read the engine's tables without changing them and without auditing: they decide *whether*
the user may see something (the view that follows is audited by the engine), or label fields.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from engine.models import Case, CaseTask, ProcessVersion


@dataclass(frozen=True)
class TaskScope:
    """Where a task belongs, for the access decision: its case, team and lane, and whether it is still open."""

    task_id: int
    case_id: int
    team: str | None
    lane: str | None
    name: str | None
    state: str
    claimed_by: str | None
    completed_by: str | None
    ended_at: datetime | None


def task_scope(sessions: sessionmaker, task_id: int) -> TaskScope | None:
    with sessions() as session:
        row = session.execute(
            select(CaseTask.id, CaseTask.case_id, Case.team, CaseTask.lane, CaseTask.name, CaseTask.state,
                   CaseTask.claimed_by, CaseTask.completed_by, CaseTask.ended_at)
            .join(Case, Case.id == CaseTask.case_id).where(CaseTask.id == task_id)).first()
        return TaskScope(*row) if row is not None else None


def field_labels(sessions: sessionmaker, case_id: int) -> dict[int, dict[str, dict]]:
    """Per task of a case: its form's words for each field, {"title": ..., "options": {value: label}}, so the
    timeline reads like the form did."""
    with sessions() as session:
        forms = session.scalar(select(ProcessVersion.forms).join(Case, Case.process_version_id == ProcessVersion.id)
                               .where(Case.id == case_id)) or {}
        labels = {}
        for task_id, form in session.execute(select(CaseTask.id, CaseTask.form).where(CaseTask.case_id == case_id)):
            schema = forms.get(form) if form else None
            labels[task_id] = {name: {"title": prop.get("title") or name, "options": _options(prop)}
                               for name, prop in ((schema or {}).get("properties") or {}).items()
                               if isinstance(prop, dict)}
        return labels


def _options(prop: dict) -> dict[str, str]:
    source = prop.get("items") if prop.get("type") == "array" and isinstance(prop.get("items"), dict) else prop
    values, names = source.get("enum") or [], source.get("x-enumLabels") or []
    return {str(v): str(names[i]) for i, v in enumerate(values) if i < len(names)}


def deployed_processes(sessions: sessionmaker) -> list[str]:
    with sessions() as session:
        return sorted(set(session.scalars(select(ProcessVersion.process_id))))


def task_form(sessions: sessionmaker, task_id: int) -> dict | None:
    """The JSON Schema of a task's form as deployed with its process version (no client data: not audited)."""
    with sessions() as session:
        row = session.execute(
            select(CaseTask.form, ProcessVersion.forms).join(Case, Case.id == CaseTask.case_id)
            .join(ProcessVersion, ProcessVersion.id == Case.process_version_id).where(CaseTask.id == task_id)).first()
        if row is None or not row[0]:
            return None
        return (row[1] or {}).get(row[0])


def case_variables(sessions: sessionmaker, case_id: int, names) -> dict:
    """Some of a case's current variables (to prefill a form the user is already allowed to see)."""
    with sessions() as session:
        variables = session.scalar(select(Case.variables).where(Case.id == case_id)) or {}
        return {name: variables[name] for name in names if name in variables}
