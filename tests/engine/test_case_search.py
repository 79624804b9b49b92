"""Finding cases (engine/case_search.py): search by client reference, filters, sorting, paging, need-to-know."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import event

from engine.case_search import CaseQuery, CaseSort, case_overviews, like_pattern, search_cases
from engine.views import Actor
from tests.engine.fixtures_proef import (
    KLAAS,
    PIET,
    STAP1,
    T0,
    complete,
    proef_engine,  # noqa: F401 - the `engine` fixture
    start,
)
from tests.engine.test_list_columns import statements

ZOE = Actor("zoe", frozenset({"professional"}), team="zuid")


def refs(page) -> list[str]:
    return [row.client_ref for row in page.rows]


@pytest.fixture
def cases(engine):
    ids = {
        "CL-1001": start(engine, "CL-1001", PIET, T0),
        "cl-2002": start(engine, "cl-2002", PIET, T0 + timedelta(days=1)),
        "AB_1003": start(engine, "AB_1003", KLAAS, T0 + timedelta(days=2)),
        "ZUID-1": start(engine, "ZUID-1", ZOE, T0 + timedelta(days=3)),
    }
    complete(engine, ids["cl-2002"], "stap1", PIET, STAP1, T0 + timedelta(days=1, hours=1))
    return ids


def test_search_by_client_reference_ignores_case_and_matches_part(engine, cases):
    at = T0 + timedelta(days=4)
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(q="cl-"), at)) == ["cl-2002", "CL-1001"]
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(q="1003"), at)) == ["AB_1003"]
    # LIKE's wildcards are taken literally
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(q="AB_"), at)) == ["AB_1003"]
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(q="B%1"), at)) == []
    assert like_pattern("a_b%") == "%a\\_b\\%%"


def test_only_cases_the_actor_may_read(engine, cases):
    at = T0 + timedelta(days=4)
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(q="ZUID"), at)) == []
    assert refs(search_cases(engine.sessions, ZOE, CaseQuery(), at)) == ["ZUID-1"]
    nobody = Actor("x", frozenset({"procesbeheerder"}), team="noord")
    assert search_cases(engine.sessions, nobody, CaseQuery(), at).rows == []


def test_filters_step_overdue_responsible_started(engine, cases):
    at = T0 + timedelta(days=4)
    page = search_cases(engine.sessions, PIET, CaseQuery(step=2), at)
    assert refs(page) == ["cl-2002"]
    assert page.rows[0].progress.step == 2
    assert page.rows[0].progress.label == "Stap 2 van 6 · Collegiale consultatie en advies"
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(step=1), at)) == ["AB_1003", "CL-1001"]
    # stap1 is due two working days after the start: CL-1001 (Monday) is overdue on Friday, AB_1003 not
    overdue = search_cases(engine.sessions, PIET, CaseQuery(overdue=True), at)
    assert refs(overdue) == ["CL-1001"]
    assert overdue.rows[0].overdue and overdue.rows[0].next_due is not None
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(responsible="klaas"), at)) == ["AB_1003"]
    between = CaseQuery(started_from=T0 + timedelta(hours=12), started_before=T0 + timedelta(days=2))
    assert refs(search_cases(engine.sessions, PIET, between, at)) == ["cl-2002"]
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(status="completed"), at)) == []
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(status="running", q="1001"), at)) == ["CL-1001"]


def test_sorting_and_paging(engine, cases):
    at = T0 + timedelta(days=4)
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(sort=CaseSort.STARTED_ASC), at)) == [
        "CL-1001", "cl-2002", "AB_1003"]
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(sort=CaseSort.CLIENT_REF), at)) == [
        "AB_1003", "CL-1001", "cl-2002"]
    # cl-2002's open task (stap2) has no deadline: last
    assert refs(search_cases(engine.sessions, PIET, CaseQuery(sort=CaseSort.DEADLINE), at)) == [
        "CL-1001", "AB_1003", "cl-2002"]
    first = search_cases(engine.sessions, PIET, CaseQuery(per_page=2), at)
    second = search_cases(engine.sessions, PIET, CaseQuery(per_page=2, page=2), at)
    assert (first.total, first.pages, first.has_next, first.has_previous) == (3, 2, True, False)
    assert refs(first) + refs(second) == ["AB_1003", "cl-2002", "CL-1001"]
    assert not second.has_next and second.has_previous


def test_deadline_order_pages_through_cases_with_and_without_a_deadline(engine, cases):
    """Cases with a next deadline first, soonest first, then every other case by id: over all statuses and on
    every page size, the pages add up to the whole list in that order (they are read as two ranges)."""
    from engine.models import Case, CaseTask

    at = T0 + timedelta(days=4)
    more = [start(engine, f"CL-90{i}", PIET, T0 + timedelta(days=1, hours=i)) for i in range(4)]
    complete(engine, more[1], "stap1", PIET, STAP1, T0 + timedelta(days=1, hours=3))  # open, no deadline
    with engine.sessions.begin() as session:  # two ended cases between them (ids in the middle)
        for case_id in (more[0], more[2]):
            session.get(Case, case_id).status = "completed"
            for task in session.query(CaseTask).filter_by(case_id=case_id):
                task.state = "cancelled"
    whole = search_cases(engine.sessions, PIET, CaseQuery(sort=CaseSort.DEADLINE, per_page=100), at)
    assert len(whole.rows) == 7
    dated = sorted((r for r in whole.rows if r.next_due), key=lambda r: (r.next_due, r.id))
    undated = sorted((r for r in whole.rows if not r.next_due), key=lambda r: r.id)
    assert [r.id for r in whole.rows] == [r.id for r in dated + undated]
    assert len(dated) == 3 and {more[0], more[1], more[2]} <= {r.id for r in undated}
    for size in (1, 2, 3, 5):
        pages = [search_cases(engine.sessions, PIET, CaseQuery(sort=CaseSort.DEADLINE, per_page=size, page=n), at)
                 for n in range(1, 8)]
        assert [r.id for page in pages for r in page.rows] == [r.id for r in whole.rows], size
    completed = search_cases(engine.sessions, PIET, CaseQuery(status="completed", sort=CaseSort.DEADLINE), at)
    assert [r.id for r in completed.rows] == [more[0], more[2]]


def test_rows_carry_responsible_and_progress(engine, cases):
    overview = case_overviews(engine.sessions, [cases["AB_1003"], cases["cl-2002"]])
    assert overview[cases["AB_1003"]].responsible == "klaas"
    assert overview[cases["AB_1003"]].progress.step == 1
    assert overview[cases["cl-2002"]].progress.step == 2
    assert case_overviews(engine.sessions, []) == {}


def test_bad_queries_are_refused():
    with pytest.raises(ValueError):
        CaseQuery(step=7)
    with pytest.raises(ValueError):
        CaseQuery(page=0)
    with pytest.raises(ValueError):
        CaseQuery(q="x" * 101)
    with pytest.raises(ValueError):
        CaseQuery(started_from=datetime(2026, 1, 1))


def test_a_page_that_ends_the_matches_is_counted_from_the_page(engine, cases):
    """A search for one client is one statement, not a count and a page: on PostgreSQL each scan of the trigram
    index costs as much as the page (docs/performance.md). A page that cannot tell still counts."""
    at = T0 + timedelta(days=4)

    def searched(query: CaseQuery):
        with statements(engine) as seen:
            page = search_cases(engine.sessions, PIET, query, at)
        return page, sum("count(" in s.lower() for s in seen)

    one, counts = searched(CaseQuery(q="1001"))
    assert (refs(one), one.total, one.pages, one.has_next, counts) == (["CL-1001"], 1, 1, False, 0)
    none, counts = searched(CaseQuery(q="nobody"))
    assert (none.rows, none.total, none.pages, counts) == ([], 0, 1, 0)
    last, counts = searched(CaseQuery(per_page=2, page=2))  # one row of three on the second page
    assert (refs(last), last.total, last.has_next, last.has_previous, counts) == (["CL-1001"], 3, False, True, 0)
    full, counts = searched(CaseQuery(per_page=3))  # a full page: more may follow, so it counts
    assert (full.total, full.has_next, counts) == (3, False, 1)
    beyond, counts = searched(CaseQuery(per_page=2, page=5))  # past the end: only a count can say how many
    assert (beyond.rows, beyond.total, beyond.has_previous, counts) == ([], 3, True, 1)


def test_the_count_cap_holds_for_a_total_taken_from_the_page(engine, cases, monkeypatch):
    from engine import case_search

    monkeypatch.setattr(case_search, "COUNT_CAP", 2)
    page = search_cases(engine.sessions, PIET, CaseQuery(per_page=2, page=2), T0 + timedelta(days=4))
    assert (refs(page), page.total, page.total_capped) == (["CL-1001"], 2, True)


def test_a_search_finds_the_same_cases_when_the_index_looks_up_what_follows_the_shared_prefix(engine):
    """References of one organisation share a prefix; on PostgreSQL the trigram index is asked for the rest of
    the text only (the shared trigrams are in every row) and the whole text is checked on what it finds."""
    made = ["GEM-2024-0101", "GEM-2024-0102", "GEM-2025-0101", "gem-2025-1101", "GEM-2024-0101-B"]
    for hours, ref in enumerate(made):
        start(engine, ref, PIET, T0 + timedelta(hours=hours))
    at = T0 + timedelta(days=1)
    sent: set[str] = set()  # the text values bound to the statements

    def keep(conn, cursor, statement, parameters, context, executemany):
        values = parameters.values() if isinstance(parameters, dict) else parameters
        sent.update(value for value in values if isinstance(value, str))

    bind = engine.sessions.kw["bind"]
    event.listen(bind, "before_cursor_execute", keep)
    try:
        found = {q: refs(search_cases(engine.sessions, PIET, CaseQuery(q=q), at)) for q in (
            "GEM-2024-0101", "gem-2024-0101-b", "GEM-2025", "GEM-", "2025-01", "0101", "GEM-2024-0101X", "4-01")}
    finally:
        event.remove(bind, "before_cursor_execute", keep)
    assert found == {
        "GEM-2024-0101": ["GEM-2024-0101-B", "GEM-2024-0101"],
        "gem-2024-0101-b": ["GEM-2024-0101-B"],
        "GEM-2025": ["gem-2025-1101", "GEM-2025-0101"],
        "GEM-": made[::-1],
        "2025-01": ["GEM-2025-0101"],
        "0101": ["GEM-2024-0101-B", "GEM-2025-0101", "GEM-2024-0101"],
        "GEM-2024-0101X": [],
        "4-01": ["GEM-2024-0101-B", "GEM-2024-0102", "GEM-2024-0101"],
    }
    assert "%GEM-2024-0101%" in sent  # the whole text is always a condition
    # PostgreSQL: the index is asked for what follows "gem-202" (shared by all five); SQLite has no such index
    assert ("%4-0101%" in sent) == (bind.dialect.name == "postgresql")
