"""The layers' import rules (docs/architecture.md), read from the source with `ast` (every import statement,
also those inside functions): web/ and workers/ use the engine's functions and view types, never its tables or
SpiffWorkflow; the engine never imports the web app, the workers, Flask or Celery."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, absolute (relative imports resolved against the file's package)."""
    package = list(path.relative_to(PROJECT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from engine import models`
    return found


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (PROJECT / package).rglob("*.py"))


def offenders(packages: tuple[str, ...], forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {}
    for path in sources(*packages):
        bad = sorted(m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        if bad:
            found[str(path.relative_to(PROJECT))] = bad
    return found


@pytest.mark.parametrize(("packages", "forbidden"), [
    (("web", "workers"), ("engine.models",)),
    (("web", "workers"), ("SpiffWorkflow",)),
    (("engine",), ("web", "workers", "flask", "flask_login", "flask_wtf", "celery")),
], ids=["web+workers-not-engine.models", "web+workers-not-SpiffWorkflow", "engine-not-web-workers-flask-celery"])
def test_layers_import_only_downwards(packages, forbidden):
    assert offenders(packages, forbidden) == {}


def test_the_check_sees_every_way_of_importing(tmp_path, monkeypatch):
    """The walk finds absolute, `from engine import models`, relative and function-level imports."""
    web = tmp_path / "web" / "cases"
    web.mkdir(parents=True)
    (web / "a.py").write_text("from engine.models import Case\n")
    (web / "b.py").write_text("def f():\n    from engine import models\n")
    (web / "c.py").write_text("import engine.models as m\n")
    (tmp_path / "engine").mkdir()
    (tmp_path / "engine" / "d.py").write_text("from .models import Case\nfrom . import views\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["PROJECT"]), "PROJECT", tmp_path)
    assert set(offenders(("web",), ("engine.models",))) == {"web/cases/a.py", "web/cases/b.py", "web/cases/c.py"}
    assert imported_modules(tmp_path / "engine" / "d.py") >= {"engine.models", "engine.models.Case", "engine.views"}
