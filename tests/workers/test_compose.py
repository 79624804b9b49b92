"""docker-compose.yml (Docker is not available here): parse it and check that every service's command
exists in the project — the gunicorn app path and config, the Celery app path and subcommands, the
`meldcode` subcommands — and run the web command for real with gunicorn."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta

import click
import pytest
import yaml

from tests.conftest import PROJECT

from .conftest import free_port, postgres_only, start_waiting_cases, wait_for
from .test_celery_timers import firing_times

COMPOSE = PROJECT / "docker-compose.yml"
APP_SERVICES = {"migrate", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def commands(service: dict) -> list[list[str]]:
    """The command lines a service runs (`sh -c "a && b"` counts as a and b)."""
    command = service.get("command")
    if command is None:
        return []
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv[:2] == ["sh", "-c"]:
        return [shlex.split(part) for part in argv[2].split("&&")]
    return [argv]


def meldcode_group() -> click.Group:
    """`meldcode` as installed: the engine's commands plus the plugins pyproject.toml declares as entry points
    (mounted the way engine.cli does it), so the test also checks that those entry points load."""
    import importlib
    import tomllib

    from engine.cli import main

    group = click.Group("meldcode", commands=dict(main.commands))
    plugins = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]["entry-points"]["meldcode.commands"]
    for target in plugins.values():
        module, attribute = target.split(":")
        plugin = getattr(importlib.import_module(module), attribute)
        if isinstance(plugin, click.Command):
            group.add_command(plugin)
        else:
            plugin(group)
    return group


def resolve_click(group: click.Group, argv: list[str], obj=None) -> click.Command:
    """Follow argv's subcommands through click groups and parse the rest (fails on unknown ones)."""
    command, args = group, list(argv)
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        sub = command.commands.get(name)
        assert sub is not None, f"`{' '.join(argv)}`: no subcommand {name!r} in {sorted(command.commands)}"
        command = sub
    command.make_context(command.name, args, obj=obj)  # options and arguments parse
    return command


