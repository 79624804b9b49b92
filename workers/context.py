"""What a sweep needs: the case engine (with its sessions and working-day calendar), the policy and the mailer."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from engine.cases import CaseEngine
from engine.db import make_engine, make_sessionmaker
from engine.reminders import ReminderPolicy
from engine.workdays import WorkdayCalendar

from .mail import SmtpMailer
from .settings import WorkerSettings


@dataclass
class WorkerContext:
    settings: WorkerSettings
    cases: CaseEngine
    mailer: SmtpMailer | None
    owns_db: bool = False

    def __post_init__(self) -> None:
        # What every sweep reads, taken from the engine once: its sessions, calendar and zone.
        self.sessions: sessionmaker = self.cases.sessions
        self.calendar: WorkdayCalendar = self.cases.calendar
        self.tz: str = self.cases.settings.timezone
        self.policy: ReminderPolicy = self.settings.policy

    def close(self) -> None:
        if self.owns_db:
            self.sessions.kw["bind"].dispose()


def build_context(settings: WorkerSettings, case_engine: CaseEngine | None = None) -> WorkerContext:
    """A context on `case_engine` (e.g. the web app's), or on a new engine for settings.engine.database_url."""
    owns = case_engine is None
    if case_engine is None:
        case_engine = CaseEngine(make_sessionmaker(make_engine(settings.engine.database_url)), settings.engine)
    mailer = SmtpMailer(settings.smtp_url, settings.mail_from, settings.smtp_timeout) if settings.smtp_url else None
    return WorkerContext(settings=settings, cases=case_engine, mailer=mailer, owns_db=owns)
