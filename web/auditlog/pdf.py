"""The AVG art. 15 report as PDF (fpdf2): who has seen the file of one client, when, how and on which basis."""
from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from engine import clock

from .. import labels

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
ACTION_LABELS = {
    "case.view": "dossier ingezien", "task.view": "taak geopend", "case.diagram": "procesplaat bekeken",
    "case.list": "in zakenlijst getoond", "inbox.view": "in inbox getoond", "task.list": "in takenlijst getoond",
    "case.export": "dossier geëxporteerd", "case.print": "dossier afgedrukt",
}
CHANNELS = {"web": "web", "api": "API", "cli": "opdrachtregel", "worker": "achtergrondtaak"}


class _Report(FPDF):
    def __init__(self):
        super().__init__(orientation="L", format="A4")
        if FONT.exists():
            self.add_font("body", "", str(FONT))
            self.family_name, self.unicode = "body", True
        else:  # core font: Latin-1 only
            self.family_name, self.unicode = "helvetica", False

    def safe(self, value) -> str:
        """The text as the font can write it."""
        value = "" if value is None else str(value)
        return value if self.unicode else value.encode("latin-1", "replace").decode("latin-1")


def seen_by_pdf(client_ref: str, rows: list[dict], tz: str, requested_by: str) -> bytes:
    pdf = _Report()
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font(pdf.family_name, size=15)
    pdf.cell(0, 9, pdf.safe(f"Inzage in het dossier van cliënt {client_ref}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(pdf.family_name, size=9)
    made = labels.format_datetime(clock.now(), tz)
    pdf.multi_cell(0, 5, pdf.safe(
        f"Overzicht op grond van artikel 15 AVG: wie het dossier heeft ingezien, wanneer, via welk kanaal en op "
        f"welke grondslag. Opgesteld op {made} door {requested_by}, uit het auditlog (NEN 7513)."),
        new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    widths = (32, 48, 40, 46, 24, 30, 57)
    header = ("Wanneer", "Wie", "Rol", "Wat", "Kanaal", "Adres", "Grondslag")
    pdf.set_font(pdf.family_name, size=9)
    pdf.set_fill_color(230, 234, 241)
    for width, title in zip(widths, header):
        pdf.cell(width, 7, pdf.safe(title), border=1, fill=True)
    pdf.ln()
    if not rows:
        pdf.cell(sum(widths), 7, pdf.safe("Geen inzage vastgelegd."), border=1)
        pdf.ln()
    for row in rows:
        who = row["actor_name"] or row["actor"]
        if row["actor_name"]:
            who += f" ({row['actor']})"
        what = ACTION_LABELS.get(row["action"], row["action"])
        if row.get("case_id"):
            what += f", zaak #{row['case_id']}"
        basis = row["basis_detail"] or row["basis"] or ""
        if row["basis"] == "break-the-glass":
            basis = "NOODTOEGANG: " + basis
        cells = (labels.format_datetime(row["at_local"], tz), who, row["actor_roles"] or "", what,
                 CHANNELS.get(row["channel"], row["channel"] or ""), row["client_address"] or "", basis)
        for width, value in zip(widths, cells):
            pdf.cell(width, 6, pdf.safe(_fit(pdf, value, width)), border=1)
        pdf.ln()
    pdf.ln(3)
    pdf.cell(0, 5, pdf.safe(f"{len(rows)} inzage(n)."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _fit(pdf: FPDF, value: str, width: float) -> str:
    value = "" if value is None else str(value)
    while value and pdf.get_string_width(value) > width - 2:
        value = value[:-2] + "…" if pdf.unicode else value[:-2] + "."
    return value
