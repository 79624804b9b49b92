from __future__ import annotations

from itertools import groupby

from flask import abort, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import case_search, corrections, handover, lookups, notifications
from engine.access import FULL, METADATA, TEAM_LANES
from engine.decisions import decision_of
from engine.errors import NotFoundError
from engine.progress import step_of
from engine.states import CaseStatus

from ..access import access_notice, deny, require_case, roles_required, visible_diagram
from ..auditlog.hooks import audit_list
from ..labels import decision_sentence
from ..roles import CASE_READ_ROLES
from ..services import services
from . import bp, find
from .diagram_source import source_url
from .service import StartError, StartRequest, parse_yes_no, start_case

TIMELINE_LATEST = 50  # steps on the case file's timeline; `?tijdlijn=alles` shows every one
NOTES_LATEST = 20  # notes on the case file; `?aantekeningen=alle` shows every one
STATUS_FILTERS = {"lopend": CaseStatus.RUNNING, "afgerond": CaseStatus.COMPLETED,
                  "gepauzeerd": CaseStatus.SUSPENDED, "gestopt": CaseStatus.TERMINATED, "alle": None}


@bp.get("")
@login_required
@roles_required(*CASE_READ_ROLES)
def index():
    """Zaken: search by client reference, filter, sort and page (engine/case_search.py); "Mijn zaken" is the
    filter verantwoordelijke=mij."""
    parsed = find.parse(request.args, username=current_user.username, tz=services().engine_settings.timezone,
                        statuses=STATUS_FILTERS, default_status="lopend", sorts=find.PAGE_SORTS)
    query = parsed.query
    with services().cases.one_transaction():  # the page's reads and its audit event: one BEGIN and COMMIT
        found = case_search.search_cases(services().sessions, current_user.actor, query)
        members = find.team_members(services().sessions, current_user.team)
        audit_list("case.list", [c.client_ref for c in found.rows], status=query.status, q=query.q or None,
                   step=query.step, overdue=query.overdue or None, responsible=query.responsible,
                   sort=query.sort.value, page=query.page)  # NEN 7513: lists are reads too
    status_key = next((k for k, v in STATUS_FILTERS.items() if v == query.status), "alle")
    args = {k: v for k, v in request.args.items() if v and k not in parsed.errors and k != "pagina"}
    mine = request.args.get("verantwoordelijke") == find.MINE
    return render_template("cases/index.html", found=found, cases=found.rows, status_key=status_key,
                           statuses=STATUS_FILTERS, args=args, errors=parsed.errors, steps=find.STEPS,
                           sorts=find.SORTS, members=members,
                           mine=mine, sort_value=query.sort.value, sort_label=find.SORTS[query.sort]), 422 if parsed.errors else 200


def _may_start() -> bool:
    return current_user.has_any(services().settings.start_roles)


@bp.route("/nieuw", methods=["GET", "POST"])
@login_required
def new():
    if not _may_start():
        deny("page.cases.new", reason=f"needs one of the roles {list(services().settings.start_roles)}")
    values = {"client_ref": "", "aanleiding": "", "levensbedreigend": ""}
    errors: dict[str, list[str]] = {}
    message = None
    status = 200
    if request.method == "POST":
        values = {k: request.form.get(k, "") for k in values}
        req = StartRequest(values["client_ref"], values["aanleiding"], parse_yes_no(values["levensbedreigend"]))
        try:
            case_id = start_case(services(), current_user, req)
        except StartError as exc:
            errors, message, status = exc.errors, exc.message, 422
        else:
            flash(f"De meldcode is gestart voor cliënt {req.client_ref.strip()}.", "success")
            mine = [t for t in services().cases.open_tasks(case_id=case_id) if t.lane in current_user.roles]
            if mine:
                return redirect(url_for("tasks.show", task_id=mine[0].id))
            return redirect(url_for("cases.show", case_id=case_id))
    return render_template("cases/new.html", values=values, errors=errors, message=message), status


