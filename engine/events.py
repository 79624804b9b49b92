"""Case events (contract.md "Case events"): raise a BPMN message on a case, and which it can take now.

An event is a message (`nieuwe_signalen`, `hulp_geweigerd`, `verhuisd`, ...) caught by a waiting catch event
of the case's diagram, usually an interrupting boundary event in the professional's lane. Its optional form is
`event_<name>.json`, deployed with the process version like the task forms. Raising it is one transaction like
completing a task: state, task rows, timers, milestones and the audit event together, under the case row's
optimistic lock.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent

from . import access, audit, clock, forms
from .concurrency import lost_race_as_conflict
from .errors import EngineError, NotAllowedError, NotFoundError
from .models import Case, CaseTask
from .states import CaseStatus, CaseTaskState
from .views import Actor, Completion

if TYPE_CHECKING:
    from .cases import CaseEngine

# Without a form an event takes no data: nothing may slip into the case variables unvalidated.
NO_FORM = {"type": "object", "additionalProperties": False}


class EventNotAvailable(EngineError):
    """The case cannot take this event now (it has ended, or nothing in it waits for the event)."""

    def __init__(self, case_id: int, event: str, reason: str):
        self.case_id, self.event = case_id, event
        super().__init__(f"case {case_id} cannot take the event {event!r} now: {reason}")


@dataclass(frozen=True)
class EventOption:
    """An event a case can take now: its name, the lane allowed to raise it, and its form (or None)."""

    name: str
    lane: str | None
    form_schema: dict[str, Any] | None


def form_name(event: str) -> str:
    return f"event_{event}.json"


def available_events(engine: CaseEngine, case_id: int, actor: Actor | None = None) -> list[EventOption]:
    """The events case `case_id` can take now; with `actor`, only those the actor may raise."""
    with engine.sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        if case.status != CaseStatus.RUNNING:
            return []
        forms_of_version = engine._forms(session, case.process_version_id)
        options = [EventOption(m.name, m.lane, forms_of_version.get(form_name(m.name)))
                   for m in engine._load(case).waiting_messages()]
        if actor is not None:
            facts = access.load_facts(session, case, actor, clock.now())
            options = [o for o in options if access.decide_task(actor, facts, o.lane).allowed]
    return options


def event_lanes(engine: CaseEngine, case_id: int) -> dict[str, str | None]:
    """Every event the case's diagram can catch, waiting or not, with the lane that raises it.

    Lets the web app tell "not your lane" (403) from "not now" (409) and "no such event" (404).
    """
    with engine.sessions() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        spec, subs = engine._specs(session, case.process_version_id)
    lanes: dict[str, str | None] = {}
    for s in [spec, *subs.values()]:
        for task_spec in s.task_specs.values():
            definition = getattr(task_spec, "event_definition", None)
            if isinstance(task_spec, CatchingEvent) and isinstance(definition, MessageEventDefinition):
                lanes.setdefault(definition.name, task_spec.lane)
    return lanes


def raise_event(engine: CaseEngine, case_id: int, event: str, actor: Actor, data: dict[str, Any]) -> Completion:
    """Deliver `event` with its form `data` to the case; refuses (nothing changed) when it cannot be taken."""
    from .case_store import OPEN_ROWS as _OPEN_ROWS  # the open task rows after a sync

    now = clock.now()
    try:
        with lost_race_as_conflict(), engine.sessions.begin() as session:
            case = session.get(Case, case_id)
            if case is None:
                raise NotFoundError(f"case {case_id} does not exist")
            if case.status != CaseStatus.RUNNING:
                raise EventNotAvailable(case_id, event, f"the case is {case.status}")
            runtime = engine._load(case)
            waiting = {m.name: m for m in runtime.waiting_messages()}
            if event not in waiting:
                raise EventNotAvailable(case_id, event, "the route does not wait for it at this moment"
                                        + (f" (it waits for: {', '.join(sorted(waiting))})" if waiting else ""))
            lane = waiting[event].lane
            # The same need-to-know as completing a task of that lane (engine/access.py).
            decision = access.decide_task(actor, access.load_facts(session, case, actor, now), lane)
            if not decision.allowed:
                raise access.AccessDenied(f"{actor.username} may not raise the event {event!r} on case "
                                          f"{case_id}: {decision.basis}")
            forms_of_version = engine._forms(session, case.process_version_id)
            schema = forms_of_version.get(form_name(event)) or NO_FORM
            forms.validate(schema, data, engine.settings.max_text_length)
            result = runtime.send_message(event, dict(data))
            engine._save(session, case, runtime, result, now)
            # The event and what was recorded with it belong in the case's history, like a completed step.
            catch = waiting[event]
            session.add(CaseTask(case_id=case.id, spiff_task_id=catch.spiff_task_id, element_id=catch.element_id,
                                 name=catch.title or event, lane=lane,
                                 form=form_name(event) if form_name(event) in forms_of_version else None,
                                 state=CaseTaskState.COMPLETED, created_at=now, ended_at=now, completed_by=actor.username,
                                 data=dict(data)))
            milestones = [m for m, _ in result.milestones]
            audit.record(session, actor.username, "case.event", case_id=case.id, client_ref=case.client_ref,
                         event=event, element_id=waiting[event].element_id, **decision.audit_details(),
                         fields=sorted(data), milestones=milestones)
            return Completion(case.id, case.status, milestones,
                              sorted(r.id for r in session.info.pop(_OPEN_ROWS)))
    except NotAllowedError as exc:
        engine.record_access(actor, "case.event", outcome="denied", case_id=case_id, event=event, reason=str(exc))
        raise
