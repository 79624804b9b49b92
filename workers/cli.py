"""`meldcode worker ...`: operator commands for timers, reminders and e-mail.

    meldcode worker sweep-once          fire due timers, create due reminders/escalations, send due e-mail
    meldcode worker schedule-timers     queue exact-time Celery tasks for timers due within the horizon
    meldcode worker test-mail ADDRESS   send a test e-mail through SMTP_URL

The long-running services are Celery's own commands:
    celery -A workers.celery_app worker --loglevel=INFO
    celery -A workers.celery_app beat --loglevel=INFO
"""
from __future__ import annotations

import json
import sys

import click

from .settings import WorkerSettings


@click.group("worker")
def worker_commands():
    """Timers, reminders and e-mail (Celery worker and beat: `celery -A workers.celery_app worker|beat`)."""


@worker_commands.command("sweep-once")
@click.option("--no-mail", is_flag=True, help="Create notifications but send no e-mail.")
def sweep_once(no_mail):
    """Run one sweep now, without Celery; print what it did as JSON."""
    from .context import build_context
    from .sweep import run_sweep

    ctx = build_context(WorkerSettings.from_env())
    try:
        result = run_sweep(ctx, deliver=not no_mail)
    finally:
        ctx.close()
    click.echo(json.dumps(result.as_dict()))


@worker_commands.command("schedule-timers")
@click.option("--force", is_flag=True, help="Queue them even when they were queued before.")
def schedule_timers(force):
    """Queue exact-time Celery tasks for the timers due within the horizon (needs REDIS_URL)."""
    from .celery_app import ledger_of, make_celery
    from .context import build_context
    from .scheduling import schedule_upcoming

    settings = WorkerSettings.from_env()
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL is not set: without Celery the web process sweeps by itself")
    app = make_celery(settings)
    ctx = build_context(settings)
    try:
        queued = schedule_upcoming(app, settings, ctx.sessions, ledger_of(app), force=force)
    finally:
        ctx.close()
    click.echo(f"{queued} timer task(s) queued")


@worker_commands.command("test-mail")
@click.argument("address")
def test_mail(address):
    """Send a test e-mail to ADDRESS through SMTP_URL."""
    from email.message import EmailMessage

    from .mail import PermanentMailError, SmtpMailer, TransientMailError

    settings = WorkerSettings.from_env()
    if not settings.smtp_url:
        raise click.ClickException("SMTP_URL is not set")
    message = EmailMessage()
    message["Subject"] = "Meldcode: testbericht"
    message["From"] = settings.mail_from
    message["To"] = address
    message.set_content("Dit is een testbericht van de meldcode-applicatie. E-mail werkt.\n")
    try:
        SmtpMailer(settings.smtp_url, settings.mail_from, settings.smtp_timeout).send(message)
    except (TransientMailError, PermanentMailError) as exc:
        click.echo(f"sending failed: {exc}", err=True)
        sys.exit(1)
    click.echo(f"test e-mail sent to {address}")


if __name__ == "__main__":
    worker_commands()


@worker_commands.command("retention")
@click.option("--apply", "do_apply", is_flag=True, help="Destroy/anonymise what expired (default: report only).")
def retention(do_apply):
    """Print the retention report as JSON (what expired, what a legal hold keeps); with --apply destroy it."""
    from .context import build_context
    from .retention import run_retention

    ctx = build_context(WorkerSettings.from_env())
    try:
        report = run_retention(ctx.sessions, do_apply=do_apply, attachments_dir=ctx.cases.settings.attachments_dir)
    finally:
        ctx.close()
    click.echo(json.dumps(report.as_dict(), ensure_ascii=False))
    if report.errors:
        sys.exit(1)
