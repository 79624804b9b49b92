"""Use case: deploy diagrams and forms as new process versions (optionally gated by scenarios)."""
from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import deploy
from .case_store import CaseStore
from .diagrams import read_directory


def deploy_directory(store: CaseStore, directory: Path, deployed_by: str,
                     scenarios: Sequence[tuple[str, dict[str, Any]]] = ()) -> Any:
    return deploy_files(store, read_directory(directory), deployed_by, scenarios)


def deploy_files(store: CaseStore, files: dict[str, bytes], deployed_by: str,
                 scenarios: Sequence[tuple[str, dict[str, Any]]] = (), comment: str | None = None) -> Any:
    """Deploy diagrams + forms. With `scenarios` ([(name, scenario dict)]), a change is deployed only
    if every scenario passes against it in a throwaway database (contract.md); they are stored with the
    deployment, so the studio runs them against every later change (engine/studio/versions.py)."""
    verify = None
    if scenarios:
        from .scenarios import verify_files  # the runner itself drives a CaseEngine

        verify = functools.partial(verify_files, scenarios=list(scenarios), settings=store.settings)
    with store.sessions.begin() as session:
        results = deploy.deploy_files(session, files, deployed_by, store.settings.max_diagram_bytes, verify,
                                      max_text_length=store.settings.max_text_length)
        from .studio.versions import attach

        attach(session, results, dict(scenarios), comment)
        return results
