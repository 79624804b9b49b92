"""A `celery worker` whose sweep fires due timers as before issue 14 (for bench/timers.py's baseline in the same
run): it asked for "the first running case with a due timer, not yet passed" once per case, which re-reads every
due timer each time (quadratic in a backlog). Same arguments as `python -m celery`."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine import clock, timers  # noqa: E402


def legacy_fire_due_timers(store, now=None, *, limit=None) -> int:
    now = now or clock.now()
    fired, passed = 0, set()
    while limit is None or fired < limit:
        case_id, count = timers.fire_one(store, now, None, passed)
        if case_id is None:
            break
        fired += count
    return fired


if __name__ == "__main__":
    timers.fire_due_timers = legacy_fire_due_timers
    from celery.__main__ import main

    sys.argv[0] = "celery"
    sys.exit(main())
