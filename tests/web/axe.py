"""axe-core (from node_modules, installed by `npm ci`) run in the page: WCAG 2.1 A/AA and best practices.

The source is evaluated through the DevTools protocol (`page.evaluate`), not added as a <script> tag: the app's
Content-Security-Policy (script-src 'self') rightly refuses an inline script, and the pages are checked with
their real policy in force.

`assert_accessible(page, name)` fails with a readable list of violations: rule, impact, help, and the selector
of every node that breaks it.
"""
from __future__ import annotations

import functools
from pathlib import Path

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@functools.cache
def _source() -> str:
    return AXE.read_text(encoding="utf-8")


def violations(page) -> list[dict]:
    if not AXE.exists():
        raise AssertionError(f"{AXE} is missing: run `npm ci` in the project (scripts/setup.sh does)")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_source() + "\n;0")
    return page.evaluate("""tags => axe.run(document, {runOnly: {type: 'tag', values: tags},
                                                       resultTypes: ['violations']})
                                   .then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.map(n => n.target.join(' '))})))""", TAGS)


def describe(found: list[dict]) -> str:
    return "\n".join(f"  {v['id']} ({v['impact']}): {v['help']}\n" +
                     "\n".join(f"      {node}" for node in v["nodes"][:10]) +
                     (f"\n      … and {len(v['nodes']) - 10} more" if len(v["nodes"]) > 10 else "")
                     for v in found)


def assert_accessible(page, name: str) -> None:
    found = violations(page)
    assert not found, f"axe-core found {len(found)} violation(s) on {name} ({page.url}):\n{describe(found)}"
