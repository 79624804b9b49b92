from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from engine import clock, glass
from engine.access import GLASS_ROLES, AccessDenied
from engine.errors import NotFoundError, ValidationError
from engine.text_input import text_problems

from ..access import deny, roles_required
from ..services import services
from . import bp

REVIEWER = "aandachtsfunctionaris"
# One answer for a case that does not exist and one the user may not break the glass on: never reveal which.
ACTION_LABELS = {"case.break_glass": "noodtoegang gevraagd", "case.view": "dossier bekeken",
                 "case.diagram": "diagram bekeken", "task.view": "taak bekeken", "task.claim": "taak opgepakt",
                 "task.release": "taak vrijgegeven", "task.complete": "taak afgerond", "case.event": "gebeurtenis gemeld"}
NOT_POSSIBLE = "Voor dit zaaknummer kunt u geen noodtoegang krijgen. Controleer het nummer."


@bp.route("", methods=["GET", "POST"])
@login_required
@roles_required(*GLASS_ROLES)
def request_access():
    values = {"zaak": request.values.get("zaak", "").strip(), "reden": ""}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values["reden"] = request.form.get("reden", "")
        case_id = int(values["zaak"]) if values["zaak"].isdigit() and len(values["zaak"]) < 12 else None
        if case_id is None:
            errors["zaak"] = "Vul het zaaknummer in (alleen cijfers)."
        if problems := text_problems(values["reden"].strip(), glass.MAX_REASON):
            errors["reden"] = " ".join(problems)
        elif len(values["reden"].strip()) < glass.MIN_REASON:
            errors["reden"] = f"Beschrijf waarom u nu toegang nodig heeft (minstens {glass.MIN_REASON} tekens)."
        if not errors:
            try:
                grant = glass.request_access(services().sessions, current_user.actor, case_id, values["reden"])
            except glass.AlreadyAllowed:
                flash("U heeft al toegang tot deze zaak; noodtoegang is niet nodig.", "info")
                return redirect(url_for("cases.show", case_id=case_id))
            except AccessDenied:
                errors["zaak"] = NOT_POSSIBLE
            except ValidationError:
                errors["reden"] = f"Beschrijf waarom u nu toegang nodig heeft (minstens {glass.MIN_REASON} tekens)."
            else:
                flash(f"U heeft noodtoegang tot zaak {grant.case_id} tot {_local(grant.expires_at)}. Deze toegang "
                      "is vastgelegd en wordt gecontroleerd door de aandachtsfunctionaris van het team.", "warning")
                return redirect(url_for("cases.show", case_id=grant.case_id))
        status = 422
    return render_template("glass/request.html", values=values, errors=errors, hours=glass.grant_hours(),
                           min_reason=glass.MIN_REASON, max_reason=glass.MAX_REASON), status


@bp.get("/controle")
@login_required
@roles_required(REVIEWER)
def review():
    sessions = services().sessions
    return render_template("glass/review.html", open=glass.grants_to_review(sessions, current_user.team),
                           done=glass.grants_to_review(sessions, current_user.team, reviewed=True, limit=50),
                           now=clock.now(), action_labels=ACTION_LABELS)


@bp.post("/controle/<int:grant_id>")
@login_required
@roles_required(REVIEWER)
def mark_reviewed(grant_id: int):
    note = request.form.get("notitie", "")
    try:
        glass.mark_reviewed(services().sessions, current_user.actor, grant_id, note)
    except NotFoundError:
        deny("case.break_glass.review", reason=f"grant {grant_id} is not of team {current_user.team}")
    except ValidationError as exc:
        flash("De notitie is niet opgeslagen: " + " ".join(exc.errors.get("note", [])), "error")
        return redirect(url_for("glass.review"))
    flash("De noodtoegang is als gecontroleerd gemarkeerd.", "success")
    return redirect(url_for("glass.review"))


def _local(moment):
    from ..labels import format_datetime

    return format_datetime(moment, services().engine_settings.timezone)


