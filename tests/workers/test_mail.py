"""E-mail: a real SMTP server on loopback receives each notification once; failures are retried with backoff;
messages carry the pseudonymous reference, the task name, the due date and a link, never case content."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from click.testing import CliRunner

from engine import clock, notifications
from workers.context import build_context
from workers.delivery import deliver_due_mail
from workers.mail import SmtpConfig
from workers.settings import WorkerSettings
from workers.sweep import run_sweep

from .conftest import at, wait_for

CREATED = at("2026-03-31 09:00")
SECRET = "Jansen, Dorpsstraat 12 — vader slaat"


@pytest.fixture
def mail_ctx(deployed, people, smtp_server):
    settings = WorkerSettings(smtp_url=smtp_server.url, mail_from="meldcode@gemeente.example",
                              base_url="https://meldcode.gemeente.example/", mail_retry_seconds=0.2,
                              engine=deployed.settings)
    return build_context(settings, deployed)


def start_case(engine, person, client_ref="CL-2026-0042"):
    with clock.frozen_at(CREATED):
        case_id = engine.start_case("voorbeeld", client_ref, person.actor,
                                    data={"toelichting_intern": SECRET, "adres": "Dorpsstraat 12"})
    return case_id, engine.open_tasks(case_id=case_id)[0]


def test_reminder_mail_carries_reference_task_due_date_and_link_only(mail_ctx, deployed, people, smtp_server):
    case_id, task = start_case(deployed, people["piet"])
    with clock.frozen_at(at("2026-04-01 09:00")):
        result = run_sweep(mail_ctx)
    assert len(result.notifications) == 3
    assert len(result.mail.sent) == 2
    assert len(result.mail.skipped) == 1  # zonder_mail has no address: in the inbox only

    received = {tuple(to): message for to, message in smtp_server.messages}
    assert set(received) == {("karin@wijkteam.example",), ("piet@wijkteam.example",)}
    message = received[("piet@wijkteam.example",)]
    body = message.get_content()
    assert message["Subject"] == "Herinnering: taak bijna verlopen (CL-2026-0042)"
    assert message["From"] == "meldcode@gemeente.example"
    assert "CL-2026-0042" in body and "Wegen" in body
    assert "donderdag 2 april 2026 09:00" in body
    assert f"https://meldcode.gemeente.example/taken/{task.id}" in body
    everything = message.as_string()
    for secret in (SECRET, "Jansen", "Dorpsstraat", "wijkteam-noord", "Is er een vermoeden"):
        assert secret not in everything

    with mail_ctx.sessions() as session:
        rows = notifications.for_case(session, case_id)
    assert sorted((n.recipient, n.status, n.attempts) for n in rows) == [
        ("karin", "sent", 1), ("piet", "sent", 1), ("zonder_mail", "skipped", 1)]
    # Sent once: later sweeps send nothing again.
    with clock.frozen_at(at("2026-04-01 09:30")):
        assert not run_sweep(mail_ctx).mail
    assert len(smtp_server.messages) == 2


def test_smtp_failure_is_retried_with_backoff_until_sent(mail_ctx, deployed, people, smtp_server):
    start_case(deployed, people["piet"])
    smtp_server.refuse(4)  # two rounds of two messages fail with 451
    moment = at("2026-04-01 09:00")
    with clock.frozen_at(moment):
        first = run_sweep(mail_ctx)
    assert len(first.mail.retrying) == 2 and first.mail.sent == []
    with mail_ctx.sessions() as session:
        waiting = notifications.for_user(session, "piet")[0]
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.last_error.startswith("451")

    # Not before the backoff (0.2 s, then 0.4 s) has passed.
    assert not deliver_due_mail(mail_ctx, moment + _s(0.1))
    second = deliver_due_mail(mail_ctx, moment + _s(0.25))
    assert len(second.retrying) == 2
    assert not deliver_due_mail(mail_ctx, moment + _s(0.5))  # second backoff is 0.4 s
    third = deliver_due_mail(mail_ctx, moment + _s(0.7))
    assert len(third.sent) == 2
    assert smtp_server.attempts == 6 and len(smtp_server.messages) == 2
    with mail_ctx.sessions() as session:
        sent = notifications.for_user(session, "piet")[0]
    assert (sent.status, sent.attempts, sent.last_error) == ("sent", 3, None)


def test_permanent_refusal_and_last_attempt_give_up(mail_ctx, deployed, people, smtp_server):
    case_id, _ = start_case(deployed, people["piet"])
    smtp_server.refuse(1, "550 5.1.1 Mailbox bestaat niet")
    ctx = replace(mail_ctx, settings=mail_ctx.settings.replace(mail_max_attempts=2))
    smtp_server.refusals += ["451 4.3.0 later"] * 3
    moment = at("2026-04-01 09:00")
    with clock.frozen_at(moment):
        first = run_sweep(ctx)
    assert len(first.mail.failed) == 1 and len(first.mail.retrying) == 1  # 550: no retry
    second = deliver_due_mail(ctx, moment + _s(1))
    assert len(second.failed) == 1  # the second and last attempt failed too
    with ctx.sessions() as session:
        rows = [n for n in notifications.for_case(session, case_id) if n.status != "skipped"]
    assert [(n.status, n.attempts) for n in rows] == [("failed", 1), ("failed", 2)]
    assert rows[0].last_error.startswith("550")
    assert not deliver_due_mail(ctx, moment + _s(3600))
    assert smtp_server.messages == []


def test_no_mail_for_a_task_done_before_the_mail_went_out(mail_ctx, deployed, people, smtp_server):
    _, task = start_case(deployed, people["piet"])
    smtp_server.refuse(2)
    moment = at("2026-04-01 09:00")
    with clock.frozen_at(moment):
        run_sweep(mail_ctx)
        deployed.complete_task(task.id, people["piet"].actor, {"vermoeden": False, "toelichting": "klaar"})
    result = deliver_due_mail(mail_ctx, moment + _s(1))
    assert len(result.skipped) == 2 and smtp_server.messages == []


def test_expired_claim_of_a_crashed_sender_is_taken_over(mail_ctx, deployed, people, smtp_server):
    start_case(deployed, people["piet"])
    moment = at("2026-04-01 09:00")
    with clock.frozen_at(moment):
        run_sweep(mail_ctx, deliver=False)
    with mail_ctx.sessions.begin() as session:  # a worker claims a mail and dies before sending
        claimed = notifications.claim_for_mail(session, moment, _s(60))
    assert claimed is not None
    assert len(deliver_due_mail(mail_ctx, moment + _s(1)).sent) == 1  # the other one; the claim still holds
    assert len(deliver_due_mail(mail_ctx, moment + _s(61)).sent) == 1  # lease expired: sent after all
    assert len(smtp_server.messages) == 2


def test_smtp_url_forms():
    assert SmtpConfig.from_url("smtp://127.0.0.1:1025") == SmtpConfig("127.0.0.1", 1025)
    assert SmtpConfig.from_url("smtps://u%40x:p%2Fw@mail.example.org") == SmtpConfig(
        "mail.example.org", 465, "u@x", "p/w", ssl=True)
    assert SmtpConfig.from_url("smtp://mail.example.org:587?starttls=1").starttls
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail.example.org")


def test_test_mail_command(smtp_server, monkeypatch):
    from workers.cli import worker_commands

    monkeypatch.setenv("SMTP_URL", smtp_server.url)
    result = CliRunner().invoke(worker_commands, ["test-mail", "beheer@example.org"])
    assert result.exit_code == 0, result.output
    wait_for(lambda: smtp_server.messages, 30)
    assert smtp_server.messages[0][0] == ["beheer@example.org"]


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
