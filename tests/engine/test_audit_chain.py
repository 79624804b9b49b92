"""The audit trail's hash chain: every tampering the security probe tried is named by `meldcode audit verify`.

The probe worked as the owner role that ran the migrations (here: the test's superuser, which owns the
tables): UPDATE with the append-only trigger disabled, DELETE, TRUNCATE and reordering rows. On SQLite, which
has no roles, the same changes are made by dropping the triggers.
"""
from __future__ import annotations

import threading

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from engine import audit, audit_chain
from engine.cli import main
from engine.db import make_engine, make_sessionmaker
from engine.models import AuditChainHead, AuditEvent
from tests.audit_tampering import owner_sql


def write_events(db, n: int, start: int = 0) -> list[int]:
    sessions = make_sessionmaker(db)
    ids = []
    for i in range(start, start + n):
        with sessions.begin() as session:
            event = audit.record(session, f"user{i % 3}", "case.view", case_id=i, client_ref=f"CL-{i}", step=i,
                                 note="één")
            ids.append(event.id)
    return ids


def run_verify(database_url, *args):
    return CliRunner().invoke(main, ["audit", "verify", *args], env={"DATABASE_URL": database_url})


def test_events_form_a_chain_that_verifies(db, database_url):
    ids = write_events(db, 5)
    with make_sessionmaker(db)() as session:
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        head = session.get(AuditChainHead, 1)
        result = audit_chain.verify(session)
    assert [e.id for e in events] == ids and [e.seq for e in events] == [1, 2, 3, 4, 5]
    assert events[0].prev_hash == audit_chain.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    assert (head.seq, head.hash) == (5, events[-1].hash)
    assert result.ok and result.checked == 5
    # The documented canonical form, recomputed by hand for one event
    import hashlib
    import json
    e = events[2]
    content = json.dumps({"action": "case.view", "actor": "user2", "actor_name": None, "actor_roles": None,
                          "at": e.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "basis": "role", "basis_detail": None,
                          "case_id": 2, "channel": "cli", "client_address": None, "client_ref": "CL-2",
                          "details": {"note": "één", "step": 2}, "on_behalf_of": None, "outcome": "success",
                          "task_id": None, "user_agent": None}, sort_keys=True, separators=(",", ":"),
                         ensure_ascii=False).encode()
    assert hashlib.sha256(content).hexdigest() == e.content_hash
    assert hashlib.sha256(f"meldcode-audit-v1\n3\n{e.prev_hash}\n{e.content_hash}".encode()).hexdigest() == e.hash
    verified = run_verify(database_url)
    assert verified.exit_code == 0 and "intact: 5 event(s)" in verified.output


def test_the_triggers_still_refuse_changes(db):
    ids = write_events(db, 2)
    for statement in (f"UPDATE audit_event SET actor = 'x' WHERE id = {ids[0]}",
                      f"DELETE FROM audit_event WHERE id = {ids[0]}",
                      "UPDATE audit_chain_head SET seq = 0"):
        with pytest.raises(DBAPIError, match="append-only|only moves forward"):
            with db.begin() as conn:
                conn.execute(text(statement))
    if db.dialect.name == "postgresql":
        with pytest.raises(DBAPIError, match="append-only"):
            with db.begin() as conn:
                conn.execute(text("TRUNCATE audit_event"))


# Tampering by the owner with the triggers out of the way: (statement, what verify must name), with ids[i] the
# i-th written event's id.
TAMPERING = {
    "update": (["UPDATE audit_event SET actor = 'someone-else' WHERE id = {ids[2]}"], "changed: event #{ids[2]} (seq 3)"),
    "delete": (["DELETE FROM audit_event WHERE id = {ids[1]}"],
               "removed: event #{ids[2]} (seq 3): events with seq 2..2 are missing"),
    "delete the newest": (["DELETE FROM audit_event WHERE id >= {ids[3]}"], "removed: seq 4: the chain ends at seq 3"),
    "swap two events' places (seq)": (["UPDATE audit_event SET seq = -seq WHERE id IN ({ids[1]}, {ids[2]})",
                                       "UPDATE audit_event SET seq = 3 WHERE id = {ids[1]}",
                                       "UPDATE audit_event SET seq = 2 WHERE id = {ids[2]}"],
                                      "reordered: event #{ids[2]} (seq 2)"),
    "swap two events' ids": (["UPDATE audit_event SET id = -id WHERE id IN ({ids[1]}, {ids[2]})",
                              "UPDATE audit_event SET id = {ids[2]} WHERE id = -{ids[1]}",
                              "UPDATE audit_event SET id = {ids[1]} WHERE id = -{ids[2]}"],
                             "reordered: event #{ids[1]} (seq 3)"),
}


@pytest.mark.parametrize("kind", TAMPERING)
def test_tampering_is_named(db, database_url, kind):
    ids = write_events(db, 5)
    statements, named = TAMPERING[kind]
    owner_sql(db, *(statement.format(ids=ids) for statement in statements))
    result = run_verify(database_url)
    assert result.exit_code == 1
    assert named.format(ids=ids) in result.output


