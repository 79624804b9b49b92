"""`meldcode` — the operators' command line."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .settings import Settings

if TYPE_CHECKING:
    from .cases import CaseEngine


def _engine(settings: Settings) -> CaseEngine:
    from .cases import CaseEngine
    from .db import make_engine, make_sessionmaker

    return CaseEngine(make_sessionmaker(make_engine(settings.database_url)), settings)


@click.group()
def main() -> None:
    """Meldcode huiselijk geweld en kindermishandeling — engine commands."""


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision: str) -> None:
    """Create or upgrade the schema of DATABASE_URL."""
    from .db import upgrade

    settings = Settings.from_env()
    upgrade(settings.database_url, revision, app_role=settings.db_app_role,
            app_password=settings.db_app_password)
    click.echo(f"schema at {revision} on {_safe_url(settings.database_url)}"
               + (f"; app role {settings.db_app_role} granted" if settings.db_app_role else ""))


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--by", "deployed_by", default="cli", show_default=True, help="Who deploys (audit).")
@click.option("--scenarios", "scenario_paths", multiple=True, type=click.Path(exists=True, path_type=Path),
              help="Scenario files or folders that must pass before a changed diagram is deployed (repeatable).")
def deploy(directory: Path, deployed_by: str, scenario_paths: tuple[Path, ...]) -> None:
    """Deploy the BPMN/DMN diagrams and forms of DIRECTORY."""
    from .errors import DiagramError
    from .scenarios import ScenarioError, load_scenarios

    try:
        scenarios = load_scenarios(scenario_paths)
        versions = _engine(Settings.from_env()).deploy_directory(directory, deployed_by, scenarios)
    except (ScenarioError, DiagramError) as exc:
        click.echo(f"deploy failed: {exc}", err=True)
        sys.exit(1)
    for v in versions:
        state = "deployed" if v.created else "unchanged"
        click.echo(f"{v.process_id} v{v.version} {state} ({v.content_hash[:12]})")


@main.group()
def scenario() -> None:
    """Replay scenarios against the diagrams."""


@scenario.command("run")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--processes", "processes_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=None, help="Diagrams to deploy into the throwaway database (default: the project's).")
@click.option("--database-url", default=None,
              help="Run on this PostgreSQL server, in a throwaway schema that is dropped afterwards "
                   "(default: a temporary SQLite database).")
def scenario_run(files: tuple[Path, ...], processes_dir: Path | None, database_url: str | None) -> None:
    """Run scenario FILES in a throwaway database; exit 1 if any fails."""
    from .errors import DiagramError
    from .scenarios import ScenarioError, run_files

    processes_dir = processes_dir or Settings.from_env().processes_dir
    try:
        results = run_files(files, processes_dir, database_url)
    except ScenarioError as exc:
        click.echo(f"cannot run scenarios: {exc}", err=True)
        sys.exit(2)
    except DiagramError as exc:
        click.echo(f"cannot deploy {processes_dir}: {exc}", err=True)
        sys.exit(2)
    for result in results:
        click.echo(result.to_json())
    sys.exit(0 if all(r.passed for r in results) else 1)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _mount_oversight() -> None:
    from .audit_cli import audit
    from .oversight_cli import cases

    main.add_command(audit)
    main.add_command(cases)


_mount_oversight()


def _mount_plugins() -> None:
    """Commands of the other packages (web, workers) register through entry points, so the
    engine never imports them."""
    from importlib.metadata import entry_points

    for entry in entry_points(group="meldcode.commands"):
        plugin = entry.load()
        if isinstance(plugin, click.Command):
            main.add_command(plugin)
        else:
            plugin(main)  # a function that registers several commands


_mount_plugins()

if __name__ == "__main__":
    main()
