"""Attachments (engine/attachments.py): type decided by content, size limited, stored under a random key outside
the web root, every upload and download audited, refusals change nothing (no row, no file)."""
from __future__ import annotations

import struct
import zlib

import pytest
from sqlalchemy import func, select

from engine import attachments, clock
from engine.access import AccessDenied
from engine.errors import NotFoundError, ValidationError
from engine.models import AuditEvent, CaseAttachment, CaseInvolvement
from engine.views import Actor

BEHEERDER = Actor("bert", frozenset({"beheerder"}), team=None)
OTHER_TEAM = Actor("zora", frozenset({"professional"}), team="wijkteam-zuid")
VEILIG_THUIS = Actor("vera", frozenset({"veilig_thuis"}), team="wijkteam-noord")

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'


def png() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def _state(engine, storage) -> tuple[int, list, int]:
    with engine.sessions() as session:
        rows = session.scalar(select(func.count()).select_from(CaseAttachment))
        stored = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "case.attachment", AuditEvent.outcome == "success"))
    return rows, sorted(p.name for p in storage.rglob("*") if p.is_file()), stored


def _events(engine, action: str) -> list[AuditEvent]:
    with engine.sessions() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.fixture
def storage(tmp_path):
    return tmp_path / "bijlagen"


def test_pdf_png_and_jpeg_are_stored_under_a_random_key_and_downloaded_with_an_audit(deployed, professional,
                                                                                    storage):
    case_id = deployed.start_case("voorbeeld", "CL-A1", professional)
    stored = [attachments.add_attachment(deployed.sessions, professional, case_id, name, content, storage,
                                         description=description)
              for name, content, description in ((r"C:\fakepath\verslag school.pdf", PDF, "Verslag van school"),
                                                 ("foto.png", png(), None), ("scan", JPEG, "  "))]
    assert [(a.filename, a.content_type, a.description) for a in stored] == [
        ("verslag school.pdf", "application/pdf", "Verslag van school"), ("foto.png", "image/png", None),
        ("scan", "image/jpeg", None)]
    assert [a.download_name for a in stored] == ["verslag school.pdf", "foto.png", "scan.jpg"]
    files = [p for p in storage.rglob("*") if p.is_file()]
    assert len(files) == 3 and not any("verslag" in str(p) or "foto" in str(p) for p in files)
    assert all(p.stat().st_mode & 0o077 == 0 for p in files)  # readable by the app's user only
    with deployed.sessions() as session:
        keys = set(session.scalars(select(CaseAttachment.storage_key)))
    assert {p.name for p in files} == keys
    assert [a.id for a in attachments.case_attachments(deployed.sessions, professional, case_id)] == [
        a.id for a in stored]

    got = attachments.download(deployed.sessions, professional, case_id, stored[0].id, storage)
    assert got.content == PDF and got.attachment.content_type == "application/pdf"
    uploads, downloads = _events(deployed, "case.attachment"), _events(deployed, "case.attachment.download")
    assert [(e.actor, e.client_ref, e.details["content_type"]) for e in uploads] == [
        ("piet", "CL-A1", "application/pdf"), ("piet", "CL-A1", "image/png"), ("piet", "CL-A1", "image/jpeg")]
    assert [(e.actor, e.case_id, e.client_ref, e.outcome, e.details["attachment_id"]) for e in downloads] == [
        ("piet", case_id, "CL-A1", "success", stored[0].id)]


@pytest.mark.parametrize(("name", "content", "field"), [
    ("foto.png.pdf", HTML, "file"),  # HTML renamed to look like a PNG and a PDF
    ("tekening.svg", SVG, "file"),
    ("leeg.pdf", b"", "file"),
    ("groot.pdf", PDF + b"\x00" * 2000, "file"),
    ("script.pdf", b"#!/bin/sh\nrm -rf /\n", "file"),
])
def test_anything_but_a_small_pdf_or_image_is_refused_and_nothing_is_stored(deployed, professional, storage, name,
                                                                             content, field):
    case_id = deployed.start_case("voorbeeld", "CL-A2", professional)
    before = _state(deployed, storage)
    with pytest.raises(ValidationError) as caught:
        attachments.add_attachment(deployed.sessions, professional, case_id, name, content, storage, max_bytes=1000)
    assert list(caught.value.errors) == [field]
    assert caught.value.errors[field][0].split()[0] in ("Dit", "Kies")  # Dutch, for the person uploading
    assert _state(deployed, storage) == before == (0, [], 0)


def test_a_long_description_is_refused(deployed, professional, storage):
    case_id = deployed.start_case("voorbeeld", "CL-A3", professional)
    with pytest.raises(ValidationError) as caught:
        attachments.add_attachment(deployed.sessions, professional, case_id, "x.pdf", PDF, storage,
                                   description="x" * 501)
    assert list(caught.value.errors) == ["description"]
    assert _state(deployed, storage) == (0, [], 0)


@pytest.mark.parametrize("actor", [BEHEERDER, OTHER_TEAM, VEILIG_THUIS], ids=["beheerder", "other-team", "vt"])
def test_attachments_need_full_access_and_refusals_are_audited(deployed, professional, storage, actor):
    case_id = deployed.start_case("voorbeeld", "CL-A4", professional)
    kept = attachments.add_attachment(deployed.sessions, professional, case_id, "a.pdf", PDF, storage)
    with deployed.sessions.begin() as session:
        session.add(CaseInvolvement(case_id=case_id, party="veilig_thuis", reason="melding", since=clock.now()))
    before = _state(deployed, storage)
    with pytest.raises(AccessDenied):
        attachments.add_attachment(deployed.sessions, actor, case_id, "b.pdf", PDF, storage)
    with pytest.raises(AccessDenied):
        attachments.download(deployed.sessions, actor, case_id, kept.id, storage)
    with pytest.raises(AccessDenied):
        attachments.case_attachments(deployed.sessions, actor, case_id)
    assert _state(deployed, storage) == before
    denied = [(e.action, e.actor, e.client_ref) for e in _events(deployed, "case.attachment")
              + _events(deployed, "case.attachment.download") if e.outcome == "denied"]
    assert denied == [("case.attachment", actor.username, "CL-A4"),
                      ("case.attachment.download", actor.username, "CL-A4")]
    assert [e.outcome for e in _events(deployed, "case.attachment.download")] == ["denied"]  # no bytes went out


def test_the_file_is_removed_when_the_transaction_fails(deployed, professional, storage, monkeypatch):
    case_id = deployed.start_case("voorbeeld", "CL-A5", professional)

    def broken_audit(*args, **kwargs):
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(attachments.audit, "record", broken_audit)
    with pytest.raises(RuntimeError):
        attachments.add_attachment(deployed.sessions, professional, case_id, "a.pdf", PDF, storage)
    monkeypatch.undo()
    assert _state(deployed, storage) == (0, [], 0)


def test_a_download_of_another_case_or_a_changed_file_is_refused(deployed, professional, storage):
    first = deployed.start_case("voorbeeld", "CL-A6", professional)
    second = deployed.start_case("voorbeeld", "CL-A7", professional)
    kept = attachments.add_attachment(deployed.sessions, professional, first, "a.pdf", PDF, storage)
    with pytest.raises(NotFoundError):
        attachments.download(deployed.sessions, professional, second, kept.id, storage)
    next(p for p in storage.rglob("*") if p.is_file()).write_bytes(PDF + b"changed")
    with pytest.raises(attachments.StoredFileMissing):
        attachments.download(deployed.sessions, professional, first, kept.id, storage)
    assert [(e.outcome, e.case_id) for e in _events(deployed, "case.attachment.download")] == [("error", first)]
