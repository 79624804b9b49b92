"""Turn a set of BPMN, DMN and form files into executable process specs, or a DiagramError.

Every check happens here, before anything is stored: safe XML, the BPMN/DMN
schemas, every expression and script against the sandbox, every user task's
lane and form schema.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

from .errors import DiagramError
from .sandbox import check_expression, check_script
from .sandbox_guards import ScriptError
from .script_helpers import HELPER_NAMES
from .spiff_state import dump_specs
from .text_input import DEFAULT_MAX_LENGTH, schema_text_problems, with_default_max_length
from .xmlsafe import decode_utf8, parse_xml

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}
FORMS_DIR = "forms"
VARIANTS_DIR = "variants"  # example variants of the route, each deployed on its own
VARIANT_MANIFEST = "variant.json"
FORM_PROPERTY = "formJsonSchemaFilename"
UI_FORM_PROPERTY = "formUiSchemaFilename"
DUE_PROPERTY = "dueDateExpression"

# (xpath, check, what) for every place a BPMN file carries code.
_BPMN_CODE = [
    ("//bpmn:conditionExpression", check_expression, "condition"),
    ("//bpmn:scriptTask/bpmn:script", check_script, "script"),
    ("//spiffworkflow:preScript", check_script, "pre-script"),
    ("//spiffworkflow:postScript", check_script, "post-script"),
    ("//bpmn:timeDate | //bpmn:timeDuration | //bpmn:timeCycle", check_expression, "timer expression"),
    ("//bpmn:loopCondition | //bpmn:completionCondition", check_expression, "loop condition"),
    (f"//spiffworkflow:property[@name='{DUE_PROPERTY}']/@value", check_expression, "due date expression"),
]


@dataclass(frozen=True)
class CompiledProcess:
    process_id: str
    name: str | None
    source_file: str
    spec_json: str
    forms: dict[str, Any]  # filename -> schema (also UI schemas)
    content_hash: str


def read_directory(directory: Path, _seen: tuple[Path, ...] = ()) -> dict[str, bytes]:
    """The deployable files of a processes directory, keyed by relative path.

    `variants/` is skipped: each variant is a directory of its own, deployed on its own. A variant directory
    with a `variant.json` naming a `basis` directory (relative to it) takes every file it does not have itself
    from that basis, so it holds only what it changes (processes/variants/README.md).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise DiagramError(str(directory), None, "not a directory")
    files = _basis_files(directory, _seen)
    for path in sorted(directory.rglob("*")):
        if path.is_file() and path.suffix in (".bpmn", ".dmn", ".json"):
            rel = path.relative_to(directory).as_posix()
            if rel.startswith(VARIANTS_DIR + "/"):
                continue
            if path.suffix != ".json" or rel.startswith(FORMS_DIR + "/"):
                files[rel] = path.read_bytes()
    return files


def _basis_files(directory: Path, seen: tuple[Path, ...]) -> dict[str, bytes]:
    manifest = directory / VARIANT_MANIFEST
    if not manifest.is_file():
        return {}
    try:
        basis = json.loads(manifest.read_text(encoding="utf-8"))["basis"]
    except (ValueError, KeyError, TypeError) as exc:
        raise DiagramError(str(manifest), None, f'must be a JSON object with a "basis" directory: {exc}') from None
    if not isinstance(basis, str):
        raise DiagramError(str(manifest), None, '"basis" must be a directory path')
    basis_dir = (directory / basis).resolve()
    if basis_dir in seen or basis_dir == directory.resolve():
        raise DiagramError(str(manifest), None, f"basis {basis} leads back to itself")
    return read_directory(basis_dir, (*seen, directory.resolve()))


