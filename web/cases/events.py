"""Case events on the case file: the buttons, the event's form, raising it (contract.md "Case events").

The professional raises an event ("Cliënt is verhuisd", ...) at any moment of the follow-up; the engine
decides whether the case can take it now. The form comes from `event_<name>.json`, rendered like task forms.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import lookups
from engine.errors import CaseFailure, ConflictError, NotAllowedError, NotFoundError, ValidationError
from engine.events import NO_FORM, EventNotAvailable
from engine.states import CaseStatus

from .. import schema_forms
from ..access import deny, require_case
from ..labels import display_person, display_team, event_intro, event_label, local_today, milestone_label, role_label
from ..services import services
from . import bp


# -- names as people read them (issue 9 item 11), for every template -------------------------------------
@bp.app_template_filter("team")
def team_filter(name: str | None) -> str:
    return display_team(name)


@bp.app_template_filter("moment")
def moment_filter(value: str) -> str:
    """An ISO date-time answer (e.g. when the melding was made) as people read it, in local time."""
    from datetime import datetime

    from ..labels import format_datetime

    try:
        return format_datetime(datetime.fromisoformat(value), services().engine_settings.timezone)
    except (TypeError, ValueError):
        return value


@bp.app_template_filter("persoon")
def person_filter(username: str | None) -> str:
    return display_person(username)


# -- the buttons --------------------------------------------------------------------------------------------
@bp.app_template_global("case_events")
def case_events(case_id: int) -> list[dict]:
    """The events the signed-in user can raise on this case now (none when the case cannot take any)."""
    try:
        options = services().cases.available_events(case_id, current_user.actor)
    except NotFoundError:
        return []
    return [{"name": o.name, "label": event_label(o.name),
             "href": url_for("cases.event", case_id=case_id, event=o.name)} for o in options]


# -- the form -----------------------------------------------------------------------------------------------
@bp.route("/<int:case_id>/gebeurtenis/<event>", methods=["GET", "POST"])
@login_required
def event(case_id: int, event: str):
    require_case(case_id, "case.event")
    engine = services().cases
    lane = engine.event_lanes(case_id).get(event, "")
    if lane == "":
        abort(404)  # the case's diagram knows no such event
    if lane not in current_user.roles:
        deny("case.event", case_id=case_id, reason=f"event {event!r} of lane {lane!r}")
    option = next((o for o in engine.available_events(case_id) if o.name == event), None)
    if option is None:
        return _page(case_id, event, None, [], status=409, problem=_not_now(event))
    schema = option.form_schema or NO_FORM
    if request.method == "GET":
        known = lookups.case_variables(services().sessions, case_id, schema_forms.prefill_names(schema))
        return _page(case_id, event, schema, schema_forms.fields_for(schema, data=known,
                                                                               tz=services().engine_settings.timezone))

    data, errors, raw = schema_forms.check(schema, request.form, today=local_today(),
                                           tz=services().engine_settings.timezone)
    if errors:
        return _page(case_id, event, schema, schema_forms.fields_for(schema, raw=raw, errors=errors), status=422,
                     problem="Niet alle antwoorden zijn in orde. Verbeter de gemarkeerde velden; uw andere "
                             "antwoorden zijn bewaard.")
    try:
        done = engine.raise_event(case_id, event, current_user.actor, data)
    except ValidationError as exc:
        errors = schema_forms.translate_errors(exc)
        return _page(case_id, event, schema, schema_forms.fields_for(schema, raw=raw, errors=errors), status=422,
                     problem="Niet alle antwoorden zijn in orde. Verbeter de gemarkeerde velden.")
    except EventNotAvailable:
        return _page(case_id, event, schema, schema_forms.fields_for(schema, raw=raw), status=409,
                     problem=_not_now(event) + " Uw antwoorden zijn níet opgeslagen; u ziet ze hieronder.",
                     read_only=True)
    except ConflictError:
        return _page(case_id, event, schema, schema_forms.fields_for(schema, raw=raw), status=409,
                     problem="Iemand anders wijzigde dit dossier op hetzelfde moment. Er is niets opgeslagen. "
                             "Controleer uw antwoorden hieronder en verstuur opnieuw.")
    except NotAllowedError:
        abort(403)  # audited by the engine
    except CaseFailure as exc:
        engine.record_access(current_user.actor, "case.event", outcome="error", case_id=case_id, event=event,
                             reason=str(exc))
        return _page(case_id, event, schema, schema_forms.fields_for(schema, raw=raw), status=500,
                     problem=f"Het proces kan hiermee niet verder ({exc}). Er is niets opgeslagen. Meld dit aan "
                             "de procesbeheerder.")
    flash(_done_message(event, done), "success")
    mine = [t for t in engine.open_tasks(case_id=case_id) if t.id in done.open_task_ids
            and t.lane in current_user.roles]
    if len(mine) == 1:
        return redirect(url_for("tasks.show", task_id=mine[0].id))
    return redirect(url_for("cases.show", case_id=case_id))


def _not_now(event: str) -> str:
    return (f"‘{event_label(event)}’ kan nu niet voor deze zaak: dat kan alleen zolang u de cliënt volgt "
            "(na een melding of tijdens de hulp) en de zaak nog loopt.")


def _done_message(event: str, done) -> dict:
    parts = [f"‘{event_label(event)}’ is vastgelegd in het dossier."]
    if done.milestones:
        parts.append("Bereikt: " + "; ".join(milestone_label(m) for m in done.milestones) + ".")
    if done.status == CaseStatus.COMPLETED:
        parts.append("De meldcode is voor deze cliënt afgerond.")
    else:
        following = [t for t in services().cases.open_tasks(case_id=done.case_id) if t.id in done.open_task_ids]
        if following:
            parts.append("Volgende stap: " + "; ".join(
                f"‘{t.name or t.element_id}’ ({role_label(t.lane)})" for t in following) + ".")
    return {"text": " ".join(parts), "link": None}


def _page(case_id: int, event: str, schema, fields, *, status: int = 200, problem: str | None = None,
          read_only: bool = False):
    client_ref = lookups.case_client_ref(services().sessions, case_id)
    return render_template("cases/event.html", case_id=case_id, client_ref=client_ref, event=event,
                           title=event_label(event), intro=event_intro(event), fields=fields, problem=problem,
                           has_form=schema is not None, read_only=read_only,
                           description=(schema or {}).get("description")), status
