"""Two real sessions racing for one case: both load it, neither writes until both have read it."""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from engine.errors import ConflictError


def race(monkeypatch, cls: type, method: str, attempts: dict[str, Callable[[], Any]]) -> tuple[list[str], list[str]]:
    """Run each attempt in its own thread, holding `cls.method` until every thread has reached it (so all have
    loaded the case). Returns (names that lost with ConflictError, names that succeeded)."""
    all_loaded = threading.Barrier(len(attempts), timeout=20)
    original = getattr(cls, method)

    def after_all_loaded(self, *args, **kwargs):
        all_loaded.wait()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, method, after_all_loaded)
    outcomes: dict[str, Any] = {}

    def attempt(name: str) -> None:
        try:
            outcomes[name] = attempts[name]()
        except Exception as exc:  # noqa: BLE001 - the caller inspects the type
            outcomes[name] = exc

    threads = [threading.Thread(target=attempt, args=(name,)) for name in attempts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    conflicts = [name for name, o in outcomes.items() if isinstance(o, ConflictError)]
    winners = [name for name, o in outcomes.items() if not isinstance(o, Exception)]
    assert len(conflicts) == 1 and len(winners) == 1, outcomes
    return conflicts, winners
