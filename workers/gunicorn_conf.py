"""Gunicorn settings for the web service: `gunicorn -c python:workers.gunicorn_conf "web:create_app()"`.

Each gunicorn worker process hooks its case engine up to the timers once the app is loaded: with REDIS_URL
set, new timers go to Celery at their exact due time; without it, the worker runs the embedded sweeper. Then it
freezes its start-up objects for the garbage collector (workers/long_lived.py).
"""
from __future__ import annotations

import os

bind = os.environ.get("MELDCODE_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
accesslog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker):
    from workers.attach import attach_timers
    from workers.long_lived import freeze_startup_objects

    services = worker.wsgi.extensions.get("meldcode")
    if services is not None:
        worker._meldcode_timers = attach_timers(services.cases)
    freeze_startup_objects()  # the app's objects stay out of the collector's full passes


def worker_exit(server, worker):
    handle = getattr(worker, "_meldcode_timers", None)
    if handle is not None:
        handle.stop()
