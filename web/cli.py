"""Operator commands of the web app, mounted into the `meldcode` console command.

    meldcode user add USERNAME --role ROLE [--role ROLE ...] --team TEAM [--name NAME] [--email ADDRESS]
                      [--password-stdin]
    meldcode user password USERNAME [--password-stdin]
    meldcode user token USERNAME [--label LABEL] [--days N]
    meldcode user roles USERNAME --role ROLE [--role ROLE ...]
    meldcode user sign-out USERNAME
    meldcode user reset-mfa USERNAME
    meldcode seed-demo
    meldcode run [--host 127.0.0.1] [--port 5000]

Mount with `web.cli.register_commands(main)`; `web_commands` is the same set as a stand-alone group.
"""
from __future__ import annotations

import sys

import click

from engine.settings import Settings

from .roles import ROLES


def _sessions(settings: Settings):
    from engine.db import make_engine, make_sessionmaker

    return make_sessionmaker(make_engine(settings.database_url))


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Wachtwoord", hide_input=True, confirmation_prompt="Herhaal het wachtwoord")


def _schema_hint(exc: Exception) -> str:
    return f"database not ready ({exc.__class__.__name__}); run `meldcode db upgrade` first"


def _account(operation, *args, **kwargs):
    """Run an operation of web/auth/service.py on the configured database; its refusal (AccountError) becomes the
    command's error message."""
    from .auth.service import AccountError

    try:
        return operation(_sessions(Settings.from_env()), *args, **kwargs)
    except AccountError as exc:
        raise click.ClickException(str(exc)) from None


@click.group("user")
def user():
    """Users of the web app (roles: professional, aandachtsfunctionaris, leidinggevende, veilig_thuis,
    procesbeheerder, beheerder)."""


@user.command("add")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several.")
@click.option("--team", required=True, help="The team (organisation unit) the user belongs to.")
@click.option("--name", "display_name", default=None, help="Display name.")
@click.option("--email", default=None, help="E-mail address for reminders (optional).")
@click.option("--team-title", default=None, help="Readable team name, when the team is new.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_add(username, roles, team, display_name, email, team_title, password_stdin):
    """Create a user with ROLE(s) in TEAM (the password is asked, or read with --password-stdin)."""
    from sqlalchemy.exc import SQLAlchemyError

    from .auth.service import create_user

    password = _read_password(password_stdin)
    try:
        created = _account(create_user, username, password, roles, team,
                           display_name=display_name, team_title=team_title, email=email)
    except SQLAlchemyError as exc:
        raise click.ClickException(_schema_hint(exc)) from None
    click.echo(f"user {created.username} created in team {created.team} with roles {', '.join(sorted(created.roles))}")


@user.command("password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
def user_password(username, password_stdin):
    """Set a new password for USERNAME (ends the user's open sessions)."""
    from .auth.service import set_password

    _account(set_password, username, _read_password(password_stdin))
    click.echo(f"password of {username} changed; open sessions ended")


@user.command("token")
@click.argument("username")
@click.option("--label", default="cli", show_default=True, help="What the token is for.")
@click.option("--days", type=click.IntRange(1, 3650), default=None,
              help="Days the token is valid (default MELDCODE_TOKEN_DAYS, 90).")
def user_token(username, label, days):
    """Create an API token for USERNAME and print it (shown once; stored only as a hash)."""
    from .auth.service import create_token
    from .settings import WebSettings

    click.echo(_account(create_token, username, label, days or WebSettings.from_env().token_days))


@user.command("roles")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES),
              help="A role; repeat for several. Replaces the current roles.")
def user_roles(username, roles):
    """Replace the roles of USERNAME (ends the user's open sessions at once)."""
    from .auth.service import set_roles

    new = _account(set_roles, username, roles)
    click.echo(f"roles of {username}: {', '.join(sorted(new))}; open sessions ended")


