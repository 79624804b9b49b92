"""Dutch words for the stable names of contract.md, and date formatting for people."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from engine.states import CaseStatus

from .roles import ROLE_LABELS

MILESTONE_LABELS = {
    "acute_actie": "Acute actie ondernomen (Stap 0)",
    "interne_route": "Interne route gevolgd (collega-professional)",
    "kindcheck_zorgen": "Zorgen na de kindcheck",
    "afgesloten": "Afgesloten zonder melding of hulp",
    "melding_veilig_thuis": "Melding gedaan bij Veilig Thuis",
    "hulp_georganiseerd": "Hulp aangeboden of georganiseerd",
    "herhaalde_melding": "Opnieuw gemeld bij Veilig Thuis",
    "duurzaam_veilig": "Duurzaam veilig; afspraken over monitoring",
    "vt_terugkoppeling_te_laat": "Terugkoppeling Veilig Thuis te laat",
    "warme_overdracht": "Warme overdracht naar nieuwe gemeente",
    "melding_nieuwe_regio": "Melding bij Veilig Thuis in de nieuwe regio",
    "overdracht_door_veilig_thuis": "Overdracht door Veilig Thuis",
    "ambtshalve_melding": "Ambtshalve melding door Veilig Thuis",
}

# Case events (contract.md "Case events"): the button on the case file, and what the page says.
EVENT_LABELS = {
    "nieuwe_signalen": ("Nieuwe signalen vastleggen",
                        "Er zijn nieuwe signalen. U beschrijft ze hier; daarna beantwoordt u meteen afweging 5 "
                        "(is er duurzame veiligheid?), zonder op het evaluatiemoment te wachten."),
    "hulp_geweigerd": ("Cliënt weigert hulp",
                       "De cliënt weigert hulp terwijl de zorgen blijven. U doet daarom een melding bij Veilig Thuis; "
                       "daarna blijft u de cliënt volgen."),
    "verhuisd": ("Cliënt is verhuisd",
                 "De cliënt is naar een andere gemeente verhuisd. Met toestemming volgt een warme overdracht; is de "
                 "cliënt bekend bij Veilig Thuis, dan draagt Veilig Thuis over; anders meldt u bij Veilig Thuis in de "
                 "nieuwe regio. Daarna wordt de zaak hier afgesloten."),
}

STATUS_LABELS = {CaseStatus.RUNNING: "Lopend", CaseStatus.COMPLETED: "Afgerond", CaseStatus.SUSPENDED: "Gepauzeerd",
                 CaseStatus.TERMINATED: "Beëindigd"}

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def milestone_label(name: str) -> str:
    return MILESTONE_LABELS.get(name, name.replace("_", " ").capitalize())


def role_label(role: str | None) -> str:
    if not role:
        return "—"
    return ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


def event_label(name: str) -> str:
    return EVENT_LABELS[name][0] if name in EVENT_LABELS else name.replace("_", " ").capitalize()


def event_intro(name: str) -> str | None:
    return EVENT_LABELS[name][1] if name in EVENT_LABELS else None


def team_title(name: str | None, titles: dict[str, str | None]) -> str:
    """A team as people call it ("Wijkteam Noord"), never its id; `titles` maps id -> title."""
    if not name:
        return "—"
    return titles.get(name) or name.replace("-", " ").replace("_", " ").title()


def person_name(username: str | None, names: dict[str, str | None]) -> str:
    """A user's full name; `names` maps username -> display name. Unknown users keep their username."""
    if not username:
        return "—"
    return names.get(username) or username


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def local(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZoneInfo(tz))


def format_datetime(value: datetime | None, tz: str) -> str:
    if value is None:
        return "—"
    return local(value, tz).strftime("%d-%m-%Y %H:%M")


def format_date(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}"


