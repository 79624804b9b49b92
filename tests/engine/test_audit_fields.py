"""NEN 7513 fields of an audit event: who (name, roles), on whose behalf, access point and authorisation basis,
taken from the audit context the surroundings set (web request, worker, CLI)."""
from __future__ import annotations

from sqlalchemy import select

from engine import audit, audit_chain
from engine.db import make_sessionmaker
from engine.models import AuditEvent


def write(db, actor="anna", **kwargs) -> AuditEvent:
    with make_sessionmaker(db).begin() as session:
        return audit.record(session, actor, "case.view", case_id=1, client_ref="CL-1", **kwargs)


def test_the_context_gives_access_point_and_identity(db):
    identity = audit.Identity("anna", "Anna de Vries", ("aandachtsfunctionaris",), "noord")
    with audit.context(channel="web", client_address="10.1.2.3", user_agent="Firefox/128", identity=lambda: identity):
        event = write(db)
        other = write(db, actor="system")  # e.g. a timer fired during the request: not Anna
        with audit.context(on_behalf_of="piet"):
            behalf = write(db)
    after = write(db)
    assert (event.channel, event.client_address, event.user_agent) == ("web", "10.1.2.3", "Firefox/128")
    assert (event.actor_name, event.actor_roles) == ("Anna de Vries", "aandachtsfunctionaris")
    assert event.basis == "role" and event.basis_detail == "rollen: aandachtsfunctionaris; team: noord"
    assert other.actor_name is None and other.basis == "system" and other.channel == "web"
    assert behalf.on_behalf_of == "piet" and event.on_behalf_of is None
    assert after.channel == "cli" and after.client_address is None  # the block ended
    with make_sessionmaker(db)() as session:
        stored = session.get(AuditEvent, event.id)
        assert stored.actor_roles == "aandachtsfunctionaris" and audit_chain.verify(session).ok


def test_a_decision_s_basis_is_kept_in_its_own_words(db):
    glass = write(db, basis="break-the-glass #7: collega met verlof, spoed")
    role = write(db, basis="role professional in team noord")
    explicit = write(db, basis="break-the-glass", basis_detail="noodgeval")
    assert (glass.basis, glass.basis_detail) == ("break-the-glass", "break-the-glass #7: collega met verlof, spoed")
    assert (role.basis, role.basis_detail) == ("role", "role professional in team noord")
    assert (explicit.basis, explicit.basis_detail) == ("break-the-glass", "noodgeval")


def test_values_are_stored_as_hashed(db):
    """What is hashed is what the database gives back: details through JSON, ids as integers, long text cut."""
    with make_sessionmaker(db).begin() as session:
        event = audit.record(session, "anna", "case.view", case_id="12", details_tuple=(1, 2), when=None)
    with audit.context(user_agent="x" * 1000):
        long = write(db)
    with make_sessionmaker(db)() as session:
        stored = session.scalars(select(AuditEvent).where(AuditEvent.id == event.id)).one()
        assert stored.case_id == 12 and stored.details == {"details_tuple": [1, 2], "when": None}
        assert len(session.get(AuditEvent, long.id).user_agent) == 300
        assert audit_chain.verify(session).ok
