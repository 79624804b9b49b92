"""One call for the pages and API endpoints that list client data (the inbox, the case list, the API lists):
the list is audited as one event naming every client it showed (details.client_refs)."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from ..services import services


def audit_list(action: str, client_refs, **details) -> None:
    """Audit that `current_user` was shown a list with these clients (e.g. `audit_list("inbox.view", refs)`)."""
    refs = sorted({ref for ref in client_refs if ref})
    services().cases.record_access(current_user.actor, action, outcome="success", client_refs=refs,
                                   count=len(refs), path=request.path, **details)
