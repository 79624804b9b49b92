"""A page never fails on what is stored: text that cannot be encoded as UTF-8 (a lone surrogate such as
"\\ud800", kept from before input was checked) is shown with U+FFFD instead of ending the response in a 500."""
from __future__ import annotations

from markupsafe import Markup

REPLACEMENT = "\ufffd"


def encodable(text: str) -> str:
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join(REPLACEMENT if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return text


def finalize(value):
    """Jinja's `finalize`: every {{ expression }} passes here before it is escaped."""
    if isinstance(value, Markup):
        return Markup(encodable(str(value)))
    if isinstance(value, str):
        return encodable(value)
    return value


def install(app) -> None:
    app.jinja_env.finalize = finalize
