"""What the views need, built once per app and looked up per request (tests may swap any of it)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from engine.cases import CaseEngine
from engine.settings import Settings

from .settings import WebSettings


@dataclass(frozen=True)
class Notification:
    """What the inbox needs of a notification (engine.notifications.NotificationView has these fields)."""

    text: str
    level: str = "info"  # info | warning
    case_id: int | None = None
    task_id: int | None = None
    id: int | None = None  # when set, the inbox offers "gelezen" (mark read)


def no_notifications(user) -> list[Notification]:
    return []


@dataclass
class Services:
    settings: WebSettings
    engine_settings: Settings
    db: Engine
    sessions: sessionmaker
    cases: CaseEngine
    # NOTIFICATIONS: a function returning the user's unread reminders and escalations (create_app uses
    # engine.notifications.inbox_provider; the workers create them). The inbox shows whatever it returns.
    notifications: Callable[[object], list[Notification]] = no_notifications
    # Set by the demo run when deploying processes/ failed, so the app can say so on every page.
    deploy_error: str | None = None
    extra: dict = field(default_factory=dict)


def services() -> Services:
    return current_app.extensions["meldcode"]


def case_engine() -> CaseEngine:
    return services().cases
