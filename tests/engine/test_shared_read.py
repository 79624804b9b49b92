"""One read made of several use cases shares one session (engine/db.py `shared_read`): the case file and its
panels (diagram, handovers, corrections, notes, attachments, events) are read in the audited case view's
transaction — one consistent snapshot, each row read once, each access decision made once — instead of a
transaction per panel (issue 14: 49 statements and a BEGIN/ROLLBACK pair per panel for one case file page)."""
from __future__ import annotations

from sqlalchemy import event, select, text

from engine import access, clock
from engine.db import make_engine, make_sessionmaker, shared_read
from engine.models import Case


def test_inside_a_shared_read_every_session_of_that_database_is_the_enclosing_one(db, tmp_path):
    sessions = make_sessionmaker(db)
    other_db = make_engine(f"sqlite:///{tmp_path}/other.sqlite3")
    others = make_sessionmaker(other_db)
    try:
        with sessions.begin() as outer, shared_read(outer):
            with sessions() as inner:
                assert inner is outer
            with sessions.begin() as inner:  # no second BEGIN: the enclosing transaction goes on
                assert inner is outer
            assert outer.is_active and outer.in_transaction()  # leaving a borrowed session did not close it
            with others() as unrelated:
                assert unrelated is not outer  # another database has sessions of its own
        with sessions() as after:
            assert after is not outer
    finally:
        other_db.dispose()


def test_a_shared_read_decides_access_once_per_case_and_actor(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-1", professional, team=professional.team)
    statements = []
    bind = deployed.sessions.kw["bind"]

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with deployed.sessions.begin() as session:
        case = session.get(Case, case_id)
        event.listen(bind, "before_cursor_execute", count)
        try:
            first = access.load_facts(session, case, professional, clock.now())
            access.load_facts(session, case, professional, clock.now())
            outside = len(statements)
            with shared_read(session):
                shared = access.load_facts(session, case, professional, clock.now())
                again = access.load_facts(session, case_id, professional, clock.now())
                inside = len(statements) - outside
        finally:
            event.remove(bind, "before_cursor_execute", count)
    assert outside == 2  # without a shared read, each decision reads its facts
    assert inside == 1 and shared == again == first


def test_the_case_file_reads_its_panels_in_the_case_views_transaction(deployed, professional):
    """Each panel opening its own session would check a connection out of the pool again; one read uses one."""
    case_id = deployed.start_case("voorbeeld", "CL-2", professional, team=professional.team)
    bind = deployed.sessions.kw["bind"]
    checkouts = []
    listener = lambda *args: checkouts.append(1)  # noqa: E731

    def present(info, decision):
        with deployed.sessions() as session:  # as a panel reads
            assert session.scalar(select(Case.client_ref).where(Case.id == info.id)) == "CL-2"
        deployed.case_diagram(case_id, professional)
        return deployed.case_access(case_id, professional)

    event.listen(bind, "checkout", listener)
    try:
        decision = deployed.case(case_id, professional, present=present)
    finally:
        event.remove(bind, "checkout", listener)
    assert decision is not None and decision.scope == access.FULL
    assert len(checkouts) == 1
    with deployed.sessions() as session:  # the view is audited, once
        assert session.execute(text("SELECT count(*) FROM audit_event WHERE action = 'case.view'")).scalar() == 1
