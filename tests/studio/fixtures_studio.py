"""The engine-level studio of the studio tests: the shipped meldcode deployed with a few attached scenarios.

Import the fixture by its function name (`deployed_studio`); tests ask for it as `studio`."""
from __future__ import annotations

import pytest

from engine.diagrams import read_directory
from engine.studio.service import Studio

from .edits import PROCESSES, scenario

ATTACHED = ["geen_vermoeden_afsluiten.json", "acuut_melden_en_hulp.json"]


def deploy_with_scenarios(case_engine, comment: str = "eerste versie") -> None:
    """Version 1 of processes/ by "cli", with the ATTACHED scenarios."""
    case_engine.deploy_files(read_directory(PROCESSES), "cli", [(n, scenario(n)) for n in ATTACHED], comment=comment)


@pytest.fixture(name="studio")
def deployed_studio(case_engine):
    deploy_with_scenarios(case_engine)
    return Studio(case_engine)
