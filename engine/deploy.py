"""Deploy a set of diagrams as new process versions (identical content is a no-op)."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import audit, clock
from .diagrams import CompiledProcess, compile_files, read_directory
from .models import Deployment, DeploymentFile, ProcessVersion
from .text_input import DEFAULT_MAX_LENGTH


@dataclass(frozen=True)
class DeployedVersion:
    process_id: str
    version: int
    name: str | None
    content_hash: str
    created: bool  # False when identical content was already deployed
    deployed_at: datetime


def deploy_directory(session: Session, directory: Path, deployed_by: str, max_bytes: int) -> list[DeployedVersion]:
    return deploy_files(session, read_directory(directory), deployed_by, max_bytes)


def deploy_files(session: Session, files: dict[str, bytes], deployed_by: str, max_bytes: int,
                 verify: Callable[[dict[str, bytes]], None] | None = None,
                 max_text_length: int = DEFAULT_MAX_LENGTH) -> list[DeployedVersion]:
    """Compile everything first (raising DiagramError on any problem), then store.

    `verify(files)` runs only when some process would get a new version, before anything is stored
    (the scenarios attached to the diagrams); it raises DiagramError to refuse the deployment.
    """
    compiled = compile_files(files, max_bytes, max_text_length)
    if verify is not None and any(_changed(session, process) for process in compiled):
        verify(files)
    now = clock.now()
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + files[name] + b"\0")
    deployment = None
    results = []
    for process in compiled:
        latest = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process.process_id)
                                 .order_by(ProcessVersion.version.desc()).limit(1)).first()
        if latest is not None and latest.content_hash == process.content_hash:
            results.append(DeployedVersion(process.process_id, latest.version, latest.name, latest.content_hash,
                                           False, latest.deployed_at))
            continue
        if deployment is None:
            deployment = Deployment(content_hash=digest.hexdigest(), deployed_by=deployed_by, deployed_at=now)
            deployment.files = [DeploymentFile(filename=name, content=content.decode("utf-8"))
                                for name, content in sorted(files.items())]
            session.add(deployment)
            session.flush()
        number = (latest.version if latest else 0) + 1
        session.add(ProcessVersion(
            process_id=process.process_id, version=number, name=process.name, content_hash=process.content_hash,
            deployment_id=deployment.id, deployed_by=deployed_by, deployed_at=now, spec_json=process.spec_json,
            forms=process.forms, source_file=process.source_file))
        audit.record(session, deployed_by, "process.deploy", process_id=process.process_id, version=number,
                     content_hash=process.content_hash)
        results.append(DeployedVersion(process.process_id, number, process.name, process.content_hash, True, now))
    return results


def _changed(session: Session, process: CompiledProcess) -> bool:
    latest = latest_version(session, process.process_id)
    return latest is None or latest.content_hash != process.content_hash


def latest_version(session: Session, process_id: str) -> ProcessVersion | None:
    return session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id)
                           .order_by(ProcessVersion.version.desc()).limit(1)).first()


def process_ids(session: Session) -> list[str]:
    return list(session.scalars(select(ProcessVersion.process_id).group_by(ProcessVersion.process_id)
                                .order_by(func.min(ProcessVersion.process_id))))