def due_phrase(due: datetime | None, now: datetime, tz: str) -> str:
    """'vandaag', 'morgen', 'over 3 dagen', '2 dagen te laat' — counted in calendar days, local time."""
    if due is None:
        return "geen termijn"
    days = (local(due, tz).date() - local(now, tz).date()).days
    if due < now:
        if days >= 0:
            return "te laat (vandaag)"
        return f"{-days} dag te laat" if days == -1 else f"{-days} dagen te laat"
    if days == 0:
        return "vandaag"
    if days == 1:
        return "morgen"
    return f"over {days} dagen"


# -- names of people and teams, looked up for the current request ------------------------------------------
# A page names a few people, mostly of one or two teams. Each name is looked up once per request, and a person's
# lookup brings their team's colleagues along, so a page costs one statement per team it names. Loading every
# user and team instead cost a page 25-45 ms of CPU with 15,000 users (docs/performance.md, "Names on a page").
def display_team(name: str | None) -> str:
    return team_title(name, _names("teams", name, _team_title))


def display_person(username: str | None) -> str:
    return person_name(username, _names("people", username, _names_of_team_of))


def _names(kind: str, key: str | None, load) -> dict[str, str | None]:
    from flask import g

    known = g.setdefault("meldcode_names", {}).setdefault(kind, {})
    if key and key not in known:
        known[key] = None  # an unknown name is looked up once, then shown as it is
        known.update(load(key))
    return known


def _team_title(name: str) -> dict[str, str | None]:
    from sqlalchemy import select

    from .auth.models import Team
    from .services import services

    with services().sessions() as session:
        return dict(session.execute(select(Team.name, Team.title).where(Team.name == name)).all())


def _names_of_team_of(username: str) -> dict[str, str | None]:
    """The display names of `username` and the other members of their team (one indexed statement)."""
    from sqlalchemy import select

    from .auth.models import User
    from .services import services

    team_id = select(User.team_id).where(User.username == username).scalar_subquery()
    with services().sessions() as session:
        return dict(session.execute(select(User.username, User.display_name).where(User.team_id == team_id)).all())


def local_today() -> date:
    """Today in the organisation's time zone by the engine clock (decides which dates lie in the past)."""
    from engine import clock

    from .services import services

    return local(clock.now(), services().engine_settings.timezone).date()


# -- the afwegingskader's decision in the timeline (issue 13, engine/decisions.py) ----------------------------
DECISION_LABELS = {"afsluiten": "afsluiten", "melden": "melden bij Veilig Thuis", "hulp": "hulp bieden of organiseren",
                   "melden_en_hulp": "melden en hulp"}
# decision input -> (said when true, said when false)
DECISION_REASONS = {
    "vermoeden": ("er een vermoeden is", "er geen vermoeden (meer) is"),
    "acute_onveiligheid": ("er sprake is van acute onveiligheid", "er geen acute onveiligheid is"),
    "disclosure": ("er een onthulling (disclosure) is", "er geen onthulling is"),
    "structurele_onveiligheid": ("er sprake is van structurele onveiligheid", "er geen structurele onveiligheid is"),
    "hulp_mogelijk": ("effectieve hulp mogelijk is", "geen effectieve hulp mogelijk is"),
    "meewerken": ("de betrokkenen meewerken", "de betrokkenen niet meewerken"),
}


def decision_label(besluit: str) -> str:
    return DECISION_LABELS.get(besluit, besluit.replace("_", " "))


def decision_sentence(besluit: str, answers: dict[str, bool]) -> str:
    """'Besluit: melden en hulp, omdat er een vermoeden is, ... en de betrokkenen meewerken.'"""
    reasons = [DECISION_REASONS[name][0 if value else 1] for name, value in answers.items()
               if name in DECISION_REASONS]
    because = ", ".join(reasons[:-1]) + (" en " if len(reasons) > 1 else "") + reasons[-1] if reasons else ""
    return f"Besluit: {decision_label(besluit)}" + (f", omdat {because}." if because else ".")
