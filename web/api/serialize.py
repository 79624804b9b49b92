"""Engine values as JSON (dates in ISO 8601, UTC)."""
from __future__ import annotations

from datetime import date, datetime


def iso(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def task(t, *, detail: bool = False) -> dict:
    out = {"id": t.id, "case_id": t.case_id, "client_ref": t.client_ref, "element_id": t.element_id,
           "name": t.name, "lane": t.lane, "state": t.state, "due_at": iso(t.due_at),
           "created_at": iso(t.created_at), "claimed_by": t.claimed_by}
    if detail:
        out.update(form_name=t.form_name, form_schema=t.form_schema, instructions=t.instructions,
                   documentation=t.documentation)
    return out


def case_summary(c) -> dict:
    return {"id": c.id, "process_id": c.process_id, "process_version": c.process_version, "client_ref": c.client_ref,
            "team": c.team, "status": c.status, "started_by": c.started_by, "started_at": iso(c.started_at),
            "updated_at": iso(c.updated_at)}


def case(c) -> dict:
    return {"id": c.id, "process_id": c.process_id, "process_version": c.process_version, "client_ref": c.client_ref,
            "team": c.team, "status": c.status, "started_by": c.started_by, "started_at": iso(c.started_at),
            "milestones": list(c.milestones), "open_tasks": [task(t) for t in c.open_tasks],
            "history": [{**h, "completed_at": iso(h["completed_at"])} for h in c.history],
            "variables": c.variables,
            "waiting_timers": [{"element_id": t["element_id"], "due_at": iso(t["due_at"])} for t in c.waiting_timers]}


def completion(c) -> dict:
    return {"case_id": c.case_id, "status": c.status, "milestones": list(c.milestones),
            "open_task_ids": list(c.open_task_ids)}
