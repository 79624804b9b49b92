"""The Celery app, configured from the environment (REDIS_URL, DATABASE_URL, ...).

    celery -A workers.celery_app worker --loglevel=INFO
    celery -A workers.celery_app beat --loglevel=INFO

Beat schedule (intervals from WorkerSettings):
    meldcode.sweep            every MELDCODE_SWEEP_INTERVAL s  fire due timers, create due reminders/escalations
    meldcode.deliver_mail     every MELDCODE_SWEEP_INTERVAL s  send due e-mails (new ones and retries)
    meldcode.schedule_timers  every MELDCODE_ETA_HORIZON/4 s   exact-time tasks for timers coming within the horizon
Each worker also queues `meldcode.schedule_timers(force=True)` whenever its consumer (re)connects to Redis:
messages lost with a Redis restart or a killed worker come back.
"""
from __future__ import annotations

import logging
import os
import warnings

# redis-py 8 deprecates SETEX, which Celery's Redis code still calls.
warnings.filterwarnings("ignore", message=r"Call to deprecated setex\.", category=DeprecationWarning)

from celery import Celery, bootsteps  # noqa: E402

from .context import WorkerContext, build_context  # noqa: E402
from .scheduling import EtaLedger, eta_listener  # noqa: E402
from .settings import WorkerSettings  # noqa: E402
from .task_names import (  # noqa: E402, F401  (FIRE_*: re-exported for callers that import them from here)
    AUDIT_CHECK,
    DELIVER_MAIL,
    FIRE_CASE_TIMERS,
    FIRE_DUE_TIMERS,
    RETENTION,
    SCHEDULE_TIMERS,
    SWEEP,
)

DEFAULT_BROKER = "redis://127.0.0.1:6379/0"


def beat_schedule(settings: WorkerSettings) -> dict:
    every = settings.sweep_interval
    return {
        "sweep": {"task": SWEEP, "schedule": every, "options": {"queue": settings.queue, "expires": 2 * every}},
        "deliver-mail": {"task": DELIVER_MAIL, "schedule": every,
                         "options": {"queue": settings.queue, "expires": 2 * every}},
        "schedule-timers": {"task": SCHEDULE_TIMERS, "schedule": settings.eta_horizon / 4,
                            "options": {"queue": settings.queue, "expires": settings.eta_horizon / 4}},
        # the daily retention report (and destruction with MELDCODE_RETENTION_APPLY=1)
        "retention": {"task": RETENTION, "schedule": 24 * 3600.0, "options": {"queue": settings.queue,
                                                                             "expires": 3600}},
        # the audit chain verified, and its head logged (an anchor outside the database)
        "audit-check": {"task": AUDIT_CHECK, "schedule": 24 * 3600.0, "options": {"queue": settings.queue,
                                                                                 "expires": 3600}},
    }


def make_celery(settings: WorkerSettings | None = None) -> Celery:
    """A Celery app for `settings` (default: from the environment). Tests make their own."""
    settings = settings or WorkerSettings.from_env()
    broker = settings.redis_url or DEFAULT_BROKER
    app = Celery("meldcode", broker=broker, include=["workers.tasks"], set_as_current=False)
    # ETA messages wait at most the horizon; Redis must not hand them to another worker before that.
    visibility = int(2 * settings.eta_horizon + 600)
    app.conf.update(
        task_default_queue=settings.queue,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        enable_utc=True,
        timezone="UTC",
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        # Only acks_late tasks are affected (we have none); this is Celery 6's default and silences its warning.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        broker_transport_options={"visibility_timeout": visibility, "socket_timeout": 10,
                                  "socket_connect_timeout": 3},
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(settings),
    )
    if broker.startswith("redis://"):  # (rediss:// keeps kombu's own transport and its TLS handling)
        app.conf.broker_transport = "workers.redis_transport:Transport"
    app.steps["consumer"].add(RescheduleTimersOnConnect)
    app.meldcode_settings = settings
    return app


def context_of(app: Celery) -> WorkerContext:
    """The app's sweep context in this process (built on first use; rebuilt in a forked pool process)."""
    held = getattr(app, "_meldcode_context", None)
    if held is not None and held[0] == os.getpid():
        return held[1]
    settings: WorkerSettings = app.meldcode_settings
    ctx = build_context(settings)
    # Timers created while firing others get their exact-time task too.
    ctx.cases.timer_listeners.append(eta_listener(app, settings, ledger_of(app)))
    app._meldcode_context = (os.getpid(), ctx)
    return ctx


def ledger_of(app: Celery) -> EtaLedger | None:
    settings: WorkerSettings = app.meldcode_settings
    held = getattr(app, "_meldcode_ledger", None)
    if held is not None and held[0] == os.getpid():
        return held[1]
    ledger = EtaLedger(settings.redis_url or DEFAULT_BROKER, settings.queue, settings.eta_horizon)
    app._meldcode_ledger = (os.getpid(), ledger)
    return ledger


def connect_engine(app: Celery, case_engine) -> None:
    """Hand the new timers of `case_engine` (e.g. the web app's) to Celery at their exact due time."""
    case_engine.timer_listeners.append(eta_listener(app, app.meldcode_settings, ledger_of(app)))


class RescheduleTimersOnConnect(bootsteps.StartStopStep):
    """Each time the worker's consumer starts (worker start, reconnect after Redis was away) it re-queues the
    exact-time tasks of upcoming timers: Redis or the dead connection may have lost them."""

    requires = {"celery.worker.consumer.tasks:Tasks"}

    def start(self, c):
        settings = c.app.meldcode_settings
        try:
            c.app.send_task(SCHEDULE_TIMERS, kwargs={"force": True}, queue=settings.queue)
        except Exception:  # noqa: BLE001 - the sweep still fires everything; never stop the consumer for this
            logging.getLogger(__name__).exception("could not queue the re-scheduling of timers")


app = make_celery()