def compile_files(files: dict[str, bytes], max_bytes: int = 2_000_000,
                  max_text_length: int = DEFAULT_MAX_LENGTH) -> list[CompiledProcess]:
    """Every check, then the specs. `max_text_length` is written into form string fields that set no maxLength."""
    for name, content in files.items():
        decode_utf8(content, name)  # all of them are stored as text, so all must be UTF-8
    bpmn = {name: parse_xml(content, name, max_bytes) for name, content in files.items() if name.endswith(".bpmn")}
    dmn = {name: parse_xml(content, name, max_bytes) for name, content in files.items() if name.endswith(".dmn")}
    if not bpmn:
        raise DiagramError("(deployment)", None, "no .bpmn file to deploy")
    forms = _load_forms(files, max_bytes, max_text_length)
    for name, root in bpmn.items():
        _check_bpmn_code(name, root)
        _check_user_tasks(name, root, forms)
    for name, root in dmn.items():
        _check_dmn_code(name, root)

    parser = SpiffBpmnParser(validator=VALIDATOR)
    current = "(deployment)"
    try:
        for current, root in dmn.items():
            parser.add_dmn_xml(root, filename=current)
        for current, root in bpmn.items():
            parser.add_bpmn_xml(root, filename=current)
        compiled = []
        for process_id in sorted(parser.get_process_ids()):
            current = parser.get_process_parser(process_id).filename or current
            spec = parser.get_spec(process_id)
            subs = parser.get_subprocess_specs(process_id)
            compiled.append(_compiled(process_id, spec, subs, current, forms))
        return compiled
    except ValidationException as exc:
        raise DiagramError(exc.file_name or current, exc.id or None, _reason(exc)) from None
    except SpiffWorkflowException as exc:
        raise DiagramError(current, getattr(exc, "id", None), _reason(exc)) from None


def _reason(exc: Exception) -> str:
    line = getattr(exc, "line_number", "")
    notes = "; ".join(getattr(exc, "notes", []) or [])
    return str(exc) + (f" (line {line})" if line else "") + (f" — {notes}" if notes else "")


def _compiled(process_id: str, spec: Any, subs: dict[str, Any], source_file: str,
              forms: dict[str, Any]) -> CompiledProcess:
    used: dict[str, Any] = {}
    for s in [spec, *subs.values()]:
        for task_spec in s.task_specs.values():
            props = (getattr(task_spec, "extensions", None) or {}).get("properties", {})
            for key in (FORM_PROPERTY, UI_FORM_PROPERTY):
                if props.get(key):
                    used[props[key]] = forms[props[key]]
            # A case event's form (contract.md "Case events"): event_<message name>.json, when present.
            event_form = f"event_{getattr(getattr(task_spec, 'event_definition', None), 'name', None)}.json"
            if event_form in forms:
                used[event_form] = forms[event_form]
    spec_json = dump_specs(spec, subs)
    digest = hashlib.sha256(json.dumps(json.loads(spec_json), sort_keys=True).encode())
    digest.update(json.dumps(used, sort_keys=True).encode())
    return CompiledProcess(process_id, spec.description, source_file, spec_json, used, digest.hexdigest())


@functools.lru_cache(maxsize=1024)
def _schema_problem(schema_json: str) -> str | None:
    """Why a form schema is not valid JSON Schema, or None. Checking against the metaschema is most of a deploy's
    work and a version's forms are mostly those of the last one, so the verdict is kept per schema text."""
    try:
        Draft202012Validator.check_schema(json.loads(schema_json))
    except SchemaError as exc:
        return str(exc.message)
    return None


def _load_forms(files: dict[str, bytes], max_bytes: int,
                max_text_length: int = DEFAULT_MAX_LENGTH) -> dict[str, Any]:
    forms: dict[str, Any] = {}
    for name, content in files.items():
        if not name.endswith(".json"):
            continue
        if len(content) > max_bytes:
            raise DiagramError(name, None, f"file is {len(content)} bytes; the limit is {max_bytes}")
        try:
            schema = json.loads(decode_utf8(content, name))
        except ValueError as exc:
            raise DiagramError(name, None, f"not valid JSON: {exc}") from None
        problems = schema_text_problems(schema)  # e.g. a lone surrogate written as "\ud800"
        if problems:
            raise DiagramError(name, None, "text that cannot be stored or shown: " + " | ".join(problems[:5]))
        key = name.split("/", 1)[1] if name.startswith(FORMS_DIR + "/") else name
        if not name.endswith(".uischema.json"):
            problem = _schema_problem(json.dumps(schema, sort_keys=True))
            if problem:
                raise DiagramError(name, None, f"not a valid JSON Schema: {problem}")
            if schema.get("type") != "object":
                raise DiagramError(name, None, 'a form schema must have "type": "object"')
            # Unknown "x-" keywords are hints for the web form (x-confirm-past) and are kept as they are; every
            # free-text field gets a length limit (engine/text_input.py).
            schema = with_default_max_length(schema, max_text_length)
        forms[key] = schema
    return forms


