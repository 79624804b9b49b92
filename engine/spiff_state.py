"""Serialize SpiffWorkflow specs and case state separately, and upgrade what older versions stored.

SpiffWorkflow embeds the whole process spec in every serialized instance. We store each process version's spec
once (in `process_version`) and keep only the task tree and data per case; on load the shared, already-restored
spec objects are handed back to the workflow.

Both documents are written by the library's public `BpmnWorkflowSerializer.serialize_json` (which also records
its `serializer_version` in them), on a wrapper dict that names our own format:

    {"format": "meldcode-state/1", "workflow": {...task tree, data, events...}, "serializer_version": "1.5"}
    {"format": "meldcode-state/1", "spec": {...}, "subprocess_specs": {...}, "serializer_version": "1.5"}

Upgrading SpiffWorkflow: when its serializer version changes, what is stored no longer matches. Loading runs
`upgrade` first, which applies the registered steps (`UPGRADES`, each from one stored version to a newer one)
until the document is at the current version, and refuses a version it has no path from. A new library version
therefore comes with a step here (SpiffWorkflow's own steps for full workflows live in
`SpiffWorkflow.bpmn.serializer.migration.version_migration`) and must load the stored fixture of a case in
tests/engine/fixtures/ (tests/engine/test_spiff_upgrade.py).
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

STATE_FORMAT = "meldcode-state/1"
VERSION_KEY = BpmnWorkflowSerializer.VERSION_KEY

Document = dict[str, Any]  # a stored state or spec document, as JSON-decoded
Upgrade = Callable[[Document], Document]


class StateVersionError(RuntimeError):
    """Stored state or specs in a format or serializer version this engine has no upgrade path from."""


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """Like SpiffWorkflow's converter, minus the specs (they live with the process version)."""

    def to_dict(self, workflow: BpmnWorkflow) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct: dict[str, Any], spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
        return self.from_dict({**dct, "spec": spec, "subprocess_specs": subprocess_specs})

    def mapping_from_dict(self, mapping: dict[str, Any], key_class: Any = None, **kwargs: Any) -> dict[Any, Any]:
        # `from_dict` restores `subprocess_specs` through this; ours are already objects.
        if mapping and all(not isinstance(v, dict) for v in mapping.values()):
            return dict(mapping)
        restored: dict[Any, Any] = super().mapping_from_dict(mapping, key_class, **kwargs)
        return restored


_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_serializer = BpmnWorkflowSerializer(_registry)
# Registered last, so a BpmnWorkflow met while serializing is written without its specs.
_converter = _SpeclessWorkflowConverter(BpmnWorkflow, _registry)
SERIALIZER_VERSION: str = _serializer.VERSION

# Upgrade steps by the serializer version they read; each returns the document at a newer version (its
# VERSION_KEY set accordingly). Empty while no older version was ever stored.
UPGRADES: dict[str, Upgrade] = {}


def register_upgrade(from_version: str) -> Callable[[Upgrade], Upgrade]:
    """Decorator: `fn(document) -> document` upgrades documents stored at `from_version` one step."""

    def register(fn: Upgrade) -> Upgrade:
        if from_version == SERIALIZER_VERSION:
            raise ValueError(f"{from_version} is the current serializer version; there is nothing to upgrade")
        UPGRADES[from_version] = fn
        return fn

    return register


def upgrade(document: Document) -> Document:
    """The document at the current serializer version, through the registered steps (StateVersionError if
    there is no path)."""
    if document.get("format") != STATE_FORMAT:
        raise StateVersionError(f"stored as {document.get('format')!r}; this engine reads {STATE_FORMAT}")
    seen = set()
    while (version := document.get(VERSION_KEY)) != SERIALIZER_VERSION:
        step = UPGRADES.get(version) if isinstance(version, str) else None
        if step is None or version in seen:
            raise StateVersionError(
                f"stored with SpiffWorkflow serializer {version}; this engine reads {SERIALIZER_VERSION} and has "
                f"no upgrade from {version} (engine/spiff_state.py: register_upgrade)")
        seen.add(version)
        document = step(document)
    return document


def _to_json(document: Document) -> str:
    # The library's public writer; it records its serializer version in the document. It never sorts keys:
    # tasks must be restored parents first, in the order they were written.
    text: str = _serializer.serialize_json(document)
    return text


def dump_specs(spec: Any, subprocess_specs: dict[str, Any]) -> str:
    """JSON text of a process spec and its subprocess specs."""
    return _to_json({"format": STATE_FORMAT, "spec": spec,
                     "subprocess_specs": {name: s for name, s in sorted(subprocess_specs.items())}})


def load_specs(spec_json: str) -> tuple[Any, dict[str, Any]]:
    """Restore (spec, subprocess_specs); callers cache them per process version and share them read-only."""
    dct = upgrade(json.loads(spec_json))
    spec = _registry.restore(dct["spec"])
    subs = {name: _registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """Compressed case state (task tree, data, events) without the specs."""
    return zlib.compress(_to_json({"format": STATE_FORMAT, "workflow": workflow}).encode("utf-8"), 6)


def read_state(blob: bytes) -> Document:
    """The stored state document as written (not upgraded)."""
    document: Document = json.loads(zlib.decompress(blob))
    return document


def write_state(document: Document) -> bytes:
    """Compress a state document (e.g. one that an upgrade test rewrote)."""
    return zlib.compress(json.dumps(document, separators=(",", ":")).encode("utf-8"), 6)


def load_state(blob: bytes, spec: Any, subprocess_specs: dict[str, Any]) -> BpmnWorkflow:
    workflow = dict(upgrade(read_state(blob))["workflow"])
    workflow.pop("typename", None)  # written by the registry; restored here with the shared specs
    return _converter.restore(workflow, spec, subprocess_specs)
