"""What a sweep needs: the case engine, its sessions, the working-day calendar, the policy and the mailer."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from engine.cases import CaseEngine
from engine.db import make_engine, make_sessionmaker
from engine.reminders import ReminderPolicy
from engine.workdays import WorkdayCalendar, calendar_from_settings

from .mail import SmtpMailer
from .settings import WorkerSettings


@dataclass
class WorkerContext:
    settings: WorkerSettings
    cases: CaseEngine
    calendar: WorkdayCalendar
    mailer: SmtpMailer | None
    owns_db: bool = False

    @property
    def sessions(self) -> sessionmaker:
        return self.cases.sessions

    @property
    def policy(self) -> ReminderPolicy:
        return self.settings.policy

    @property
    def tz(self) -> str:
        return self.cases.settings.timezone

    def close(self) -> None:
        if self.owns_db:
            self.sessions.kw["bind"].dispose()


def build_context(settings: WorkerSettings, case_engine: CaseEngine | None = None) -> WorkerContext:
    """A context on `case_engine` (e.g. the web app's), or on a new engine for settings.engine.database_url."""
    owns = case_engine is None
    if case_engine is None:
        case_engine = CaseEngine(make_sessionmaker(make_engine(settings.engine.database_url)), settings.engine)
    engine_settings = case_engine.settings
    calendar = calendar_from_settings(engine_settings.extra_holidays, engine_settings.extra_workdays,
                                      tz=engine_settings.timezone)
    mailer = SmtpMailer(settings.smtp_url, settings.mail_from, settings.smtp_timeout) if settings.smtp_url else None
    return WorkerContext(settings=settings, cases=case_engine, calendar=calendar, mailer=mailer, owns_db=owns)
