"""Compare two sets of deployable files: diagram elements, form fields and decision-table rules added, removed and
changed. Layout (diagram interchange) is not a change of the route and is left out."""
from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..xmlsafe import parse_xml

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
DMN_RULE = "rule"


@dataclass
class FileChanges:
    filename: str
    kind: str  # bpmn | dmn | form
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    changed: list[dict[str, Any]] = field(default_factory=list)
    status: str = "changed"  # added | removed | changed

    @property
    def empty(self) -> bool:
        return self.status == "changed" and not (self.added or self.removed or self.changed)


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _bpmn_elements(content: bytes, name: str) -> dict[str, dict[str, Any]]:
    """Every element with an id in the process part (not the diagram interchange), with a signature of its own
    content (children that have an id of their own are compared on their own)."""
    root = parse_xml(content, name, max(len(content), 1))
    found = {}
    for el in root.iter():
        ident = el.get("id") if isinstance(el.tag, str) else None
        if not ident or etree.QName(el.tag).namespace != BPMN or _local(el.tag) in ("definitions",):
            continue
        own = copy.deepcopy(el)
        for child in list(own):
            if isinstance(child.tag, str) and child.get("id") and _local(child.tag) != "documentation":
                own.remove(child)
        found[ident] = {"id": ident, "type": _local(el.tag), "name": el.get("name"),
                        "signature": etree.tostring(own, method="c14n")}
    return found


def _dmn_rules(content: bytes, name: str) -> dict[str, dict[str, Any]]:
    root = parse_xml(content, name, max(len(content), 1))
    found = {}
    for el in root.iter():
        if isinstance(el.tag, str) and _local(el.tag) in (DMN_RULE, "input", "output", "decision") and el.get("id"):
            cells = [(c.text or "").strip() for c in el.iter() if isinstance(c.tag, str) and _local(c.tag) == "text"]
            found[el.get("id")] = {"id": el.get("id"), "type": _local(el.tag),
                                   "name": el.get("label") or el.get("name") or " | ".join(cells)[:120],
                                   "signature": etree.tostring(el, method="c14n")}
    return found


def _form_fields(content: bytes) -> dict[str, dict[str, Any]]:
    schema = json.loads(content)
    fields = {"(formulier)": {"id": "(formulier)", "type": "form", "name": schema.get("title"),
                              "signature": json.dumps({k: v for k, v in schema.items() if k != "properties"},
                                                      sort_keys=True)}}
    for key, prop in (schema.get("properties") or {}).items():
        fields[key] = {"id": key, "type": "field", "name": prop.get("title") if isinstance(prop, dict) else None,
                       "signature": json.dumps(prop, sort_keys=True)}
    return fields


def _kind(name: str) -> str:
    return "bpmn" if name.endswith(".bpmn") else "dmn" if name.endswith(".dmn") else "form"


def _items(name: str, content: bytes) -> dict[str, dict[str, Any]]:
    kind = _kind(name)
    return _bpmn_elements(content, name) if kind == "bpmn" else _dmn_rules(content, name) if kind == "dmn" \
        else _form_fields(content)


def compare(old: dict[str, bytes], new: dict[str, bytes]) -> list[FileChanges]:
    """Per file what changed from `old` to `new` (files without changes are left out)."""
    result = []
    for name in sorted(set(old) | set(new)):
        changes = FileChanges(name, _kind(name))
        before = _items(name, old[name]) if name in old else {}
        after = _items(name, new[name]) if name in new else {}
        if name not in old:
            changes.status = "added"
        elif name not in new:
            changes.status = "removed"
        def plain(item: dict[str, Any]) -> dict[str, Any]:
            return {k: v for k, v in item.items() if k != "signature"}

        changes.added = [plain(after[k]) for k in after if k not in before]
        changes.removed = [plain(before[k]) for k in before if k not in after]
        for key in before.keys() & after.keys():
            if before[key]["signature"] != after[key]["signature"]:
                what = "naam" if before[key]["name"] != after[key]["name"] else "inhoud"
                changes.changed.append({**plain(after[key]), "old_name": before[key]["name"], "what": what})
        changes.changed.sort(key=lambda c: c["id"])
        if not changes.empty:
            result.append(changes)
    return result
