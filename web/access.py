"""Need-to-know: who may see which case and task. Every refusal is audited and looks the same.

A user sees only cases of their own team, and works only on tasks of their lanes in that team.
Anything else is answered with the same 403, whether the case or task exists or not, and written
to the audit log (NEN 7513: who, when, which client, what, outcome) through the engine.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from engine.errors import NotFoundError

from . import queries
from .roles import CASE_READ_ROLES
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


def require_case(case_id: int, action: str) -> None:
    """The user may read this case: a case-reading role, and the case belongs to the user's team."""
    if not current_user.has_any(CASE_READ_ROLES):
        deny(action, case_id=case_id, reason="role may not read case files")
    try:
        team = services().cases.case_team(case_id)
    except NotFoundError:
        deny(action, case_id=case_id, reason="no such case")
    if team is None or team != current_user.team:
        deny(action, case_id=case_id, reason="case belongs to another team")


def require_task(task_id: int, action: str) -> queries.TaskScope:
    """The user may work on this task: its case is of the user's team and its lane is one of the user's roles."""
    scope = queries.task_scope(services().sessions, task_id)
    if scope is None:
        deny(action, task_id=task_id, reason="no such task")
    if scope.team is None or scope.team != current_user.team:
        deny(action, task_id=task_id, case_id=scope.case_id, reason="task of another team")
    if scope.lane not in current_user.roles:
        deny(action, task_id=task_id, case_id=scope.case_id, reason=f"task of lane {scope.lane!r}")
    return scope
