"""Running cases move to a newer version in bulk after a dry run; a case that cannot move is named with its reason
and stays where it is; a move is in the audit log and can be reverted while the case has not moved on."""
from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import func, select

from engine import clock
from engine.contract import LANES
from engine.diagrams import read_directory
from engine.models import AuditEvent, CaseMigration
from engine.scenarios import _Answers, _Clock
from engine.studio.service import Studio
from engine.views import Actor

from .edits import NEW_NAME, PROCESSES, changed_form, renamed_task, scenario

BULK = 50


# The behaviour depends on the database (tests/conftest.py ONE_BACKEND_DIRS): both backends.
pytestmark = pytest.mark.backends("sqlite", "postgres")


@pytest.fixture
def worker():
    """Someone who may work in every lane of the case (need-to-know is not what these tests are about)."""
    return Actor("piet", frozenset(LANES), team="noord")


@pytest.fixture
def studio(case_engine):
    case_engine.deploy_files(read_directory(PROCESSES), "cli", comment="versie 1")
    return Studio(case_engine)


def _new_version(studio):
    """v2: Stap 0's first task renamed, and the form of the acute-action task changed."""
    result = studio.deploy("pb", {"meldcode.bpmn": renamed_task().encode(),
                                  "forms/stap0_acute_actie.json": changed_form()}, "Stap 0 herzien")
    assert result.versions["meldcode"] == 2


def _open_task(engine, case_id):
    [task] = engine.open_tasks(case_id=case_id)
    return task


def _acute_case(engine, actor):
    """A case moved on to the acute-action task, whose form changes in v2."""
    case_id = engine.start_case("meldcode", "ACUUT", actor)
    engine.complete_task(_open_task(engine, case_id).id, actor,
                         {"aanleiding": "blauwe plekken", "levensbedreigend": True})
    assert _open_task(engine, case_id).element_id == "stap0_direct_handelen"
    return case_id


def _versions(engine, actor, case_ids):
    return {engine.case(c, actor, audit_read=False).process_version for c in case_ids}


def test_fifty_running_cases_migrate_in_bulk_after_a_dry_run(studio, worker):
    engine, actor = studio.engine, worker
    movable = [engine.start_case("meldcode", f"CLIENT-{i:03d}", actor) for i in range(BULK)]
    stuck = _acute_case(engine, actor)
    _new_version(studio)
    cases = studio.running_cases("meldcode", 1)
    assert sorted(cases) == sorted([*movable, stuck])

    dry = {r.case_id: r for r in studio.migrate("pb", cases, 2, dry_run=True)}
    assert all(dry[c].ok and dry[c].reason is None for c in movable)
    assert not dry[stuck].ok
    assert "formulier" in dry[stuck].reason and "stap0_direct_handelen" in dry[stuck].reason
    assert _versions(engine, actor, cases) == {1}  # a dry run moves nothing

    moved = {r.case_id: r for r in studio.migrate("pb", cases, 2, dry_run=False)}
    assert [c for c in cases if moved[c].migrated] == movable
    assert moved[stuck].reason == dry[stuck].reason and not moved[stuck].migrated
    assert _versions(engine, actor, movable) == {2}
    assert _versions(engine, actor, [stuck]) == {1}
    assert studio.running_cases("meldcode", 2) == movable
    # The open task shows the new version's name, and the case goes on in v2.
    first = _open_task(engine, movable[0])
    assert f'name="{first.name}"' == NEW_NAME
    engine.complete_task(first.id, actor, {"aanleiding": "zorgen", "levensbedreigend": False})
    assert engine.case(movable[0], actor, audit_read=False).status == "running"

    with studio.sessions() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "studio.migrate")).all()
        events = Counter((e.details["dry_run"], e.outcome) for e in rows)
        assert events == {(True, "success"): BULK, (True, "denied"): 1, (False, "success"): BULK,
                          (False, "denied"): 1}
        assert {e.client_ref for e in rows if e.case_id == stuck} == {"ACUUT"}
        assert session.scalar(select(func.count()).select_from(CaseMigration)) == BULK


def test_a_migration_is_reverted_while_the_case_has_not_moved_on(studio, worker):
    engine, actor = studio.engine, worker
    kept, progressed = (engine.start_case("meldcode", f"C-{i}", actor) for i in range(2))
    _new_version(studio)
    assert all(r.migrated for r in studio.migrate("pb", [kept, progressed], 2, dry_run=False))
    engine.complete_task(_open_task(engine, progressed).id, actor, {"aanleiding": "x", "levensbedreigend": False})

    back = studio.revert("pb", kept)
    assert back.ok and (back.from_version, back.to_version) == (2, 1)
    assert _versions(engine, actor, [kept]) == {1}
    assert _open_task(engine, kept).name == "Stap 0 – Is er acuut levensgevaar?"
    assert studio.migrations_of(kept)[0]["reverted_by"] == "pb"
    history = [(h["name"], h["completed_by"]) for h in engine.case(kept, actor, audit_read=False).history]
    assert history[-2:] == [("Zaak gemigreerd naar versie 2 (was versie 1)", "pb"),
                            ("Migratie teruggedraaid: weer op versie 1", "pb")]

    refused = studio.revert("pb", progressed)
    assert not refused.ok and "verder gegaan" in refused.reason
    assert _versions(engine, actor, [progressed]) == {2}


