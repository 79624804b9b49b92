"""Pages and JSON endpoints of the studio. Draft ids travel as query or body values (a draft is only ever its
owner's: another user's id is simply not found)."""
from __future__ import annotations

import dataclasses
import io
import json
import os
from pathlib import Path

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required

from engine.contract import MILESTONES
from engine.errors import DiagramError, NotFoundError
from engine.studio.service import Studio
from engine.studio.versions import ScenariosFailed
from engine.studio.zipfiles import write_zip

from .. import schema_forms
from ..access import roles_required
from ..roles import PROCESBEHEERDER
from ..services import services
from . import bp, vendor

_only_process_owners = roles_required(PROCESBEHEERDER)


def process_owner(view):
    """Signed in (else the sign-in page), and role procesbeheerder (else an audited 403)."""
    return login_required(_only_process_owners(view))
MODDLE = Path(__file__).resolve().parents[1] / "static" / "studio" / "spiffworkflow.json"
MAX_ZIP = 900_000  # below the app's request limit, so the message is ours


def four_eyes() -> bool:
    """The four-eyes rule: MELDCODE_STUDIO_FOUR_EYES (app config or environment) set to 1/true/ja."""
    value = current_app.config.get("MELDCODE_STUDIO_FOUR_EYES", os.environ.get("MELDCODE_STUDIO_FOUR_EYES", ""))
    return str(value).strip().lower() in ("1", "true", "ja", "yes", "on")


def studio() -> Studio:
    return Studio(services().cases, four_eyes=four_eyes())


def _me() -> str:
    return current_user.username


