"""Need-to-know at the web layer: the second line after the engine, with the same policy (engine/access.py).

Every refusal is answered with the same 403, whether the case or task exists or not, and written to the audit
log (NEN 7513: who, when, which client, what, outcome) through the engine.
"""
from __future__ import annotations

import dataclasses
from functools import wraps

from flask import abort, current_app, request
from flask_login import current_user

from engine import lookups
from engine.access import METADATA, VT_LIMITED, Decision

from .services import services


def deny(action: str, *, case_id: int | None = None, task_id: int | None = None, reason: str) -> None:
    """Audit a refused request and answer 403 (never revealing whether the object exists)."""
    services().cases.record_access(current_user.actor, action, outcome="denied", case_id=case_id, task_id=task_id,
                                   reason=reason, path=request.path, method=request.method)
    abort(403)


def roles_required(*roles: str):
    """Only users with one of `roles` may use the view (others: audited 403)."""
    wanted = frozenset(roles)

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.has_any(wanted):
                deny(f"page.{request.endpoint}", case_id=kwargs.get("case_id"), task_id=kwargs.get("task_id"),
                     reason=f"needs one of the roles {sorted(wanted)}")
            return view(*args, **kwargs)
        wrapper.required_roles = wanted
        return wrapper
    return decorate


def require_case(case_id: int, action: str) -> Decision:
    """The user may read this case (engine/access.py: team, internal route, Veilig Thuis' involvement,
    break-the-glass, beheerder's metadata). Returns the decision: how much of the case the user sees."""
    decision = services().cases.case_access(case_id, current_user.actor)
    if decision is None:
        deny(action, case_id=case_id, reason="no such case")
    if not decision.allowed:
        deny(action, case_id=case_id, reason=decision.basis)
    return decision


def require_task(task_id: int, action: str) -> lookups.TaskScope:
    """The user may work on this task: the same policy as the engine applies (engine/access.py)."""
    found = services().cases.task_with_access(task_id, current_user.actor)
    if found is None:
        deny(action, task_id=task_id, reason="no such task")
    scope, decision = found
    if not decision.allowed:
        deny(action, task_id=task_id, case_id=scope.case_id, reason=decision.basis)
    return scope


def visible_diagram(view, case, decision: Decision):
    """The diagram with only the positions the user may know: Veilig Thuis sees where its own tasks and the
    melding are, not the route the team took; full and metadata access see the case's position."""
    if decision.scope != VT_LIMITED:
        return view
    known = {t.element_id for t in case.open_tasks} | {h["element_id"] for h in case.history}
    return dataclasses.replace(view, completed_elements=[e for e in view.completed_elements if e in known],
                               active_elements=[e for e in view.active_elements if e in known])


# Views whose use case renders inside its audited read and audits a failure itself (engine.CaseEngine.case).
AUDITED_INSIDE = frozenset({"cases.show", "api.case"})


def audit_failed_views(response):
    """after_request: a read of a case or task that ended in a server error is audited as failed — its use case
    may have written a successful read before the page failed to render (NEN 7513: the outcome)."""
    if response.status_code < 500 or request.method != "GET" or request.endpoint in AUDITED_INSIDE:
        return response
    args = request.view_args or {}
    if "case_id" in args or "task_id" in args:
        try:
            case_id = args.get("case_id")
            if case_id is None:
                scope = lookups.task_scope(services().sessions, args["task_id"])
                case_id = scope.case_id if scope else None
            services().cases.record_access(current_user.actor, f"page.{request.endpoint}", outcome="error",
                                           case_id=case_id, task_id=args.get("task_id"),
                                           path=request.path, status=response.status_code)
        except Exception:  # the error page must still be sent; the log shows why
            current_app.logger.exception("could not audit the failed view %s", request.path)
    return response


def access_notice(decision: Decision) -> str | None:
    """What the case page says when the user sees less than the whole file, or sees it by break-the-glass."""
    if decision.scope == VT_LIMITED:
        return "U ziet van dit dossier alleen wat Veilig Thuis nodig heeft: uw eigen taken en de melding."
    if decision.scope == METADATA:
        return "Beheer: u ziet alleen het verloop van deze zaak (stappen, wie en wanneer), niet de inhoud."
    if decision.basis.startswith("break-the-glass"):
        return ("Noodtoegang: u ziet dit dossier met noodtoegang. Uw inzage wordt vastgelegd en gecontroleerd door "
                "de aandachtsfunctionaris van het team.")
    return None