def test_rewriting_the_hashes_too_is_named_at_the_next_event(db, database_url):
    """A careful attacker recomputes the changed event's own hashes; the next event still points at the old one."""
    ids = write_events(db, 4)
    with make_sessionmaker(db)() as session:
        event = session.get(AuditEvent, ids[1])
        event.client_ref = "CL-other"
        audit_chain.seal(event, event.seq, event.prev_hash)
        digest, content = event.hash, event.content_hash
        session.expunge_all()
    owner_sql(db, f"UPDATE audit_event SET client_ref = 'CL-other', hash = '{digest}', content_hash = '{content}' "
                  f"WHERE id = {ids[1]}")
    result = run_verify(database_url)
    assert result.exit_code == 1 and f"reordered: event #{ids[2]} (seq 3)" in result.output


def test_truncate_is_named(db, database_url):
    write_events(db, 3)
    owner_sql(db, "TRUNCATE audit_event" if db.dialect.name == "postgresql" else "DELETE FROM audit_event")
    result = run_verify(database_url)
    assert result.exit_code == 1 and "truncated: seq 1: no events remain, but the chain head records 3" in result.output
    # and the app writing on after the truncation does not hide it
    later = write_events(db, 1, start=10)
    result = run_verify(database_url)
    assert result.exit_code == 1 and f"removed: event #{later[0]} (seq 4): events with seq 1..3 are missing" \
        in result.output


def test_an_event_inserted_outside_the_chain_is_named(db, database_url):
    write_events(db, 2)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO audit_event (id, at, actor, action, outcome, details) "
                          "VALUES (999, '2026-01-01 00:00:00', 'x', 'case.view', 'success', '{}')"))
    result = run_verify(database_url)
    assert result.exit_code == 1 and "changed: event #999 (seq None)" in result.output


def test_a_rewritten_chain_is_caught_by_a_head_kept_outside(db, database_url):
    write_events(db, 3)
    head = CliRunner().invoke(main, ["audit", "head"], env={"DATABASE_URL": database_url})
    import json
    kept = json.loads(head.output)["expect_head"]
    assert run_verify(database_url, "--expect-head", kept).exit_code == 0
    # The owner rebuilds the whole table and head consistently: only the kept head shows it.
    owner_sql(db, "DELETE FROM audit_event")
    with db.begin() as conn:
        if db.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_chain_head DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_chain_head_forward"))
        conn.execute(text(f"UPDATE audit_chain_head SET seq = 0, hash = '{audit_chain.GENESIS}'"))
    write_events(db, 3, start=20)
    assert run_verify(database_url).exit_code == 0
    result = run_verify(database_url, "--expect-head", kept)
    assert result.exit_code == 1 and "no longer in the chain" in result.output


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_concurrent_writers_form_one_linear_chain(db):
    """Eight threads, each appending in its own transactions with other writes in them: one chain, no gaps."""
    sessions = make_sessionmaker(db)
    barrier = threading.Barrier(8)
    errors = []

    def writer(n):
        try:
            barrier.wait()
            for i in range(15):
                with sessions.begin() as session:
                    session.execute(text("SELECT 1"))
                    audit.record(session, f"w{n}", "task.complete", step=i)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    with sessions() as session:
        result = audit_chain.verify(session)
        seqs = list(session.scalars(select(AuditEvent.seq).order_by(AuditEvent.id)))
    assert result.ok and result.checked == 120
    assert seqs == list(range(1, 121))


def test_a_rolled_back_transaction_leaves_no_gap(db):
    sessions = make_sessionmaker(db)
    write_events(db, 1)
    with pytest.raises(RuntimeError):
        with sessions.begin() as session:
            audit.record(session, "x", "case.view")
            raise RuntimeError("the use case failed after auditing")
    write_events(db, 1, start=5)
    with sessions() as session:
        assert audit_chain.verify(session).ok
        assert session.get(AuditChainHead, 1).seq == 2


def test_events_before_the_chain_are_chained_by_the_migration(database_url):
    """Events written under revision 0006 get their seq and hashes in id order when 0007 runs."""
    from alembic import command

    from engine.db import alembic_config, upgrade

    engine = make_engine(database_url)
    try:
        upgrade(engine, "0006" if _has_0006() else "0005")
        with engine.begin() as conn:
            for i in range(3):
                conn.execute(text("INSERT INTO audit_event (at, actor, action, outcome, case_id, details) VALUES "
                                  f"('2026-01-0{i + 1} 10:00:00.250000', 'anna', 'case.view', 'success', {i}, "
                                  "'{\"k\": [1, 2]}')"))
        command.upgrade(alembic_config(database_url), "head")
        with make_sessionmaker(engine)() as session:
            result = audit_chain.verify(session)
            assert result.ok and result.checked == 3
        write_events(engine, 2)
        with make_sessionmaker(engine)() as session:
            assert audit_chain.verify(session).checked == 5
        command.downgrade(alembic_config(database_url), "0005")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 5
    finally:
        engine.dispose()


def _has_0006() -> bool:
    from engine.db import MIGRATIONS

    return any(p.name.startswith("0006") for p in (MIGRATIONS / "versions").iterdir())
