"""`meldcode worker ...` commands."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from workers.cli import worker_commands

from .conftest import fired_count, postgres_only, start_waiting_cases, wait_for


def test_sweep_once_fires_what_is_due_and_reports_it(wacht, database_url):
    past = datetime.now(UTC) - timedelta(minutes=1)
    start_waiting_cases(wacht, [past, past, past + timedelta(days=3)], frozen_at=past - timedelta(minutes=1))
    env = {"DATABASE_URL": database_url, "REDIS_URL": "", "SMTP_URL": ""}
    result = CliRunner().invoke(worker_commands, ["sweep-once"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["timers_fired"] == 2
    assert fired_count(wacht) == 2
    again = CliRunner().invoke(worker_commands, ["sweep-once"], env=env)
    assert json.loads(again.output)["timers_fired"] == 0


@postgres_only
def test_schedule_timers_queues_exact_time_tasks(wacht, database_url, worker_settings, celery_app, thread_worker):
    soon = datetime.now(UTC) + timedelta(seconds=1)
    [case_id] = start_waiting_cases(wacht, [soon])  # no listener here: nothing queued yet
    env = {"DATABASE_URL": database_url, "REDIS_URL": worker_settings.redis_url,
           "MELDCODE_CELERY_QUEUE": worker_settings.queue}
    result = CliRunner().invoke(worker_commands, ["schedule-timers", "--force"], env=env)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "1 timer task(s) queued"

    wait_for(lambda: fired_count(wacht) == 1, 30, 0.05, "the queued timer task to fire")


def test_schedule_timers_needs_redis(database_url):
    result = CliRunner().invoke(worker_commands, ["schedule-timers"], env={"DATABASE_URL": database_url,
                                                                           "REDIS_URL": ""})
    assert result.exit_code != 0 and "REDIS_URL is not set" in result.output
