"""A streamed audit export that a client never reads to the end holds no transaction open.

Found in the test runs: the unread response kept a PostgreSQL session "idle in transaction" with a lock on
audit_event, so the schema could not be dropped (and a migration would have waited forever)."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from .conftest import login


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_an_unread_export_leaves_no_transaction_open(app, services, db):
    from engine import audit

    with services.sessions.begin() as session:
        for i in range(1500):  # more than one streamed chunk (64 KB)
            audit.record(session, "piet", "case.view", client_ref="CL-OPEN", case_id=i, note="x" * 150)
    reader = app.test_client()
    login(reader, "logbeheerder")
    unread = reader.get("/auditlog/export.csv?client_ref=CL-OPEN", buffered=False)
    next(iter(unread.response))  # the client reads the first chunk, then stops reading
    with db.connect() as connection:
        connection.execute(text("SET lock_timeout = '2s'"))
        try:
            connection.execute(text("LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE"))
        except OperationalError as exc:  # pragma: no cover - the failure this test exists for
            pytest.fail(f"an unread export still holds a lock on audit_event: {exc.orig}")
        connection.rollback()
    unread.close()
