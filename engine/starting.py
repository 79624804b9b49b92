"""Use case: start a case of a deployed process."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import audit, clock
from .case_store import CaseStore
from .errors import NotFoundError
from .models import Case, ProcessVersion
from .runtime import CaseRuntime
from .states import CaseStatus
from .text_input import check_start
from .views import Actor


def start_case(store: CaseStore, process_id: str, client_ref: str, actor: Actor, *, team: str | None = None,
               data: dict[str, Any] | None = None, version: int | None = None) -> int:
    # Required, encodable, no control characters, within length limits.
    check_start(client_ref, team, data, store.settings.max_text_length)
    now = clock.now()
    with store.sessions.begin() as session:
        query = select(ProcessVersion).where(ProcessVersion.process_id == process_id)
        query = query.where(ProcessVersion.version == version) if version else \
            query.order_by(ProcessVersion.version.desc())
        pv = session.scalars(query.limit(1)).first()
        if pv is None:
            raise NotFoundError(f"process {process_id!r}" + (f" version {version}" if version else "")
                                + " is not deployed")
        spec, subs = store.specs(session, pv.id)
        runtime, result = CaseRuntime.start(spec, subs, store.script_engine, data)
        case = Case(process_version=pv, client_ref=client_ref.strip(), team=team or actor.team,
                    started_by=actor.username, responsible=actor.username, started_at=now, updated_at=now,
                    status=CaseStatus.RUNNING,
                    state=b"", variables={}, compactions=0)
        session.add(case)
        session.flush()
        store.save(session, case, runtime, result, now)
        audit.record(session, actor.username, "case.start", case_id=case.id, client_ref=case.client_ref,
                     process_id=process_id, version=pv.version)
        return case.id
