"""Demo data for the local run: one user per role (demo only, documented in the README) and a demo case."""
from __future__ import annotations

from dataclasses import dataclass

from engine.cases import CaseEngine
from engine.errors import DiagramError, EngineError
from engine.settings import Settings

from .auth import service as accounts
from .auth.identity import CurrentUser

DEMO_PASSWORD = "meldcode-demo"
DEMO_TEAM, DEMO_TEAM_TITLE = "wijkteam-noord", "Wijkteam Noord"
OTHER_TEAM, OTHER_TEAM_TITLE = "wijkteam-zuid", "Wijkteam Zuid"
DEMO_CLIENT_REF = "DEMO-0001"


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    team: str = DEMO_TEAM
    team_title: str = DEMO_TEAM_TITLE


DEMO_USERS = (
    # Issue 13: a second professional of the team, to hand a case over to (listed first: "professional" stays the
    # team's professional where users are looked up by role)
    DemoUser("collega", "Kees Collega", ("professional",)),
    DemoUser("professional", "Pim Professional", ("professional",)),
    DemoUser("aandachtsfunctionaris", "Aafke Aandachtsfunctionaris", ("aandachtsfunctionaris",)),
    DemoUser("leidinggevende", "Lotte Leidinggevende", ("leidinggevende",)),
    DemoUser("veilig-thuis", "Vera van Veilig Thuis", ("veilig_thuis",)),
    DemoUser("procesbeheerder", "Peter Procesbeheerder", ("procesbeheerder",)),
    DemoUser("beheerder", "Bea Beheerder", ("beheerder",)),
    DemoUser("logbeheerder", "Lotte Logbeheerder", ("logbeheerder",)),
    DemoUser("zuid", "Zoë Zuid (ander team)", ("professional",), OTHER_TEAM, OTHER_TEAM_TITLE),
)


def deploy_processes(engine: CaseEngine, settings: Settings) -> str | None:
    """Deploy settings.processes_dir (idempotent). Returns a readable error instead of raising."""
    try:
        engine.deploy_directory(settings.processes_dir, "seed")
    except DiagramError as exc:
        return f"{settings.processes_dir}: {exc}"
    return None


def seed_users(sessions, password: str = DEMO_PASSWORD) -> list[str]:
    """Create the demo users that do not exist yet; returns the names created."""
    created = []
    for user in DEMO_USERS:
        if accounts.user_exists(sessions, user.username):
            continue
        # Exempt from MELDCODE_MFA_REQUIRED: the README's demo walk stays two commands (demo only).
        accounts.create_user(sessions, user.username, password, user.roles, user.team,
                             display_name=user.display_name, team_title=user.team_title, mfa_exempt=True)
        created.append(user.username)
    return created


def seed_case(engine: CaseEngine, process_id: str) -> int | None:
    """A demo case of the demo professional's team, unless one exists or the process is not deployed."""
    if any(c.client_ref == DEMO_CLIENT_REF for c in engine.list_cases(team=DEMO_TEAM)):
        return None
    starter = CurrentUser(0, "professional", "Pim Professional", DEMO_TEAM, DEMO_TEAM_TITLE,
                          frozenset({"professional"}))
    try:
        return engine.start_case(process_id, DEMO_CLIENT_REF, starter.actor, team=DEMO_TEAM,
                                 data={"levensbedreigend": False, "aanleiding": "Demonstratiezaak"})
    except EngineError:
        return None
