"""The BPMN source of a process version, for the diagram on the case file and the beheerder's instance page.

The pages name it by process, version and content hash instead of carrying it (the meldcode's diagram is 187 KB,
94 % of a case file page): a browser fetches it once and keeps it, since a deployed version never changes. It
is the organisation's procedure, not client data, so it is not audited; only those who read case files (and see
a diagram there) may fetch it.
"""
from __future__ import annotations

from flask import Response, abort, request, url_for
from flask_login import login_required

from engine import lookups

from ..access import roles_required
from ..roles import CASE_READ_ROLES
from ..services import services
from . import bp

# Kept for a year when asked by its content hash: that address always answers the same.
KEEP = "private, max-age=31536000, immutable"


@bp.get("/diagram/<process_id>/<int:version>.bpmn")
@login_required
@roles_required(*CASE_READ_ROLES)
def diagram_source(process_id: str, version: int):
    found = lookups.process_diagram(services().sessions, process_id, version)
    if found is None:
        abort(404)
    response = Response(found.bpmn_xml, mimetype="application/xml")
    response.set_etag(found.content_hash)
    response.headers["Cache-Control"] = KEEP if request.args.get("v") == found.content_hash else "private, no-cache"
    return response.make_conditional(request)


def source_url(diagram) -> str | None:
    """The address of a DiagramView's source, named by its content hash (None: the case keeps no diagram)."""
    if not diagram.version:
        return None
    return url_for("cases.diagram_source", process_id=diagram.process_id, version=diagram.version,
                   v=diagram.content_hash)
