"""A server process's start-up objects are left out of the garbage collector's full passes.

A full pass (the oldest generation) walks every object the collector tracks. After `create_app` a web process
holds about 180,000 of them — modules, functions, the app, SQLAlchemy's mappings — that live as long as the
process, and a full pass over them took 100 ms here, added to whichever request happened to trigger it
(docs/performance.md, "Pauses of the garbage collector"). `gc.freeze()` moves them to a generation no pass
visits; objects made while serving are collected as before.
"""
from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect what start-up left as garbage, then freeze the rest. Call once, when the process is about to
    serve (after a fork: frozen objects are not written to by the collector, so forked pages stay shared).
    Returns how many objects are frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
