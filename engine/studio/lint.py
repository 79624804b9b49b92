"""bpmnlint with its recommended rules (as Camunda Modeler runs it) on a draft's BPMN files, messages in Dutch.

bpmnlint is a Node.js tool from the npm registry (package.json; `npm ci` in scripts/setup.sh). The project's
`.bpmnlintrc` is used; MELDCODE_NODE_MODULES may point at another node_modules folder.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
LINE = re.compile(r"^\s+(\S+)\s+(error|warning)\s+(.+?)\s{2,}(\S+)\s*$")
DUTCH = {
    "fake-join": "Inkomende stromen komen hier samen zonder samenvoegende gateway; voeg een gateway toe",
    "superfluous-label": "Deze stroom heeft een overbodig label (alleen stromen uit een splitsende gateway "
                         "krijgen een label)",
    "no-gateway-join-fork": "Deze gateway voegt samen én splitst; gebruik twee gateways",
    "label-required": "Dit element heeft geen naam",
    "start-event-required": "Het proces heeft geen startgebeurtenis",
    "end-event-required": "Het proces heeft geen eindgebeurtenis",
    "no-disconnected": "Dit element is niet verbonden met de rest van het proces",
    "no-implicit-split": "Meerdere uitgaande stromen zonder gateway; gebruik een gateway",
    "no-implicit-start": "Dit element heeft geen inkomende stroom",
    "no-implicit-end": "Dit element heeft geen uitgaande stroom",
    "no-duplicate-sequence-flows": "Dubbele stroom tussen dezelfde elementen",
    "single-blank-start-event": "Meer dan één lege startgebeurtenis",
    "single-event-definition": "Een gebeurtenis mag maar één definitie hebben",
    "superfluous-gateway": "Overbodige gateway (één inkomende en één uitgaande stroom)",
    "conditional-flows": "Een stroom uit deze gateway mist een voorwaarde",
    "no-complex-gateway": "Een complexe gateway wordt niet ondersteund",
    "no-inclusive-gateway": "Een inclusieve gateway wordt niet ondersteund",
    "no-bpmndi": "Dit element heeft geen plaats in de tekening (diagram interchange)",
    "link-event": "Een link-gebeurtenis zonder tegenhanger",
    "sub-process-blank-start-event": "Een deelproces moet met een lege startgebeurtenis beginnen",
    "event-sub-process-typed-start-event": "Een event-deelproces moet een getypeerde startgebeurtenis hebben",
    "ad-hoc-sub-process": "Een ad-hoc deelproces is hier niet toegestaan",
}


@dataclass(frozen=True)
class LintFinding:
    filename: str
    element_id: str
    severity: str  # error | warning
    rule: str
    message: str  # Dutch


def _binary() -> Path:
    modules = Path(os.environ.get("MELDCODE_NODE_MODULES", PROJECT / "node_modules"))
    return modules / ".bin" / "bpmnlint"


def available() -> bool:
    return bool(shutil.which("node")) and _binary().exists()


def lint(files: dict[str, bytes]) -> list[LintFinding]:
    """Findings for every .bpmn file; raises RuntimeError when bpmnlint is not installed or fails."""
    if not available():
        raise RuntimeError("bpmnlint is niet geïnstalleerd (npm ci)")
    findings = []
    with tempfile.TemporaryDirectory(prefix="meldcode-lint-") as tmp:
        shutil.copy(PROJECT / ".bpmnlintrc", Path(tmp) / ".bpmnlintrc")
        for name, content in sorted(files.items()):
            if not name.endswith(".bpmn"):
                continue
            path = Path(tmp) / "diagram.bpmn"
            path.write_bytes(content)
            done = subprocess.run([str(_binary()), str(path)], cwd=tmp, capture_output=True, text=True, timeout=60,
                                  check=False)  # exit 1 means findings
            for line in done.stdout.splitlines():
                match = LINE.match(line)
                if match:
                    element, severity, message, rule = match.groups()
                    findings.append(LintFinding(name, element, severity, rule, DUTCH.get(rule, message)))
            if done.returncode not in (0, 1) or (done.returncode == 1 and not findings and done.stderr):
                raise RuntimeError(f"bpmnlint faalde op {name}: {done.stderr.strip()[:300]}")
    return findings
