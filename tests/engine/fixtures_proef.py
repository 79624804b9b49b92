"""Cases of the web tests' `proef` diagram driven through the engine on a frozen clock: the deployment, the answers
of Stap 1 and 2 and the people of team noord that the engine tests of finding cases and "terug bij u" share.

Import the fixture by its function name (`proef_engine`); tests ask for it as `engine`."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine import clock
from engine.views import Actor

PROEF = Path(__file__).resolve().parents[1] / "web" / "diagrams"
STAP1 = {"signalen": "Blauwe plek", "betreft_beroepskracht": False, "zorg": "hoog",
         "datum_signalering": "2026-02-03"}
STAP2 = {"geraadpleegd": "Aandachtsfunctionaris", "advies": "Gesprek voeren", "advies_veilig_thuis": False}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday

PIET = Actor("piet", frozenset({"professional"}), team="noord")
KLAAS = Actor("klaas", frozenset({"professional"}), team="noord")
ANNA = Actor("anna", frozenset({"aandachtsfunctionaris"}), team="noord")


@pytest.fixture(name="engine")
def proef_engine(case_engine):
    case_engine.deploy_directory(PROEF, "tester")
    return case_engine


def start(engine, ref: str, actor: Actor, at: datetime) -> int:
    """A proef case started by `actor` for their own team at `at`."""
    with clock.frozen_at(at):
        return engine.start_case("proef", ref, actor, team=actor.team,
                                 data={"levensbedreigend": False, "aanleiding": "test"})


def complete(engine, case_id: int, element_id: str, actor: Actor, data: dict, at: datetime) -> int:
    """Complete the case's open task `element_id` as `actor` at `at`; returns the task's id."""
    task = next(t for t in engine.open_tasks(case_id=case_id) if t.element_id == element_id)
    with clock.frozen_at(at):
        engine.complete_task(task.id, actor, data)
    return task.id
