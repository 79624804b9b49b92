"""Step instructions are Markdown written by process owners; raw HTML in them is not rendered."""
from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def render_markdown(text: str | None) -> Markup:
    if not text:
        return Markup("")
    return Markup(_MD.render(text))
