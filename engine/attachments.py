"""Attachments on a case: PDF and images (PNG, JPEG), checked by their content, stored outside the web root.

- The type is decided from the bytes (their signature, "magic bytes", read by the `filetype` library), never
  from the name or the browser's content type; anything that is not a PDF, PNG or JPEG is refused, so SVG, HTML,
  scripts and office files never get in. An empty file and one larger than the limit are refused.
- The bytes are stored in `storage_dir` (from the web settings: a directory outside the web root) under a random
  storage key, never under the user's file name, which is kept only for display. The bytes are written before
  the row commits and removed again when the transaction fails, so no row points to a missing file and no file
  is left without a row.
- A download checks access again, verifies the stored checksum and is audited (`case.attachment.download`);
  the web layer serves it as a download (Content-Disposition: attachment, the stored type, nosniff), never
  inline or executed.

Need-to-know as for notes (engine/notes.py): full access to the case only.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import filetype  # type: ignore[import-untyped,unused-ignore]  # the package ships no type information
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from . import access, audit, clock
from .errors import CaseNotRunningError, EngineError, NotFoundError, ValidationError
from .models import CaseAttachment
from .notes import audit_denied, require_full_access
from .states import ENDED_CASE_STATUSES
from .text_input import text_problems
from .views import Actor

# The content types accepted, each with the file extension a download gets (whatever the uploaded name said).
ALLOWED_TYPES = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
FILENAME_MAX_LENGTH = 255
DESCRIPTION_MAX_LENGTH = 500

EMPTY_FILE = "Kies een bestand: het gekozen bestand is leeg."
WRONG_TYPE = ("Dit bestand is geen PDF, PNG of JPEG (gecontroleerd op de inhoud, niet op de naam). Alleen die "
              "soorten bestanden kunnen als bijlage worden toegevoegd.")


def too_large(max_bytes: int) -> str:
    return f"Dit bestand is te groot: een bijlage mag hoogstens {_size_text(max_bytes)} zijn."


class StoredFileMissing(EngineError):
    """The bytes of an attachment are gone or changed on disk (its checksum no longer matches)."""


@dataclass(frozen=True)
class AttachmentView:
    id: int
    case_id: int
    uploaded_by: str
    uploaded_at: datetime
    filename: str
    content_type: str
    size: int
    sha256: str
    description: str | None

    @property
    def download_name(self) -> str:
        """The display name with the extension of its real type (a PDF named 'x.html' downloads as 'x.html.pdf')."""
        extension = ALLOWED_TYPES.get(self.content_type, "")
        return self.filename if self.filename.lower().endswith(extension) or (
            extension == ".jpg" and self.filename.lower().endswith(".jpeg")) else self.filename + extension


@dataclass(frozen=True)
class Download:
    attachment: AttachmentView
    content: bytes


def detect_type(content: bytes) -> str | None:
    """The content type from the file's signature, when it is one we accept; None for anything else."""
    kind = filetype.guess(content[:8192])
    mime = kind.mime if kind is not None else None
    return mime if mime in ALLOWED_TYPES else None


def display_filename(name: object) -> str:
    """The user's file name for display: without any directory part (browsers may send 'C:\\fakepath\\x.pdf')."""
    text = name if isinstance(name, str) else ""
    text = re.split(r"[\\/]", text)[-1].strip()
    return text[:FILENAME_MAX_LENGTH] or "bijlage"


def check_upload(filename: object, content: bytes, description: object, max_bytes: int) -> tuple[
        str, str, str | None]:
    """(display name, content type, description), or ValidationError in Dutch per field (file, description)."""
    errors: dict[str, list[str]] = {}
    content_type = None
    if not content:
        errors["file"] = [EMPTY_FILE]
    elif len(content) > max_bytes:
        errors["file"] = [too_large(max_bytes)]
    else:
        content_type = detect_type(content)
        if content_type is None:
            errors["file"] = [WRONG_TYPE]
    name = display_filename(filename)
    if problems := text_problems(name, FILENAME_MAX_LENGTH):
        errors.setdefault("file", []).extend(problems)
    text = description.strip() if isinstance(description, str) else ""
    if problems := text_problems(text, DESCRIPTION_MAX_LENGTH):
        errors["description"] = problems
    if errors:
        raise ValidationError(errors, {field: [("text", reason) for reason in reasons]
                                       for field, reasons in errors.items()})
    assert content_type is not None
    return name, content_type, text or None


