"""A dashboard's datasets as tables of text: the same cells on the page and in the CSV download."""
from __future__ import annotations

from dataclasses import dataclass

from engine.dashboards import Dashboard

from ..labels import MONTHS

DAY = 86400.0


@dataclass(frozen=True)
class Table:
    key: str  # the dataset's name in the CSV's url
    title: str
    caption: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    chart: list[tuple[str, tuple[float, ...]]]  # label, one value per series (headers[1:])
    unit: str  # what the chart's values count


def month_label(month) -> str:
    return f"{MONTHS[month.month - 1][:3]} {month.year}"


def days(seconds: float) -> str:
    return f"{seconds / DAY:.1f}".replace(".", ",")


def tables(board: Dashboard) -> list[Table]:
    steps = Table(
        "stappen", "Open zaken per stap",
        "Open zaken per stap van de meldcode en hoeveel open taken over hun termijn zijn (nu)",
        ("Stap", "Open zaken", "Taken over termijn"),
        [(r.step, str(r.open_cases), str(r.overdue_tasks)) for r in board.steps],
        [(r.step, (r.open_cases, r.overdue_tasks)) for r in board.steps], "zaken of taken")
    months = Table(
        "maanden", "Meldingen en adviezen per maand",
        "Meldingen bij Veilig Thuis en adviesvragen aan Veilig Thuis per maand",
        ("Maand", "Meldingen", "Adviezen"),
        [(month_label(m.month), str(m.meldingen), str(m.adviezen)) for m in board.months],
        [(month_label(m.month), (m.meldingen, m.adviezen)) for m in board.months], "aantal")
    durations = Table(
        "doorlooptijd", "Doorlooptijd per stap",
        "Tijd van het klaarzetten tot het afronden van een taak, in dagen, van de taken afgerond in de periode",
        ("Stap", "Afgeronde taken", "Mediaan (dagen)", "Gemiddeld (dagen)"),
        [(r.step, str(r.tasks), days(r.median_seconds), days(r.mean_seconds)) for r in board.durations],
        [(r.step, (r.median_seconds / DAY, r.mean_seconds / DAY)) for r in board.durations], "dagen")
    return [steps, months, durations]


def series(table: Table) -> tuple[str, ...]:
    """The chart's series: the numeric columns drawn (the durations leave out the count of tasks)."""
    return table.headers[2:] if table.key == "doorlooptijd" else table.headers[1:]
