"""The access facts of a case (engine/access.py `with_facts`): restriction, Veilig Thuis involvement and the
newest active break-the-glass grant, read with the task or case in one statement, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from engine import access, clock
from engine.cases import Actor
from engine.errors import NotFoundError
from engine.models import AccessGrant, AuditEvent, CaseInvolvement, CaseRestriction

TEAM = "wijkteam-noord"
PIET = Actor("piet", frozenset({"professional"}), TEAM)
ZOE = Actor("zoe", frozenset({"professional"}), "wijkteam-zuid")
VT = Actor("vera", frozenset({"veilig_thuis"}), TEAM)
BEHEER = Actor("bert", frozenset({"beheerder"}), None)


def grant(case_id, username, reason, hours):
    now = clock.now()
    return AccessGrant(username=username, user_team="wijkteam-zuid", case_id=case_id, team=TEAM, reason=reason,
                       granted_at=now, expires_at=now + timedelta(hours=hours))


def statements(db):
    seen = []
    event.listen(db, "before_cursor_execute", lambda *args: seen.append(1))
    return seen


@pytest.fixture
def case_and_task(deployed):
    case_id = deployed.start_case("voorbeeld", "CL-F1", PIET)
    return case_id, deployed.open_tasks(case_id=case_id)[0].id


def test_a_plain_case_has_no_facts_beyond_its_team(deployed, case_and_task):
    case_id, task_id = case_and_task
    with deployed.sessions() as session:
        for actor in (PIET, ZOE, VT, BEHEER):
            assert access.load_facts(session, case_id, actor, clock.now()) == access.CaseFacts(case_id, TEAM)
        assert access.load_facts(session, case_id + 1000, PIET, clock.now()) is None


def test_restriction_involvement_and_the_newest_active_grant_of_this_user(deployed, case_and_task):
    case_id, task_id = case_and_task
    now = clock.now()
    with deployed.sessions.begin() as session:
        session.add(CaseRestriction(case_id=case_id, kind="interne_route", since=now))
        session.add_all([CaseInvolvement(case_id=case_id, party="veilig_thuis", reason=reason, since=now)
                         for reason in ("advies", "melding")])  # two rows: still one fact, one result row
        session.add_all([grant(case_id, "zoe", "oud, verlopen", -1), grant(case_id, "zoe", "eerste", 2),
                         grant(case_id, "zoe", "nieuwste", 5), grant(case_id, "piet", "van een ander", 9)])
    with deployed.sessions() as session:
        zoe = access.load_facts(session, case_id, ZOE, clock.now())
        assert (zoe.restricted, zoe.vt_involved, zoe.grant.reason) == ("interne_route", False, "nieuwste")
        assert isinstance(zoe.grant, access.Grant) and zoe.grant.expires_at > now
        # Involvement is a fact only for Veilig Thuis, a grant only for the lanes that may break the glass.
        vt = access.load_facts(session, case_id, VT, clock.now())
        assert (vt.restricted, vt.vt_involved, vt.grant) == ("interne_route", True, None)
        assert access.load_facts(session, case_id, BEHEER, clock.now()).grant is None
        # Once every grant of zoe expired, none is left.
        assert access.load_facts(session, case_id, ZOE, now + timedelta(hours=6)).grant is None
        decision = access.decide_case(ZOE, zoe)
        assert decision.scope == access.FULL and "nieuwste" in decision.basis


def test_a_task_its_case_and_the_facts_are_one_statement(db, deployed, case_and_task):
    case_id, task_id = case_and_task
    with deployed.sessions.begin() as session:
        session.add(grant(case_id, "zoe", "dienst", 1))
    seen = statements(db)
    with deployed.sessions() as session:
        row, case, facts = access.task_with_facts(session, ZOE, task_id, clock.now())
        assert len(seen) == 1
        assert (row.id, case.id, facts.team, facts.grant.reason) == (task_id, case_id, TEAM, "dienst")
        assert access.check_task(session, ZOE, case, row.lane, row.id, clock.now(), facts).scope == access.FULL
        assert len(seen) == 1  # the decision used the facts it was given
        with pytest.raises(access.AccessDenied):
            access.task_with_access(session, Actor("kim", frozenset({"professional"}), "elders"), task_id,
                                    clock.now())
        with pytest.raises(NotFoundError):
            access.task_with_facts(session, ZOE, task_id + 1000, clock.now())


def test_a_completion_on_break_the_glass_names_the_newest_grant_in_its_audit_event(deployed, case_and_task):
    """The completion reads the task, its case, its open rows and the facts in one statement (engine/case_store.py):
    the grant joined by its id adds no rows."""
    case_id = deployed.start_case("lus", "CL-F2", PIET)
    with deployed.sessions.begin() as session:
        session.add_all([grant(case_id, "zoe", "eerste", 2), grant(case_id, "zoe", "nieuwste", 5)])
    task = deployed.open_tasks(case_id=case_id)[0]
    deployed.complete_task(task.id, ZOE, {"duurzame_veiligheid": False})
    with deployed.sessions() as session:
        [event] = session.scalars(select(AuditEvent).where(AuditEvent.action == "task.complete")).all()
    assert event.actor == "zoe" and event.basis == "break-the-glass" and "nieuwste" in event.basis_detail
