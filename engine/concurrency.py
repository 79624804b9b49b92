"""Two writers on one case: how a lost race shows itself, and the one error it becomes for the loser."""
from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .errors import ConflictError

# Catch these, then ask `is_lost_race`: an OperationalError that is not a lock is a real failure.
RACE_ERRORS = (StaleDataError, OperationalError)


def is_lost_race(exc: BaseException) -> bool:
    """The optimistic lock's StaleDataError (row_version moved on), or SQLite's "database is locked"."""
    return isinstance(exc, StaleDataError) or (isinstance(exc, OperationalError) and "locked" in str(exc).lower())


def conflict() -> ConflictError:
    return ConflictError("the case was changed by someone else at the same time; nothing was saved — "
                         "reload the case and try again")


@contextlib.contextmanager
def lost_race_as_conflict() -> Iterator[None]:
    """Around a transaction (outside its `begin()`, so that the commit is inside): a lost race becomes
    `conflict()`; any other database error passes on as it is."""
    try:
        yield
    except RACE_ERRORS as exc:
        if not is_lost_race(exc):
            raise
        raise conflict() from None
