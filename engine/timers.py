"""Use cases: find due timers and fire them, one case per transaction."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import bindparam, exists, select

from . import audit, clock
from .case_store import CaseStore
from .concurrency import RACE_ERRORS, is_lost_race
from .errors import CaseFailure
from .models import Case, CaseTimer
from .states import CaseStatus, TimerState
from .views import SYSTEM

_TICK = timedelta(microseconds=1)
_BATCH = 200  # due cases read at once by a sweep
_MISSES_BEFORE_REREAD = 3  # claims of one batch that found the case taken by another worker


def due_timer_cases(store: CaseStore, now: datetime, limit: int = 500) -> list[int]:
    """Running cases with a due timer. A suspended case keeps its timers waiting until it is resumed: listed, a
    sweep would try it again and again (and count it as a case another worker took)."""
    with store.sessions.reads() as session:
        query = (select(CaseTimer.case_id).join(Case, Case.id == CaseTimer.case_id)
                 .where(CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now,
                        Case.status == CaseStatus.RUNNING)
                 .group_by(CaseTimer.case_id).limit(limit))
        return list(session.scalars(query))


def next_timer_due(store: CaseStore) -> datetime | None:
    with store.sessions.reads() as session:
        return session.scalars(select(CaseTimer.due_at).where(CaseTimer.state == TimerState.WAITING)
                               .order_by(CaseTimer.due_at).limit(1)).first()


def fire_due_timers(store: CaseStore, now: datetime | None = None, *, limit: int | None = None) -> int:
    """Fire every timer due at `now` (default: the engine clock), one case per transaction.

    Safe to run in several workers at once: on PostgreSQL each claims its case with
    `SELECT ... FOR UPDATE SKIP LOCKED`, so a case is fired by exactly one of them; and
    firing is idempotent, because a fired timer is no longer waiting.
    """
    now = now or clock.now()
    fired, passed = 0, set[int]()
    while limit is None or fired < limit:
        # The due cases a batch at a time (one indexed query), then each claimed by id: asking "the first due
        # case not yet passed" per case re-reads every due timer each time (quadratic in a backlog of 10,000).
        batch = [c for c in due_timer_cases(store, now, limit=_BATCH + len(passed)) if c not in passed]
        if not batch:
            break
        # Workers sweeping side by side read the same batch: each starts at a random place and goes on in order.
        # Finding cases taken means it ran into another worker's stretch (or walks in step with it): it then
        # reads what is still due, from a new random place, instead of trying each case the other one fired
        # (with the batch shuffled instead, half of all claims found their case taken with two workers).
        start, misses = random.randrange(len(batch)), 0
        for case_id in batch[start:] + batch[:start]:
            if limit is not None and fired >= limit:
                break
            claimed, count = fire_one(store, now, case_id, passed)
            passed.add(case_id)  # fired, held by another worker (it fires it), or no longer due
            fired += count
            misses += claimed is None
            if misses == _MISSES_BEFORE_REREAD:
                break
    return fired


def fire_case_timers(store: CaseStore, case_id: int, now: datetime | None = None) -> int:
    """Fire the due timers of one case (e.g. at its exact due time); 0 if another worker holds it."""
    return fire_one(store, now or clock.now(), case_id, set())[1]


def fire_one(store: CaseStore, now: datetime, case_id: int | None, passed: set[int]) -> tuple[int | None, int]:
    """Fire the due timers of the first running case with any (or of `case_id`) not in `passed`:
    (the case claimed or None, how many timers fired)."""
    if case_id is not None:
        # One case: its own timers through ix_case_timer_case_state (an IN over every due timer would read the
        # whole backlog for each case a sweep fires). No NOT IN of the passed cases here: the sweep skips those
        # before it asks, and a list that grows with every firing made a backlog quadratic again.
        query, params = _CLAIM, {"case_id": case_id, "now": now}
    else:
        due_cases = select(CaseTimer.case_id).where(CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= now)
        query = (select(Case).where(Case.status == CaseStatus.RUNNING, Case.id.in_(due_cases))
                 .order_by(Case.id).limit(1))
        if passed:
            query = query.where(Case.id.not_in(passed))
        params = {}
    claimed = None
    try:
        # SpiffWorkflow fires a timer only when strictly past due; we promise "due <= now".
        with clock.frozen_at(now + _TICK), store.sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                query = _CLAIM_LOCKED if query is _CLAIM else query.with_for_update(skip_locked=True)
            case = session.scalars(query, params).first()
            if case is None:
                return None, 0
            claimed = case.id
            passed.add(claimed)  # whatever happens, this sweep does not take it twice
            # Another worker may have fired these timers after this statement began and before the lock was
            # granted (the claim's EXISTS saw the timers as they were): ask again, in a statement of its own.
            if not any(timer.due_at <= now for timer in store.waiting_timers(session, case)):
                return claimed, 0
            runtime = store.load(case)
            result = runtime.fire_timers()
            fired = store.save(session, case, runtime, result, now)
            audit.record(session, SYSTEM.username, "timer.fire", case_id=case.id, client_ref=case.client_ref,
                         timers=fired, milestones=[m for m, _ in result.milestones])
            return case.id, len(fired)
    except RACE_ERRORS as exc:
        if not is_lost_race(exc):
            raise
        # Someone else moved the case meanwhile; its timers are taken by the next sweep.
        return claimed, 0
    except CaseFailure as exc:
        assert claimed is not None, "a diagram fails only on a claimed case"
        timer_failed(store, claimed, now, str(exc))
        return claimed, 0


# The claim of one case by id, built once (a sweep claims thousands; building a statement costs more than running
# it); on PostgreSQL locked with SKIP LOCKED.
_CLAIM = select(Case).where(Case.id == bindparam("case_id"), Case.status == CaseStatus.RUNNING, exists().where(
    CaseTimer.case_id == Case.id, CaseTimer.state == TimerState.WAITING, CaseTimer.due_at <= bindparam("now")))
_CLAIM_LOCKED = _CLAIM.with_for_update(skip_locked=True)


def timer_failed(store: CaseStore, case_id: int, now: datetime, reason: str) -> None:
    """A diagram error while firing: park the due timers (no retry storm) and leave an audit trail."""
    with store.sessions.begin() as session:
        case = session.get(Case, case_id)
        for timer in session.scalars(select(CaseTimer).where(CaseTimer.case_id == case_id,
                                                             CaseTimer.state == TimerState.WAITING,
                                                             CaseTimer.due_at <= now)):
            timer.state, timer.ended_at, timer.last_error = TimerState.FAILED, now, reason[:1000]  # for the beheerder
        audit.record(session, SYSTEM.username, "timer.fire", outcome="error", case_id=case_id,
                     client_ref=case.client_ref if case else None, reason=reason)
