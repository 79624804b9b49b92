"""Write audit events (NEN 7513: who, when, which client, what action, outcome)."""
from __future__ import annotations

from sqlalchemy.orm import Session

from . import clock
from .models import AuditEvent


def record(session: Session, actor: str, action: str, *, case_id=None, task_id=None, client_ref=None,
           outcome: str = "success", **details) -> AuditEvent:
    event = AuditEvent(at=clock.now(), actor=actor, action=action, outcome=outcome, case_id=case_id,
                       task_id=task_id, client_ref=client_ref, details=details)
    session.add(event)
    return event
