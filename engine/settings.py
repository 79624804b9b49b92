"""Typed settings, read from the environment once."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE = PROJECT_ROOT / "instance" / "meldcode.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_SQLITE}"
    timezone: str = "Europe/Amsterdam"
    # Organisation-specific calendar tweaks (comma-separated ISO dates).
    extra_holidays: str = ""
    extra_workdays: str = ""
    max_diagram_bytes: int = 2_000_000
    script_time_limit: float = 1.0
    script_memory_limit_mb: int = 256  # per evaluation of a diagram expression or script
    max_text_length: int = 10_000  # characters of a free-text field whose form sets no maxLength
    processes_dir: Path = field(default=PROJECT_ROOT / "processes")
    # PostgreSQL role the app connects as (not the tables' owner); `meldcode db upgrade` grants it its rights
    db_app_role: str | None = None
    db_app_password: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        default = cls()
        return cls(
            database_url=env.get("DATABASE_URL", default.database_url),
            timezone=env.get("MELDCODE_TIMEZONE", default.timezone),
            extra_holidays=env.get("MELDCODE_EXTRA_HOLIDAYS", ""),
            extra_workdays=env.get("MELDCODE_EXTRA_WORKDAYS", ""),
            max_diagram_bytes=int(env.get("MELDCODE_MAX_DIAGRAM_BYTES", default.max_diagram_bytes)),
            script_time_limit=float(env.get("MELDCODE_SCRIPT_TIME_LIMIT", default.script_time_limit)),
            script_memory_limit_mb=int(env.get("MELDCODE_SCRIPT_MEMORY_LIMIT_MB", default.script_memory_limit_mb)),
            max_text_length=int(env.get("MELDCODE_MAX_TEXT_LENGTH", default.max_text_length)),
            processes_dir=Path(env.get("MELDCODE_PROCESSES_DIR", default.processes_dir)),
            db_app_role=env.get("MELDCODE_DB_APP_ROLE") or None,
            db_app_password=env.get("MELDCODE_DB_APP_PASSWORD") or None,
        )
