"""GET /dashboard (charts and tables of the own team) and GET /dashboard/<dataset>.csv."""
from __future__ import annotations

import csv
import io
import re

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required

from engine import dashboards

from ..access import roles_required
from ..services import services
from . import bp
from .charts import bar_chart
from .tables import month_label, series, tables

ROLES = tuple(sorted(dashboards.DASHBOARD_ROLES))
PERIODS = (3, 6, 12, 24, 36)


def _board(dataset: str | None = None) -> tuple[dashboards.Dashboard, int]:
    months = request.args.get("maanden", type=int)
    months = months if months in PERIODS else dashboards.DEFAULT_MONTHS
    period = dashboards.last_months(months, tz=services().engine_settings.timezone)
    return dashboards.team_dashboard(services().sessions, current_user.actor, period, dataset=dataset), months


@bp.get("/dashboard")
@login_required
@roles_required(*ROLES)
def index():
    board, months = _board()
    sections = [(table, bar_chart(f"grafiek-{table.key}", table.title,
                                  f"Staafdiagram: {table.caption.lower()}. De cijfers staan in de tabel ernaast.",
                                  table.chart, series(table)))
                for table in tables(board)]
    return render_template("dashboards/index.html", board=board, sections=sections, months=months,
                           periods=PERIODS, period_from=month_label(board.period.first),
                           period_to=month_label(board.period.last))


def _csv_safe(value: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet (a task's name comes from a diagram)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.get("/dashboard/<dataset>.csv")
@login_required
@roles_required(*ROLES)
def export(dataset: str):
    if dataset not in dashboards.DATASETS:
        abort(404)
    board, months = _board(dataset)
    [table] = [t for t in tables(board) if t.key == dataset]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(table.headers)
    writer.writerows([_csv_safe(cell) for cell in row] for row in table.rows)
    team = re.sub(r"[^A-Za-z0-9_-]", "", board.team) or "team"
    name = f"dashboard-{team}-{dataset}-{board.period.first:%Y-%m}-{board.period.last:%Y-%m}.csv"
    return Response(out.getvalue(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
