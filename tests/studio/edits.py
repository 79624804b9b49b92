"""Edits a process owner makes to the shipped meldcode, as plain text changes (shared by the studio tests)."""
from __future__ import annotations

import json
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PROCESSES = PROJECT / "processes"
SCENARIOS = PROJECT / "tests" / "scenarios"
OLD_NAME = 'name="Stap 0 – Is er acuut levensgevaar?"'
NEW_NAME = 'name="Stap 0 – Acuut levensgevaar?"'


def meldcode() -> str:
    return (PROCESSES / "meldcode.bpmn").read_text(encoding="utf-8")


def renamed_task(xml: str | None = None) -> str:
    """Stap 0's first task gets another name (its id stays)."""
    xml = xml or meldcode()
    assert xml.count(OLD_NAME) == 1
    return xml.replace(OLD_NAME, NEW_NAME)


def broken_afsluiten(xml: str | None = None) -> str:
    """The end event `afgesloten` gets another id, so the milestone is never reached: a scenario breaks."""
    xml = xml or meldcode()
    for old, new in (('id="afgesloten"', 'id="einde_zonder_mijlpaal"'),
                     ('targetRef="afgesloten"', 'targetRef="einde_zonder_mijlpaal"'),
                     ('id="afgesloten_di" bpmnElement="afgesloten"',
                      'id="einde_zonder_mijlpaal_di" bpmnElement="einde_zonder_mijlpaal"')):
        assert xml.count(old) == 1, old
        xml = xml.replace(old, new)
    return xml


def scenario(name: str) -> dict:
    return json.loads((SCENARIOS / name).read_text(encoding="utf-8"))


def changed_form(name: str = "stap0_acute_actie.json") -> bytes:
    """A form with one more optional field."""
    schema = json.loads((PROCESSES / "forms" / name).read_text(encoding="utf-8"))
    schema["properties"]["extra_toelichting"] = {"type": "string", "title": "Extra toelichting", "maxLength": 200}
    return json.dumps(schema, ensure_ascii=False, indent=2).encode("utf-8")
