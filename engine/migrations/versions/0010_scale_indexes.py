"""indexes for a million cases (issue 14): the inbox, case lists, client-reference search, the beheerder's
instance list and the audit search

Each index is named here once; `create_indexes`/`drop_indexes` are also used by bench/queries.py to measure
every read with and without them in the same run. Those marked PostgreSQL-only are created only there (an
expression or trigram index SQLite does not have; SQLite keeps working with the plain indexes).

Revision ID: 0010
Revises: 0009
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# (name, table, what follows ON <table>, PostgreSQL only)
INDEXES: list[tuple[str, str, str, bool]] = [
    # A team's open cases (the inbox's cases: running or suspended), and a team's cases by status, newest first
    ("ix_cases_team_status_id", "cases", "(team, status, id)", False),
    # A team's cases newest first, any status (the beheerder's instance list with a team filter)
    ("ix_cases_team_id", "cases", "(team, id)", False),
    # Search by part of a client reference (ILIKE '%...%'): trigrams (extension pg_trgm)
    ("ix_cases_client_ref_trgm", "cases", "USING gin (client_ref gin_trgm_ops)", True),
    # Audit search by user, newest first
    ("ix_audit_event_actor_id", "audit_event", "(actor, id)", False),
    # Audit search by client: lists name their clients in details.client_refs (engine/audit_search.py)
    ("ix_audit_event_listed_clients", "audit_event",
     "USING gin ((CAST(details AS jsonb) -> 'client_refs')) WHERE client_ref IS NULL", True),
]


_TRGM_SCHEMA = text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                    "WHERE e.extname = 'pg_trgm'")


def trigram_schema(conn) -> str:
    """The schema of the extension pg_trgm, created in `public` when missing (not in the app's own schema: an
    extension belongs to the database, and dropping a schema would drop it for every other schema)."""
    found = conn.execute(_TRGM_SCHEMA).scalar()
    if found:
        return found
    target = conn.execute(text("SELECT coalesce((SELECT nspname FROM pg_namespace WHERE nspname = 'public'), "
                               "current_schema())")).scalar()
    try:
        with conn.begin_nested():  # two migrations at once: the loser finds the winner's
            conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA "{target}"'))
    except Exception:  # noqa: BLE001 - only the race is expected here; then the extension exists
        pass
    found = conn.execute(_TRGM_SCHEMA).scalar()
    if not found:
        raise RuntimeError("the PostgreSQL extension pg_trgm could not be created (CREATE privilege on the database)")
    return found


def create_indexes(conn) -> None:
    postgres = conn.dialect.name == "postgresql"
    trgm = trigram_schema(conn) if postgres else ""
    for name, table, definition, pg_only in INDEXES:
        if pg_only and not postgres:
            continue
        definition = definition.replace("gin_trgm_ops", f'"{trgm}".gin_trgm_ops')
        conn.execute(text(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}"))


def drop_indexes(conn) -> None:
    for name, _table, _columns, _pg_only in INDEXES:
        conn.execute(text(f"DROP INDEX IF EXISTS {name}"))


def upgrade():
    create_indexes(op.get_bind())


def downgrade():
    drop_indexes(op.get_bind())
