"""Typed settings of the web app, read from the environment once (the engine has its own)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from engine.settings import PROJECT_ROOT

INSTANCE_DIR = PROJECT_ROOT / "instance"
NODE_MODULES = PROJECT_ROOT / "node_modules"


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "ja", "on")


@dataclass(frozen=True)
class WebSettings:
    secret_key: str | None = None
    # Send the session cookie over HTTPS only. On by default; the local demo run (plain http on
    # 127.0.0.1) turns it off.
    session_cookie_secure: bool = True
    session_lifetime_minutes: int = 8 * 60  # absolute: sign in again after a working day
    idle_timeout_minutes: int = 30
    login_max_failures: int = 5  # per username and address ...
    login_window_seconds: int = 60  # ... within this window
    start_process: str = "meldcode"
    # Roles that may start a case (the meldcode is started by the professional who has the signals).
    start_roles: tuple[str, ...] = ("professional",)
    proxy_hops: int = 0  # number of trusted reverse proxies setting X-Forwarded-For/-Proto
    # Every account must set up the second factor (TOTP) before anything else; demo users are exempt.
    mfa_required: bool = False
    token_days: int = 90  # lifetime of a new API token
    hsts_seconds: int = 0  # Strict-Transport-Security max-age; 0 sends no HSTS header (plain-http demo)
    node_modules: Path = NODE_MODULES
    instance_dir: Path = INSTANCE_DIR  # the demo run keeps its generated secret key here
    # Case attachments (issue 13): stored here, outside the web root (static/), under random keys; size limit.
    attachments_dir: Path = INSTANCE_DIR / "attachments"
    attachment_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, *, secure_default: bool = True) -> WebSettings:
        """`secure_default`: whether the session cookie is Secure when SESSION_COOKIE_SECURE is not set (the
        local demo run over plain http on 127.0.0.1 passes False)."""
        env = os.environ if env is None else env
        d = cls()
        return cls(
            secret_key=env.get("SECRET_KEY") or None,
            session_cookie_secure=_flag(env.get("SESSION_COOKIE_SECURE"), secure_default),
            session_lifetime_minutes=int(env.get("MELDCODE_SESSION_MINUTES", d.session_lifetime_minutes)),
            idle_timeout_minutes=int(env.get("MELDCODE_IDLE_MINUTES", d.idle_timeout_minutes)),
            login_max_failures=int(env.get("MELDCODE_LOGIN_MAX_FAILURES", d.login_max_failures)),
            login_window_seconds=int(env.get("MELDCODE_LOGIN_WINDOW_SECONDS", d.login_window_seconds)),
            start_process=env.get("MELDCODE_START_PROCESS", d.start_process),
            start_roles=tuple(r.strip() for r in env.get("MELDCODE_START_ROLES", ",".join(d.start_roles)).split(",")
                              if r.strip()),
            proxy_hops=int(env.get("MELDCODE_PROXY_HOPS", d.proxy_hops)),
            mfa_required=_flag(env.get("MELDCODE_MFA_REQUIRED"), d.mfa_required),
            token_days=int(env.get("MELDCODE_TOKEN_DAYS", d.token_days)),
            hsts_seconds=int(env.get("MELDCODE_HSTS_SECONDS", d.hsts_seconds)),
            node_modules=Path(env.get("MELDCODE_NODE_MODULES", d.node_modules)),
            instance_dir=Path(env.get("MELDCODE_INSTANCE_DIR", d.instance_dir)),
            attachments_dir=Path(env.get("MELDCODE_ATTACHMENTS_DIR")
                                 or Path(env.get("MELDCODE_INSTANCE_DIR", d.instance_dir)) / "attachments"),
            attachment_max_bytes=int(env.get("MELDCODE_ATTACHMENT_MAX_BYTES", d.attachment_max_bytes)),
        )


def persistent_secret_key(instance_dir: Path = INSTANCE_DIR) -> str:
    """The demo run's secret key: generated once and kept in instance/secret_key (mode 0600)."""
    path = Path(instance_dir) / "secret_key"
    if path.exists():
        key = path.read_text().strip()
        if key:
            return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
