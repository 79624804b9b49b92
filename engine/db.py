"""Database engine, sessions and schema migrations."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


# A pooled PostgreSQL connection is pinged before use only when it sat idle this long: one used moments ago is
# alive unless the server went away in between (then that use case fails once with a disconnect and the pool
# starts afresh), and a transaction saves a round trip. pool_recycle keeps connections younger than any idle
# timeout of a firewall or pooler on the way.
PING_AFTER_IDLE_SECONDS = 5.0
RECYCLE_SECONDS = 1800


def make_engine(url: str, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_recycle", RECYCLE_SECONDS)
    engine = create_engine(url, **kwargs)
    dialect = engine.dialect

    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get(_RETURNED_AT)  # absent: connected just now
        if returned is None or time.monotonic() - returned < ping_after_idle:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"pooled connection lost: {exc}") from exc  # the pool connects anew

    event.listen(engine, "checkout", ping_if_idle)
    event.listen(engine, "checkin", _note_return)
    return engine


_RETURNED_AT = "meldcode.returned_at"


def _note_return(_dbapi_connection: Any, record: Any) -> None:
    record.info[_RETURNED_AT] = time.monotonic()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The audit chain's link hash is computed in its UPDATE of the head (engine/audit_chain.py advance_head)
    dbapi_connection.create_function("sha256_hex", 1, _sha256_hex, deterministic=True)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(engine_or_url: Engine | str, revision: str = "head", *, app_role: str | None = None,
            app_password: str | None = None) -> None:
    """Create or upgrade the schema to `revision` (the only way the schema is made outside tests).

    With `app_role` (PostgreSQL), that role then gets exactly the app's privileges (engine/db_roles.py)."""
    if isinstance(engine_or_url, str):
        engine = make_engine(engine_or_url)  # also creates the SQLite file's folder
        try:
            upgrade(engine, revision, app_role=app_role, app_password=app_password)
        finally:
            engine.dispose()
        return
    config = alembic_config(engine_or_url.url.render_as_string(hide_password=False))
    with engine_or_url.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
        if app_role:
            from .db_roles import grant_app_role

            grant_app_role(connection, app_role, app_password)
