"""Pooled PostgreSQL connections (engine/db.py): pinged before use only after sitting idle, so a lost connection
that sat idle is replaced without the use case noticing, and one used moments ago costs no round trip."""
from __future__ import annotations

import time

import pytest
from psycopg.pq import TransactionStatus
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from engine.db import make_engine
from tests.conftest import TEST_DIAGRAMS

IDLE = TransactionStatus.IDLE

pytestmark = pytest.mark.backends("postgres")


def _terminate_pooled_backend(db, postgres_admin):
    with db.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    with postgres_admin.connect() as admin:
        admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.2)  # the server closes the socket


def test_an_idle_connection_that_was_lost_is_replaced_before_use(database_url, postgres_admin):
    db = make_engine(database_url, ping_after_idle=0.1)
    try:
        _terminate_pooled_backend(db, postgres_admin)
        with db.connect() as conn:  # the ping finds it gone; the pool connects anew
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    finally:
        db.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(database_url, postgres_admin):
    """Had it been pinged, the lost connection would have been replaced as above; instead its first use fails
    once (the price of the saved round trip), and the pool then starts afresh."""
    db = make_engine(database_url, ping_after_idle=3600)
    try:
        _terminate_pooled_backend(db, postgres_admin)
        with pytest.raises(OperationalError), db.connect() as conn:
            conn.execute(text("SELECT 1"))
        with db.connect() as conn:
            assert conn.execute(text("SELECT 2")).scalar_one() == 2
    finally:
        db.dispose()


@pytest.mark.backends("sqlite", "postgres")
def test_a_read_session_keeps_only_what_it_commits_and_leaves_no_transaction_open(case_engine):
    """`Sessions.reads` (a sign-in, an access check): on PostgreSQL its statements run outside a transaction, so
    they cost no BEGIN and COMMIT; what it does not commit is discarded, as with a plain session; what it
    commits is kept; and the connection goes back to the pool in autocommit for none of the other use cases."""
    from engine.models import ProcessVersion

    case_engine.deploy_directory(TEST_DIAGRAMS, "tester")
    sessions = case_engine.sessions
    postgres = sessions.kw["bind"].dialect.name == "postgresql"
    with sessions.reads() as session:
        version = session.scalars(select(ProcessVersion).order_by(ProcessVersion.id)).first()
        if postgres:
            assert session.connection().connection.dbapi_connection.info.transaction_status == IDLE
        version.deployed_by = "discarded"
    with sessions.reads() as session:
        row = session.get(ProcessVersion, version.id)
        assert row.deployed_by == "tester"
        row.deployed_by = "kept"
        session.commit()
    with sessions.begin() as session:
        assert session.get(ProcessVersion, version.id).deployed_by == "kept"


def test_a_connection_a_read_session_used_is_back_in_transactions_for_the_next_use_case(db, database_url):
    from engine.db import make_sessionmaker

    one = make_engine(database_url, pool_size=1, max_overflow=0)  # so the next use case gets the same connection
    try:
        sessions = make_sessionmaker(one)
        with sessions.reads() as session:
            session.execute(text("SELECT 1"))
            used = session.connection().connection.dbapi_connection
            assert used.info.transaction_status == IDLE
        with sessions.begin() as session:
            session.execute(text("SELECT 1"))
            assert session.connection().connection.dbapi_connection is used
            assert used.info.transaction_status != IDLE
    finally:
        one.dispose()