@bp.get("/<int:case_id>")
@login_required
def show(case_id: int):
    require_case(case_id, "case.view")
    engine = services().cases
    try:
        # Rendered inside the audited read (engine.case): a page that fails is audited as failed, and the
        # diagram, the panels and their access checks are read in that one transaction.
        return engine.case(case_id, current_user.actor, present=lambda case, decision: make_response(
            _render_case(case, decision)))
    except NotFoundError:
        abort(403)


def _render_case(case, decision):
    if notice := access_notice(decision):
        flash(notice, "info")  # shown by the layout on this very page
    # The diagram's source is not in the page: the browser fetches it from its own address and keeps it
    diagram = visible_diagram(services().cases.case_diagram(case.id, current_user.actor, source=False), case,
                              decision)
    history = sorted(case.history, key=lambda h: (h["completed_at"] is None, h["completed_at"], h["task_id"]))
    # Answers are a JSON object; anything else stored (an old version, a manual repair) is shown, never fatal.
    history = [h if h["data"] is None or isinstance(h["data"], dict) else {**h, "data": {"gegevens": h["data"]}}
               for h in history]
    # A case monitored for a long time has hundreds of steps: the page shows the latest, the rest on request.
    earlier = 0 if request.args.get("tijdlijn") == "alles" else max(0, len(history) - TIMELINE_LATEST)
    shown = history[earlier:]
    labels = lookups.field_labels(services().sessions, case.id, [h["task_id"] for h in shown])
    names = lookups.diagram_names(services().sessions, diagram)
    timers = [{"name": names.get(t["element_id"], t["element_id"]), "due_at": t["due_at"]} for t in case.waiting_timers]
    sent = notifications.case_notifications(services().sessions, case.id, tz=services().engine_settings.timezone) \
        if decision.scope == FULL else []
    return render_template("cases/show.html", case=case, diagram=diagram, diagram_src=source_url(diagram),
                           history=shown, earlier_steps=earlier, labels=labels,
                           milestone_runs=[(name, len(list(run))) for name, run in groupby(case.milestones)],
                           notes_latest=NOTES_LATEST,
                           timers=timers, notifications=sent, access=decision,
                           **_case_file_extras(case, decision, history, shown))


def _case_file_extras(case, decision, history, shown) -> dict:
    """Issue 13 on the case file: who is responsible (and the handovers), corrections with their steps, the
    afwegingskader's decision as a timeline entry, and which step of the meldcode the case is in."""
    sessions, actor = services().sessions, current_user.actor
    ownership = handover.ownership(sessions, case.id, actor) if decision.scope == FULL else None
    may_hand_over = False
    if ownership is not None and current_user.has_any(TEAM_LANES) and case.status == CaseStatus.RUNNING:
        # Whether there is anything to hand over does not depend on the colleagues: their accounts (a team of
        # 150: 5-10 ms of ORM work) are read on the handover page itself.
        offered = handover.options(sessions, case.id, actor, ())
        may_hand_over = offered.may_hand_over_case or bool(offered.tasks)
    task_ids = [h["task_id"] for h in shown]
    added = corrections.case_corrections(sessions, case.id, actor, task_ids) if decision.scope != METADATA else {}
    correctable = corrections.may_correct(sessions, case.id, actor) if decision.scope != METADATA else set()
    entry = decision_of(history, case.variables,
                        {task_id: [name for c in found for name in c.changes] for task_id, found in added.items()})
    elements = [t.element_id for t in case.open_tasks] or [t["element_id"] for t in case.waiting_timers]
    progress = step_of(elements, case.milestones, ended=case.status != CaseStatus.RUNNING)
    return {"ownership": ownership, "may_hand_over": may_hand_over, "corrections": added,
            "correctable": correctable, "decision_entry": entry,
            "decision_text": decision_sentence(entry.besluit, entry.answers) if entry else None,
            "progress": progress}
