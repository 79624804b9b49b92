"""Lists read the columns they show: an inbox or case list of a team must not fetch every case's state blob and
variables, nor the forms of its process version (issue 14: at 100,000 cases that was most of a list's time)."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event

from engine import clock

from .test_timers import START


@contextmanager
def statements(engine):
    seen: list[str] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    bind = engine.sessions.kw["bind"]
    event.listen(bind, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(bind, "before_cursor_execute", keep)


def test_the_inbox_and_the_case_list_leave_the_state_variables_and_forms_unread(deployed, professional):
    with clock.frozen_at(START):
        case_id = deployed.start_case("voorbeeld", "CL-COLS1", professional)
    with statements(deployed) as seen:
        tasks = deployed.open_tasks(actor=professional)
        cases = deployed.list_cases(actor=professional)
    assert [t.case_id for t in tasks] == [case_id] and tasks[0].client_ref == "CL-COLS1"
    assert tasks[0].case_status == "running"
    assert [(c.id, c.process_id, c.client_ref, c.status) for c in cases] == [(case_id, "voorbeeld", "CL-COLS1",
                                                                             "running")]
    read = [s for s in seen if s.upper().startswith("SELECT") and "FROM access_grant" not in s]
    assert len(read) == 2, seen  # besides the look-up of break-the-glass grants: one statement per list
    for column in ("cases.state", "cases.variables", "process_version.forms", "process_version.spec"):
        assert not any(column in s for s in read), (column, read)


def test_a_task_list_built_once_per_shape_still_lists_each_actor_its_own_tasks(deployed, professional):
    """The task list's statement is built once per shape of the actor's access filter (engine/reading.py); the
    team, lanes and break-the-glass grants are its parameters, so one actor's list never shows another's."""
    from engine import glass
    from engine.cases import Actor
    from engine.reading import _open_task_queries

    zuid = Actor("zoe", frozenset({"professional"}), team="wijkteam-zuid")
    with clock.frozen_at(START):
        noord_case = deployed.start_case("voorbeeld", "CL-NOORD", professional)
        zuid_case = deployed.start_case("voorbeeld", "CL-ZUID", zuid)
    assert [t.client_ref for t in deployed.open_tasks(actor=professional)] == ["CL-NOORD"]
    shapes = len(_open_task_queries)
    assert [t.client_ref for t in deployed.open_tasks(actor=zuid)] == ["CL-ZUID"]
    assert len(_open_task_queries) == shapes  # the same statement, with zoe's team
    glass.request_access(deployed.sessions, zuid, noord_case, "Spoed: de cliënt staat aan mijn balie")
    assert sorted(t.client_ref for t in deployed.open_tasks(actor=zuid)) == ["CL-NOORD", "CL-ZUID"]
    assert [t.client_ref for t in deployed.open_tasks(actor=professional)] == ["CL-NOORD"]
    assert {t.case_id for t in deployed.open_tasks(case_id=zuid_case)} == {zuid_case}


def test_one_transaction_commits_a_list_with_its_audit_event_or_neither(deployed, professional):
    from sqlalchemy import select

    from engine.models import AuditEvent

    def listed() -> list[str]:
        with deployed.sessions() as session:
            return list(session.scalars(select(AuditEvent.action).where(AuditEvent.action == "task.list")))

    with clock.frozen_at(START):
        deployed.start_case("voorbeeld", "CL-TX", professional)
    try:
        with deployed.one_transaction():
            deployed.open_tasks(actor=professional)
            deployed.record_access(professional, "task.list", outcome="success", client_refs=["CL-TX"])
            assert listed() == ["task.list"]  # inside: the same transaction sees its own event
            raise RuntimeError("the page failed after its audit event")
    except RuntimeError:
        pass
    assert listed() == []  # nothing shown, nothing recorded
    with deployed.one_transaction():
        tasks = deployed.open_tasks(actor=professional)
        deployed.record_access(professional, "task.list", outcome="success", client_refs=["CL-TX"])
    assert [t.client_ref for t in tasks] == ["CL-TX"] and listed() == ["task.list"]
