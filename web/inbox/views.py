from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import case_search, clock, glass, notifications
from engine.access import GLASS_ROLES

from ..auditlog.hooks import audit_list
from ..auth.forms import EmptyForm
from ..services import services
from . import bp
from .service import FILTERS, apply_filter, counts, my_open_tasks, page_count, page_of, page_with_case


@bp.get("/")
@login_required
def index():
    now = clock.now()
    chosen = request.args.get("filter", "team")
    if chosen not in FILTERS:
        chosen = "team"
    # The page's reads and its audit event share one transaction (one BEGIN and COMMIT); the audit event last.
    with services().cases.one_transaction():
        everything = my_open_tasks(services().cases, current_user)
        ordered = apply_filter(everything, chosen, current_user.username, now)
        highlight = request.args.get("zaak", type=int)
        pages = page_count(ordered)
        if highlight is not None and "pagina" not in request.args:
            page = page_with_case(ordered, highlight)
        else:
            page = min(max(request.args.get("pagina", 1, type=int) or 1, 1), pages)
        tasks = page_of(ordered, page)
        # NOTIFICATIONS: reminders and escalations (issue 5) arrive through services().notifications; "terug bij
        # u" (issue 13) is derived at once for tasks the sweep has not stored yet (engine/notifications.py).
        tz = services().engine_settings.timezone
        shown = notifications.returned_for_user(services().sessions, current_user.actor, now, tz=tz) \
            if current_user.lanes else []
        shown += services().notifications(current_user)
        overviews = case_search.case_overviews(services().sessions, [t.case_id for t in tasks])
        to_review = len(glass.grants_to_review(services().sessions, current_user.team)) \
            if "aandachtsfunctionaris" in current_user.roles else 0
        # NEN 7513: lists are reads too; only the clients on the page shown were read
        audit_list("inbox.view", [t.client_ref for t in tasks], filter=chosen, page=page)
    return render_template("inbox/index.html", tasks=tasks, chosen=chosen, filters=FILTERS,
                           glass_roles=GLASS_ROLES, glass_to_review=to_review,
                           counts=counts(everything, current_user.username, now), notifications=shown,
                           notification_titles=notifications.TITLES, overviews=overviews,
                           highlight=highlight, claim_form=EmptyForm(), page=page, pages=pages)


@bp.post("/meldingen/<int:notification_id>/gelezen")
@login_required
def mark_read(notification_id: int):
    """Mark one of my own notifications read (someone else's, or an unknown one, is left alone)."""
    with services().sessions.begin() as session:
        done = notifications.mark_read(session, notification_id, current_user.username, clock.now())
    if not done:
        flash("Deze melding was al gelezen.", "info")
    return redirect(url_for("inbox.index"))
