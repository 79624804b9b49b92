"""Helpers for tests that check which index a statement is planned on (PostgreSQL `EXPLAIN`, SQLite
`EXPLAIN QUERY PLAN`), on the statement the code really sends."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text


def statements_during(bind, marker: str, call: Callable[[], Any]) -> tuple[Any, list[tuple[str, Any]]]:
    """(what `call()` returned, each statement containing `marker` it sent, with its parameters)."""
    sent: list[tuple[str, Any]] = []

    def seen(conn, cursor, statement, parameters, *args):
        if marker in statement:
            sent.append((statement, parameters))

    event.listen(bind, "before_cursor_execute", seen)
    try:
        return call(), sent
    finally:
        event.remove(bind, "before_cursor_execute", seen)


def plan(bind, statement: str, parameters: Any) -> str:
    explain = "EXPLAIN QUERY PLAN " if bind.dialect.name == "sqlite" else "EXPLAIN "
    with bind.connect() as conn:
        return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(explain + statement, parameters))


def analyze(session, *tables: str) -> None:
    """Fresh statistics for these tables only: on PostgreSQL a bare ANALYZE takes every schema of the database,
    the other test workers' too (and can deadlock with them)."""
    for table in tables:
        session.execute(text(f"ANALYZE {table}"))


def copy_case(session, client_ref: str, copies: int, changed: dict[str, str]) -> None:
    """`copies` rows of `cases` like the case `client_ref`, in one statement (PostgreSQL), with the columns in
    `changed` set by SQL expressions of `g`, the copy's number (1..copies): many cases for a plan to choose by."""
    from engine.models import Case

    columns = [c.name for c in Case.__table__.columns if c.name != "id"]
    session.execute(text(f"INSERT INTO cases ({', '.join(columns)}) SELECT "
                         + ", ".join(changed.get(c, c) for c in columns)
                         + f" FROM cases, generate_series(1, {int(copies)}) AS g WHERE client_ref = :ref"),
                    {"ref": client_ref})
