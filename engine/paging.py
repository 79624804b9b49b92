"""How many rows a paged search matches: counted only when its page does not tell, and never past a cap.

A page that holds rows but fewer than a full page, or a first page without rows, ends the matches: the total
is the rows before it plus its own. A search for one client (the usual one) then costs one statement instead
of two; on PostgreSQL that halves a search through the trigram index, whose common trigrams (a shared prefix
such as "CL-0") make each scan cost as much as the page (docs/performance.md, a million cases).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session


def page_total(found: int, page: int, per_page: int, count: Callable[[], int]) -> int:
    """The number of matches, given that page `page` (from 1) of `per_page` rows held `found` rows; `count`
    (the counting statement) runs only when the page cannot say: a full page, or an empty page past the first."""
    if 0 < found < per_page or (found == 0 and page == 1):
        return (page - 1) * per_page + found
    return count()


def capped_count(session: Session, matches: Select[Any], cap: int) -> int:
    """How many rows `matches` selects, counting no further than `cap` + 1 (more than `cap`: "meer dan")."""
    return session.scalar(select(func.count()).select_from(matches.limit(cap + 1).subquery())) or 0
