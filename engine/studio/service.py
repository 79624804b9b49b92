"""The studio's use cases for the web app and the API: one entry point on top of a CaseEngine.

Who may call them (role procesbeheerder) is decided by the caller; every call is audited here.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy.orm import Session

from .. import audit
from ..concurrency import RACE_ERRORS, is_lost_race
from ..errors import DiagramError
from . import drafts, migration, versions
from .drafts import Draft

if TYPE_CHECKING:
    from ..cases import CaseEngine
    from ..scenarios import ScenarioResult
    from .checks import Problem
    from .compare import FileChanges

P = ParamSpec("P")
T = TypeVar("T")


class Studio:
    def __init__(self, case_engine: CaseEngine, *, four_eyes: bool = False) -> None:
        self.engine = case_engine
        self.sessions = case_engine.sessions
        self.settings = case_engine.settings
        self.four_eyes = four_eyes  # a draft is deployed only after a second process owner approved it

    def _read(self, use: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`use` on a session of its own, for a read that records nothing."""
        with self.sessions() as session:
            return use(session, *args, **kwargs)

    def _write(self, use: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`use` in one transaction (with its audit event), committed when it returns."""
        with self.sessions.begin() as session:
            return use(session, *args, **kwargs)

    def prepare_checks(self) -> None:
        """A draft is open: start what its scenario check will run in (engine/scenarios.py `prepare_workers`)
        in the background, so the first check of this process waits no longer than the next."""
        from ..scenarios import prepare_workers

        threading.Thread(target=prepare_workers, name="meldcode-prepare-checks", daemon=True).start()

    # -- versions --------------------------------------------------------------------------
    def processes(self, actor: str) -> list[versions.ProcessInfo]:
        with self.sessions.begin() as session:
            found = versions.list_processes(session)
            audit.record(session, actor, "studio.processes", processes=[p.process_id for p in found])
            return found

    def deploy(self, actor: str, files: dict[str, bytes], comment: str, *, scenarios: dict[str, Any] | None = None,
               complete: bool = False) -> versions.DeployResult:
        """Deploy, or raise DiagramError (ScenariosFailed: the failing scenarios); a refusal is audited too."""
        try:
            with self.sessions.begin() as session:
                return versions.deploy_set(session, self.settings, actor, files, comment, scenarios=scenarios,
                                           complete=complete)
        except DiagramError as exc:
            with self.sessions.begin() as session:
                audit.record(session, actor, "studio.deploy", outcome="denied", reason=str(exc)[:500],
                             failed_scenarios=[f.name for f in getattr(exc, "failed", [])])
            raise

    def version_files(self, actor: str, process_id: str, version: int
                      ) -> tuple[dict[str, bytes], dict[str, dict[str, Any]]]:
        """(files, scenarios) of a version, e.g. for a zip download (audited)."""
        with self.sessions.begin() as session:
            found = versions.version_files(session, process_id, version)
            audit.record(session, actor, "studio.download", process_id=process_id, version=version)
            return found

    def compare_versions(self, actor: str, process_id: str, old: int, new: int
                         ) -> tuple[dict[str, bytes], list[FileChanges]]:
        """(files of `new`, changes from version `old` to `new`) of one process; DiagramError for a missing version.
        Audited like a download: the process owner read both versions."""
        from .compare import compare

        with self.sessions.begin() as session:
            before, _ = versions.version_files(session, process_id, old)
            after, _ = versions.version_files(session, process_id, new)
            audit.record(session, actor, "studio.compare_versions", process_id=process_id, versions=[old, new])
        return after, compare(before, after)

    def latest_files(self) -> tuple[int | None, dict[str, bytes], dict[str, dict[str, Any]]]:
        """(deployment id, files, scenarios) of the latest deployment (not audited: no case data)."""
        with self.sessions() as session:
            latest = versions.latest_deployment(session)
            if latest is None:
                return None, {}, {}
            return latest.id, versions.deployment_files(session, latest.id), \
                versions.deployment_scenarios(session, latest.id)

    # -- running cases ---------------------------------------------------------------------
    def migrate(self, actor: str, case_ids: list[int], to_version: int, *, dry_run: bool,
                process_id: str | None = None) -> list[migration.MigrationResult]:
        results = []
        for case_id in case_ids:
            try:
                results.append(migration.migrate_case(self.engine, int(case_id), process_id, int(to_version), actor,
                                                      dry_run=dry_run))
            except RACE_ERRORS as exc:
                if not is_lost_race(exc):
                    raise
                # Someone completed a task of this case at the same moment: nothing of it was changed.
                results.append(migration.MigrationResult(int(case_id), False, "de zaak werd op hetzelfde moment "
                                                         "gewijzigd; er is niets verplaatst, probeer het opnieuw",
                                                         None, int(to_version)))
        return results

    def revert(self, actor: str, case_id: int) -> migration.MigrationResult:
        return migration.revert_migration(self.engine, case_id, actor)

    def running_cases(self, process_id: str, version: int, step: str | None = None) -> list[int]:
        return self._read(migration.running_cases, process_id, version, step)

    def migrations_of(self, case_id: int) -> list[dict[str, Any]]:
        return self._read(migration.migrations_of, case_id)

    # -- drafts ----------------------------------------------------------------------------
    def drafts(self, owner: str) -> list[Draft]:
        return self._read(drafts.list_drafts, owner)

    def draft(self, owner: str, draft_id: int) -> Draft:
        return self._write(drafts.view, owner, draft_id)

    def new_draft(self, owner: str, process_id: str, version: int) -> Draft:
        return self._write(drafts.create_from_version, owner, process_id, version)

    def upload_draft(self, owner: str, title: str, data: bytes) -> Draft:
        """A draft from an uploaded zip, after every check (zip safety, then the engine's deploy checks)."""
        from ..diagrams import compile_files
        from . import zipfiles

        try:
            files, scenarios = zipfiles.read_zip(data, self.settings.max_diagram_bytes)
            compile_files(files, self.settings.max_diagram_bytes, self.settings.max_text_length)
            return self._write(drafts.create, owner, title, files, scenarios, source="zip")
        except DiagramError as exc:
            with self.sessions.begin() as session:
                audit.record(session, owner, "studio.draft_create", outcome="denied", source="zip",
                             reason=str(exc)[:500])
            raise

    def save_file(self, owner: str, draft_id: int, name: str, text: str) -> Draft:
        return self._write(drafts.save_file, owner, draft_id, name, text, self.settings.max_diagram_bytes)

    def save_scenario(self, owner: str, draft_id: int, name: str, scenario: dict[str, Any] | None) -> Draft:
        return self._write(drafts.save_scenario, owner, draft_id, name, scenario)

    def delete_draft(self, owner: str, draft_id: int) -> None:
        self._write(drafts.delete, owner, draft_id)

    def check_draft(self, owner: str, draft_id: int) -> list[Problem]:
        from .checks import check_files

        draft = self.draft(owner, draft_id)
        return check_files(draft.file_bytes(), self.settings)

    def run_draft_scenarios(self, owner: str, draft_id: int) -> list[tuple[str, ScenarioResult]]:
        """[(file name, ScenarioResult)] of every scenario of the draft against the draft (throwaway database)."""
        draft = self.draft(owner, draft_id)
        results = versions.run_scenarios(draft.file_bytes(), draft.scenarios, self.settings)
        with self.sessions.begin() as session:
            audit.record(session, owner, "studio.draft_scenarios", draft_id=draft_id,
                         failed=[name for name, r in results if not r.passed])
        return results

    def compare_draft(self, owner: str, draft_id: int, process_id: str | None = None,
                      version: int | None = None) -> list[FileChanges]:
        """The draft against a version (default: the latest deployment)."""
        from .compare import compare

        draft = self.draft(owner, draft_id)
        with self.sessions() as session:
            if process_id and version:
                files, _ = versions.version_files(session, process_id, version)
            else:
                latest = versions.latest_deployment(session)
                files = versions.deployment_files(session, latest.id) if latest else {}
        return compare(files, draft.file_bytes())

    def deploy_draft(self, owner: str, draft_id: int, comment: str) -> versions.DeployResult:
        draft = self.draft(owner, draft_id)
        if self.four_eyes and not draft.approved:
            reason = ("dit concept moet eerst door een tweede procesbeheerder worden goedgekeurd (vier-ogenprincipe)"
                      if not draft.approved_by else
                      "het concept is na de goedkeuring gewijzigd; laat het opnieuw goedkeuren (vier-ogenprincipe)")
            with self.sessions.begin() as session:
                audit.record(session, owner, "studio.deploy", outcome="denied", draft_id=draft_id, reason=reason)
            raise versions.DeployRefused(reason)
        return self.deploy(owner, draft.file_bytes(), comment, scenarios=draft.scenarios, complete=True)

    # -- four-eyes rule --------------------------------------------------------------------
    def submit_draft(self, owner: str, draft_id: int) -> Draft:
        return self._write(drafts.submit, owner, draft_id)

    def drafts_to_review(self, reviewer: str) -> list[Draft]:
        return self._read(drafts.pending, reviewer)

    def draft_for_review(self, reviewer: str, draft_id: int) -> Draft:
        return self._write(drafts.review, reviewer, draft_id)

    def review_changes(self, reviewer: str, draft_id: int) -> tuple[Draft, list[FileChanges]]:
        """What the draft changes against the latest deployment, for the reviewer."""
        from .compare import compare

        draft = self.draft_for_review(reviewer, draft_id)
        with self.sessions() as session:
            latest = versions.latest_deployment(session)
            files = versions.deployment_files(session, latest.id) if latest else {}
        return draft, compare(files, draft.file_bytes())

    def approve_draft(self, reviewer: str, draft_id: int) -> Draft:
        return self._write(drafts.approve, reviewer, draft_id)
