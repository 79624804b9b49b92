"""Parse untrusted BPMN/DMN XML safely.

Diagrams arrive from process owners' browsers, so the parser must not resolve
external entities, load DTDs, touch the network or expand entity bombs. We go a
step further and refuse any DOCTYPE at all: BPMN and DMN never need one. Both
layers hold on their own: the DOCTYPE refusal runs first, and the parser made by
`make_parser` is hardened as if it did not (tests/engine/test_deploy.py checks
each layer separately).

Diagrams must be UTF-8 (as bpmn-js writes them): the deployment stores them as
text, and an encoding the byte-level DOCTYPE check cannot read must not reach the
parser unchecked.
"""
from __future__ import annotations

import re
from typing import Any

from lxml import etree

from .errors import DiagramError

_DOCTYPE = re.compile(r"<!\s*DOCTYPE", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DECLARED_ENCODING = re.compile(r"""\A\ufeff?<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")
_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def make_parser() -> etree.XMLParser:
    """The hardened parser: no entity expansion, no DTD loading, no network, libxml2's size and depth limits."""
    return etree.XMLParser(**_PARSER_OPTIONS)


def decode_utf8(content: bytes, filename: str) -> str:
    """`content` as text, or DiagramError when it is not UTF-8 (e.g. a diagram saved as UTF-16)."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiagramError(filename, None, f"the file is not UTF-8 text (invalid byte at position {exc.start}); "
                                           "save it as UTF-8") from None
    control = _CONTROL.search(text)
    if control:
        # UTF-16 without a byte order mark decodes as "UTF-8" full of NULs, which the database cannot store.
        raise DiagramError(filename, None, f"the file is not UTF-8 text (control character "
                                           f"{control.group()!r} at position {control.start()}); save it as UTF-8")
    return text


def parse_xml(content: bytes, filename: str, max_bytes: int) -> Any:
    """Return the root element of `content`, or raise DiagramError."""
    if len(content) > max_bytes:
        raise DiagramError(filename, None, f"file is {len(content)} bytes; the limit is {max_bytes}")
    text = decode_utf8(content, filename)
    declared = _DECLARED_ENCODING.match(text)
    if declared and declared.group(1).replace("_", "-").lower() not in ("utf-8", "utf8"):
        raise DiagramError(filename, None, f"the XML declares encoding {declared.group(1)!r}; "
                                           "diagrams must be UTF-8")
    if _DOCTYPE.search(text):
        # Refuse before libxml2 sees it: entity bombs are stopped, not merely capped.
        raise DiagramError(filename, None, "a DOCTYPE/DTD is not allowed in diagrams")
    try:
        root = etree.fromstring(content, make_parser())
    except etree.XMLSyntaxError as exc:
        raise DiagramError(filename, None, f"malformed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DiagramError(filename, None, "a DOCTYPE/DTD is not allowed in diagrams")
    for node in root.iter(etree.Entity):
        raise DiagramError(filename, None, f"entity references are not allowed ({node.text})")
    return root
