"""Attachments on the case file: the panel's data, the upload and the download (engine/attachments.py decides).

Uploads may be larger than the app's general request limit (MAX_CONTENT_LENGTH): the upload view raises the limit
for its own request to the configured attachment size (WebSettings.attachment_max_bytes) and therefore checks
the CSRF token itself, after raising it (the app-wide check would read the body under the general limit first).
Downloads are served as downloads only: `Content-Disposition: attachment`, the type decided from the content at
upload, `X-Content-Type-Options: nosniff`, never cached; each one is audited by the engine.
"""
from __future__ import annotations

from functools import partial

from flask import Response, abort, render_template, request
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from engine import attachments
from engine.errors import NotAllowedError, NotFoundError

from ..extensions import csrf
from ..services import services
from . import additions, bp

# Room for the multipart envelope and the description next to the file itself.
FORM_OVERHEAD = 256 * 1024
FORM_FIELDS = {"file": "bestand", "description": "omschrijving"}


@bp.app_template_global("attachments_of_case")
def attachments_of_case(case_id: int) -> list[attachments.AttachmentView] | None:
    """The case's attachments for the signed-in user; None when the user does not see them (not full access)."""
    return additions.panel(case_id, attachments.case_attachments)


@bp.app_template_global("attachment_limit")
def attachment_limit() -> str:
    return attachments._size_text(services().settings.attachment_max_bytes)


@bp.app_template_filter("bestandsgrootte")
def size_filter(size: int) -> str:
    return attachments._size_text(size)


@bp.post("/<int:case_id>/bijlagen")
@csrf.exempt  # checked below, once the request's size limit is the attachment's
@login_required
def add_attachment(case_id: int):
    settings = services().settings
    request.max_content_length = settings.attachment_max_bytes + FORM_OVERHEAD
    try:
        csrf.protect()
        upload = request.files.get("bestand")
        description = request.form.get("omschrijving", "")
    except RequestEntityTooLarge:
        return _form(case_id, "", {"bestand": [attachments.too_large(settings.attachment_max_bytes)]}, 413)
    additions.require_full_access(case_id, "case.attachment", "attachments")
    content = upload.read(settings.attachment_max_bytes + 1) if upload is not None else b""
    return additions.add(
        case_id, lambda: attachments.add_attachment(
            services().sessions, current_user.actor, case_id, upload.filename if upload is not None else "", content,
            settings.attachments_dir, description=description, max_bytes=settings.attachment_max_bytes),
        partial(_form, case_id, description), fields=FORM_FIELDS, done="De bijlage is toegevoegd aan het dossier.",
        closed="Deze zaak is afgesloten: er kunnen geen bijlagen meer bij. Er is niets opgeslagen.", anchor="#bijlagen")


@bp.get("/<int:case_id>/bijlagen/<int:attachment_id>")
@login_required
def download_attachment(case_id: int, attachment_id: int):
    additions.require_full_access(case_id, "case.attachment.download", "attachments")
    try:
        found = attachments.download(services().sessions, current_user.actor, case_id, attachment_id,
                                     services().settings.attachments_dir)
    except NotAllowedError:
        abort(403)  # audited by the engine
    except NotFoundError:
        abort(404)
    except attachments.StoredFileMissing:
        abort(410)  # audited by the engine as an error
    response = Response(found.content, mimetype=found.attachment.content_type)
    response.headers.set("Content-Disposition", "attachment", filename=found.attachment.download_name)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _form(case_id: int, description: str, errors: dict[str, list[str]], status: int, problem: str | None = None):
    """The upload form again, with the description typed and what is wrong (nothing was saved)."""
    return render_template("cases/attachment.html", case_id=case_id, description=description, errors=errors,
                           problem=problem), status