def _owner_id(node: Any) -> str | None:
    """The id of the diagram element a piece of code belongs to (an event, not its event definition)."""
    while node is not None:
        if node.get("id") and not str(node.tag).endswith("EventDefinition"):
            return str(node.get("id"))
        node = node.getparent()
    return None


def _check_bpmn_code(filename: str, root: Any) -> None:
    for xpath, check, what in _BPMN_CODE:
        for node in root.xpath(xpath, namespaces=NS):
            owner = node.getparent() if isinstance(node, str) else node  # type: ignore[attr-defined]  # lxml's attribute results are strings with getparent()
            text = str(node) if isinstance(node, str) else (node.text or "")
            if not text.strip():
                continue
            try:
                check(text.strip(), HELPER_NAMES)
            except ScriptError as exc:
                raise DiagramError(filename, _owner_id(owner), f"{what} rejected: {exc}") from None


def _check_user_tasks(filename: str, root: Any, forms: dict[str, Any]) -> None:
    lanes = {}
    for lane in root.xpath("//bpmn:lane", namespaces=NS):
        for ref in lane.xpath("bpmn:flowNodeRef/text()", namespaces=NS):
            lanes[ref.strip()] = lane.get("name")
    for task in root.xpath("//bpmn:userTask | //bpmn:manualTask | //bpmn:task", namespaces=NS):
        task_id = task.get("id")
        if not task.tag.endswith("userTask"):
            raise DiagramError(filename, task_id, "human steps must be user tasks (a plain task or manual task has no form)")
        if not lanes.get(task_id):
            raise DiagramError(filename, task_id, "user task is not in a lane, so no role can complete it")
        props = {p.get("name"): p.get("value") for p in task.xpath(".//spiffworkflow:property", namespaces=NS)}
        form = props.get(FORM_PROPERTY)
        if not form:
            raise DiagramError(filename, task_id, f"user task names no form ({FORM_PROPERTY})")
        for key in (FORM_PROPERTY, UI_FORM_PROPERTY):
            if props.get(key) and props[key] not in forms:
                raise DiagramError(filename, task_id, f"form schema {FORMS_DIR}/{props[key]} does not exist")


def _check_dmn_code(filename: str, root: Any) -> None:
    def texts(local: str) -> list[Any]:
        return root.xpath(f"//*[local-name()='{local}']/*[local-name()='text']")  # type: ignore[no-any-return]

    for node in texts("inputExpression") + texts("outputEntry"):
        _check_cell(filename, node, node.text)
    for node in texts("inputEntry"):
        entry = (node.text or "").strip()
        if entry in ("", "-"):
            continue
        # The DMN engine prefixes the input for entries such as "> 5" and substitutes "?".
        candidates = [entry.replace("?", "dmninputexpr"), f"dmninputexpr {entry}"] if "?" not in entry \
            else [entry.replace("?", "dmninputexpr")]
        errors = []
        for candidate in candidates:
            try:
                check_expression(candidate, HELPER_NAMES)
                break
            except ScriptError as exc:
                errors.append(exc)
        else:
            raise DiagramError(filename, _owner_id(node), f"decision table cell rejected: {errors[0]}")


def _check_cell(filename: str, node: Any, text: str) -> None:
    if text and text.strip():
        try:
            check_expression(text.strip(), HELPER_NAMES)
        except ScriptError as exc:
            raise DiagramError(filename, _owner_id(node), f"decision table cell rejected: {exc}") from None


@functools.lru_cache(maxsize=32)
def element_names(bpmn_xml: str, filename: str) -> dict[str, str]:
    """Readable names of a diagram's elements (for a case's timeline and diagram); an unnamed boundary timer is
    named after its task. An unreadable diagram has no names."""
    if not bpmn_xml:
        return {}
    try:
        root = parse_xml(bpmn_xml.encode("utf-8"), filename, 20_000_000)
    except DiagramError:
        return {}
    names: dict[str, str] = {}
    for el in root.iter():
        element_id, name = el.get("id"), el.get("name")
        if element_id and name:
            names[element_id] = name
    for el in root.iter("{" + NS["bpmn"] + "}boundaryEvent"):
        element_id, host = el.get("id"), el.get("attachedToRef")
        if element_id and element_id not in names and host in names:
            names[element_id] = f"termijn bij ‘{names[host]}’"
    return names
