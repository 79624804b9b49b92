"""What notes and attachments on the case file share (web/cases/notes.py, attachments.py): both need full access to
the case, their panel on the case file shows only then, and adding one either returns to the case file or shows
its form again with what is wrong."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, url_for
from flask_login import current_user

from engine.access import FULL
from engine.errors import CaseNotRunningError, NotAllowedError, NotFoundError, ValidationError

from ..access import deny, require_case
from ..services import services

T = TypeVar("T")


def full_access(case_id: int) -> bool:
    decision = services().cases.case_access(case_id, current_user.actor)
    return decision is not None and decision.scope == FULL


def panel(case_id: int, read: Callable[..., T]) -> T | None:
    """`read(sessions, actor, case_id)` for the signed-in user; None when the user does not see the panel (not full
    access)."""
    if not current_user.is_authenticated or not full_access(case_id):
        return None
    try:
        return read(services().sessions, current_user.actor, case_id)
    except (NotAllowedError, NotFoundError):
        return None


def require_full_access(case_id: int, action: str, what: str) -> None:
    """The user may read the case (else the usual 403) and sees all of it (else an audited 403 naming `what`)."""
    decision = require_case(case_id, action)
    if decision.scope != FULL:
        deny(action, case_id=case_id, reason=f"{what} need full access (has {decision.scope})")


def add(case_id: int, write: Callable[[], object], form, *, fields: dict[str, str], done: str, closed: str,
        anchor: str):
    """Run `write`; then back to the case file at `anchor` with `done`. Refused input shows the form again
    (`form(errors, status, problem=...)`, errors under the form's field names from `fields`), and so does a closed
    case (`closed`); the engine's refusal is a 403 (audited by the engine), a missing case a 404."""
    try:
        write()
    except ValidationError as exc:
        return form({fields.get(field, field): reasons for field, reasons in exc.errors.items()}, 422)
    except CaseNotRunningError:
        return form({}, 409, problem=closed)
    except NotAllowedError:
        abort(403)
    except NotFoundError:
        abort(404)
    flash(done, "success")
    return redirect(url_for("cases.show", case_id=case_id) + anchor)
