"""Typed settings of the workers (timers, reminders, e-mail), read from the environment once.

| variable | default | meaning |
|---|---|---|
| `REDIS_URL` | unset | Celery broker; unset: the web process sweeps in a background thread instead |
| `SMTP_URL` | unset | `smtp://[user:password@]host[:port][?starttls=1]` or `smtps://...`; unset: in-app notifications only |
| `MELDCODE_MAIL_FROM` | `meldcode@localhost` | sender of the e-mails |
| `MELDCODE_BASE_URL` | `http://127.0.0.1:5000` | where the links in e-mails point |
| `MELDCODE_SWEEP_INTERVAL` | `5` | seconds between sweeps (Celery beat and the embedded thread) |
| `MELDCODE_REMINDER_BEFORE_WORKDAYS` | `1` | remind this many working days before a due time (0: not) |
| `MELDCODE_ESCALATION_WORKDAYS` | `1` | overdue this many working days: aandachtsfunctionaris; twice as many: leidinggevende (0: never) |
| `MELDCODE_MAIL_MAX_ATTEMPTS` | `6` | e-mail attempts before a notification's mail is marked failed |
| `MELDCODE_MAIL_RETRY_SECONDS` | `60` | wait after the first failed attempt; doubles each time (at most an hour) |
| `MELDCODE_SMTP_TIMEOUT` | `10` | seconds |
| `MELDCODE_ETA_HORIZON` | `3600` | timers due within this many seconds get an exact-time Celery task |
| `MELDCODE_CELERY_QUEUE` | `meldcode` | Celery queue of all worker tasks |
| `MELDCODE_SWEEP_PARALLELISM` | `2` | workers asked to join a sweep that finds a backlog of due timers |
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from engine.reminders import ReminderPolicy
from engine.settings import Settings


@dataclass(frozen=True)
class WorkerSettings:
    redis_url: str | None = None
    smtp_url: str | None = None
    mail_from: str = "meldcode@localhost"
    base_url: str = "http://127.0.0.1:5000"
    sweep_interval: float = 5.0
    reminder_before_workdays: int = 1
    escalation_workdays: int = 1
    mail_max_attempts: int = 6
    mail_retry_seconds: float = 60.0
    smtp_timeout: float = 10.0
    eta_horizon: float = 3600.0
    queue: str = "meldcode"
    sweep_parallelism: int = 2
    engine: Settings = field(default_factory=Settings)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> WorkerSettings:
        env = os.environ if env is None else env
        d = cls()
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            smtp_url=env.get("SMTP_URL") or None,
            mail_from=env.get("MELDCODE_MAIL_FROM") or d.mail_from,
            base_url=(env.get("MELDCODE_BASE_URL") or d.base_url).rstrip("/"),
            sweep_interval=_positive(env, "MELDCODE_SWEEP_INTERVAL", d.sweep_interval),
            reminder_before_workdays=int(env.get("MELDCODE_REMINDER_BEFORE_WORKDAYS", d.reminder_before_workdays)),
            escalation_workdays=int(env.get("MELDCODE_ESCALATION_WORKDAYS", d.escalation_workdays)),
            mail_max_attempts=max(1, int(env.get("MELDCODE_MAIL_MAX_ATTEMPTS", d.mail_max_attempts))),
            mail_retry_seconds=_positive(env, "MELDCODE_MAIL_RETRY_SECONDS", d.mail_retry_seconds),
            smtp_timeout=_positive(env, "MELDCODE_SMTP_TIMEOUT", d.smtp_timeout),
            eta_horizon=_positive(env, "MELDCODE_ETA_HORIZON", d.eta_horizon),
            queue=env.get("MELDCODE_CELERY_QUEUE") or d.queue,
            sweep_parallelism=max(1, int(env.get("MELDCODE_SWEEP_PARALLELISM", d.sweep_parallelism))),
            engine=Settings.from_env(env),
        )

    @property
    def policy(self) -> ReminderPolicy:
        return ReminderPolicy(self.reminder_before_workdays, self.escalation_workdays)

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url)

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed e-mail attempts (exponential, at most an hour)."""
        return min(3600.0, self.mail_retry_seconds * 2 ** max(0, attempts - 1))


def _positive(env, name: str, default: float) -> float:
    value = float(env.get(name, default))
    if value <= 0:
        raise ValueError(f"{name} must be positive, got {value}")
    return value
