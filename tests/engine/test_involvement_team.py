"""An involvement carries its case's team (revision 0014), so Veilig Thuis's lists find a team's involvements as
one index range instead of all of the installation's (docs/performance.md, "Veilig Thuis's lists")."""
from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from engine import involvement
from engine.case_search import CaseQuery, search_cases
from engine.db import alembic_config
from engine.models import Case, CaseInvolvement
from engine.views import Actor
from tests.engine.fixtures_proef import PIET, T0, proef_engine, start  # noqa: F401 - the `engine` fixture
from tests.engine.plans import analyze, copy_case, plan, statements_during

ZOE = Actor("zoe", frozenset({"professional"}), team="zuid")
VT_NOORD = Actor("vera", frozenset({"veilig_thuis"}), team="noord")
VT_ZUID = Actor("vince", frozenset({"veilig_thuis"}), team="zuid")
EVERY_STATUS = CaseQuery(status=None)


def ids(page) -> list[int]:
    return [row.id for row in page.rows]


def teams(engine) -> dict[int, str | None]:
    with engine.sessions() as session:
        return dict(session.execute(select(CaseInvolvement.case_id, CaseInvolvement.team)).all())


def test_an_involvement_carries_the_team_of_its_case(engine):
    noord, zuid, zuid_niet = (start(engine, "CL-N", PIET, T0), start(engine, "CL-Z", ZOE, T0),
                              start(engine, "CL-Z2", ZOE, T0))
    at = T0 + timedelta(days=1)
    with engine.sessions.begin() as session:  # as a step that makes a melding records it
        involvement.record(session, session.get(Case, noord), [], [("melding_veilig_thuis", "melding")], at)
    with engine.sessions.begin() as session:  # written by other code, without a team: it gets its case's
        session.add(CaseInvolvement(case_id=zuid, party=involvement.VEILIG_THUIS, reason="advies", since=at))
    assert teams(engine) == {noord: "noord", zuid: "zuid"}
    assert ids(search_cases(engine.sessions, VT_NOORD, EVERY_STATUS, at)) == [noord]
    assert ids(search_cases(engine.sessions, VT_ZUID, EVERY_STATUS, at)) == [zuid]
    assert zuid_niet not in ids(search_cases(engine.sessions, VT_ZUID, EVERY_STATUS, at))


def test_the_migration_gives_earlier_involvements_their_cases_team(engine, db, database_url):
    noord, zuid = start(engine, "CL-N", PIET, T0), start(engine, "CL-Z", ZOE, T0)
    with engine.sessions.begin() as session:
        for case_id in (noord, zuid):
            session.add(CaseInvolvement(case_id=case_id, party=involvement.VEILIG_THUIS, reason="melding", since=T0))
    command.downgrade(alembic_config(database_url), "0013")
    assert "team" not in {c["name"] for c in inspect(db).get_columns("case_involvement")}
    command.upgrade(alembic_config(database_url), "head")
    assert teams(engine) == {noord: "noord", zuid: "zuid"}
    assert "ix_case_involvement_party_team" in {i["name"] for i in inspect(db).get_indexes("case_involvement")}
    assert ids(search_cases(engine.sessions, VT_ZUID, EVERY_STATUS, T0)) == [zuid]


@pytest.mark.backends("postgres")
def test_veilig_thuis_reads_only_its_teams_involvements(engine):
    """3,000 cases of forty other teams, each with Veilig Thuis involved: Veilig Thuis of noord finds its one case
    through the range of its team's involvements. Before revision 0014 every involvement was hashed (28–35 ms at
    a million cases) or the team's cases were walked in the list's order (384 ms where there were few)."""
    mine = start(engine, "CL-N", PIET, T0)
    with engine.sessions.begin() as session:
        copy_case(session, "CL-N", 3000, {"client_ref": "'CL-ANDER-' || g", "team": "'team-' || (g % 40)"})
        session.execute(text(
            "INSERT INTO case_involvement (case_id, party, reason, since, team) "
            "SELECT id, 'veilig_thuis', 'melding', started_at, team FROM cases"))
        analyze(session, "cases", "case_involvement")
    bind = engine.sessions.kw["bind"]
    for query in (EVERY_STATUS, CaseQuery(status="running"), CaseQuery(status=None, page=1, per_page=1)):
        page, sent = statements_during(bind, "FROM case_involvement",
                                       lambda q=query: search_cases(engine.sessions, VT_NOORD, q, T0))
        assert ids(page) == [mine] and sent
        for statement, parameters in sent:
            planned = plan(bind, statement, parameters)
            assert "ix_case_involvement_party_team" in planned, planned
