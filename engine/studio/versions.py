"""Process versions as the process owner sees them, and deploying a set of files with a comment.

A deployment keeps its files exactly as deployed and the scenarios attached to it. A new deployment takes the files
and scenarios it is not given from the latest deployment, and is stored only when every attached scenario passes
against it (in a throwaway database); otherwise nothing is stored and every failing scenario is named.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import audit, deploy
from ..errors import DiagramError
from ..models import (
    Case,
    Deployment,
    DeploymentFile,
    DeploymentScenario,
    ProcessVersion,
)
from ..settings import Settings
from ..states import CaseStatus
from .filenames import check_filename

if TYPE_CHECKING:
    from ..scenarios import ScenarioResult

MAX_COMMENT = 1000


@dataclass(frozen=True)
class VersionInfo:
    version: int
    deployed_at: datetime
    deployed_by: str
    comment: str | None
    running_cases: int
    content_hash: str


@dataclass(frozen=True)
class ProcessInfo:
    process_id: str
    name: str | None
    latest_version: int
    versions: list[VersionInfo]


@dataclass(frozen=True)
class FailedScenario:
    name: str
    error: str


class ScenariosFailed(DiagramError):
    """Attached scenarios fail against the files: nothing was deployed."""

    def __init__(self, failed: list[FailedScenario]):
        self.failed = failed
        names = ", ".join(repr(f.name) for f in failed[:5])
        super().__init__("(scenario's)", None, f"{len(failed)} scenario(s) failing: {names}")


class DeployRefused(DiagramError):
    """The request itself is wrong (no comment, a bad file name, a scenario that is not a scenario)."""

    def __init__(self, reason: str):
        super().__init__("(deployment)", None, reason)


@dataclass
class DeployResult:
    versions: dict[str, int]
    created: dict[str, bool]
    deployment_id: int | None
    failed_scenarios: list[FailedScenario] = field(default_factory=list)


def list_processes(session: Session) -> list[ProcessInfo]:
    running = dict(session.execute(select(Case.process_version_id, func.count()).where(Case.status == CaseStatus.RUNNING)
                                   .group_by(Case.process_version_id)).all())
    rows = session.execute(select(ProcessVersion, Deployment.comment).join(Deployment)
                           .order_by(ProcessVersion.process_id, ProcessVersion.version.desc())).all()
    found: dict[str, ProcessInfo] = {}
    for pv, comment in rows:
        info = found.get(pv.process_id)
        if info is None:
            info = found[pv.process_id] = ProcessInfo(pv.process_id, pv.name, pv.version, [])
        info.versions.append(VersionInfo(pv.version, pv.deployed_at, pv.deployed_by, comment,
                                         running.get(pv.id, 0), pv.content_hash))
    return list(found.values())


def latest_deployment(session: Session) -> Deployment | None:
    return session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(1)).first()


def deployment_files(session: Session, deployment_id: int) -> dict[str, bytes]:
    return {f.filename: f.content.encode("utf-8") for f in session.scalars(
        select(DeploymentFile).where(DeploymentFile.deployment_id == deployment_id).order_by(DeploymentFile.filename))}


def deployment_scenarios(session: Session, deployment_id: int | None) -> dict[str, dict[str, Any]]:
    if deployment_id is None:
        return {}
    return {s.filename: json.loads(s.content) for s in session.scalars(
        select(DeploymentScenario).where(DeploymentScenario.deployment_id == deployment_id)
        .order_by(DeploymentScenario.filename))}


def version_row(session: Session, process_id: str, version: int) -> ProcessVersion | None:
    return session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                        ProcessVersion.version == version)).first()


def version_files(session: Session, process_id: str, version: int) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
    """The files and scenarios of the deployment that made this version (for a zip download or a draft)."""
    pv = version_row(session, process_id, version)
    if pv is None:
        raise DiagramError(process_id, None, f"version {version} does not exist")
    return deployment_files(session, pv.deployment_id), deployment_scenarios(session, pv.deployment_id)


def attach(session: Session, results: list[deploy.DeployedVersion], scenarios: dict[str, dict[str, Any]], comment: str | None) -> int | None:
    """Store the comment and the scenarios with the deployment that `deploy.deploy_files` just made (if any)."""
    created = [r for r in results if r.created]
    if not created:
        return None
    deployment_id = session.scalar(select(ProcessVersion.deployment_id).where(
        ProcessVersion.process_id == created[0].process_id, ProcessVersion.version == created[0].version))
    deployment = session.get(Deployment, deployment_id)
    assert deployment is not None  # made by deploy_files just now
    deployment.comment = comment
    for name, scenario in sorted(scenarios.items()):
        session.add(DeploymentScenario(deployment_id=deployment_id, filename=name,
                                       process_id=str(scenario.get("process", "")),
                                       content=json.dumps(scenario, ensure_ascii=False, indent=2)))
    session.flush()
    return deployment_id


def check_scenarios(scenarios: object) -> dict[str, dict[str, Any]]:
    from ..scenarios import ScenarioError, check_format

    if not isinstance(scenarios, dict):
        raise DeployRefused("scenarios must be an object: file name -> scenario")
    for name, scenario in scenarios.items():
        check_filename(name, scenario=True)
        try:
            check_format(scenario, name)
        except ScenarioError as exc:
            raise DeployRefused(str(exc)) from None
    return scenarios


def run_scenarios(files: dict[str, bytes], scenarios: dict[str, dict[str, Any]],
                  settings: Settings) -> list[tuple[str, ScenarioResult]]:
    """Every scenario against `files`, each in a throwaway database, spread over the cores (the process owner
    waits seconds, not minutes: issue 14): [(file name, ScenarioResult)] in file name order."""
    from ..scenarios import run_suite

    return run_suite(files, sorted(scenarios.items()), settings, prefix="STUDIO")


def deploy_set(session: Session, settings: Settings, actor: str, files: dict[str, bytes], comment: str, *,
               scenarios: dict[str, dict[str, Any]] | None = None, complete: bool = False) -> DeployResult:
    """Deploy `files` over the latest deployment's (all of them when `complete`), with a comment; the attached
    scenarios (the latest deployment's, replaced by name by `scenarios`) must all pass. Raises DiagramError
    (ScenariosFailed names every failing scenario); nothing is stored then."""
    comment = (comment or "").strip()
    if not comment:
        raise DeployRefused("a comment is required (what changed and why)")
    if len(comment) > MAX_COMMENT:
        raise DeployRefused(f"the comment is longer than {MAX_COMMENT} characters")
    for name in files:
        check_filename(name)
    latest = latest_deployment(session)
    merged = {} if complete or latest is None else deployment_files(session, latest.id)
    merged.update(files)
    # A complete set (a draft) brings its own scenarios; a partial one adds to the latest deployment's.
    attached = {} if latest is None or complete else deployment_scenarios(session, latest.id)
    attached.update(check_scenarios(scenarios or {}))

    def verify(candidate: dict[str, bytes]) -> None:
        results = run_scenarios(candidate, attached, settings)
        failed = [FailedScenario(result.name or name, result.error or "failed") for name, result in results
                  if not result.passed]
        if failed:
            raise ScenariosFailed(failed)

    results = deploy.deploy_files(session, merged, actor, settings.max_diagram_bytes, verify if attached else None,
                                  max_text_length=settings.max_text_length)
    deployment_id = attach(session, results, attached, comment)
    for r in results:
        if r.created:
            audit.record(session, actor, "studio.deploy", process_id=r.process_id, version=r.version,
                         comment=comment, scenarios=sorted(attached))
    if deployment_id is None:
        audit.record(session, actor, "studio.deploy", outcome="success", unchanged=True, comment=comment)
    return DeployResult({r.process_id: r.version for r in results}, {r.process_id: r.created for r in results},
                        deployment_id)
