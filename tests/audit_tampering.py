"""Tampering with the audit log as its owner could (what the security probe did), for the chain tests."""
from sqlalchemy import text


def owner_sql(db, *statements):
    """Run statements as the owner with the append-only triggers out of the way."""
    with db.begin() as conn:
        if db.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
        for statement in statements:
            conn.execute(text(statement))
        if db.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
