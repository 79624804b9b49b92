"""README.md's configuration table and the settings agree: every variable documented, every documented variable
read, the documented defaults the real ones; the settings read the environment under those names."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.glass import grant_hours
from engine.retention import RetentionPolicy
from engine.settings import PROJECT_ROOT, EnvSettings, Settings
from web.settings import WebSettings
from workers.retention import apply_enabled
from workers.settings import WorkerSettings

README = PROJECT_ROOT / "README.md"
SETTINGS: list[type[EnvSettings]] = [Settings, WebSettings, WorkerSettings]
PACKAGES = ("engine", "web", "workers")
# Variables read outside the settings classes, with their default as the code sees it.
OTHER_READERS: dict[str, Any] = {
    "MELDCODE_BREAK_GLASS_HOURS": lambda: grant_hours({}),
    "MELDCODE_RETENTION_CASE_YEARS": lambda: RetentionPolicy.from_env({}).case_years,
    "MELDCODE_RETENTION_AUDIT_YEARS": lambda: RetentionPolicy.from_env({}).audit_years,
    "MELDCODE_RETENTION_CASE_ACTION": lambda: RetentionPolicy.from_env({}).case_action,
    "MELDCODE_RETENTION_APPLY": lambda: apply_enabled({}),
    "MELDCODE_STUDIO_FOUR_EYES": lambda: False,  # web/studio/views.py four_eyes(): set to 1/true/ja
    "MELDCODE_METRICS_TOKEN": lambda: None,  # web/admin/monitoring.py: unset, /metrics is open
    "MELDCODE_BIND": lambda: "0.0.0.0:8000",  # workers/gunicorn_conf.py
    "MELDCODE_SCENARIO_PROCESSES": lambda: None,  # engine/scenarios.py suite_processes(): unset, one per core
}


def documented() -> dict[str, str]:
    """variable -> its documented default, from the table under "Configuration (environment variables)"."""
    text = README.read_text(encoding="utf-8").split("## Configuration (environment variables)", 1)[1]
    table = text.split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0])
        defaults = cells[1].split(" / ") if " / " in cells[1] else [cells[1]] * len(names)
        assert len(defaults) == len(names), line
        rows.update(zip(names, defaults))
    return rows


def declared() -> dict[str, Any]:
    """variable -> default, of every settings field read from the environment."""
    found: dict[str, Any] = {}
    for cls in SETTINGS:
        defaults = cls()
        for name, variable in cls.variables().items():
            found[variable] = getattr(defaults, name)
    return found


def as_documented(value: Any) -> str:
    """A default as the README writes it."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return "on" if value else "off"
    if value == "":
        return "empty"
    if isinstance(value, tuple):
        return ",".join(value)
    return str(value).replace(str(PROJECT_ROOT), "<project>")


def written(cell: str) -> str:
    """The default in a README cell: its code span, or its first word (`off (on in compose)` -> off)."""
    code = re.match(r"`([^`]*)`", cell)
    return code[1] if code else cell.split()[0]


def same(readme: str, actual: str) -> bool:
    try:
        return float(readme) == float(actual)
    except ValueError:
        return readme == actual


def test_every_setting_is_documented_and_every_documented_variable_is_read():
    in_readme, in_code = set(documented()), set(declared()) | set(OTHER_READERS)
    assert not in_code - in_readme, f"not in README.md's configuration table: {sorted(in_code - in_readme)}"
    assert not in_readme - in_code, f"in README.md's table but read by nothing: {sorted(in_readme - in_code)}"


def test_the_documented_defaults_are_the_real_ones():
    actual = {**declared(), **{variable: read() for variable, read in OTHER_READERS.items()}}
    wrong = {variable: (cell, as_documented(actual[variable])) for variable, cell in documented().items()
             if not same(written(cell), as_documented(actual[variable]))}
    assert not wrong, f"README default vs the code's: {wrong}"


def test_every_variable_the_code_reads_from_the_environment_is_in_the_table():
    pattern = re.compile(r"""(?:environ|env)\.get\(\s*["']([A-Z][A-Z0-9_]+)["']""")
    read = {name for package in PACKAGES for path in (PROJECT_ROOT / package).rglob("*.py")
            if "migrations" not in path.parts for name in pattern.findall(path.read_text(encoding="utf-8"))}
    unlisted = {name for name in read if name.startswith("MELDCODE_")} - set(documented())
    assert not unlisted, f"read from the environment but not in README.md's table: {sorted(unlisted)}"


@pytest.mark.parametrize("cls", SETTINGS)
def test_the_settings_read_the_environment_under_the_documented_names(cls, monkeypatch):
    samples = {int: "7", float: "2.5", str: "iets", Path: "/tmp/elders"}
    for name, variable in cls.variables().items():
        default = getattr(cls(), name)
        sample = ("nee" if default else "ja") if isinstance(default, bool) else \
            next((text for kind, text in samples.items() if isinstance(default, kind)), "a,b")
        monkeypatch.setenv(variable, sample)
        from_environment = getattr(cls.from_env(), name)
        assert from_environment != default, f"{variable} was not read into {cls.__name__}.{name}"
        assert getattr(cls.from_env({variable: sample}), name) == from_environment
        assert getattr(cls(), name) == default  # a constructed settings object ignores the environment


def test_empty_variables_count_as_unset_and_bad_values_are_refused(monkeypatch):
    monkeypatch.setenv("MELDCODE_MAIL_FROM", "")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "")
    assert WorkerSettings.from_env().mail_from == "meldcode@localhost"
    assert WebSettings.from_env(secure_default=False).session_cookie_secure is False
    assert WebSettings.from_env({"MELDCODE_START_ROLES": "professional, aandachtsfunctionaris"}).start_roles == (
        "professional", "aandachtsfunctionaris")
    assert WorkerSettings.from_env({"MELDCODE_BASE_URL": "https://meldcode.example/"}).base_url == \
        "https://meldcode.example"
    with pytest.raises(ValueError):
        WorkerSettings.from_env({"MELDCODE_SWEEP_INTERVAL": "0"})
    with pytest.raises(ValueError):
        Settings.from_env({"MELDCODE_MAX_TEXT_LENGTH": "veel"})
    assert WorkerSettings.from_env({"DATABASE_URL": "sqlite:///elders.sqlite3"}).engine.database_url == \
        "sqlite:///elders.sqlite3"
