"""Case events (contract.md "Case events") on a small follow-up diagram: raise, refuse, audit, concurrency."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine import clock
from engine.cases import Actor
from engine.errors import NotAllowedError, ValidationError
from engine.events import EventNotAvailable
from engine.models import AuditEvent, Case, CaseTimer
from engine.runtime import CaseRuntime
from tests.conftest import PROJECT

from .races import race

EVENT_DIAGRAMS = PROJECT / "tests" / "engine" / "event_diagrams"
START = datetime(2026, 4, 2, 9, 0, tzinfo=timezone(timedelta(hours=2)))
VERHUISD = {"nieuwe_gemeente": "Utrecht", "toestemming_overdracht": True}


@pytest.fixture
def engine(case_engine):
    case_engine.deploy_directory(EVENT_DIAGRAMS, "tester")
    return case_engine


def following(engine, actor, ref="CL-E1") -> int:
    """A case waiting for its evaluation moment (the follow-up, where the events can be raised)."""
    with clock.frozen_at(START):
        case_id = engine.start_case("volgen", ref, actor)
        task = engine.open_tasks(case_id=case_id)[0]
        engine.complete_task(task.id, actor, {"evaluatiedatum": "2026-05-01"})
    return case_id


def snapshot(engine, case_id):
    with engine.sessions() as session:
        case = session.get(Case, case_id)
        timers = session.scalars(select(CaseTimer.state).where(CaseTimer.case_id == case_id)).all()
        return case.row_version, case.state, case.status, dict(case.variables), sorted(timers)


def audit_of(engine, case_id, action="case.event"):
    with engine.sessions() as session:
        return session.execute(select(AuditEvent.outcome, AuditEvent.actor).where(
            AuditEvent.case_id == case_id, AuditEvent.action == action).order_by(AuditEvent.id)).all()


def test_waiting_case_offers_its_events_with_their_forms(engine, professional):
    with clock.frozen_at(START):
        case_id = engine.start_case("volgen", "CL-E0", professional)
    assert engine.available_events(case_id) == []  # planning the evaluation: not yet in follow-up
    engine.complete_task(engine.open_tasks(case_id=case_id)[0].id, professional, {"evaluatiedatum": "2026-05-01"})
    options = {o.name: o for o in engine.available_events(case_id, professional)}
    assert set(options) == {"nieuwe_signalen", "hulp_geweigerd", "verhuisd"}
    assert {o.lane for o in options.values()} == {"professional"}
    assert options["verhuisd"].form_schema["required"] == ["nieuwe_gemeente", "toestemming_overdracht"]
    assert options["hulp_geweigerd"].form_schema is None


def test_verhuisd_ends_the_case_and_merges_the_form_into_the_case_data(engine, professional):
    case_id = following(engine, professional)
    done = engine.raise_event(case_id, "verhuisd", professional, VERHUISD)
    assert (done.status, done.milestones, done.open_task_ids) == ("completed", ["melding_nieuwe_regio"], [])
    info = engine.case(case_id, professional)
    assert info.variables["nieuwe_gemeente"] == "Utrecht" and info.variables["evaluatiedatum"] == "2026-05-01"
    assert info.waiting_timers == []  # the wait for the evaluation moment was interrupted
    assert audit_of(engine, case_id) == [("success", "piet")]
    assert [h["element_id"] for h in info.history] == ["plannen", "bnd_verhuisd"]
    event = info.history[-1]  # the event, with what was recorded, in the case's history
    assert (event["element_id"], event["name"], event["lane"], event["completed_by"], event["data"]) == \
        ("bnd_verhuisd", "Verhuisd", "professional", "piet", VERHUISD)


def test_nieuwe_signalen_asks_afweging_5_at_once(engine, professional):
    case_id = following(engine, professional)
    done = engine.raise_event(case_id, "nieuwe_signalen", professional,
                              {"nieuwe_signalen_beschrijving": "Nieuwe blauwe plek"})
    [task] = engine.open_tasks(case_id=case_id)
    assert done.open_task_ids == [task.id] and task.element_id == "afweging5"
    assert engine.case_progress(case_id) == ("running", None)
    engine.complete_task(task.id, professional, {"duurzame_veiligheid": False})
    assert engine.milestones(case_id) == ["herhaalde_melding"]


def test_hulp_geweigerd_makes_a_melding_and_follow_up_goes_on(engine, professional):
    case_id = following(engine, professional)
    done = engine.raise_event(case_id, "hulp_geweigerd", professional, {})
    assert done.milestones == ["melding_veilig_thuis"] and done.status == "running"
    assert [t.element_id for t in engine.open_tasks(case_id=case_id)] == ["plannen"]


def test_event_not_waiting_is_refused_and_nothing_changes(engine, professional):
    with clock.frozen_at(START):
        case_id = engine.start_case("volgen", "CL-E2", professional)  # still planning: not in follow-up
    before = snapshot(engine, case_id)
    with pytest.raises(EventNotAvailable, match="'verhuisd'") as caught:
        engine.raise_event(case_id, "verhuisd", professional, VERHUISD)
    assert caught.value.event == "verhuisd"
    with pytest.raises(EventNotAvailable, match="'bestaat_niet'"):
        engine.raise_event(following(engine, professional, "CL-E3"), "bestaat_niet", professional, {})
    assert snapshot(engine, case_id) == before
    assert audit_of(engine, case_id) == []


def test_event_on_an_ended_case_is_refused(engine, professional):
    case_id = following(engine, professional)
    engine.raise_event(case_id, "verhuisd", professional, VERHUISD)
    before = snapshot(engine, case_id)
    with pytest.raises(EventNotAvailable, match="completed"):
        engine.raise_event(case_id, "nieuwe_signalen", professional, {"nieuwe_signalen_beschrijving": "x"})
    assert snapshot(engine, case_id) == before
    assert engine.available_events(case_id) == []


def test_wrong_role_or_other_team_is_refused_and_audited(engine, professional, aandachtsfunctionaris):
    case_id = following(engine, professional)
    before = snapshot(engine, case_id)
    with pytest.raises(NotAllowedError, match="professional"):
        engine.raise_event(case_id, "verhuisd", aandachtsfunctionaris, VERHUISD)
    stranger = Actor("zoe", frozenset({"professional"}), team="wijkteam-zuid")
    with pytest.raises(NotAllowedError, match="another team"):
        engine.raise_event(case_id, "verhuisd", stranger, VERHUISD)
    assert snapshot(engine, case_id) == before
    assert audit_of(engine, case_id) == [("denied", "anna"), ("denied", "zoe")]
    assert engine.available_events(case_id, aandachtsfunctionaris) == []
    assert engine.available_events(case_id, stranger) == []


def test_form_errors_are_refused_and_change_nothing(engine, professional):
    case_id = following(engine, professional)
    before = snapshot(engine, case_id)
    with pytest.raises(ValidationError) as caught:
        engine.raise_event(case_id, "verhuisd", professional, {"nieuwe_gemeente": ""})
    assert set(caught.value.errors) == {"nieuwe_gemeente", "toestemming_overdracht"}
    with pytest.raises(ValidationError) as caught:  # an event without a form takes no data at all
        engine.raise_event(case_id, "hulp_geweigerd", professional, {"duurzame_veiligheid": True})
    assert set(caught.value.errors) == {"duurzame_veiligheid"}
    assert snapshot(engine, case_id) == before


def test_concurrent_raises_one_wins_and_nothing_is_lost(engine, professional, monkeypatch):
    case_id = following(engine, professional)
    _, winners = race(monkeypatch, CaseRuntime, "send_message", {
        event: (lambda event=event, data=data: engine.raise_event(case_id, event, professional, data))
        for event, data in (("verhuisd", VERHUISD), ("hulp_geweigerd", {}))})
    expected = {"verhuisd": ["melding_nieuwe_regio"], "hulp_geweigerd": ["melding_veilig_thuis"]}[winners[0]]
    assert engine.milestones(case_id) == expected
    assert audit_of(engine, case_id) == [("success", "piet")]
