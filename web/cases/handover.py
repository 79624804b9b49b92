"""Handing over on the case file: the case (responsibility) or an open task (its claim) to a named colleague, with a
note (engine/handover.py). The responsible professional hands over the case, whoever holds a task hands over the
task, and the leidinggevende reassigns both within the team.

The engine does not read accounts: this module looks up the team's colleagues (web/auth/models.py) and passes them
in as actors; the engine decides who qualifies (team, role, access).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from engine import handover
from engine.access import TEAM_LANES, AccessDenied
from engine.errors import ConflictError, NotFoundError, ValidationError
from engine.views import Actor

from ..access import deny, require_case, roles_required
from ..auth.models import Team, User, UserRole
from ..labels import display_person, role_label
from ..services import services
from . import bp


def colleagues(team: str | None) -> list[Actor]:
    """The active accounts of a team, by name (the candidates the engine chooses from)."""
    if team is None:
        return []
    # Columns, not accounts: a team of 150 cost 10-15 ms as ORM objects with their role rows.
    roles: dict[str, set[str]] = {}
    with services().sessions() as session:
        for username, role in session.execute(
                select(User.username, UserRole.role).join(Team, Team.id == User.team_id)
                .outerjoin(UserRole, UserRole.user_id == User.id)
                .where(Team.name == team, User.active.is_(True)).order_by(User.display_name, User.username)):
            roles.setdefault(username, set()).update([role] if role is not None else [])
    return [Actor(username, frozenset(held), team) for username, held in roles.items()]


def account(username: str) -> Actor | None:
    """Any active account by its username (the engine refuses one of another team, with the reason)."""
    username = (username or "").strip().lower()
    if not username:
        return None
    with services().sessions() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        return Actor(user.username, user.roles, user.team.name) if user is not None else None


def refusal_text(exc: handover.HandoverError, *, task: bool) -> str:
    """Why a handover was refused, in Dutch."""
    return {
        handover.NOT_HOLDER: "U kunt dit niet overdragen: u bent niet de houder en geen leidinggevende van het team.",
        handover.NOT_RUNNING: "Deze taak is niet meer open; er valt niets over te dragen." if task else
        "Deze zaak loopt niet meer; er valt niets over te dragen.",
        handover.UNKNOWN_COLLEAGUE: "Kies een collega uit het team van deze zaak.",
        handover.LACKS_ROLE: "Deze collega werkt niet in de rol van deze taak." if task else
        "Deze collega is geen professional en kan niet verantwoordelijk zijn voor de zaak.",
        handover.NO_ACCESS: "Deze collega mag dit dossier niet inzien.",
        handover.ALREADY_HOLDS: "Deze collega heeft deze taak al." if task else
        "Deze collega is al verantwoordelijk voor deze zaak.",
    }.get(exc.code, "Deze overdracht kan niet.")


def _options(case_id: int) -> handover.HandoverOptions:
    actor = current_user.actor
    return handover.options(services().sessions, case_id, actor, colleagues(actor.team))


def _page(case_id: int, offered: handover.HandoverOptions, *, status: int = 200, target: str = "",
          errors: dict | None = None, values: dict | None = None):
    case = services().cases.case(case_id, current_user.actor)  # audited read: case.view
    names = {u.username: display_person(u.username) for u in colleagues(case.team)}
    return render_template("cases/_handover_page.html", case=case, offered=offered, names=names, target=target,
                           errors=errors or {}, values=values or {}, role_label=role_label), status


@bp.get("/<int:case_id>/overdragen")
@login_required
@roles_required(*TEAM_LANES)
def handover_form(case_id: int):
    require_case(case_id, "case.handover")
    return _page(case_id, _options(case_id))


@bp.post("/<int:case_id>/overdragen")
@login_required
@roles_required(*TEAM_LANES)
def handover_case(case_id: int):
    require_case(case_id, "case.handover")
    offered = _options(case_id)
    if not offered.may_hand_over_case:
        deny("case.handover", case_id=case_id, reason="neither responsible for the case nor its leidinggevende")
    return _hand_over(case_id, offered, "zaak", lambda to, note: handover.hand_over_case(
        services().sessions, case_id, current_user.actor, to, note))


@bp.post("/<int:case_id>/taken/<int:task_id>/overdragen")
@login_required
@roles_required(*TEAM_LANES)
def handover_task(case_id: int, task_id: int):
    require_case(case_id, "task.handover")
    offered = _options(case_id)
    if not any(t.task_id == task_id for t in offered.tasks):
        deny("task.handover", case_id=case_id, task_id=task_id, reason="may not hand over this task")
    return _hand_over(case_id, offered, f"taak-{task_id}", lambda to, note: handover.hand_over_task(
        services().sessions, task_id, current_user.actor, to, note))


def _hand_over(case_id: int, offered: handover.HandoverOptions, target: str, run):
    values = {"aan": request.form.get("aan", ""), "notitie": request.form.get("notitie", "")}
    if not values["aan"].strip():
        return _page(case_id, offered, status=422, target=target, values=values,
                     errors={"aan": ["Kies aan wie u overdraagt."]})
    try:
        record = run(account(values["aan"]), values["notitie"])
    except handover.HandoverError as exc:
        return _page(case_id, offered, status=422, target=target, values=values,
                     errors={"aan": [refusal_text(exc, task=target != "zaak")]})
    except ValidationError as exc:  # the note
        return _page(case_id, offered, status=422, target=target, values=values,
                     errors={"notitie": [reason for reasons in exc.errors.values() for reason in reasons]})
    except ConflictError:
        return _page(case_id, _options(case_id), status=409, target=target, values=values,
                     errors={"aan": ["Iemand anders wijzigde deze zaak op hetzelfde moment. Er is niets opgeslagen; "
                                     "controleer en probeer het opnieuw."]})
    except (AccessDenied, NotFoundError):
        deny("case.handover", case_id=case_id, reason="refused by the engine")
    if record.task_id is None:
        flash(f"De zaak is overgedragen aan {display_person(record.to_user)}; die is nu verantwoordelijk.",
              "success")
    else:
        flash(f"De taak ‘{record.task_name or 'taak'}’ is overgedragen aan {display_person(record.to_user)}.",
              "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#verantwoordelijke")