def test_the_services_with_images_health_checks_and_volumes(compose):
    services = compose["services"]
    assert set(services) == {"postgres", "redis", *APP_SERVICES}
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert set(compose["volumes"]) >= {"pgdata", "redisdata", "beatdata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    for name in APP_SERVICES:
        service = services[name]
        assert service["build"] == "." and (PROJECT / "Dockerfile").exists()
        env = service["environment"]
        assert env["DATABASE_URL"].startswith("postgresql+psycopg://") and "@postgres:5432/" in env["DATABASE_URL"]
        assert env["REDIS_URL"] == "redis://redis:6379/0"
        assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # no default secret
    assert services["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["depends_on"]["postgres"] == {"condition": "service_healthy"}


def test_meldcode_commands_exist(compose):
    group = meldcode_group()
    lines = commands(compose["services"]["migrate"])
    assert [argv[:3] for argv in lines] == [["meldcode", "db", "upgrade"], ["meldcode", "deploy", "processes/"]]
    for argv in lines:
        resolve_click(group, argv[1:])
    assert (PROJECT / "processes").is_dir()
    # And the operator commands the README and this issue name.
    resolve_click(group, ["worker", "sweep-once"])
    resolve_click(group, ["worker", "schedule-timers"])


def test_celery_commands_exist(compose):
    from celery import Celery
    from celery.app.utils import find_app
    from celery.bin.base import CLIContext
    from celery.bin.celery import celery as celery_cli

    for name in ("worker", "beat"):
        [argv] = commands(compose["services"][name])
        assert argv[:3] == ["celery", "-A", "workers.celery_app"]
        app = find_app(argv[2])
        assert isinstance(app, Celery) and app.main == "meldcode"
        # `worker ...` / `beat ...` and their options parse, as `celery -A workers.celery_app` would
        resolve_click(celery_cli, argv[3:], CLIContext(app=app, no_color=True, workdir=None, quiet=True))
        assert argv[3] == name
    health = compose["services"]["worker"]["healthcheck"]["test"][1]
    resolve_click(celery_cli, shlex.split(health.replace("$$HOSTNAME", "host"))[3:],
                  CLIContext(app=app, no_color=True, workdir=None, quiet=True))
    app.loader.import_default_modules()  # what a starting worker does: import the app's `include` modules
    assert {"meldcode.sweep", "meldcode.fire_case_timers", "meldcode.deliver_mail"} <= set(app.tasks)
    assert {entry["task"] for entry in app.conf.beat_schedule.values()} <= set(app.tasks)


def test_gunicorn_command_loads_the_app_and_its_config(compose, monkeypatch, tmp_path):
    from gunicorn.app.base import Application
    from gunicorn.util import import_app

    [argv] = commands(compose["services"]["web"])
    assert argv[0] == "gunicorn"
    config, target = argv[argv.index("--config") + 1], argv[-1]
    assert config == "python:workers.gunicorn_conf" and target == "web:create_app()"
    module = __import__(config.split(":", 1)[1], fromlist=["post_worker_init"])
    assert callable(module.post_worker_init) and module.bind == "0.0.0.0:8000"
    # Load the app exactly as gunicorn does, with the environment compose gives it.
    monkeypatch.setenv("SECRET_KEY", "test-" + "x" * 40)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'web.sqlite3'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = import_app(target)
    assert "/gezondheid" in {rule.rule for rule in app.url_map.iter_rules()}
    assert Application  # gunicorn itself is installed
    # The Dockerfile starts the same command by default.
    dockerfile = (PROJECT / "Dockerfile").read_text()
    assert 'CMD ["gunicorn", "--config", "python:workers.gunicorn_conf", "web:create_app()"]' in dockerfile


@postgres_only
def test_web_command_runs_and_its_embedded_sweeper_fires_timers(wacht, database_url, tmp_path):
    """The web service's command for real (one gunicorn worker, no REDIS_URL: the embedded sweeper)."""
    due = datetime.now(UTC) + timedelta(seconds=1)
    [case_id] = start_waiting_cases(wacht, [due])
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "SMTP_URL")}
    env.update(PYTHONPATH=str(PROJECT), SECRET_KEY="test-" + "x" * 40, DATABASE_URL=database_url,
               MELDCODE_SWEEP_INTERVAL="0.5", WEB_CONCURRENCY="1", MELDCODE_BIND=f"127.0.0.1:{port}")
    log = open(tmp_path / "gunicorn.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", "python:workers.gunicorn_conf",
                                "web:create_app()"], cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def healthy():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/gezondheid", timeout=1) as response:
                    return response.status == 200
            except OSError:
                assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()
                return False

        wait_for(healthy, 30, 0.1, "gunicorn to answer")
        wait_for(lambda: firing_times(wacht, [case_id]), 10, 0.1, "the embedded sweeper to fire the timer")
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def _bytes(size: str) -> int:
    """'${NAME:-1g}' or '512m' -> bytes (compose's own units)."""
    import re

    value = re.sub(r"^\$\{[A-Z_]+:-(.+)\}$", r"\1", str(size)).strip().lower()
    number, unit = re.fullmatch(r"(\d+)([kmg]?)b?", value).groups()
    return int(number) * {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}[unit]


def test_every_service_has_a_memory_limit(compose):
    for name, service in compose["services"].items():
        limit = service.get("mem_limit") or service.get("deploy", {}).get("resources", {}).get("limits", {}).get(
            "memory")
        assert limit, f"{name} has no memory limit"
        assert 64 * 2**20 <= _bytes(limit) <= 8 * 2**30, f"{name}: implausible memory limit {limit}"


def test_production_requires_the_second_factor_and_sends_hsts(compose):
    from web.settings import WebSettings

    for name in APP_SERVICES:
        env = compose["services"][name]["environment"]
        defaults = {key: str(value).split(":-", 1)[1].rstrip("}") for key, value in env.items()
                    if str(value).startswith("${") and ":-" in str(value)}
        settings = WebSettings.from_env(defaults)
        assert settings.mfa_required, f"{name}: MELDCODE_MFA_REQUIRED is not on"
        assert settings.hsts_seconds >= 180 * 24 * 3600, f"{name}: HSTS is off or short"
        assert settings.token_days == 90


def test_the_app_connects_as_a_role_that_does_not_own_the_tables(compose):
    """migrate upgrades as the owner and grants the app role; web, worker and beat connect as that role."""
    from sqlalchemy.engine import make_url

    services = compose["services"]
    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    migrate = services["migrate"]["environment"]
    assert make_url(migrate["DATABASE_URL"]).username == owner
    app_role = migrate["MELDCODE_DB_APP_ROLE"]
    assert app_role and app_role != owner and migrate["MELDCODE_DB_APP_PASSWORD"].startswith("${")
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert make_url(env["DATABASE_URL"]).username == app_role, name
        assert "MELDCODE_DB_APP_PASSWORD" not in env  # only the owner side knows how to create it
