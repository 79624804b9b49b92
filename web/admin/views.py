"""The beheerder's process-instance console: every instance across teams, as metadata (never case content),
and the actions with a required reason (engine/oversight.py audits them)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import lookups, oversight
from engine.errors import NotFoundError, ValidationError

from ..access import roles_required
from ..cases.diagram_source import source_url
from ..roles import BEHEERDER
from ..services import services
from . import bp

PER_PAGE = 50
ACTIONS = {  # url part -> (Oversight method, also the endpoint; message)
    "pauzeren": ("suspend", "De zaak is gepauzeerd: er kunnen geen taken worden afgerond en timers gaan niet af."),
    "hervatten": ("resume", "De zaak is hervat."),
    "beeindigen": ("terminate", "De zaak is beëindigd; open taken en timers zijn geannuleerd."),
    "timers-opnieuw": ("retry_timers", "De geparkeerde timers worden bij de volgende ronde opnieuw uitgevoerd."),
}
FIELD_TEXT = {"reason": "Geef een reden op (verplicht, hooguit 500 tekens).", "user": None, "team": None,
              "target": "Kies een gebruiker óf een team.", "status": None, "timers": None, "task": None}


def _ops() -> oversight.Oversight:
    return oversight.Oversight(services().sessions)


def _date(value: str | None, *, end: bool = False):
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip()) + (timedelta(days=1) if end else timedelta())
    except ValueError:
        return None
    return datetime.combine(day, time(), ZoneInfo(services().engine_settings.timezone))


def _filter(args) -> oversight.InstanceFilter:
    status = args.get("status") or None
    return oversight.InstanceFilter(
        process_id=args.get("proces") or None, version=args.get("versie", type=int),
        status=status if status in oversight.STATUSES else None, step=args.get("stap") or None,
        overdue=args.get("te_laat") == "1", team=args.get("team") or None,
        started_from=_date(args.get("van")), started_until=_date(args.get("tot"), end=True))


@bp.get("/beheer/zaken")
@login_required
@roles_required(BEHEERDER)
def instances():
    f = _filter(request.args)
    with services().sessions() as session:
        rows, next_after = oversight.list_instances(session, f, after_id=request.args.get("na", type=int),
                                                    limit=PER_PAGE)
        options = oversight.filter_options(session)
    keep = {k: v for k, v in request.args.items() if k != "na" and v}
    return render_template("admin/instances.html", rows=rows, next_after=next_after, options=options,
                           args=request.args, keep=keep, first_page="na" not in request.args)


@bp.get("/beheer/zaken/<int:case_id>")
@login_required
@roles_required(BEHEERDER)
def instance(case_id: int):
    engine = services().cases
    try:
        with services().sessions() as session:
            detail = oversight.instance(session, case_id)
        diagram = engine.case_diagram(case_id, source=False)
    except NotFoundError:
        abort(404)
    # The beheerder sees metadata of this client's case: that is logged too.
    engine.record_access(current_user.actor, "oversight.view", outcome="success", case_id=case_id)
    return render_template("admin/instance.html", case=detail, diagram=diagram, diagram_src=source_url(diagram))


def _done_or_error(action, success: str, case_id: int):
    try:
        action()
    except ValidationError as exc:
        messages = [FIELD_TEXT.get(field) or "; ".join(reasons) for field, reasons in exc.errors.items()]
        flash("Niet uitgevoerd: " + " ".join(messages), "error")
    except NotFoundError:
        abort(404)
    else:
        flash(success, "success")
    return redirect(url_for("admin.instance", case_id=case_id))


def _oversight_action(method: str, success: str):
    """The view of one of ACTIONS: the Oversight method, with the reason from the form."""
    def view(case_id: int):
        reason = request.form.get("reden", "")
        return _done_or_error(lambda: getattr(_ops(), method)(case_id, current_user.actor, reason), success, case_id)
    view.__name__ = view.__qualname__ = method
    return login_required(roles_required(BEHEERDER)(view))


# The four actions with only a reason: one rule each, the endpoint named after the method (admin.suspend, ...).
for _part, (_method, _success) in ACTIONS.items():
    bp.post(f"/beheer/zaken/<int:case_id>/{_part}", endpoint=_method)(_oversight_action(_method, _success))


@bp.post("/beheer/zaken/<int:case_id>/bewaarplicht")
@login_required
@roles_required(BEHEERDER)
def legal_hold(case_id: int):
    lift = request.form.get("opheffen") == "1"
    reason = None if lift else request.form.get("reden", "")
    text = "De bewaarplicht is opgeheven." if lift else "De zaak staat onder bewaarplicht en wordt niet vernietigd."
    return _done_or_error(lambda: _ops().set_legal_hold(case_id, current_user.actor, reason), text, case_id)


@bp.post("/beheer/taken/<int:task_id>/toewijzen")
@login_required
@roles_required(BEHEERDER)
def reassign(task_id: int):
    case_id = lookups.task_case_id(services().sessions, task_id)
    if case_id is None:
        abort(404)
    user = (request.form.get("gebruiker") or "").strip() or None
    team = (request.form.get("team") or "").strip() or None
    target = f"gebruiker {user}" if user else f"team {team}"
    return _done_or_error(lambda: _ops().reassign_task(task_id, current_user.actor, request.form.get("reden", ""),
                                                       user=user, team=team),
                          f"De taak is toegewezen aan {target}.", case_id)
