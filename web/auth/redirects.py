"""Where the sign-in page may send someone afterwards: a path on this site, nothing else."""
from __future__ import annotations

from urllib.parse import urlsplit

MAX_LENGTH = 2000


def safe_next(target: str | None) -> str | None:
    """`target` when it is a local path, else None (the caller goes to the inbox).

    Browsers drop tab and newline inside URLs and read a backslash as a slash, so "/\\t/evil.example",
    "/\\\\evil" and "//evil" all mean another host. Refused: anything not starting with exactly one "/",
    control characters, backslashes, non-ASCII (Location must be plain ASCII), and whatever a URL parser
    reads as having a scheme or host.
    """
    if not target or not isinstance(target, str) or len(target) > MAX_LENGTH:
        return None
    if any(not (0x20 < ord(ch) < 0x7F) for ch in target) or "\\" in target:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/") or parts.path.startswith("//"):
        return None
    return target
