"""Two database roles on PostgreSQL: the owner runs the migrations, the app works with what it needs.

The owner (the role in DATABASE_URL when `meldcode db upgrade` runs) creates and owns every table. The app
role (MELDCODE_DB_APP_ROLE; web, worker and beat connect as it) gets, after every upgrade:

- SELECT, INSERT, UPDATE, DELETE on the tables, but on `audit_event` only SELECT and INSERT, on the chain head
  `audit_chain_head` only SELECT and UPDATE (its trigger lets it move forward only), on `alembic_version` only
  SELECT;
- USAGE and SELECT on the sequences, and EXECUTE on `audit_event_prune` (retention's one way to remove
  expired audit events, at least 5 years old).

Not being the owner, the app role can neither TRUNCATE, ALTER (disable triggers) nor DROP any table.
"""
from __future__ import annotations

from typing import cast

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

FULL = ("SELECT", "INSERT", "UPDATE", "DELETE")
LIMITED = {
    "audit_event": ("SELECT", "INSERT"),
    "audit_chain_head": ("SELECT", "UPDATE"),
    "alembic_version": ("SELECT",),
}


def _literal(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a password cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


def grant_app_role(connection: Connection, role: str, password: str | None = None) -> list[str]:
    """Create or update the app role's login (with `password`) and give it exactly its privileges in the
    current schema. Idempotent; returns the tables it covered."""
    if connection.dialect.name != "postgresql":
        return []
    quote = connection.dialect.identifier_preparer.quote
    name = quote(role)
    exists = connection.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        if not password:
            raise RuntimeError(f"database role {role!r} does not exist: create it (LOGIN, no other rights) or set "
                               "MELDCODE_DB_APP_PASSWORD so the upgrade creates it")
        connection.execute(text(f"CREATE ROLE {name} LOGIN PASSWORD {_literal(password)}"))
    elif password:
        connection.execute(text(f"ALTER ROLE {name} LOGIN PASSWORD {_literal(password)}"))
    schema = cast(str, connection.execute(text("SELECT current_schema()")).scalar())
    qschema = quote(schema)
    connection.execute(text(f"GRANT USAGE ON SCHEMA {qschema} TO {name}"))
    tables = inspect(connection).get_table_names(schema=schema)
    for table in tables:
        privileges = LIMITED.get(table, FULL)
        connection.execute(text(f"REVOKE ALL ON {qschema}.{quote(table)} FROM {name}"))
        connection.execute(text(f"GRANT {', '.join(privileges)} ON {qschema}.{quote(table)} TO {name}"))
    connection.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {qschema} TO {name}"))
    prune = connection.execute(text("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                                    "WHERE p.proname = 'audit_event_prune' AND n.nspname = :s"), {"s": schema}).first()
    if prune is not None:
        connection.execute(text(f"GRANT EXECUTE ON FUNCTION {qschema}.audit_event_prune(timestamp) TO {name}"))
    return tables
