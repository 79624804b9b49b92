"""E-mail over SMTP: the message for a notification, and sending it.

A message carries only the pseudonymous client reference, the task's name, its due date and a link into the
app; never form data, names or other case content. `SMTP_URL` looks like
`smtp://user:password@mail.example.org:587?starttls=1`, `smtps://mail.example.org` or `smtp://127.0.0.1:1025`.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from engine.notifications import SUBJECTS, NotificationView, format_moment


class PermanentMailError(Exception):
    """The server refused for good (5xx): trying again will not help."""


class TransientMailError(Exception):
    """The server or the network failed for now (4xx, connection trouble): try again later."""


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    ssl: bool = False
    starttls: bool = False

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme}://")
        if not parts.hostname:
            raise ValueError("SMTP_URL has no host")
        query = parse_qs(parts.query)
        secure = parts.scheme == "smtps"
        starttls = query.get("starttls", ["0"])[-1].lower() in ("1", "true", "yes", "on")
        return cls(host=parts.hostname, port=parts.port or (465 if secure else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   ssl=secure, starttls=starttls)


class SmtpMailer:
    def __init__(self, url: str, sender: str, timeout: float = 10.0):
        self.config = SmtpConfig.from_url(url)
        self.sender = sender
        self.timeout = timeout

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises TransientMailError or PermanentMailError."""
        config = self.config
        try:
            if config.ssl:
                client = smtplib.SMTP_SSL(config.host, config.port, timeout=self.timeout,
                                          context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(config.host, config.port, timeout=self.timeout)
            with client:
                if config.starttls:
                    client.starttls(context=ssl.create_default_context())
                if config.username:
                    client.login(config.username, config.password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = PermanentMailError if codes and min(codes) >= 500 else TransientMailError
            raise error(f"recipient refused: {_first_reply(exc.recipients.values())}") from None
        except smtplib.SMTPResponseException as exc:
            error = PermanentMailError if exc.smtp_code >= 500 else TransientMailError
            raise error(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientMailError(f"{exc.__class__.__name__}: {exc}") from None


def compose(view: NotificationView, *, to: str, sender: str, base_url: str,
            tz: str = "Europe/Amsterdam") -> EmailMessage:
    """The e-mail for one notification: reference, task name, due date and a link; nothing else of the case."""
    link = f"{base_url.rstrip('/')}/taken/{view.task_id}"
    message = EmailMessage()
    message["Subject"] = f"{SUBJECTS[view.kind]} ({view.client_ref})"
    message["From"] = sender
    message["To"] = to
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(idstring=f"melding-{view.id}", domain=_domain(sender))
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(
        f"{view.text}\n\n"
        f"Cliëntreferentie: {view.client_ref}\n"
        f"Taak: {view.task_name or 'taak'}\n"
        f"Termijn: {format_moment(view.due_at, tz)}\n\n"
        f"Open de taak: {link}\n\n"
        "Dit bericht is automatisch verstuurd door de meldcode-applicatie. Het bevat bewust geen gegevens over de "
        "cliënt of de casus; die staan alleen in de applicatie.\n"
    )
    return message


def _domain(sender: str) -> str:
    return sender.rsplit("@", 1)[-1].strip("> ") or "localhost"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _first_reply(replies) -> str:
    for code, text in replies:
        return f"{code} {_text(text)}"
    return "no reply"
