"""The administrators' own monitoring: liveness, readiness and Prometheus metrics.

    /healthz   the process answers (no dependencies)
    /readyz    the database answers, and Redis when REDIS_URL is configured (503 otherwise)
    /metrics   cases by status, overdue tasks, timer lag, parked timers, request latency (prometheus_client)

Metrics hold counts and durations only, never client data; restrict /metrics to the monitoring network at the
proxy all the same, or set MELDCODE_METRICS_TOKEN so that a scrape needs `Authorization: Bearer <token>`.
"""
from __future__ import annotations

import hmac
import os
import time

from flask import Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import text

from engine import clock, lookups

from ..services import services
from . import bp

METRICS = "meldcode_metrics"


class CaseCollector:
    """Read at scrape time from the database (one small query each, all on indexed columns)."""

    def __init__(self, app):
        self.app = app

    def describe(self):
        return []  # no database query when the registry is built (the app may start before its schema)

    def collect(self):
        sessions = self.app.extensions["meldcode"].sessions
        now = clock.now()
        counts = lookups.monitoring_counts(sessions, now)
        cases = GaugeMetricFamily("meldcode_cases", "Process instances by status", labels=["status"])
        for status, count in counts.cases_by_status.items():
            cases.add_metric([status], count)
        yield cases
        yield GaugeMetricFamily("meldcode_overdue_tasks", "Open tasks past their due time", value=counts.overdue_tasks)
        oldest_due = counts.oldest_due_timer
        yield GaugeMetricFamily("meldcode_timer_lag_seconds", "How long the oldest due timer has waited to fire",
                                value=(now - oldest_due).total_seconds() if oldest_due else 0.0)
        yield GaugeMetricFamily("meldcode_parked_timers", "Timers parked after a diagram error (need a retry)",
                                value=counts.parked_timers)


@bp.record_once
def _setup(state):
    app = state.app
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CaseCollector(app))
    latency = Histogram("meldcode_request_seconds", "Request latency", ["method", "endpoint", "status"],
                        registry=registry, buckets=(.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10))
    app.extensions[METRICS] = {"registry": registry, "latency": latency}


@bp.before_app_request
def _start_timer():
    g.meldcode_started = time.perf_counter()


@bp.after_app_request
def _observe(response):
    started = g.pop("meldcode_started", None)
    metrics = current_app.extensions.get(METRICS)
    if started is not None and metrics and request.endpoint != "admin.metrics":
        metrics["latency"].labels(request.method, request.endpoint or "unknown",
                                  str(response.status_code)).observe(time.perf_counter() - started)
    return response


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks, ready = {}, True
    try:
        with services().db.connect() as connection:
            connection.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"], ready = f"error: {exc.__class__.__name__}", False
    redis_url = current_app.config.get("REDIS_URL", os.environ.get("REDIS_URL"))
    if redis_url:
        try:
            import redis

            redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2).ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"], ready = f"error: {exc.__class__.__name__}", False
    return jsonify(status="ok" if ready else "not ready", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    token = current_app.config.get("METRICS_TOKEN", os.environ.get("MELDCODE_METRICS_TOKEN"))
    if token and not hmac.compare_digest(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return Response("metrics need the bearer token (MELDCODE_METRICS_TOKEN)\n", 401, mimetype="text/plain",
                        headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response(generate_latest(current_app.extensions[METRICS]["registry"]), mimetype=CONTENT_TYPE_LATEST)
