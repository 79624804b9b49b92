"""Serialize SpiffWorkflow specs and case state separately.

SpiffWorkflow embeds the whole process spec in every serialized instance. We
store each process version's spec once (in `process_version`) and keep only the
task tree and data per case; on load the shared, already-restored spec objects
are handed back to the workflow.
"""
from __future__ import annotations

import json
import zlib

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG

STATE_FORMAT = "meldcode-state/1"


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    """Like SpiffWorkflow's converter, minus the specs (they live with the process version)."""

    def to_dict(self, workflow):
        dct = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore(self, dct, spec, subprocess_specs):
        return self.from_dict({**dct, "spec": spec, "subprocess_specs": subprocess_specs})

    def mapping_from_dict(self, mapping, key_class=None, **kwargs):
        # `from_dict` restores `subprocess_specs` through this; ours are already objects.
        if mapping and all(not isinstance(v, dict) for v in mapping.values()):
            return dict(mapping)
        return super().mapping_from_dict(mapping, key_class, **kwargs)


_registry = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
_serializer = BpmnWorkflowSerializer(_registry)
_converter = _SpeclessWorkflowConverter(BpmnWorkflow, _registry)


def _encode(obj) -> str:
    # Never sort keys: tasks must be restored parents first, in the order they were written.
    _registry._encoder_mode = True
    try:
        return json.dumps(obj, cls=_serializer._encoder_cls, separators=(",", ":"))
    finally:
        _registry._encoder_mode = False


def dump_specs(spec, subprocess_specs) -> str:
    """JSON text of a process spec and its subprocess specs."""
    return _encode({
        "format": STATE_FORMAT,
        "serializer_version": _serializer.VERSION,
        "spec": _registry.convert(spec),
        "subprocess_specs": {name: _registry.convert(s) for name, s in sorted(subprocess_specs.items())},
    })


def load_specs(spec_json: str):
    """Restore (spec, subprocess_specs); callers cache them per process version and share them read-only."""
    dct = json.loads(spec_json)
    spec = _registry.restore(dct["spec"])
    subs = {name: _registry.restore(s) for name, s in dct["subprocess_specs"].items()}
    return spec, subs


def dump_state(workflow) -> bytes:
    """Compressed case state (task tree, data, events) without the specs."""
    text = _encode({"format": STATE_FORMAT, "serializer_version": _serializer.VERSION,
                    "workflow": _converter.to_dict(workflow)})
    return zlib.compress(text.encode("utf-8"), 6)


def load_state(blob: bytes, spec, subprocess_specs):
    dct = json.loads(zlib.decompress(blob))
    if dct.get("format") != STATE_FORMAT or dct.get("serializer_version") != _serializer.VERSION:
        raise RuntimeError(
            f"case state was written as {dct.get('format')}/{dct.get('serializer_version')}; "
            f"this engine reads {STATE_FORMAT}/{_serializer.VERSION} — migrate before loading")
    return _converter.restore(dct["workflow"], spec, subprocess_specs)
