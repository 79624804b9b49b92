"""Hook the web process's case engine up to the timers: one call, whatever the deployment.

    from workers.attach import attach_timers
    handle = attach_timers(case_engine)   # in the web run command / app factory
    ...
    if handle: handle.stop()

With REDIS_URL set, new timers are handed to Celery at their exact due time (the worker and beat services
do the rest) and None is returned. Without it, the embedded sweeper thread starts in this process and its
handle is returned.
"""
from __future__ import annotations

from engine.cases import CaseEngine

from .embedded import SweeperHandle, start_sweeper
from .settings import WorkerSettings


def attach_timers(case_engine: CaseEngine, settings: WorkerSettings | None = None,
                  interval: float | None = None) -> SweeperHandle | None:
    settings = settings or WorkerSettings.from_env()
    if settings.redis_url:
        from .celery_app import connect_engine, make_celery

        connect_engine(make_celery(settings), case_engine)
        return None
    return start_sweeper(case_engine, interval, settings=settings)