def _int(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**31 else None


def _body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(400)
    return body


def _or_404(use_case, *args):
    """A use case of the studio as me; what it does not find (another user's draft among it) is a 404."""
    try:
        return use_case(_me(), *args)
    except NotFoundError:
        abort(404)


def _draft_or_404(draft_id):
    draft_id = _int(draft_id)
    if draft_id is None:
        abort(404)
    return _or_404(studio().draft, draft_id)


def _back_to(message: str, category: str, endpoint: str, **values):
    """After a form: say how it went and go to the page `endpoint`."""
    flash(message, category)
    return redirect(url_for(endpoint, **values))


def _problem(exc: DiagramError) -> dict:
    return {"file": exc.filename, "element_id": exc.element_id, "message": exc.reason}


@bp.get("/vendor/<path:filename>")
@process_owner
def vendor_asset(filename: str):
    package, _, rest = filename.partition("/")
    return vendor.asset(package, rest)


# -- overview ----------------------------------------------------------------------------------
@bp.get("/")
@process_owner
def index():
    return render_template("studio/index.html", processes=studio().processes(_me()), drafts=studio().drafts(_me()),
                           to_review=studio().drafts_to_review(_me()), four_eyes=four_eyes())


@bp.get("/versie.zip")
@process_owner
def download():
    process_id, version = request.args.get("proces", ""), _int(request.args.get("versie"))
    if not process_id or version is None:
        abort(404)
    try:
        files, scenarios = studio().version_files(_me(), process_id, version)
    except DiagramError:
        abort(404)
    return send_file(io.BytesIO(write_zip(files, scenarios)), mimetype="application/zip",
                     as_attachment=True, download_name=f"{process_id}-v{version}.zip")


@bp.get("/versies/vergelijken")
@process_owner
def compare_versions():
    """Two deployed versions of a process side by side: what changed from `oud` to `nieuw`, listed and coloured on
    the newer diagram (default: the latest version against the one before)."""
    processes = studio().processes(_me())
    process = next((p for p in processes if p.process_id == request.args.get("proces")), None) \
        or next(iter(processes), None)
    if process is None:
        abort(404)
    numbers = [v.version for v in process.versions]
    new = _int(request.args.get("nieuw")) or process.latest_version
    old = _int(request.args.get("oud")) or max([n for n in numbers if n < new], default=new)
    if old not in numbers or new not in numbers:
        abort(404)
    files, changes = studio().compare_versions(_me(), process.process_id, old, new)
    shown = next((name for name, content in sorted(files.items()) if name.endswith(".bpmn")
                  and f'id="{process.process_id}"'.encode() in content), None)
    marks = [[item["id"], f"studio-{kind}"] for f in changes if f.filename == shown
             for kind in ("added", "changed") for item in getattr(f, kind)]
    diagram = {"xml": files[shown].decode("utf-8"), "marks": marks} if shown else None
    return render_template("studio/compare.html", processes=processes, process=process, old=old, new=new,
                           changes=changes, shown=shown, diagram=diagram)


@bp.post("/concepten/nieuw")
@process_owner
def new_draft():
    process_id, version = request.form.get("proces", ""), _int(request.form.get("versie"))
    try:
        draft = studio().new_draft(_me(), process_id, version or 0)
    except NotFoundError:
        return _back_to("Deze versie bestaat niet.", "error", "studio.index")
    return redirect(url_for("studio.draft", id=draft.id, bestand=f"{process_id}.bpmn"))


@bp.post("/concepten/upload")
@process_owner
def upload():
    upload = request.files.get("zip")
    data = upload.read(MAX_ZIP + 1) if upload else b""
    if not data:
        return _back_to("Kies een zip-bestand om te uploaden.", "error", "studio.index")
    if len(data) > MAX_ZIP:
        return _back_to(f"Het zip-bestand is groter dan {MAX_ZIP // 1000} kB; er is niets gewijzigd.", "error",
                        "studio.index")
    try:
        draft = studio().upload_draft(_me(), request.form.get("titel") or (upload.filename or "Upload"), data)
    except DiagramError as exc:
        return _back_to(f"Upload geweigerd, er is niets gewijzigd: {exc}", "error", "studio.index")
    return _back_to("Het zip-bestand is als nieuw concept opgeslagen.", "success", "studio.draft", id=draft.id)


# -- a draft ------------------------------------------------------------------------------------
@bp.get("/concept")
@process_owner
def draft():
    found = _draft_or_404(request.args.get("id"))
    processes = studio().processes(_me())
    studio().prepare_checks()  # its scenario check, when asked for, starts at once
    return render_template("studio/draft.html", draft=found, processes=processes, milestones=sorted(MILESTONES),
                           four_eyes=four_eyes(),
                           moddle=json.loads(MODDLE.read_text(encoding="utf-8")),
                           data={"id": found.id, "files": found.files, "scenarios": found.scenarios,
                                 "open": request.args.get("bestand")})


@bp.post("/concept/bestand")
@process_owner
def save_file():
    body = _body()
    if not isinstance(body.get("name"), str) or not isinstance(body.get("content"), str):
        abort(400)
    _draft_or_404(body.get("id"))
    try:
        saved = studio().save_file(_me(), int(body["id"]), body["name"], body["content"])
    except DiagramError as exc:
        return jsonify(ok=False, error=_problem(exc)), 422
    return jsonify(ok=True, updated_at=saved.updated_at.isoformat())


@bp.post("/concept/scenario")
@process_owner
def save_scenario():
    body = _body()
    scenario = body.get("scenario")
    if not isinstance(body.get("name"), str) or not (scenario is None or isinstance(scenario, dict)):
        abort(400)
    _draft_or_404(body.get("id"))
    try:
        saved = studio().save_scenario(_me(), int(body["id"]), body["name"], scenario)
    except DiagramError as exc:
        return jsonify(ok=False, error=_problem(exc)), 422
    return jsonify(ok=True, scenarios=saved.scenarios)


@bp.post("/concept/controleren")
@process_owner
def check():
    found = _draft_or_404(_body().get("id"))
    problems = studio().check_draft(_me(), found.id)
    return jsonify(problems=[dataclasses.asdict(p) for p in problems])


@bp.post("/concept/scenarios")
@process_owner
def run_scenarios():
    found = _draft_or_404(_body().get("id"))
    try:
        results = studio().run_draft_scenarios(_me(), found.id)
    except DiagramError as exc:
        return jsonify(error=_problem(exc), results=[]), 422
    return jsonify(results=[{"file": name, **dataclasses.asdict(r)} for name, r in results])


@bp.post("/concept/vergelijken")
@process_owner
def compare():
    body = _body()
    found = _draft_or_404(body.get("id"))
    process_id = body.get("process_id") if isinstance(body.get("process_id"), str) else None
    try:
        changes = studio().compare_draft(_me(), found.id, process_id, _int(body.get("version")))
    except DiagramError as exc:
        return jsonify(error=_problem(exc), files=[]), 422
    return jsonify(files=[dataclasses.asdict(c) for c in changes])


@bp.post("/concept/voorbeeld")
@process_owner
def preview():
    """A form schema rendered by the inbox's own renderer (web/schema_forms.py)."""
    body = _body()
    schema = body.get("schema")
    if not isinstance(schema, dict):
        return jsonify(html="", error="Het formulier is geen JSON-object."), 422
    try:
        fields = schema_forms.fields_for(schema)
        html = render_template("studio/_preview.html", fields=fields, schema=schema)
    except Exception as exc:  # noqa: BLE001 - a half-written schema while typing: say so, do not fail
        return jsonify(html="", error=f"Dit formulier kan (nog) niet worden getoond: {type(exc).__name__}"), 422
    return jsonify(html=html, error=None)


@bp.post("/concept/deployen")
@process_owner
def deploy():
    found = _draft_or_404(request.form.get("id"))
    comment = request.form.get("toelichting", "")
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        result = studio().deploy_draft(_me(), found.id, comment)
    except ScenariosFailed as exc:
        if wants_json:  # the editor stays open (and keeps its undo history)
            return jsonify(ok=False, message="Niet gedeployed: deze scenario's slagen niet met dit concept. Er is "
                                             "niets gewijzigd.",
                           failed_scenarios=[{"name": f.name, "error": f.error} for f in exc.failed]), 422
        names = ", ".join(f"‘{f.name}’" for f in exc.failed)
        flash(f"Niet gedeployed: deze scenario's slagen niet met dit concept: {names}. Er is niets gewijzigd.",
              "error")
        for failed in exc.failed:
            flash(f"{failed.name}: {failed.error}", "error")
        return redirect(url_for("studio.draft", id=found.id))
    except DiagramError as exc:
        if wants_json:
            return jsonify(ok=False, message=f"Niet gedeployed, er is niets gewijzigd: {exc}",
                           failed_scenarios=[]), 422
        return _back_to(f"Niet gedeployed, er is niets gewijzigd: {exc}", "error", "studio.draft", id=found.id)
    created = [f"{p} versie {v}" for p, v in result.versions.items() if result.created.get(p)]
    flash(("Gedeployed: " + ", ".join(created) + ".") if created else
          "Niets gedeployed: de inhoud is gelijk aan de laatste versie.", "success")
    if wants_json:
        return jsonify(ok=True, versions=result.versions, next=url_for("studio.index"))
    return redirect(url_for("studio.index"))


@bp.post("/concept/verwijderen")
@process_owner
def delete():
    found = _draft_or_404(request.form.get("id"))
    studio().delete_draft(_me(), found.id)
    return _back_to(f"Concept ‘{found.title}’ is verwijderd.", "success", "studio.index")


# -- migration of running cases ------------------------------------------------------------------
@bp.get("/migratie")
@process_owner
def migration():
    processes = studio().processes(_me())
    process_id = request.args.get("proces") or (processes[0].process_id if processes else "")
    process = next((p for p in processes if p.process_id == process_id), None)
    source = _int(request.args.get("van"))
    step = request.args.get("stap") or None
    cases = studio().running_cases(process_id, source, step) if process and source else []
    return render_template("studio/migration.html", processes=processes, process=process, source=source,
                           target=_int(request.args.get("naar")) or (process.latest_version if process else None),
                           step=step, cases=cases, results=None)


@bp.post("/migratie")
@process_owner
def migrate():
    processes = studio().processes(_me())
    process_id = request.form.get("proces", "")
    process = next((p for p in processes if p.process_id == process_id), None)
    target, source = _int(request.form.get("naar")), _int(request.form.get("van"))
    case_ids = [i for i in map(_int, request.form.getlist("zaak")) if i is not None][:1000]
    if process is None or target is None or not case_ids:
        return _back_to("Kies een proces, een doelversie en ten minste één zaak.", "error",
                        "studio.migration", proces=process_id, van=source or "", naar=target or "")
    dry_run = request.form.get("actie") != "verplaatsen"
    results = studio().migrate(_me(), case_ids, target, dry_run=dry_run, process_id=process_id)
    if not dry_run:
        moved = sum(r.migrated for r in results)
        flash(f"{moved} van {len(results)} zaken verplaatst naar versie {target}.", "success")
    return render_template("studio/migration.html", processes=processes, process=process, source=source,
                           target=target, step=request.form.get("stap") or None, cases=case_ids, results=results,
                           dry_run=dry_run)


@bp.post("/migratie/terugdraaien")
@process_owner
def revert():
    """Put a migrated case back on the version it ran on before, if it has not moved on since."""
    case_id = _int(request.form.get("zaak"))
    if case_id is None:
        abort(400)
    result = _or_404(studio().revert, case_id)
    if result.ok:
        return _back_to(f"Zaak #{case_id} staat weer op versie {result.to_version}.", "success", "studio.migration")
    return _back_to(f"Zaak #{case_id} is niet teruggezet: {result.reason}.", "error", "studio.migration")


# -- four-eyes rule ------------------------------------------------------------------------------
@bp.post("/concept/aanbieden")
@process_owner
def submit():
    found = _draft_or_404(request.form.get("id"))
    studio().submit_draft(_me(), found.id)
    return _back_to("Het concept is ter goedkeuring aangeboden aan de andere procesbeheerders.", "success",
                    "studio.draft", id=found.id)


@bp.get("/beoordelen")
@process_owner
def review():
    found, changes = _or_404(studio().review_changes, _int(request.args.get("id")) or 0)
    return render_template("studio/review.html", draft=found, changes=changes)


@bp.post("/beoordelen/goedkeuren")
@process_owner
def approve():
    found = _or_404(studio().approve_draft, _int(request.form.get("id")) or 0)
    return _back_to(f"Concept ‘{found.title}’ van {found.owner} is goedgekeurd.", "success", "studio.index")
