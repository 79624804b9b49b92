"""The studio over the JSON API (issue 11), for process owners who keep diagrams in their own version control.

Only the role procesbeheerder; everyone else gets an audited 403. Every call is audited by the engine.
"""
from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user

from engine.errors import DiagramError
from engine.studio.service import Studio
from engine.studio.versions import ScenariosFailed

from ..access import deny
from ..roles import PROCESBEHEERDER
from ..services import services
from . import bp, serialize
from .views import api_login_required, problem

MAX_CASES = 1000  # per migrate request


def studio() -> Studio:
    return Studio(services().cases)


def _require_process_owner(action: str) -> None:
    if not current_user.has_any({PROCESBEHEERDER}):
        deny(action, reason="only the role procesbeheerder may use the studio")


@bp.get("/processes")
@api_login_required
def processes():
    _require_process_owner("studio.processes")
    return jsonify([{
        "process_id": p.process_id, "name": p.name, "latest_version": p.latest_version,
        "versions": [{"version": v.version, "deployed_at": serialize.iso(v.deployed_at),
                      "deployed_by": v.deployed_by, "comment": v.comment, "running_cases": v.running_cases}
                     for v in p.versions]} for p in studio().processes(current_user.username)])


@bp.post("/processes/deploy")
@api_login_required
def deploy():
    _require_process_owner("studio.deploy")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("files"), dict) \
            or not all(isinstance(v, str) for v in body["files"].values()) \
            or not isinstance(body.get("comment", ""), str) or not isinstance(body.get("scenarios", {}), dict):
        return problem(400, "bad_request", 'send {"files": {"name.bpmn": "<xml>", ...}, "comment": "...", '
                                           '"scenarios": {"name.json": {...}} (optional)}')
    files = {name: text.encode("utf-8", "surrogatepass") for name, text in body["files"].items()}
    try:
        result = studio().deploy(current_user.username, files, body.get("comment", ""),
                                 scenarios=body.get("scenarios") or None)
    except ScenariosFailed as exc:
        return jsonify(errors=[str(exc)], failed_scenarios=[{"name": f.name, "error": f.error}
                                                            for f in exc.failed]), 422
    except DiagramError as exc:
        return jsonify(errors=[{"file": exc.filename, "element_id": exc.element_id, "message": exc.reason}],
                       failed_scenarios=[]), 422
    status = 201 if any(result.created.values()) else 200
    return jsonify(versions=result.versions, created=result.created), status


@bp.post("/cases/migrate")
@api_login_required
def migrate_cases():
    _require_process_owner("studio.migrate")
    body = request.get_json(silent=True)
    ids = body.get("case_ids") if isinstance(body, dict) else None
    version = body.get("to_version") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not ids or len(ids) > MAX_CASES \
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids) \
            or not isinstance(version, int) or isinstance(version, bool) \
            or not isinstance(body.get("dry_run", True), bool):
        return problem(400, "bad_request", f'send {{"case_ids": [1, 2, ...] (at most {MAX_CASES}), '
                                           '"to_version": 4, "dry_run": true}')
    results = studio().migrate(current_user.username, ids, version, dry_run=body.get("dry_run", True),
                               process_id=body.get("process_id") if isinstance(body.get("process_id"), str) else None)
    return jsonify(results=[{"case_id": r.case_id, "ok": r.ok, "reason": r.reason, "migrated": r.migrated,
                             "from_version": r.from_version, "to_version": r.to_version} for r in results])