def test_cases_that_cannot_move_say_why(studio, worker):
    engine, actor = studio.engine, worker
    case_id = engine.start_case("meldcode", "C-1", actor)
    results = studio.migrate("pb", [case_id, 999999], 1, dry_run=True)
    assert results[0].reason == "de zaak loopt al op versie 1"
    assert results[1].reason == "deze zaak bestaat niet"
    assert studio.migrate("pb", [case_id], 7, dry_run=True)[0].reason == "versie 7 bestaat niet"


def test_a_waiting_timer_keeps_its_due_time(studio, worker):
    """A case waiting for Veilig Thuis' feedback (5 working days) moves without its timer starting again."""
    engine = studio.engine
    case_id = engine.start_case("meldcode", "TIMER", worker)
    answers = {"levensbedreigend": False, "betreft_beroepskracht": False, "kindcheck_nodig": False,
               "advies_veilig_thuis": False, "gesprek_uitzondering": "geen", "vermoeden": True,
               "acute_onveiligheid": True, "structurele_onveiligheid": False, "hulp_mogelijk": True,
               "meewerken": True}
    filler = _Answers(answers, autofill=True)
    for _ in range(40):
        _, due = engine.case_progress(case_id)
        if due is not None:
            break
        task = engine.open_tasks(case_id=case_id)[0]
        schema = engine.task(task.id, worker, audit_read=False).form_schema
        engine.complete_task(task.id, worker, filler.form_data(schema, task.name,
                                                                      _Clock(clock.now(), "Europe/Amsterdam")))
    assert due is not None, "the case never waited for a timer"
    _new_version(studio)
    [result] = studio.migrate("pb", [case_id], 2, dry_run=False)
    assert result.migrated, result.reason
    assert engine.case_progress(case_id)[1] == due
    assert engine.fire_case_timers(case_id, due) == 1  # and it fires in the new version
    assert engine.case(case_id, worker, audit_read=False).process_version == 2


def _into_follow_up(engine, actor, client_ref: str) -> int:
    """A case after a melding with help organised: in Stap 6 (the follow-up subprocess), waiting for the
    evaluation moment, with a case event possible."""
    answers = {**scenario("acuut_melden_en_hulp.json")["answers"], "evaluatiedatum": "P6W"}
    fill = _Answers(answers, autofill=True)
    case_id = engine.start_case("meldcode", client_ref, actor)
    for _ in range(60):
        if engine.available_events(case_id, actor):
            return case_id
        task = engine.open_tasks(case_id=case_id)[0]
        schema = engine.task(task.id, actor, audit_read=False).form_schema
        engine.complete_task(task.id, actor, fill.form_data(schema, task.name, _Clock(clock.now(), "Europe/Amsterdam")))
    raise AssertionError("the case did not reach the follow-up")


def test_a_case_in_follow_up_migrates_and_goes_on(studio, worker):
    """Its position lies in the Stap 6 subprocess: the subprocess is migrated too, its timer and events kept."""
    engine = studio.engine
    case_id = _into_follow_up(engine, worker, "STAP6")
    before_events = sorted(e.name for e in engine.available_events(case_id, worker))
    _, due = engine.case_progress(case_id)
    _new_version(studio)
    [result] = studio.migrate("pb", [case_id], 2, dry_run=False)
    assert result.migrated, result.reason
    assert engine.case_progress(case_id)[1] == due
    assert sorted(e.name for e in engine.available_events(case_id, worker)) == before_events
    events = {e.name: e for e in engine.available_events(case_id, worker)}
    fill = _Answers({"nieuwe_signalen_toelichting": "x", "duurzame_veiligheid": False}, autofill=True)
    engine.raise_event(case_id, "nieuwe_signalen", worker,
                       fill.form_data(events["nieuwe_signalen"].form_schema, "event", _Clock(clock.now(), "UTC")))
    assert engine.case(case_id, worker, audit_read=False).process_version == 2


def test_a_case_changed_at_the_same_moment_is_not_moved(studio, worker, monkeypatch):
    """A professional completes the case's task while the move is being computed: the move is refused, not mixed."""
    from engine.studio import migration

    engine = studio.engine
    case_id = engine.start_case("meldcode", "GELIJKTIJDIG", worker)
    _new_version(studio)
    computed = migration.migrated_runtime

    def meanwhile(*args, **kwargs):
        found = computed(*args, **kwargs)
        engine.complete_task(_open_task(engine, case_id).id, worker, {"aanleiding": "x", "levensbedreigend": False})
        return found

    monkeypatch.setattr(migration, "migrated_runtime", meanwhile)
    [result] = studio.migrate("pb", [case_id], 2, dry_run=False)
    assert not result.ok and "op hetzelfde moment" in result.reason
    assert engine.case(case_id, worker, audit_read=False).process_version == 1
    assert _open_task(engine, case_id).element_id != "stap0_inschatting"  # the professional's step stands
