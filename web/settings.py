"""Typed settings of the web app, read from the environment once (the engine has its own; both are
engine.settings.EnvSettings: fields named by their environment variable, listed in README.md)."""
from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import BeforeValidator, Field
from pydantic_settings import NoDecode

from engine.settings import INSTANCE_DIR, PROJECT_ROOT, InstanceFolders

NODE_MODULES = PROJECT_ROOT / "node_modules"
TRUE_WORDS = ("1", "true", "yes", "ja", "on")


def _flag(value: Any) -> Any:
    """A switch written as 1/true/yes/ja/on (anything else is off)."""
    return value.strip().lower() in TRUE_WORDS if isinstance(value, str) else value


def _names(value: Any) -> Any:
    """A comma-separated list of names."""
    return tuple(name.strip() for name in value.split(",") if name.strip()) if isinstance(value, str) else value


Flag = Annotated[bool, BeforeValidator(_flag)]


class WebSettings(InstanceFolders):
    secret_key: str | None = Field(None, validation_alias="SECRET_KEY")
    # Send the session cookie over HTTPS only. On by default; the local demo run (plain http on
    # 127.0.0.1) turns it off.
    session_cookie_secure: Flag = Field(True, validation_alias="SESSION_COOKIE_SECURE")
    # absolute: sign in again after a working day
    session_lifetime_minutes: int = Field(8 * 60, validation_alias="MELDCODE_SESSION_MINUTES")
    idle_timeout_minutes: int = Field(30, validation_alias="MELDCODE_IDLE_MINUTES")
    login_max_failures: int = Field(5, validation_alias="MELDCODE_LOGIN_MAX_FAILURES")  # per username and address ...
    login_window_seconds: int = Field(60, validation_alias="MELDCODE_LOGIN_WINDOW_SECONDS")  # ... within this window
    start_process: str = Field("meldcode", validation_alias="MELDCODE_START_PROCESS")
    # Roles that may start a case (the meldcode is started by the professional who has the signals).
    start_roles: Annotated[tuple[str, ...], NoDecode, BeforeValidator(_names)] = Field(
        ("professional",), validation_alias="MELDCODE_START_ROLES")
    # number of trusted reverse proxies setting X-Forwarded-For/-Proto
    proxy_hops: int = Field(0, validation_alias="MELDCODE_PROXY_HOPS")
    # Every account must set up the second factor (TOTP) before anything else; demo users are exempt.
    mfa_required: Flag = Field(False, validation_alias="MELDCODE_MFA_REQUIRED")
    token_days: int = Field(90, validation_alias="MELDCODE_TOKEN_DAYS")  # lifetime of a new API token
    # Strict-Transport-Security max-age; 0 sends no HSTS header (plain-http demo)
    hsts_seconds: int = Field(0, validation_alias="MELDCODE_HSTS_SECONDS")
    node_modules: Path = Field(NODE_MODULES, validation_alias="MELDCODE_NODE_MODULES")
    # upload size limit of a case attachment (the folder: MELDCODE_ATTACHMENTS_DIR, engine/settings.py)
    attachment_max_bytes: int = Field(10 * 1024 * 1024, validation_alias="MELDCODE_ATTACHMENT_MAX_BYTES")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, secure_default: bool = True,
                 **fallbacks: Any) -> Self:
        """`secure_default`: whether the session cookie is Secure when SESSION_COOKIE_SECURE is not set (the
        local demo run over plain http on 127.0.0.1 passes False)."""
        return super().from_env(env, session_cookie_secure=secure_default, **fallbacks)


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
