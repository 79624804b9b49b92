"""Corrections from the timeline: "Correctie toevoegen" on a completed step (engine/corrections.py).

The form is the step's own form, filled with its answers as they stand (with earlier corrections); what the
person changes becomes the correction, with a reason. The step's record is never overwritten: the timeline shows
the correction with the step, as an addendum.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import corrections
from engine.access import AccessDenied
from engine.errors import NotFoundError, TaskNotReadyError, ValidationError

from .. import schema_forms
from ..access import deny
from ..labels import local_today
from ..services import services
from . import bp

EMPTIED = "Een correctie vult aan of vervangt; een antwoord leegmaken kan niet. Leg in de reden uit wat er niet klopt."


def _require(case_id: int, task_id: int) -> None:
    """Who may work on the step (its lane in the case's team) may correct it: the engine's policy, asked again."""
    found = services().cases.task_with_access(task_id, current_user.actor)
    if found is None:
        deny("task.correct", case_id=case_id, task_id=task_id, reason="no such task")
    scope, decision = found
    if scope.case_id != case_id:
        deny("task.correct", case_id=case_id, task_id=task_id, reason=f"task belongs to case {scope.case_id}")
    if not decision.allowed:
        deny("task.correct", case_id=case_id, task_id=task_id, reason=decision.basis)


def _step(case_id: int, task_id: int):
    try:
        return corrections.step(services().sessions, task_id, current_user.actor)  # audited: task.view
    except TaskNotReadyError:
        return None
    except (AccessDenied, NotFoundError):
        deny("task.correct", case_id=case_id, task_id=task_id, reason="refused by the engine")


def _normalise(value) -> object:
    if isinstance(value, list):
        return sorted(str(v) for v in value)
    return str(value or "").replace("\r\n", "\n").strip()


def _page(step, fields, *, reason: str = "", problem: str | None = None, reason_errors=(), status: int = 200):
    labels = {f.name: f.label for f in schema_forms.fields_for(step.form_schema)}
    return render_template("cases/_correction_page.html", step=step, fields=fields, reason=reason, problem=problem,
                           reason_errors=list(reason_errors), labels=labels), status


@bp.route("/<int:case_id>/stappen/<int:task_id>/correctie", methods=["GET", "POST"])
@login_required
def correction(case_id: int, task_id: int):
    _require(case_id, task_id)
    step = _step(case_id, task_id)
    if step is None:
        flash("Alleen een afgeronde stap kan worden gecorrigeerd; een open stap rondt u af.", "info")
        return redirect(url_for("cases.show", case_id=case_id))
    tz = services().engine_settings.timezone
    if request.method == "GET":
        return _page(step, schema_forms.fields_for(step.form_schema, data=step.current, tz=tz))

    shown = {f.name: f.value for f in schema_forms.fields_for(step.form_schema, data=step.current, tz=tz)}
    data, parse_errors, raw = schema_forms.parse(step.form_schema, request.form, today=local_today(), tz=tz)
    changes, errors = {}, {}
    for name, value in raw.items():
        if _normalise(value) == _normalise(shown.get(name)):
            continue  # untouched: an old answer stays as it was (even one a date check would now question)
        if name in parse_errors:
            errors[name] = parse_errors[name]
        elif name not in data:
            errors[name] = [EMPTIED]
        else:
            changes[name] = data[name]
    reason = request.form.get("reden", "")
    if errors:
        return _page(step, schema_forms.fields_for(step.form_schema, raw=raw, errors=errors, tz=tz), reason=reason,
                     status=422, problem="Niet alle wijzigingen zijn in orde. Er is niets opgeslagen.")
    try:
        corrections.add(services().sessions, task_id, current_user.actor, changes, reason,
                        max_text_length=services().engine_settings.max_text_length)
    except ValidationError as exc:
        found = schema_forms.translate_errors(exc)
        reason_errors = found.pop(corrections.REASON_FIELD, [])
        general = found.pop(corrections.CHANGES_FIELD, []) + found.pop("(form)", [])
        return _page(step, schema_forms.fields_for(step.form_schema, raw=raw, errors=found, tz=tz), reason=reason,
                     status=422, reason_errors=reason_errors,
                     problem=" ".join(general) or "Niet alle wijzigingen zijn in orde. Er is niets opgeslagen.")
    except (AccessDenied, NotFoundError):
        deny("task.correct", case_id=case_id, task_id=task_id, reason="refused by the engine")
    except TaskNotReadyError:
        flash("Alleen een afgeronde stap kan worden gecorrigeerd.", "info")
        return redirect(url_for("cases.show", case_id=case_id))
    flash(f"De correctie op ‘{step.name or 'de stap'}’ is toegevoegd aan het dossier. Wat eerder is vastgelegd, "
          f"blijft zichtbaar.", "success")
    return redirect(url_for("cases.show", case_id=case_id) + f"#stap-{task_id}")
