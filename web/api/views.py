from __future__ import annotations

from functools import wraps

from flask import abort, jsonify, request, url_for
from flask_login import current_user

from engine import clock, lookups
from engine.access import FULL
from engine.errors import (
    CaseFailure,
    ConflictError,
    NotAllowedError,
    NotFoundError,
    ValidationError,
)
from engine.events import EventNotAvailable
from engine.states import CaseStatus

from ..access import deny, require_case, require_task, visible_diagram
from ..auditlog.hooks import audit_list
from ..cases.service import StartError, StartRequest, parse_yes_no, start_case
from ..extensions import csrf
from ..inbox.service import FILTERS, apply_filter, my_open_tasks
from ..roles import CASE_READ_ROLES
from ..services import services
from ..tasks import actions
from . import bp, serialize
from .openapi import spec


@bp.before_request
def csrf_for_cookie_sessions():
    """Bearer requests carry no ambient credentials; cookie sessions must send X-CSRFToken on changes."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if current_user.is_authenticated and not current_user.via_token:
        csrf.protect()


def api_login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated:
            abort(401)
        return view(*args, **kwargs)
    return wrapper


def problem(status: int, error: str, message: str, **extra):
    return jsonify(error=error, message=message, **extra), status


def _read_or_403(read, key: int):
    """An engine read of one task or case as the signed-in user; one it does not find or does not allow is the
    same 403 as web/access.py gives (never tell which exists)."""
    try:
        return read(key, current_user.actor)
    except (NotFoundError, NotAllowedError):
        abort(403)


@bp.get("/openapi.json")
def openapi():
    return jsonify(spec(request.host_url.rstrip("/")))


@bp.get("/me")
@api_login_required
def me():
    return jsonify(username=current_user.username, display_name=current_user.display_name, team=current_user.team,
                   roles=sorted(current_user.roles), lanes=sorted(current_user.lanes))


@bp.get("/tasks")
@api_login_required
def tasks():
    chosen = request.args.get("filter", "team")
    if chosen not in FILTERS:
        return problem(400, "bad_request", f"filter must be one of {sorted(FILTERS)}")
    with services().cases.one_transaction():  # the list and its audit event: one BEGIN and COMMIT
        found = apply_filter(my_open_tasks(services().cases, current_user), chosen, current_user.username,
                             clock.now())
        audit_list("task.list", [t.client_ref for t in found], filter=chosen)  # NEN 7513: lists are reads too
    return jsonify(tasks=[serialize.task(t) for t in found])


@bp.get("/tasks/<int:task_id>")
@api_login_required
def task(task_id: int):
    require_task(task_id, "task.view")
    return jsonify(serialize.task(_read_or_403(services().cases.task, task_id), detail=True))


@bp.post("/tasks/<int:task_id>/complete")
@api_login_required
def complete_task(task_id: int):
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        require_task(task_id, "task.complete")  # who may not work on the task is refused as such, and audited
        return problem(400, "bad_request", 'send a JSON object {"data": {field: value, ...}}')
    done = actions.complete_deciding_access(task_id, body["data"])
    if isinstance(done, actions.Refusal):
        if done.kind == "task_not_ready":
            return refused(done, completed_by=done.scope.completed_by if done.scope else None)
        return refused(done)
    return jsonify(serialize.completion(done))


def refused(refusal: actions.Refusal, **extra):
    """An engine refusal as a JSON problem: its kind is the error code."""
    if refusal.kind == "validation":
        return problem(refusal.status, refusal.kind, "the data does not satisfy the task's form",
                       errors=refusal.error.errors)
    return problem(refusal.status, refusal.kind, str(refusal.error), **extra)


# One view for both; the rule says which (endpoints api.claim_task and api.release_task).
@bp.post("/tasks/<int:task_id>/claim", endpoint="claim_task")
@bp.post("/tasks/<int:task_id>/release", endpoint="release_task")
@api_login_required
def claim_or_release(task_id: int):
    refusal = actions.claim(task_id, release=request.endpoint == "api.release_task")
    if refusal is not None:
        return refused(refusal)
    scope = lookups.task_scope(services().sessions, task_id)
    return jsonify(task_id=task_id, claimed_by=scope.claimed_by if scope else None)


def _require_case_reader(action: str):
    if not current_user.has_any(CASE_READ_ROLES):
        deny(action, reason="role may not read case files")


@bp.get("/cases")
@api_login_required
def cases():
    """Cases the user may read. With any of q, step, overdue, responsible, started_from, started_to, sort or page
    it is a search (engine/case_search.py): one page of matches with paging facts."""
    _require_case_reader("case.list")
    from engine import case_search

    from ..cases import find

    search_params = ("q", "step", "overdue", "responsible", "started_from", "started_to", "sort", "page")
    status = request.args.get("status")
    if not any(name in request.args for name in search_params):
        if status not in (None, CaseStatus.RUNNING, CaseStatus.COMPLETED):
            return problem(400, "bad_request", "status must be running or completed")
        with services().cases.one_transaction():
            found = services().cases.list_cases(actor=current_user.actor, status=status)
            audit_list("case.list", [c.client_ref for c in found], status=status)  # NEN 7513: lists are reads too
        return jsonify(cases=[serialize.case_summary(c) for c in found])
    parsed = find.parse(request.args, username=current_user.username, tz=services().engine_settings.timezone,
                        statuses=find.API_STATUSES, default_status=None, sorts=find.API_SORTS, api=True)
    if parsed.errors:
        return problem(400, "bad_request", "; ".join(f"{k}: {v}" for k, v in sorted(parsed.errors.items())),
                       errors=parsed.errors)
    query = parsed.query
    with services().cases.one_transaction():
        page = case_search.search_cases(services().sessions, current_user.actor, query)
        audit_list("case.list", [c.client_ref for c in page.rows], status=query.status, q=query.q or None,
                   step=query.step, overdue=query.overdue or None, responsible=query.responsible,
                   sort=query.sort.value, page=query.page)  # NEN 7513: lists are reads too
    iso = serialize.iso
    return jsonify(
        cases=[{"id": c.id, "client_ref": c.client_ref, "team": c.team, "status": c.status,
                "started_by": c.started_by, "started_at": iso(c.started_at), "updated_at": iso(c.updated_at),
                "responsible": c.responsible, "next_due": iso(c.next_due), "overdue": c.overdue,
                "step": c.progress.step, "step_label": c.progress.label,
                "url": url_for("api.case", case_id=c.id)} for c in page.rows],
        page=page.page, per_page=page.per_page, total=page.total, total_capped=page.total_capped,
        pages=page.pages)


@bp.post("/cases")
@api_login_required
def start():
    if not current_user.has_any(services().settings.start_roles):
        deny("case.start", reason="role may not start cases")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "bad_request", "send a JSON object {client_ref, aanleiding, levensbedreigend}")
    req = StartRequest(str(body.get("client_ref") or ""), str(body.get("aanleiding") or ""),
                       parse_yes_no(body.get("levensbedreigend")))
    try:
        case_id = start_case(services(), current_user, req)
    except StartError as exc:
        if exc.errors:
            return problem(422, "validation", "the case cannot be started with these values", errors=exc.errors)
        return problem(409, "not_startable", exc.message or "the case cannot be started")
    response = jsonify(id=case_id, url=url_for("api.case", case_id=case_id))
    response.status_code = 201
    response.headers["Location"] = url_for("api.case", case_id=case_id)
    return response


@bp.get("/cases/<int:case_id>")
@api_login_required
def case(case_id: int):
    require_case(case_id, "case.view")
    try:  # serialised inside the audited read: a failure is audited as failed
        return services().cases.case(case_id, current_user.actor, present=lambda info, decision: jsonify(
            {**serialize.case(info), "access": decision.scope}))
    except NotFoundError:
        abort(403)


@bp.get("/cases/<int:case_id>/diagram")
@api_login_required
def diagram(case_id: int):
    decision = require_case(case_id, "case.diagram")
    try:
        view = services().cases.case_diagram(case_id, current_user.actor)
        if decision.scope != FULL:
            view = visible_diagram(view, services().cases.case(case_id, current_user.actor, audit_read=False),
                                   decision)
    except NotFoundError:
        abort(403)
    services().cases.record_access(current_user.actor, "case.diagram", outcome="success", case_id=case_id,
                                   **decision.audit_details())
    return jsonify(process_id=view.process_id, filename=view.filename, bpmn_xml=view.bpmn_xml,
                   completed_elements=view.completed_elements, active_elements=view.active_elements)


@bp.get("/cases/<int:case_id>/events")
@api_login_required
def case_events(case_id: int):
    """The case events I can raise on this case now (contract.md "Case events")."""
    require_case(case_id, "case.events")
    options = _read_or_403(services().cases.available_events, case_id)
    return jsonify(events=[{"name": o.name, "lane": o.lane, "form_schema": o.form_schema} for o in options])


@bp.post("/cases/<int:case_id>/events/<event>")
@api_login_required
def raise_event(case_id: int, event: str):
    """Raise a case event with its form data as the JSON body; 409 (nothing changed) when the case cannot
    take it now."""
    require_case(case_id, "case.event")
    engine = services().cases
    lane = engine.event_lanes(case_id).get(event, "")
    if lane == "":
        return problem(404, "unknown_event", f"the diagram of case {case_id} has no event {event!r} / "
                                             f"het proces van deze zaak kent de gebeurtenis ‘{event}’ niet")
    if lane not in current_user.roles:
        deny("case.event", case_id=case_id, reason=f"event {event!r} of lane {lane!r}")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return problem(400, "bad_request", "send the event's form data as a JSON object ({} when it has no form)")
    try:
        done = engine.raise_event(case_id, event, current_user.actor, body)
    except ValidationError as exc:
        return problem(422, "validation", "the data does not satisfy the event's form", errors=exc.errors)
    except EventNotAvailable as exc:
        return problem(409, "event_not_available",
                       f"{exc} / deze zaak kan ‘{event}’ nu niet ontvangen (alleen tijdens het volgen van de "
                       "cliënt, zolang de zaak loopt); er is niets gewijzigd")
    except ConflictError as exc:
        return problem(409, "conflict", str(exc))
    except NotAllowedError:
        abort(403)  # audited by the engine
    except CaseFailure as exc:
        return problem(500, "case_failure", str(exc))
    return jsonify({**serialize.completion(done), "event": event,
                    "available_events": [o.name for o in engine.available_events(case_id, current_user.actor)]})

from . import studio  # noqa: E402,F401 - the studio's endpoints (web/api/studio.py)
