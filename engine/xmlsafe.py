"""Parse untrusted BPMN/DMN XML safely.

Diagrams arrive from process owners' browsers, so the parser must not resolve
external entities, load DTDs, touch the network or expand entity bombs. We go a
step further and refuse any DOCTYPE at all: BPMN and DMN never need one.
"""
from __future__ import annotations

import re

from lxml import etree

from .errors import DiagramError

_DOCTYPE = re.compile(rb"<!\s*DOCTYPE", re.IGNORECASE)
_PARSER_OPTIONS = dict(
    resolve_entities=False,
    no_network=True,
    load_dtd=False,
    dtd_validation=False,
    huge_tree=False,
    remove_comments=False,
)


def parse_xml(content: bytes, filename: str, max_bytes: int):
    """Return the root element of `content`, or raise DiagramError."""
    if len(content) > max_bytes:
        raise DiagramError(filename, None, f"file is {len(content)} bytes; the limit is {max_bytes}")
    if _DOCTYPE.search(content):
        # Refuse before libxml2 sees it: entity bombs are stopped, not merely capped.
        raise DiagramError(filename, None, "a DOCTYPE/DTD is not allowed in diagrams")
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise DiagramError(filename, None, f"malformed XML: {exc}") from None
    tree = root.getroottree()
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise DiagramError(filename, None, "a DOCTYPE/DTD is not allowed in diagrams")
    for node in root.iter(etree.Entity):
        raise DiagramError(filename, None, f"entity references are not allowed ({node.text})")
    return root
