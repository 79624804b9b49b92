"""Migration 0011 on SQLite and PostgreSQL: the case row's milestone counter is filled from the milestones there
are, the chain head gets its previous hash, and both go down and up again with the chain head's triggers intact."""
from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DatabaseError

from engine import audit_chain
from engine.cases import Actor
from engine.db import alembic_config, make_sessionmaker
from engine.models import Case, CaseMilestone

PIET = Actor("piet", frozenset({"professional"}), "wijkteam-noord")


def test_the_counter_is_filled_from_the_milestones_and_both_columns_go_down_and_up(deployed, db, database_url):
    case_id = deployed.start_case("lus", "CL-M1", PIET)
    for _ in range(3):
        deployed.complete_task(deployed.open_tasks(case_id=case_id)[0].id, PIET, {"duurzame_veiligheid": False})
    other = deployed.start_case("voorbeeld", "CL-M2", PIET)
    with make_sessionmaker(db)() as session:
        reached = {c: session.scalar(select(CaseMilestone.seq).where(CaseMilestone.case_id == c)
                                     .order_by(CaseMilestone.seq.desc()).limit(1)) or 0 for c in (case_id, other)}
    assert reached[case_id] >= 3
    command.downgrade(alembic_config(database_url), "0010")
    assert "last_milestone_seq" not in {c["name"] for c in inspect(db).get_columns("cases")}
    assert "prev_hash" not in {c["name"] for c in inspect(db).get_columns("audit_chain_head")}
    command.upgrade(alembic_config(database_url), "head")
    with make_sessionmaker(db)() as session:
        assert {c: session.get(Case, c).last_milestone_seq for c in (case_id, other)} == reached
        assert audit_chain.verify(session).ok
    # The next step numbers on from the counter, and the chain goes on from its head.
    deployed.complete_task(deployed.open_tasks(case_id=case_id)[0].id, PIET, {"duurzame_veiligheid": False})
    with make_sessionmaker(db)() as session:
        seqs = list(session.scalars(select(CaseMilestone.seq).where(CaseMilestone.case_id == case_id)
                                    .order_by(CaseMilestone.seq)))
        assert seqs == list(range(1, len(seqs) + 1)) and seqs[-1] == session.get(Case, case_id).last_milestone_seq
        assert audit_chain.verify(session).ok
    with pytest.raises(DatabaseError, match="only moves forward"), db.begin() as conn:
        conn.execute(text("UPDATE audit_chain_head SET seq = seq - 1"))