@user.command("sign-out")
@click.argument("username")
def user_sign_out(username):
    """End every open session of USERNAME (a lost laptop, a suspected break-in)."""
    from .auth.service import end_sessions

    count = _account(end_sessions, username, "ended by operator")
    click.echo(f"{count} open session(s) of {username} ended")


@user.command("reset-mfa")
@click.argument("username")
def user_reset_mfa(username):
    """Remove the second factor of USERNAME (lost phone and recovery codes); they set it up again."""
    from .auth import mfa
    from .auth.service import normalise_username

    if not mfa.reset(_sessions(Settings.from_env()), normalise_username(username)):
        raise click.ClickException(f"gebruiker {username!r} bestaat niet")
    click.echo(f"second factor of {username} removed; open sessions ended")


def _prepare_demo(settings: Settings, echo=click.echo):
    """Schema, diagrams, demo users and demo case. Returns (db engine, deploy error or None)."""
    from engine.cases import CaseEngine
    from engine.db import make_engine, make_sessionmaker, upgrade

    from .demo import DEMO_PASSWORD, deploy_processes, seed_case, seed_users
    from .settings import WebSettings

    db = make_engine(settings.database_url)
    upgrade(db)
    sessions = make_sessionmaker(db)
    engine = CaseEngine(sessions, settings)
    error = deploy_processes(engine, settings)
    if error:
        echo(click.style(f"DEPLOY FAILED — no process can be started until this is fixed:\n  {error}", fg="red"),
             err=True)
    else:
        echo(f"processes deployed from {settings.processes_dir}")
    created = seed_users(sessions)
    if created:
        echo(f"demo users created (password {DEMO_PASSWORD!r}, demo only): {', '.join(created)}")
    case_id = seed_case(engine, WebSettings.from_env().start_process)
    if case_id:
        echo(f"demo case #{case_id} started")
    return db, error


@click.command("seed-demo")
def seed_demo():
    """Upgrade the schema, deploy processes/, create the demo users and a demo case (demo only)."""
    _, error = _prepare_demo(Settings.from_env())
    if error:
        sys.exit(1)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run(host, port):
    """Start the web app for local use, with demo users and a demo case (plain HTTP on loopback)."""
    from . import create_app
    from .demo import DEMO_PASSWORD
    from .settings import WebSettings, persistent_secret_key

    settings = Settings.from_env()
    # Plain http on 127.0.0.1: a Secure cookie would never come back. Set SESSION_COOKIE_SECURE=1 behind TLS.
    web = WebSettings.from_env(secure_default=False)
    web = web.replace(secret_key=web.secret_key or persistent_secret_key(web.instance_dir))
    db, error = _prepare_demo(settings)
    app = create_app({"MELDCODE_WEB_SETTINGS": web, "MELDCODE_ENGINE_SETTINGS": settings, "MELDCODE_DB_ENGINE": db})
    app.extensions["meldcode"].deploy_error = error
    # Timers: handed to Celery when REDIS_URL is set, else swept by a thread of this process (workers/attach.py).
    from workers.attach import attach_timers
    from workers.long_lived import freeze_startup_objects

    timers = attach_timers(app.extensions["meldcode"].cases)
    click.echo("timers: " + ("embedded sweeper thread" if timers else "Celery (REDIS_URL)"))
    freeze_startup_objects()  # the app's objects stay out of the collector's full passes
    click.echo(f"Meldcode web app on http://{host}:{port}/ — sign in as 'professional' with password "
               f"{DEMO_PASSWORD!r} (demo only). Ctrl-C stops.")
    try:
        app.run(host=host, port=port, debug=False, use_reloader=False, threaded=True)
    finally:
        if timers is not None:
            timers.stop()


COMMANDS = (user, seed_demo, run)


def register_commands(group: click.Group) -> None:
    for command in COMMANDS:
        group.add_command(command)


@click.group()
def web_commands():
    """Web app commands (the same as mounted into `meldcode`)."""


register_commands(web_commands)

if __name__ == "__main__":
    web_commands()
