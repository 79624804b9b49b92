from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from engine import drafts, lookups, task_context
from engine.errors import (
    CaseNotRunningError,
    ConflictError,
    NotAllowedError,
    NotFoundError,
    TaskNotReadyError,
    ValidationError,
)
from engine.states import CaseStatus, CaseTaskState

from .. import schema_forms
from ..access import require_task
from ..auth.forms import EmptyForm
from ..auth.views import safe_next
from ..labels import display_person, local_today, milestone_label, role_label
from ..services import services
from . import actions, bp


def _render(info, *, fields, status=200, problem=None, problem_kind="error", read_only=False, scope=None,
            context=None, draft=None):
    if context is None:  # a page shown again after a post: the earlier answers belong to the (audited) view
        context = _context(info.id)
    return render_template("tasks/show.html", task=info, fields=fields, problem=problem, problem_kind=problem_kind,
                           read_only=read_only, scope=scope, claim_form=EmptyForm(), context=context,
                           draft=draft, has_draft=draft is not None or _has_draft(info)), status


def _context(task_id: int) -> list:
    """What earlier steps recorded that this step needs (engine/task_context.py); reading it is the audited
    `task.view` of the page."""
    try:
        return task_context.task_view(services().sessions, task_id, current_user.actor)
    except (NotFoundError, NotAllowedError):
        abort(403)


def _has_draft(info) -> bool:
    return info.state == CaseTaskState.READY and drafts.has_draft(services().sessions, info.id, current_user.username)


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):
    scope = require_task(task_id, "task.view")
    actor = current_user.actor
    try:
        info = services().cases.task(task_id, actor, audit_read=False)  # audited below, with what the page shows
    except (NotFoundError, NotAllowedError):
        abort(403)
    context = _context(task_id)  # audited: task.view
    if info.state != CaseTaskState.READY:
        return _render(info, fields=schema_forms.fields_for(info.form_schema), read_only=True, scope=scope,
                       problem=_done_text(scope), problem_kind="info", context=context)
    # What the case already knows (the start form, earlier steps) is filled in, not asked again; the user's own
    # draft (engine/drafts.py) goes over it: that is what they typed last.
    known = lookups.case_variables(services().sessions, info.case_id, schema_forms.prefill_names(info.form_schema))
    try:
        draft = drafts.load_draft(services().sessions, task_id, actor)  # audited when there is one
    except (NotFoundError, NotAllowedError):
        abort(403)
    return _render(info, fields=schema_forms.fields_for(info.form_schema, data=known, raw=draft.data if draft else None,
                                                        tz=services().engine_settings.timezone),
                   scope=scope, context=context, draft=draft)


# -- drafts (concepten): saved by the button, or by static/drafts.js while typing --------------------------------
def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.post("/<int:task_id>/concept")
@login_required
def save_draft(task_id: int):
    scope = require_task(task_id, "task.draft.save")
    schema = lookups.task_form(services().sessions, task_id)
    raw = schema_forms.raw_values(schema, request.form)
    try:
        draft = drafts.save_draft(services().sessions, task_id, current_user.actor, raw,
                                  services().engine_settings.max_text_length)
    except ValidationError as exc:
        errors = {name: [schema_forms.translate("text", r) for r in reasons] for name, reasons in exc.errors.items()}
        message = "Het concept is níet opgeslagen: een antwoord is te lang of bevat een teken dat niet kan."
        if _wants_json():
            return jsonify(saved=False, message=message, errors=errors), 422
        info = services().cases.task(task_id, current_user.actor, audit_read=False)
        return _render(info, fields=schema_forms.fields_for(schema, raw=raw, errors=errors), status=422,
                       scope=scope, problem=message)
    except (NotAllowedError, TaskNotReadyError, CaseNotRunningError, ConflictError) as exc:
        message = _draft_refusal(exc)
        if _wants_json():
            return jsonify(saved=False, message=message), 409
        flash(message, "warning")
        return redirect(url_for("tasks.show", task_id=task_id), 303)
    except NotFoundError:
        abort(403)
    saved = _draft_saved_text(draft.saved_at)
    if _wants_json():
        return jsonify(saved=True, message=saved, saved_at=draft.saved_at.isoformat())
    flash(saved, "success")
    return redirect(url_for("tasks.show", task_id=task_id) + "#formulier-kop", 303)


@bp.post("/<int:task_id>/concept/verwijderen")
@login_required
def discard_draft(task_id: int):
    require_task(task_id, "task.draft.discard")
    try:
        gone = drafts.discard_draft(services().sessions, task_id, current_user.actor)
    except (NotFoundError, NotAllowedError):
        abort(403)
    flash("Uw concept is verwijderd; het formulier toont weer wat de zaak al weet." if gone
          else "Er was geen concept om te verwijderen.", "success" if gone else "info")
    return redirect(url_for("tasks.show", task_id=task_id), 303)


def _draft_saved_text(saved_at) -> str:
    from ..labels import format_datetime

    when = format_datetime(saved_at, services().engine_settings.timezone)[-5:]
    return f"Concept opgeslagen om {when}. Het staat nog niet in het dossier; alleen u ziet het."


def _draft_refusal(exc: Exception) -> str:
    if isinstance(exc, ConflictError):
        return "Het concept is níet opgeslagen: het werd tegelijk op een andere plek opgeslagen. Probeer het opnieuw."
    if isinstance(exc, NotAllowedError):
        return "Het concept is níet opgeslagen: iemand anders heeft deze taak opgepakt."
    return "Het concept is níet opgeslagen: deze taak staat niet meer open."


