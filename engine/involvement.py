"""Record, in the transaction of the step that causes it, facts the need-to-know policy (engine/access.py) reads:
Veilig Thuis became involved in a case, or the case took the internal route (violence by a colleague).

Written once and never removed: access that arose stays explainable, and lists filter on it with an indexed join
instead of reading every case's variables.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .models import Case, CaseInvolvement, CaseRestriction, CaseTask
from .states import CaseTaskState

VEILIG_THUIS = "veilig_thuis"
# Milestones (contract.md) by which a melding reaches Veilig Thuis, and its transfer of a case.
MELDING_MILESTONES = frozenset({"melding_veilig_thuis", "ambtshalve_melding", "melding_nieuwe_regio"})
TRANSFER_MILESTONES = frozenset({"overdracht_door_veilig_thuis"})
INTERNAL_ROUTE_FIELD = "betreft_beroepskracht"
INTERNAL_ROUTE = "interne_route"


@event.listens_for(CaseInvolvement, "before_insert")
def _team_of_its_case(_mapper: Any, connection: Connection, involvement: CaseInvolvement) -> None:
    """An involvement written without its case's team (by other code than `record`) gets it here: Veilig Thuis's
    lists find a team's involvements by it (engine/access.py `veilig_thuis_involved`)."""
    if involvement.team is None:
        involvement.team = connection.scalar(select(Case.team).where(Case.id == involvement.case_id))


def record(session: Session, case: Case, open_rows: list[CaseTask], milestones: Sequence[tuple[str, str | None]],
           now: datetime) -> None:
    """Called by the engine after syncing a step (before its flush)."""
    wanted: dict[str, tuple[str | None, int | None]] = {}
    vt_rows = [r for r in open_rows if r.lane == VEILIG_THUIS]
    if vt_rows:
        wanted["advies"] = (vt_rows[0].element_id, None)
    if milestones:
        # The task completed in this step (still unflushed) holds what was reported: the melding facts.
        cause = next((o.id for o in session.dirty if isinstance(o, CaseTask) and o.state == CaseTaskState.COMPLETED), None)
        for name, element_id in milestones:
            if name in MELDING_MILESTONES:
                wanted.setdefault("melding", (element_id, cause))
            elif name in TRANSFER_MILESTONES:
                wanted.setdefault("overdracht", (element_id, cause))
    if wanted:
        known = set(session.scalars(select(CaseInvolvement.reason).where(CaseInvolvement.case_id == case.id,
                                                                         CaseInvolvement.party == VEILIG_THUIS)))
        for reason, (element_id, task_id) in wanted.items():
            if reason not in known:
                session.add(CaseInvolvement(case_id=case.id, party=VEILIG_THUIS, reason=reason, team=case.team,
                                            element_id=element_id, task_id=task_id, since=now))
    if (case.variables or {}).get(INTERNAL_ROUTE_FIELD) is True and session.get(CaseRestriction, case.id) is None:
        session.add(CaseRestriction(case_id=case.id, kind=INTERNAL_ROUTE, since=now))
