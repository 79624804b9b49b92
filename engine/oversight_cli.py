"""`meldcode cases ...`: the beheerder's actions on process instances (engine/oversight.py), each audited
(channel cli) with a required reason.

    meldcode cases list [--process P] [--version N] [--status S] [--step ELEMENT] [--overdue] [--team T]
                        [--started-from DATE] [--started-until DATE] [--after ID] [--limit N]
    meldcode cases show CASE_ID
    meldcode cases suspend|resume|terminate CASE_ID --reason TEXT --by NAME
    meldcode cases reassign TASK_ID (--user NAME | --team TEAM) --reason TEXT --by NAME
    meldcode cases retry-timers CASE_ID --reason TEXT --by NAME
    meldcode cases hold CASE_ID (--reason TEXT | --lift) --by NAME
"""
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from .settings import Settings
from .states import CaseStatus

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from .views import Actor

_T = TypeVar("_T")


def _sessions() -> sessionmaker[Session]:
    from .db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(Settings.from_env().database_url))


def _actor(by: str) -> Actor:
    from .views import Actor

    return Actor(by.strip().lower(), frozenset({"beheerder"}))


def _date(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _run(action: Callable[[], _T]) -> _T:
    from .errors import NotFoundError, ValidationError

    try:
        return action()
    except (ValidationError, NotFoundError) as exc:
        raise click.ClickException(str(exc)) from None


def _json(value: Any) -> str:
    return json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v),
                      ensure_ascii=False)


@click.group("cases")
def cases() -> None:
    """Process instances (metadata only): list, show, suspend, resume, terminate, reassign, retry timers."""


@cases.command("list")
@click.option("--process", "process_id")
@click.option("--version", type=int)
@click.option("--status", type=click.Choice([s.value for s in CaseStatus]))
@click.option("--step", help="Element id of an open task.")
@click.option("--overdue", is_flag=True)
@click.option("--team")
@click.option("--started-from", help="ISO date (UTC when no offset).")
@click.option("--started-until")
@click.option("--after", "after_id", type=int, help="Continue after this case id (the previous page's last).")
@click.option("--limit", type=int, default=50, show_default=True)
def list_cases(process_id: str | None, version: int | None, status: str | None, step: str | None, overdue: bool,
               team: str | None, started_from: str | None, started_until: str | None, after_id: int | None,
               limit: int) -> None:
    """One JSON line per instance, newest first; a last line {"next_after": ID} when there is more."""
    from dataclasses import asdict

    from .oversight import InstanceFilter, list_instances

    f = InstanceFilter(process_id, version, status, step, overdue, team, _date(started_from), _date(started_until))
    with _sessions()() as session:
        rows, next_after = list_instances(session, f, after_id=after_id, limit=limit)
    for row in rows:
        click.echo(_json(asdict(row)))
    if next_after:
        click.echo(_json({"next_after": next_after}))


@cases.command("show")
@click.argument("case_id", type=int)
def show(case_id: int) -> None:
    """An instance's metadata as JSON (no case content)."""
    from dataclasses import asdict

    from .oversight import instance

    with _sessions()() as session:
        detail = _run(lambda: instance(session, case_id))
    click.echo(_json(asdict(detail)))


def _action(name: str, help_text: str) -> click.Command:
    @cases.command(name, help=help_text)
    @click.argument("case_id", type=int)
    @click.option("--reason", required=True, help="Why (audited).")
    @click.option("--by", required=True, help="Who does this (audited).")
    def command(case_id: int, reason: str, by: str) -> None:
        from .oversight import Oversight

        method = getattr(Oversight(_sessions()), name.replace("-", "_"))
        result = _run(lambda: method(case_id, _actor(by), reason))
        click.echo(f"case {case_id}: {name} done" + (f" ({result} timer(s))" if isinstance(result, int) else ""))
    return command


_action("suspend", "Suspend a running case: no completions, no timers until resumed.")
_action("resume", "Resume a suspended case.")
_action("terminate", "End a case for good (open tasks and timers are cancelled).")
_action("retry-timers", "Put the case's parked (failed) timers back; the next sweep fires them.")


@cases.command("reassign")
@click.argument("task_id", type=int)
@click.option("--user", help="A user of the case's team with the task's role.")
@click.option("--team", help="Another team (the case moves there).")
@click.option("--reason", required=True)
@click.option("--by", required=True)
def reassign(task_id: int, user: str | None, team: str | None, reason: str, by: str) -> None:
    """Reassign an open task to a named user or another team."""
    from .oversight import Oversight

    _run(lambda: Oversight(_sessions()).reassign_task(task_id, _actor(by), reason, user=user, team=team))
    click.echo(f"task {task_id} reassigned to {user or 'team ' + team}")  # type: ignore[operator]


@cases.command("hold")
@click.argument("case_id", type=int)
@click.option("--reason", help="Why the case must be kept (a legal hold stops retention).")
@click.option("--lift", is_flag=True, help="Lift the legal hold.")
@click.option("--by", required=True)
def hold(case_id: int, reason: str | None, lift: bool, by: str) -> None:
    """Put a legal hold on a case, or lift it."""
    from .oversight import Oversight

    if lift == bool(reason):
        raise click.ClickException("give either --reason or --lift")
    _run(lambda: Oversight(_sessions()).set_legal_hold(case_id, _actor(by), None if lift else reason))
    click.echo(f"case {case_id}: legal hold {'lifted' if lift else 'set'}")
