"""The garbage collector's full passes (its oldest generation) while a bench runs: how many, and how long each."""
from __future__ import annotations

import gc
import time
from typing import Any


class FullPasses:
    """`with FullPasses() as passes:` collects the pause of every full pass inside, in ms (`passes.pauses`)."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _watch(self, phase: str, info: dict[str, Any]) -> None:
        if info["generation"] != 2:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((time.perf_counter() - self._started) * 1000)

    def __enter__(self) -> FullPasses:
        gc.callbacks.append(self._watch)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._watch)
