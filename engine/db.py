"""Database engine, sessions and schema migrations."""
from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
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


def make_sessionmaker(engine: Engine) -> Sessions:
    return Sessions(engine, class_=_Session, expire_on_commit=False)


# One read made of several use cases (a case file and its panels: history, handovers, corrections, notes, ...)
# shares the session of the read that encloses them: one transaction, so one consistent snapshot, each row read
# once (the identity map), and no BEGIN and ROLLBACK round trips per panel.
_SHARED: ContextVar[Session | None] = ContextVar("meldcode_shared_session", default=None)
SHARED_READ = "meldcode.shared_read"  # in session.info while the session is shared (engine/access.py memoizes)


@contextlib.contextmanager
def shared_read(session: Session) -> Iterator[None]:
    """Inside, every session made by a `Sessions` of the same database is `session` (within this thread or
    task). Only for reads: a use case inside writes into the enclosing transaction and commits with it."""
    token = _SHARED.set(session)
    session.info[SHARED_READ] = {}
    try:
        yield
    finally:
        _SHARED.reset(token)
        session.info.pop(SHARED_READ, None)


class Sessions(sessionmaker[Session]):
    """A sessionmaker that hands out the shared session of an enclosing `shared_read`."""

    def _shared(self) -> Session | None:
        shared = _SHARED.get()
        return shared if shared is not None and shared.get_bind() is self.kw.get("bind") else None

    def __call__(self, **local_kw: Any) -> Session:
        shared = self._shared()
        if shared is None or local_kw:
            return super().__call__(**local_kw)
        shared.info[_BORROWED] = shared.info.get(_BORROWED, 0) + 1
        return shared

    def begin(self) -> contextlib.AbstractContextManager[Session]:
        shared = self._shared()
        return super().begin() if shared is None else contextlib.nullcontext(shared)

    @contextlib.contextmanager
    def reads(self) -> Iterator[Session]:
        """A session for a read that needs no transaction of its own (a sign-in, an access check): on PostgreSQL
        its connection is in autocommit, so the read costs its statements and not also a BEGIN and a COMMIT or
        ROLLBACK round trip. Each statement sees what was committed when it began, as it would in the engine's
        READ COMMITTED transactions. As with a plain session, what is not committed is discarded at the end; a
        deliberate write (a touch of a last-used time) calls `session.commit()` and, on PostgreSQL, is committed
        statement by statement, so only single-statement writes belong here. Inside a `shared_read` it is the
        shared session."""
        shared = self._shared()
        if shared is not None:
            yield shared
            return
        with super().__call__(bind=self._reads_bind()) as session:
            yield session

    @contextlib.contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """`reads` without the ORM: a Core connection, for the statement every request runs (its sign-in), where
        a Session and its entities cost more than the statement. A deliberate single-statement write calls
        `commit()`. Inside a `shared_read` it is the shared session's connection."""
        shared = self._shared()
        if shared is not None:
            yield shared.connection()
            return
        with self._reads_bind().connect() as connection:
            yield connection

    def _reads_bind(self) -> Engine:
        bind = self.kw["bind"]
        if bind.dialect.name != "postgresql":  # SQLite's BEGIN is no round trip; its locking stays as it is
            return bind  # type: ignore[no-any-return]
        cached: Engine | None = getattr(self, "_autocommit_bind", None)
        if cached is None or cached.pool is not bind.pool:  # made anew if the sessionmaker was rebound
            # Shares the pool; SQLAlchemy sets autocommit on checkout and resets it on return (both client-side).
            cached = self._autocommit_bind = bind.execution_options(isolation_level="AUTOCOMMIT")
        return cached


_BORROWED = "meldcode.borrowed"


class _Session(Session):
    def __exit__(self, type_: Any, value: Any, traceback: Any) -> None:
        borrowed = self.info.get(_BORROWED, 0)
        if borrowed:  # a use case inside a shared read is done with it; the enclosing read closes it
            self.info[_BORROWED] = borrowed - 1
            return
        super().__exit__(type_, value, traceback)


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
