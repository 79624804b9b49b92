"""Typed settings of the workers (timers, reminders, e-mail), read from the environment once.

Fields are named by their environment variable (engine.settings.EnvSettings); README.md's configuration table
describes each one.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Self

from pydantic import AfterValidator, Field

from engine.reminders import ReminderPolicy
from engine.settings import EnvSettings, Settings

Seconds = Annotated[float, Field(gt=0)]  # a positive number of seconds
AtLeastOne = Annotated[int, AfterValidator(lambda value: max(1, value))]


class WorkerSettings(EnvSettings):
    redis_url: str | None = Field(None, validation_alias="REDIS_URL")
    smtp_url: str | None = Field(None, validation_alias="SMTP_URL")
    mail_from: str = Field("meldcode@localhost", validation_alias="MELDCODE_MAIL_FROM")
    base_url: Annotated[str, AfterValidator(lambda url: url.rstrip("/"))] = Field(
        "http://127.0.0.1:5000", validation_alias="MELDCODE_BASE_URL")
    sweep_interval: Seconds = Field(5.0, validation_alias="MELDCODE_SWEEP_INTERVAL")
    reminder_before_workdays: int = Field(1, validation_alias="MELDCODE_REMINDER_BEFORE_WORKDAYS")
    escalation_workdays: int = Field(1, validation_alias="MELDCODE_ESCALATION_WORKDAYS")
    mail_max_attempts: AtLeastOne = Field(6, validation_alias="MELDCODE_MAIL_MAX_ATTEMPTS")
    mail_retry_seconds: Seconds = Field(60.0, validation_alias="MELDCODE_MAIL_RETRY_SECONDS")
    smtp_timeout: Seconds = Field(10.0, validation_alias="MELDCODE_SMTP_TIMEOUT")
    eta_horizon: Seconds = Field(3600.0, validation_alias="MELDCODE_ETA_HORIZON")
    queue: str = Field("meldcode", validation_alias="MELDCODE_CELERY_QUEUE")
    sweep_parallelism: AtLeastOne = Field(2, validation_alias="MELDCODE_SWEEP_PARALLELISM")
    engine: Settings = Field(default_factory=Settings)  # the engine's own settings (engine/settings.py)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fallbacks: Any) -> Self:
        return super().from_env(env, **{"engine": Settings.from_env(env), **fallbacks})

    @property
    def policy(self) -> ReminderPolicy:
        return ReminderPolicy(self.reminder_before_workdays, self.escalation_workdays)

    @property
    def mail_enabled(self) -> bool:
        return bool(self.smtp_url)

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after `attempts` failed e-mail attempts (exponential, at most an hour)."""
        return min(3600.0, self.mail_retry_seconds * 2 ** max(0, attempts - 1))
