from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Response, abort, jsonify, render_template, request
from flask_login import current_user, login_required

from engine import audit_search
from engine.audit_search import AuditQuery

from ..access import roles_required
from ..roles import LOGBEHEERDER
from ..services import services
from . import bp
from .pdf import seen_by_pdf

PER_PAGE = 50
CSV_FIELDS = [f for f in audit_search.FIELDS if f != "hash"] + ["hash"]


class QueryError(ValueError):
    pass


def _day(value: str | None, tz: str, *, end: bool = False) -> datetime | None:
    """A date (YYYY-MM-DD, or an ISO date-time) in the organisation's time zone, as an aware datetime."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value) + (timedelta(days=1) if end else timedelta())
            return datetime.combine(day, time(), ZoneInfo(tz))
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"ongeldige datum: {value!r} (gebruik JJJJ-MM-DD)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(tz))


def _query(args) -> AuditQuery:
    tz = services().engine_settings.timezone
    text = {k: (args.get(k) or "").strip()[:100] or None for k in ("client_ref", "user", "action", "outcome")}
    return AuditQuery(client_ref=text["client_ref"], user=text["user"], action=text["action"],
                      outcome=text["outcome"],
                      since=_day(args.get("since") or args.get("van"), tz),
                      until=_day(args.get("until") or args.get("tot"), tz, end=True))


def _filters(q: AuditQuery) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(q).items() if v}


def _log_reading(action: str, q: AuditQuery, **details) -> None:
    """Reading the log is itself logged (with the client looked up, so it shows up for that client too)."""
    services().cases.record_access(current_user.actor, action, outcome="success", filters=_filters(q), **details,
                                   **({"client_refs": [q.client_ref]} if q.client_ref else {}))


@bp.get("/auditlog")
@login_required
@roles_required(LOGBEHEERDER)
def index():
    page = max(request.args.get("pagina", 1, type=int) or 1, 1)
    error, found, q = None, audit_search.AuditPage([], 0, False), AuditQuery()
    try:
        q = _query(request.args)
    except QueryError as exc:
        error = str(exc)
    if error is None:
        # Counting stops at COUNT_CAP: at millions of events an exact count of a broad search costs seconds.
        with services().sessions() as session:
            found = audit_search.search_page(session, q, page=page, per_page=PER_PAGE)
        _log_reading("auditlog.search", q, page=page, found=found.total, found_capped=found.total_capped)
    pages = max((found.total + PER_PAGE - 1) // PER_PAGE, 1)
    if found.total_capped and len(found.events) == PER_PAGE:
        pages = max(pages, page + 1)  # beyond the count: there may be a next page
    return render_template("auditlog/index.html", events=found.events, total=found.total,
                           capped=found.total_capped, page=page, pages=pages, args=request.args, error=error,
                           paging_args={k: v for k, v in request.args.items() if k != "pagina"}), 400 if error else 200


@bp.get("/auditlog/export.csv")
@login_required
@roles_required(LOGBEHEERDER)
def export_csv():
    """Every matching event as CSV, streamed in batches (an export of years of log never sits in memory)."""
    try:
        q = _query(request.args)
    except QueryError as exc:
        abort(400, str(exc))
    _log_reading("auditlog.export", q, format="csv")  # before the first byte: an aborted download was a read too
    sessions = services().sessions

    def rows():
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, extrasaction="ignore")
        writer.writeheader()
        after = 0
        while True:
            # Each batch in a short session of its own: a client that stops reading must not leave a
            # transaction open (it would hold locks, e.g. block a schema drop or a migration, forever).
            with sessions() as session:
                batch = [audit_search.as_dict(e) for e in audit_search.batch_after(session, q, after)]
            if not batch:
                break
            after = batch[-1]["id"]
            for row in batch:
                row["details"] = _json(row["details"])
                writer.writerow({k: _csv_safe(v) for k, v in row.items()})
            yield out.getvalue()
            out.seek(0)
            out.truncate()
        yield out.getvalue()

    # A plain generator: it needs nothing of the request (stream_with_context would keep the request's
    # context, and with it the signed-in user, alive until a client reads the body to its end).
    return Response(rows(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="auditlog.csv"'})


@bp.get("/auditlog/inzage.pdf")
@login_required
@roles_required(LOGBEHEERDER)
def seen_by_report():
    """AVG art. 15: who has seen the file of one client, as PDF."""
    client_ref = (request.args.get("client_ref") or "").strip()[:100]
    if not client_ref:
        abort(400, "Vul een cliëntreferentie in.")
    with services().sessions() as session:
        events = audit_search.seen_by(session, client_ref)
        rows = [audit_search.as_dict(e) | {"at_local": e.at} for e in events]
    pdf = seen_by_pdf(client_ref, rows, services().engine_settings.timezone, current_user.display_name)
    _log_reading("auditlog.report", AuditQuery(client_ref=client_ref), format="pdf", rows=len(rows))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="inzage-{_filename(client_ref)}.pdf"'})


@bp.get("/api/audit")
def api_audit():
    """`GET /api/audit?client_ref=&user=&since=&until=&action=&page=` → {"events": [...]} (logbeheerder only)."""
    if not current_user.is_authenticated:
        abort(401)
    return _api_audit()


@roles_required(LOGBEHEERDER)
def _api_audit():
    try:
        q = _query(request.args)
    except QueryError as exc:
        return jsonify(error="bad_request", message=str(exc)), 400
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = min(max(request.args.get("per_page", 100, type=int) or 100, 1), 1000)
    with services().sessions() as session:
        result = audit_search.search_page(session, q, page=page, per_page=per_page)
        found = [audit_search.as_dict(e) for e in result.events]
    _log_reading("auditlog.api", q, page=page, found=result.total, found_capped=result.total_capped)
    return jsonify(events=found, total=result.total, total_capped=result.total_capped, page=page, per_page=per_page)


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _csv_safe(value):
    """No formula injection when the CSV is opened in a spreadsheet."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _filename(value: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)[:60]


STYLESHEET = Path(__file__).resolve().parent / "static" / "oversight.css"


@bp.get("/oversight.css")
def stylesheet():
    """The oversight pages' few extra styles (a file of this site: the CSP allows no inline styles)."""
    response = Response(STYLESHEET.read_text(), mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
