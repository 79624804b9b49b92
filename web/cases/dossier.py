"""The dossier export: a printable page and a PDF of the case (engine/dossier.py gathers, WeasyPrint prints).

`GET /zaken/<id>/dossier` is the page (with a print stylesheet: the browser's "Afdrukken" gives the paper
version); `GET /zaken/<id>/dossier.pdf` is the same content as a PDF, made by WeasyPrint from the same template
and stylesheet. Only full access may export (engine/access.py); each export is audited as `case.export`.

WeasyPrint loads nothing from outside while printing: the stylesheet is handed to it as a file and every URL in
the document is refused (the content is the case's own text, escaped by Jinja).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from engine import lookups
from engine.access import FULL
from engine.dossier import Dossier, export_dossier
from engine.errors import NotAllowedError, NotFoundError

from ..access import deny, require_case
from ..services import services
from . import bp

PRINT_CSS = Path(__file__).resolve().parent.parent / "static" / "dossier.css"

SECTION_TITLES = {
    "acuut": "Stap 0 – Acute veiligheid",
    "signalen": "Signalen (Stap 1)",
    "consultatie": "Collegiale consultatie en advies (Stap 2)",
    "gesprek": "Gesprek met de cliënt (Stap 3)",
    "afwegingen": "Afwegingen (Stap 4 en 5)",
    "besluit": "Besluit en uitvoering (Stap 5)",
    "afspraken": "Afspraken en monitoring",
    "vervolg": "Vervolg en evaluatie (Stap 6)",
    "overig": "Overige stappen",
}
BESLUIT_LABELS = {
    "afsluiten": "Afsluiten: geen melding en geen hulp nodig",
    "melden": "Melden bij Veilig Thuis",
    "hulp": "Hulp bieden of organiseren",
    "melden_en_hulp": "Melden bij Veilig Thuis én hulp bieden of organiseren",
}


@bp.get("/<int:case_id>/dossier")
@login_required
def dossier(case_id: int):
    return _export(case_id, "html", lambda d: render_template("cases/dossier.html", **_context(d)))


class PdfUnavailable(Exception):
    """WeasyPrint cannot run on this server (its system libraries, Pango, are missing)."""


@bp.get("/<int:case_id>/dossier.pdf")
@login_required
def dossier_pdf(case_id: int):
    try:
        pdf = _export(case_id, "pdf", lambda d: _pdf(render_template("cases/dossier_pdf.html", **_context(d))))
    except PdfUnavailable:  # audited by the export as an error
        current_app.logger.exception("the dossier PDF cannot be made on this server")
        flash("De PDF kan op deze server nu niet worden gemaakt. Gebruik ‘Afdrukken’ en kies daar ‘Opslaan als PDF’; "
              "meld het probleem aan de beheerder.", "warning")
        return redirect(url_for("cases.dossier", case_id=case_id))
    response = Response(pdf, mimetype="application/pdf")
    response.headers.set("Content-Disposition", "attachment", filename=f"dossier-zaak-{case_id}.pdf")
    response.headers["Cache-Control"] = "no-store"
    return response


def _export(case_id: int, fmt: str, render):
    decision = require_case(case_id, "case.export")
    if decision.scope != FULL:
        deny("case.export", case_id=case_id, reason=f"the dossier export needs full access (has {decision.scope})")
    engine, actor = services().cases, current_user.actor

    def timer_names() -> dict[str, str]:
        return lookups.diagram_names(services().sessions, engine.case_diagram(case_id, actor, source=False))

    try:
        return export_dossier(engine, services().sessions, case_id, actor, fmt=fmt,
                              labels=lambda cid: lookups.field_labels(services().sessions, cid),
                              timer_names=timer_names, render=render)
    except NotAllowedError:
        abort(403)  # audited by the engine
    except NotFoundError:
        abort(403)


def _context(d: Dossier) -> dict[str, Any]:
    return {"dossier": d, "case": d.case, "section_titles": SECTION_TITLES,
            "besluit_label": BESLUIT_LABELS.get(d.besluit or "", d.besluit)}


def _pdf(html: str) -> bytes:
    try:  # imported when a PDF is made: it loads Pango
        from weasyprint import CSS, HTML
        from weasyprint.urls import URLFetcher
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(str(exc)) from exc

    refuse_all = URLFetcher(allowed_protocols=())  # no protocol allowed: no file, no http, no data URL
    stylesheet = CSS(string=PRINT_CSS.read_text(encoding="utf-8"), url_fetcher=refuse_all)
    return HTML(string=html, url_fetcher=refuse_all).write_pdf(stylesheets=[stylesheet])