@bp.post("/<int:task_id>")
@login_required
def complete(task_id: int):
    scope = require_task(task_id, "task.complete")
    engine = services().cases
    actor = current_user.actor
    info = None

    def page():  # the task page again (an audited view), with what the user entered
        nonlocal info
        info = info or engine.task(task_id, actor, audit_read=False)  # audited by _render, with its context
        return info

    schema = lookups.task_form(services().sessions, task_id)
    data, errors, raw = schema_forms.check(schema, request.form, today=local_today(),
                                           tz=services().engine_settings.timezone)
    if errors:
        return _render(page(), fields=schema_forms.fields_for(schema, raw=raw, errors=errors), status=422,
                       scope=scope, problem="Niet alle antwoorden zijn in orde. Verbeter de gemarkeerde velden; "
                                            "uw andere antwoorden zijn bewaard.")
    completion = actions.complete(task_id, data)
    if isinstance(completion, actions.Refusal):
        return _refused(completion, page, schema, raw, scope)
    flash(_completion_message(scope, completion), "success")
    return redirect(url_for("inbox.index", zaak=completion.case_id))


def _refused(refused: actions.Refusal, page, schema, raw, scope):
    """The task page again with the user's answers and why nothing was stored."""
    kind, exc, status = refused.kind, refused.error, refused.status
    if kind == "validation":
        errors = schema_forms.translate_errors(exc)
        return _render(page(), fields=schema_forms.fields_for(schema, raw=raw, errors=errors), status=status,
                       scope=scope, problem="Niet alle antwoorden zijn in orde. Verbeter de gemarkeerde velden.")
    fields = schema_forms.fields_for(schema, raw=raw)
    if kind in ("task_not_ready", "case_not_running"):
        scope = refused.scope or scope
        return _render(page(), fields=fields, status=status, read_only=True,
                       scope=scope, problem=_done_text(scope) + " Uw antwoorden zijn níet opgeslagen; u ziet ze "
                       "hieronder, zodat u niets kwijtraakt. Vul zo nodig aan in het dossier.")
    if kind == "conflict":
        return _render(page(), fields=fields, status=status, scope=scope,
                       problem="Iemand anders wijzigde dit dossier op hetzelfde moment. Er is niets opgeslagen. "
                               "Controleer uw antwoorden hieronder en verstuur opnieuw.")
    if kind == "claimed":
        scope = refused.scope or scope
        return _render(page(), fields=fields, status=status, read_only=True,
                       scope=scope, problem=f"Deze taak is geclaimd door {display_person(scope.claimed_by)}; alleen die persoon kan "
                       "hem afronden. Uw antwoorden zijn níet opgeslagen; u ziet ze hieronder.")
    # case_failure: the diagram could not go on with these answers
    services().cases.record_access(current_user.actor, "task.complete", outcome="error", case_id=scope.case_id,
                                   task_id=scope.task_id, reason=str(exc))
    return _render(page(), fields=fields, status=status, scope=scope,
                   problem=f"Het proces kan met deze antwoorden niet verder ({exc}). Er is niets opgeslagen. "
                           "Meld dit aan de procesbeheerder.")


def _done_text(scope) -> str:
    from ..labels import format_datetime

    who = "u" if scope.completed_by == current_user.username else (display_person(scope.completed_by) if scope.completed_by else "iemand anders")
    when = format_datetime(scope.ended_at, services().engine_settings.timezone) if scope.ended_at else None
    if scope.state == CaseTaskState.COMPLETED:
        return f"Deze stap is al afgerond door {who}" + (f" op {when}." if when else ".")
    return "Deze stap staat niet meer open (het proces is verder gegaan of beëindigd)."


def _completion_message(scope, completion) -> dict:
    """The confirmation after a step, naming what was reached and what comes next (with a link when it is mine),
    and linking to the dossier where it was recorded."""
    parts = [Markup("Stap ‘{}’ is afgerond en vastgelegd in <a class=\"dossier-link\" href=\"{}\">het dossier</a>.")
             .format(scope.name or "taak", url_for("cases.show", case_id=completion.case_id))]
    link = None
    if completion.milestones:
        parts.append("Bereikt: " + "; ".join(milestone_label(m) for m in completion.milestones) + ".")
    if completion.status == CaseStatus.COMPLETED:
        parts.append("De meldcode is voor deze cliënt afgerond.")
    else:
        following = services().cases.open_tasks(case_id=completion.case_id)
        if following:
            parts.append("Volgende stap: " + "; ".join(
                f"‘{t.name or t.element_id}’ ({role_label(t.lane)})" for t in following) + ".")
        mine = [t for t in following if t.lane in current_user.roles]
        if len(mine) == 1:
            link = {"href": url_for("tasks.show", task_id=mine[0].id),
                    "text": f"Ga verder met ‘{mine[0].name or mine[0].element_id}’"}
    return {"text": Markup(" ").join(parts), "link": link}


def _back(task_id: int):
    return redirect(safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


# One view for both buttons; the rule says which (endpoints tasks.claim and tasks.release).
@bp.post("/<int:task_id>/claimen", endpoint="claim")
@bp.post("/<int:task_id>/vrijgeven", endpoint="release")
@login_required
def claim_or_release(task_id: int):
    release = request.endpoint == "tasks.release"
    refused = actions.claim(task_id, release=release)
    if refused is not None and refused.kind == "claimed":
        scope = refused.scope
        flash(f"Deze taak is al geclaimd door {display_person(scope.claimed_by) if scope else 'iemand anders'}.",
              "warning")
    elif refused is not None:
        flash("Deze taak staat niet meer open.", "warning")
    else:
        flash("U heeft de taak vrijgegeven; iedereen met deze rol in uw team kan hem nu oppakken." if release
              else "De taak staat nu op uw naam; anderen zien dat u hem oppakt.", "success")
    return _back(task_id)
