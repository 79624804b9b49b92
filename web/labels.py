"""Dutch words for the stable names of contract.md, and date formatting for people."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

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

STATUS_LABELS = {"running": "Lopend", "completed": "Afgerond"}

MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")


def milestone_label(name: str) -> str:
    return MILESTONE_LABELS.get(name, name.replace("_", " ").capitalize())


def role_label(role: str | None) -> str:
    if not role:
        return "—"
    return ROLE_LABELS.get(role, role.replace("_", " ").capitalize())


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def local(value: datetime, tz: str) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
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
