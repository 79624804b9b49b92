"""Turn the Zaken page's and the API's query parameters into an `engine.case_search.CaseQuery`, with clear Dutch
errors for bad input (a bad parameter is dropped from the query and named; nothing else changes)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.case_search import MAX_QUERY_LENGTH, CaseQuery, CaseSort
from engine.progress import LAST_STEP, STEP_NAMES
from engine.states import CaseStatus

PER_PAGE = 25
SORTS = {CaseSort.STARTED_DESC: "Gestart (nieuwste eerst)", CaseSort.STARTED_ASC: "Gestart (oudste eerst)",
         CaseSort.CLIENT_REF: "Cliënt (A–Z)", CaseSort.DEADLINE: "Eerstvolgende termijn"}
# The API's spelling of the same sort orders.
API_SORTS = {"started_desc": CaseSort.STARTED_DESC, "started_asc": CaseSort.STARTED_ASC,
             "client_ref": CaseSort.CLIENT_REF, "deadline": CaseSort.DEADLINE}
API_STATUSES = {s.value: s for s in CaseStatus}
PAGE_SORTS = {s.value: s for s in CaseSort}
STEPS = [(str(n), f"Stap {n} · {STEP_NAMES[n]}") for n in range(LAST_STEP + 1)]
MINE = "mij"


@dataclass
class Parsed:
    query: CaseQuery
    errors: dict[str, str] = field(default_factory=dict)  # parameter -> Dutch message


def _date(value: str, name: str, errors: dict[str, str], message: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = message
        return None


def _midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(tz))


def parse(args: Mapping[str, str], *, username: str, tz: str, statuses: Mapping[str, CaseStatus | None],
          default_status: str | None, sorts: Mapping[str, CaseSort], api: bool = False) -> Parsed:
    """Read q, stap/step, te_laat/overdue, verantwoordelijke/responsible, van/tot (started_from/started_to),
    status, sort and pagina/page. The page uses Dutch parameter names, the API English ones."""
    def get(dutch: str, english: str) -> str:
        return (args.get(english if api else dutch) or "").strip()

    def say(dutch: str, english: str) -> str:  # the page speaks Dutch, the API (like its other errors) English
        return english if api else dutch

    errors: dict[str, str] = {}
    q = get("q", "q")
    if len(q) > MAX_QUERY_LENGTH:
        errors["q"] = say(f"De zoekterm is te lang (hoogstens {MAX_QUERY_LENGTH} tekens).",
                          f"q is longer than {MAX_QUERY_LENGTH} characters")
        q = ""
    step = None
    raw_step = get("stap", "step")
    if raw_step:
        if raw_step.isdigit() and 0 <= int(raw_step) <= LAST_STEP:
            step = int(raw_step)
        else:
            errors["step" if api else "stap"] = say(f"Kies een stap van 0 tot en met {LAST_STEP}.",
                                                    f"step must be a number from 0 to {LAST_STEP}")
    overdue = get("te_laat", "overdue").lower() in ("1", "ja", "true", "on")
    responsible = get("verantwoordelijke", "responsible") or None
    if responsible == MINE or (api and responsible == "me"):
        responsible = username
    from_day = _date(get("van", "started_from"), "started_from" if api else "van", errors,
                     say("Gestart vanaf: vul een datum in als jjjj-mm-dd.", "started_from must be a date YYYY-MM-DD"))
    to_day = _date(get("tot", "started_to"), "started_to" if api else "tot", errors,
                   say("Gestart tot en met: vul een datum in als jjjj-mm-dd.", "started_to must be a date YYYY-MM-DD"))
    if from_day and to_day and to_day < from_day:
        errors["started_to" if api else "tot"] = say("De einddatum ligt vóór de begindatum.",
                                                     "started_to lies before started_from")
        to_day = None
    status_key = get("status", "status") or default_status
    status = None
    if status_key:
        if status_key in statuses:
            status = statuses[status_key]
        else:
            errors["status"] = say("Onbekende status.", f"status must be one of {sorted(statuses)}")
            status = statuses.get(default_status or "")
    sort = CaseSort.STARTED_DESC
    raw_sort = get("sort", "sort")
    if raw_sort:
        if raw_sort in sorts:
            sort = sorts[raw_sort]
        else:
            errors["sort"] = say("Onbekende sortering.", f"sort must be one of {sorted(sorts)}")
    page = 1
    raw_page = get("pagina", "page")
    if raw_page:
        if raw_page.isdigit() and 1 <= int(raw_page) <= 100_000:
            page = int(raw_page)
        else:
            errors["page" if api else "pagina"] = say("Ongeldig paginanummer.", "page must be a number from 1")
    query = CaseQuery(q=q, status=status, step=step, overdue=overdue, responsible=responsible,
                      started_from=_midnight(from_day, tz) if from_day else None,
                      started_before=_midnight(to_day + timedelta(days=1), tz) if to_day else None,
                      sort=sort, page=page, per_page=PER_PAGE)
    return Parsed(query, errors)


def team_members(sessions, team: str | None) -> list[tuple[str, str]]:
    """(username, name) of the active users of a team, for the "verantwoordelijke" filter."""
    if not team:
        return []
    from sqlalchemy import select

    from ..auth.models import Team, User

    with sessions() as session:
        rows = session.execute(select(User.username, User.display_name).join(Team, Team.id == User.team_id)
                               .where(Team.name == team, User.active.is_(True)).order_by(User.display_name,
                                                                                          User.username))
        return [(username, name or username) for username, name in rows]
