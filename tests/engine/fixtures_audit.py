"""The audit log made unwritable, to show that a use case writes nothing when its audit event cannot be written
(the event is part of the use case's transaction)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

from engine import audit


@contextmanager
def audit_unavailable() -> Iterator[None]:
    """Every `audit.record` inside the block raises, as a lost audit table or connection would."""
    with mock.patch.object(audit, "record", side_effect=RuntimeError("audit log unavailable")):
        yield