def add_attachment(sessions: sessionmaker[Session], actor: Actor, case_id: int, filename: object, content: bytes,
                   storage_dir: Path, *, description: object = None,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> AttachmentView:
    """Store an attachment on a case that has not ended; the row and its audit event (`case.attachment`) in one
    transaction, the bytes written first and removed if that transaction fails."""
    name, content_type, text = check_upload(filename, content, description, max_bytes)
    now = clock.now()
    key = new_storage_key()
    path: Path | None = None
    try:
        with sessions.begin() as session:
            case, decision = require_full_access(session, actor, case_id, now, "add attachments")
            if case.status in ENDED_CASE_STATUSES:
                raise CaseNotRunningError(f"case {case_id} is {case.status}: no new attachments")
            path = store(storage_dir, key, content)
            row = CaseAttachment(case_id=case.id, uploaded_by=actor.username, uploaded_at=now, filename=name,
                                 content_type=content_type, size=len(content),
                                 sha256=hashlib.sha256(content).hexdigest(), storage_key=key, description=text)
            session.add(row)
            session.flush()
            audit.record(session, actor.username, "case.attachment", case_id=case.id, client_ref=case.client_ref,
                         attachment_id=row.id, content_type=content_type, size=len(content),
                         sha256=row.sha256, **decision.audit_details())
            view = _view(row)
    except BaseException as exc:
        if path is not None:
            path.unlink(missing_ok=True)
        if isinstance(exc, access.AccessDenied):
            audit_denied(sessions, actor, "case.attachment", case_id, str(exc))
        raise
    return view


def case_attachments(sessions: sessionmaker[Session], actor: Actor, case_id: int) -> list[AttachmentView]:
    """The attachments of a case (metadata), oldest first, for someone with full access (audited with the case
    view)."""
    with sessions() as session:
        require_full_access(session, actor, case_id, clock.now(), "list the attachments")
        rows = session.scalars(select(CaseAttachment).where(CaseAttachment.case_id == case_id)
                               .order_by(CaseAttachment.uploaded_at, CaseAttachment.id))
        return [_view(row) for row in rows]


def download(sessions: sessionmaker[Session], actor: Actor, case_id: int, attachment_id: int,
             storage_dir: Path) -> Download:
    """An attachment's bytes, checked against the stored checksum; audited (`case.attachment.download`)."""
    try:
        with sessions.begin() as session:
            case, decision = require_full_access(session, actor, case_id, clock.now(), "download attachments")
            row = session.get(CaseAttachment, attachment_id)
            if row is None or row.case_id != case.id:
                raise NotFoundError(f"attachment {attachment_id} of case {case_id} does not exist")
            try:
                content = _path(storage_dir, row.storage_key).read_bytes()
            except OSError:
                content = None
            if content is None or hashlib.sha256(content).hexdigest() != row.sha256:
                raise StoredFileMissing(f"the stored file of attachment {row.id} is missing or changed")
            audit.record(session, actor.username, "case.attachment.download", case_id=case.id,
                         client_ref=case.client_ref, attachment_id=row.id, size=row.size,
                         **decision.audit_details())
            return Download(_view(row), content)
    except access.AccessDenied as exc:
        audit_denied(sessions, actor, "case.attachment.download", case_id, str(exc), attachment_id=attachment_id)
        raise
    except StoredFileMissing as exc:
        with sessions.begin() as session:
            audit.record(session, actor.username, "case.attachment.download", outcome="error", case_id=case_id,
                         attachment_id=attachment_id, reason=str(exc))
        raise


def new_storage_key() -> str:
    """A random name for stored bytes: never derived from the user's file name."""
    return secrets.token_hex(20)


def stored_path(storage_dir: Path, key: str) -> Path:
    """Where the bytes of a storage key live (retention removes them there)."""
    return _path(storage_dir, key)


def remove_stored(storage_dir: Path, key: str) -> None:
    """Remove the bytes of an attachment whose row is gone (retention); a file already gone is fine."""
    _path(storage_dir, key).unlink(missing_ok=True)


def _path(storage_dir: Path, key: str) -> Path:
    if not re.fullmatch(r"[0-9a-f]{40}", key):  # a key is ours; never a path from outside
        raise StoredFileMissing(f"not a storage key: {key!r}")
    return Path(storage_dir) / key[:2] / key


def store(storage_dir: Path, key: str, content: bytes) -> Path:
    """Write the bytes under their key: a new file (never overwriting), readable by the app's user only."""
    path = _path(storage_dir, key)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def _view(row: CaseAttachment) -> AttachmentView:
    return AttachmentView(row.id, row.case_id, row.uploaded_by, row.uploaded_at, row.filename, row.content_type,
                          row.size, row.sha256, row.description)


def _size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB".replace(".", ",")
    if size >= 1024:
        return f"{size / 1024:.0f} kB"
    return f"{size} bytes"
