"""Cases end to end: start, inbox, forms, roles, double completion, audit, optimistic locking."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from engine import clock
from engine.cases import Actor
from engine.errors import (
    CaseNotRunningError,
    NotAllowedError,
    NotFoundError,
    TaskNotReadyError,
    ValidationError,
)
from engine.models import AuditEvent, Case, CaseTask
from engine.runtime import CaseRuntime

from .races import race

START = datetime(2026, 4, 2, 9, 0, tzinfo=timezone(timedelta(hours=2)))


def only_task(engine, case_id):
    tasks = engine.open_tasks(case_id=case_id)
    assert len(tasks) == 1, tasks
    return tasks[0]


def case_row(engine, case_id):
    with engine.sessions() as session:
        return session.get(Case, case_id)


def audit_actions(engine, case_id):
    with engine.sessions() as session:
        return session.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.actor)
                               .where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all()


def test_small_diagram_end_to_end(deployed, professional):
    with clock.frozen_at(START):
        case_id = deployed.start_case("voorbeeld", "CL-001", professional)
        task = only_task(deployed, case_id)
        assert (task.element_id, task.name, task.lane) == ("wegen", "Wegen", "professional")
        # werkdagen(2) from Thu 2 April: Goede Vrijdag and Tweede Paasdag do not count -> Wed 8 April 09:00 CEST
        assert task.due_at == datetime(2026, 4, 8, 7, 0, tzinfo=UTC)
        detail = deployed.task(task.id, professional)
        assert detail.form_schema["required"] == ["vermoeden", "toelichting"]
        assert detail.instructions == "Is er een vermoeden?" and detail.documentation == "Weeg de signalen."
        done = deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "geen signalen"})
    assert done.status == "completed" and done.milestones == ["afgesloten"] and done.open_task_ids == []
    info = deployed.case(case_id, professional)
    assert info.milestones == ["afgesloten"]
    assert info.history[0]["data"] == {"vermoeden": False, "toelichting": "geen signalen"}
    assert info.history[0]["completed_by"] == "piet"
    assert [a for a, _, _ in audit_actions(deployed, case_id)] == ["case.start", "task.view", "task.complete",
                                                                  "case.view"]


def test_case_state_is_stored_without_the_spec(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-002", professional)
    with deployed.sessions() as session:
        row = session.get(Case, case_id)
        assert len(row.state) < len(row.process_version.spec_json) / 4
    assert b"voorbeeld" not in row.state  # compressed, and the spec is not in it


def test_invalid_form_data_lists_each_field_and_changes_nothing(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-003", professional)
    task = only_task(deployed, case_id)
    before = case_row(deployed, case_id)
    with pytest.raises(ValidationError) as info:
        deployed.complete_task(task.id, professional, {"vermoeden": "ja", "datum": "gisteren", "extra": 1})
    assert set(info.value.errors) == {"vermoeden", "toelichting", "datum", "extra"}
    assert info.value.errors["toelichting"] == ["is required"]
    after = case_row(deployed, case_id)
    assert (after.row_version, after.state) == (before.row_version, before.state)
    assert only_task(deployed, case_id).id == task.id


def test_empty_required_text_is_refused(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-004", professional)
    task = only_task(deployed, case_id)
    with pytest.raises(ValidationError) as info:
        deployed.complete_task(task.id, professional, {"vermoeden": True, "toelichting": ""})
    assert list(info.value.errors) == ["toelichting"]


def test_wrong_role_is_refused_and_audited(deployed, professional, aandachtsfunctionaris):
    case_id = deployed.start_case("voorbeeld", "CL-005", professional)
    task = only_task(deployed, case_id)
    with pytest.raises(NotAllowedError):
        deployed.complete_task(task.id, aandachtsfunctionaris, {"vermoeden": False, "toelichting": "x"})
    assert only_task(deployed, case_id).id == task.id
    assert ("task.complete", "denied", "anna") in audit_actions(deployed, case_id)


def test_double_completion_is_refused(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-006", professional)
    task = only_task(deployed, case_id)
    deployed.complete_task(task.id, professional, {"vermoeden": True, "toelichting": "x"})
    version = case_row(deployed, case_id).row_version
    with pytest.raises(TaskNotReadyError):
        deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "y"})
    assert case_row(deployed, case_id).row_version == version
    assert deployed.milestones(case_id) == ["melding_veilig_thuis"]


def test_completing_a_task_of_an_ended_case_is_refused(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-007", professional)
    task = only_task(deployed, case_id)
    # A task row left ready by a bug or a race must still not move an ended case.
    deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "x"})
    with deployed.sessions.begin() as session:
        session.get(CaseTask, task.id).state = "ready"
    with pytest.raises(CaseNotRunningError):
        deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "x"})


def test_unknown_task_and_process(deployed, professional):
    with pytest.raises(NotFoundError):
        deployed.complete_task(99999, professional, {})
    with pytest.raises(NotFoundError):
        deployed.start_case("bestaat_niet", "CL-008", professional)


def test_claimed_task_is_locked_to_its_claimer(deployed, professional):
    colleague = Actor("karin", frozenset({"professional"}), team="wijkteam-noord")
    case_id = deployed.start_case("voorbeeld", "CL-009", professional)
    task = only_task(deployed, case_id)
    deployed.claim_task(task.id, professional)
    assert only_task(deployed, case_id).claimed_by == "piet"
    with pytest.raises(NotAllowedError):
        deployed.complete_task(task.id, colleague, {"vermoeden": False, "toelichting": "x"})
    with pytest.raises(NotAllowedError):
        deployed.claim_task(task.id, colleague)
    deployed.claim_task(task.id, professional, release=True)
    deployed.complete_task(task.id, colleague, {"vermoeden": False, "toelichting": "x"})


def test_concurrent_completions_one_wins_and_nothing_is_lost(deployed, professional, monkeypatch):
    """Two real sessions load the same case; both proceed only once both have read it."""
    case_id = deployed.start_case("voorbeeld", "CL-010", professional)
    task = only_task(deployed, case_id)
    _, winners = race(monkeypatch, CaseRuntime, "complete", {
        who: (lambda who=who, vermoeden=vermoeden: deployed.complete_task(
            task.id, professional, {"vermoeden": vermoeden, "toelichting": who}))
        for who, vermoeden in (("a", True), ("b", False))})
    info = deployed.case(case_id, professional)
    assert [h["data"]["toelichting"] for h in info.history] == winners
    expected = ["melding_veilig_thuis"] if winners == ["a"] else ["afgesloten"]
    assert info.milestones == expected
    completions = [a for a in audit_actions(deployed, case_id) if a[0] == "task.complete"]
    assert completions == [("task.complete", "success", "piet")]


def test_case_variables_are_kept_on_the_case(deployed, professional):
    case_id = deployed.start_case("voorbeeld", "CL-011", professional, data={"levensbedreigend": False})
    task = only_task(deployed, case_id)
    deployed.complete_task(task.id, professional, {"vermoeden": True, "toelichting": "x"})
    assert deployed.case(case_id, professional).variables == {"levensbedreigend": False, "vermoeden": True,
                                                               "toelichting": "x"}
