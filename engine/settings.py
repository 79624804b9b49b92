"""Typed settings, read from the environment once (pydantic-settings).

Every field is named by its environment variable (`validation_alias`); README.md's configuration table lists them
all (tests/test_settings.py checks it). Constructing a settings class with keyword arguments gives those values and
the defaults, nothing from the environment (tests and embedders); `from_env()` reads the environment, or a given
mapping of variable -> text. An empty variable counts as unset. The web's and the workers' settings
(web/settings.py, workers/settings.py) are built on the same base.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEFAULT_SQLITE = INSTANCE_DIR / "meldcode.sqlite3"

_READ_ENVIRONMENT: ContextVar[bool] = ContextVar("meldcode_read_environment", default=False)


class EnvSettings(BaseSettings):
    """Settings whose fields are read from environment variables named by their `validation_alias`."""

    model_config = SettingsConfigDict(frozen=True, case_sensitive=True, env_ignore_empty=True, extra="forbid",
                                      validate_by_name=True, validate_by_alias=True)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        # from_env(): the environment first, then the fallbacks it was given; otherwise only the arguments.
        return (env_settings, init_settings) if _READ_ENVIRONMENT.get() else (init_settings,)

    @classmethod
    def variables(cls) -> dict[str, str]:
        """field name -> the environment variable it is read from."""
        return {name: str(info.validation_alias) for name, info in cls.model_fields.items()
                if isinstance(info.validation_alias, str)}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **fallbacks: Any) -> Self:
        """The settings from the environment (or `env`); `fallbacks` (field name -> value) for variables not set."""
        if env is None or env is os.environ:
            token = _READ_ENVIRONMENT.set(True)
            try:
                return cls(**fallbacks)
            finally:
                _READ_ENVIRONMENT.reset(token)
        given = {name: env[variable] for name, variable in cls.variables().items() if env.get(variable)}
        return cls(**{**fallbacks, **given})

    def replace(self, **changes: Any) -> Self:
        """A copy with some fields changed (validated like the originals)."""
        return type(self)(**{**{name: getattr(self, name) for name in type(self).model_fields}, **changes})


class InstanceFolders(EnvSettings):
    """Where an installation keeps its files: read by the web (uploads, the demo's secret key) and by the engine
    and its workers (retention removes the attachments of destroyed cases), so both find the same folders."""

    # the demo run keeps its generated secret key here
    instance_dir: Path = Field(INSTANCE_DIR, validation_alias="MELDCODE_INSTANCE_DIR")
    # Case attachments (issue 13): stored here, outside the web root (static/), under random keys.
    # Default: `attachments` in the instance directory.
    attachments_dir: Path = Field(INSTANCE_DIR / "attachments", validation_alias="MELDCODE_ATTACHMENTS_DIR")

    @model_validator(mode="before")
    @classmethod
    def _attachments_in_the_instance_dir(cls, data: Any) -> Any:
        """Without an attachments directory of its own: `attachments` in the instance directory."""
        if isinstance(data, dict) and not ({"attachments_dir", "MELDCODE_ATTACHMENTS_DIR"} & data.keys()):
            instance = data.get("instance_dir", data.get("MELDCODE_INSTANCE_DIR"))
            if instance:
                data = {**data, "attachments_dir": Path(instance) / "attachments"}
        return data


class Settings(InstanceFolders):
    """The engine's settings."""

    database_url: str = Field(f"sqlite:///{DEFAULT_SQLITE}", validation_alias="DATABASE_URL")
    timezone: str = Field("Europe/Amsterdam", validation_alias="MELDCODE_TIMEZONE")
    # Organisation-specific calendar tweaks (comma-separated ISO dates).
    extra_holidays: str = Field("", validation_alias="MELDCODE_EXTRA_HOLIDAYS")
    extra_workdays: str = Field("", validation_alias="MELDCODE_EXTRA_WORKDAYS")
    max_diagram_bytes: int = Field(2_000_000, validation_alias="MELDCODE_MAX_DIAGRAM_BYTES")
    script_time_limit: float = Field(1.0, validation_alias="MELDCODE_SCRIPT_TIME_LIMIT")
    # per evaluation of a diagram expression or script
    script_memory_limit_mb: int = Field(256, validation_alias="MELDCODE_SCRIPT_MEMORY_LIMIT_MB")
    # characters of a free-text field whose form sets no maxLength
    max_text_length: int = Field(10_000, validation_alias="MELDCODE_MAX_TEXT_LENGTH")
    processes_dir: Path = Field(PROJECT_ROOT / "processes", validation_alias="MELDCODE_PROCESSES_DIR")
    # PostgreSQL role the app connects as (not the tables' owner); `meldcode db upgrade` grants it its rights
    db_app_role: str | None = Field(None, validation_alias="MELDCODE_DB_APP_ROLE")
    db_app_password: str | None = Field(None, validation_alias="MELDCODE_DB_APP_PASSWORD")
