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
