from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine.errors import NotAllowedError, NotFoundError
from engine.states import CaseStatus, CaseTaskState

from .. import queries, schema_forms
from ..access import require_task
from ..auth.forms import EmptyForm
from ..auth.views import safe_next
from ..labels import display_person, local_today, milestone_label, role_label
from ..services import services
from . import actions, bp


def _render(info, *, fields, status=200, problem=None, problem_kind="error", read_only=False, scope=None):
    return render_template("tasks/show.html", task=info, fields=fields, problem=problem, problem_kind=problem_kind,
                           read_only=read_only, scope=scope, claim_form=EmptyForm()), status


@bp.get("/<int:task_id>")
@login_required
def show(task_id: int):
    scope = require_task(task_id, "task.view")
    try:
        info = services().cases.task(task_id, current_user.actor)  # audited: task.view
    except (NotFoundError, NotAllowedError):
        abort(403)
    if info.state != CaseTaskState.READY:
        return _render(info, fields=schema_forms.fields_for(info.form_schema), read_only=True, scope=scope,
                       problem=_done_text(scope), problem_kind="info")
    # What the case already knows (the start form, earlier steps) is filled in, not asked again.
    known = queries.case_variables(services().sessions, info.case_id, schema_forms.prefill_names(info.form_schema))
    return _render(info, fields=schema_forms.fields_for(info.form_schema, data=known,
                                                               tz=services().engine_settings.timezone), scope=scope)


@bp.post("/<int:task_id>")
@login_required
def complete(task_id: int):
    scope = require_task(task_id, "task.complete")
    engine = services().cases
    actor = current_user.actor
    info = None

    def page():  # the task page again (an audited view), with what the user entered
        nonlocal info
        info = info or engine.task(task_id, actor)
        return info

    schema = queries.task_form(services().sessions, task_id)
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
    """The confirmation after a step, naming what was reached and what comes next (with a link when it is mine)."""
    parts = [f"Stap ‘{scope.name or 'taak'}’ is afgerond en vastgelegd in het dossier."]
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
    return {"text": " ".join(parts), "link": link}


def _back(task_id: int):
    return redirect(safe_next(request.form.get("next")) or url_for("tasks.show", task_id=task_id))


@bp.post("/<int:task_id>/claimen")
@login_required
def claim(task_id: int):
    return _claim(task_id, release=False)


@bp.post("/<int:task_id>/vrijgeven")
@login_required
def release(task_id: int):
    return _claim(task_id, release=True)


def _claim(task_id: int, release: bool):
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
