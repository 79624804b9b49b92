"""Drafts of task forms (engine/drafts.py) and the earlier answers a task page shows (engine/task_context.py),
on SQLite and PostgreSQL."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, select

from engine import drafts, task_context
from engine.cases import Actor
from engine.errors import NotAllowedError, TaskNotReadyError, ValidationError
from engine.models import AuditEvent, TaskDraft

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
COLLEAGUE = Actor("kees", frozenset({"professional"}), team="wijkteam-noord")
OTHER_TEAM = Actor("zoe", frozenset({"professional"}), team="wijkteam-zuid")
OTHER_LANE = Actor("lara", frozenset({"leidinggevende"}), team="wijkteam-noord")


def _case_with_task(engine, actor):
    case_id = engine.start_case("voorbeeld", "CL-DRAFT", actor)
    [task] = engine.open_tasks(case_id=case_id)
    return case_id, task


def _audit(engine, case_id):
    with engine.sessions() as session:
        return session.execute(select(AuditEvent.action, AuditEvent.outcome, AuditEvent.actor, AuditEvent.details)
                               .where(AuditEvent.case_id == case_id).order_by(AuditEvent.id)).all()


def test_a_draft_is_kept_for_its_author_only(deployed, professional):
    case_id, task = _case_with_task(deployed, professional)
    saved = drafts.save_draft(deployed.sessions, task.id, professional,
                              {"toelichting": "Half af: de buurvrouw", "datum": "31-13-2026", "vermoeden": ""})
    assert saved.data["datum"] == "31-13-2026"  # kept as typed: a draft is not checked as an answer
    again = drafts.load_draft(deployed.sessions, task.id, professional)
    assert again.data == {"toelichting": "Half af: de buurvrouw", "datum": "31-13-2026", "vermoeden": ""}
    # A second save replaces the first.
    drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "Nu verder"})
    assert drafts.load_draft(deployed.sessions, task.id, professional).data == {"toelichting": "Nu verder"}
    # A colleague who may work on the same task sees none of it, and keeps a draft of their own.
    assert drafts.load_draft(deployed.sessions, task.id, COLLEAGUE) is None
    drafts.save_draft(deployed.sessions, task.id, COLLEAGUE, {"toelichting": "Van Kees"})
    assert drafts.load_draft(deployed.sessions, task.id, professional).data == {"toelichting": "Nu verder"}
    actions = [(a, o, who) for a, o, who, _ in _audit(deployed, case_id)]
    assert ("task.draft.save", "success", "piet") in actions and ("task.draft.view", "success", "piet") in actions
    saves = [d for a, _, _, d in _audit(deployed, case_id) if a == "task.draft.save"]
    assert saves[0]["fields"] == ["datum", "toelichting", "vermoeden"] and saves[0]["access"] == "full"


@pytest.mark.parametrize("stranger", [OTHER_TEAM, OTHER_LANE], ids=["other-team", "other-lane"])
def test_a_draft_is_refused_to_who_may_not_work_on_the_task(deployed, professional, stranger):
    case_id, task = _case_with_task(deployed, professional)
    drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "Geheim"})
    with pytest.raises(NotAllowedError):
        drafts.save_draft(deployed.sessions, task.id, stranger, {"toelichting": "x"})
    with pytest.raises(NotAllowedError):
        drafts.load_draft(deployed.sessions, task.id, stranger)
    denied = [(a, who) for a, o, who, _ in _audit(deployed, case_id) if o == "denied"]
    assert denied == [("task.draft.save", stranger.username), ("task.draft.view", stranger.username)]
    with deployed.sessions() as session:
        assert session.scalars(select(TaskDraft.username)).all() == ["piet"]


def test_a_task_claimed_by_another_takes_no_draft_of_mine(deployed, professional):
    _, task = _case_with_task(deployed, professional)
    deployed.claim_task(task.id, COLLEAGUE)
    with pytest.raises(NotAllowedError):
        drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "x"})


def test_draft_text_is_checked_but_not_required_fields(deployed, professional):
    _, task = _case_with_task(deployed, professional)
    drafts.save_draft(deployed.sessions, task.id, professional, {})  # nothing required in a draft
    with pytest.raises(ValidationError) as bad:
        drafts.save_draft(deployed.sessions, task.id, professional,
                          {"toelichting": "a\x00b", "onbekend": "x", "datum": ["a", 3]})
    assert set(bad.value.errors) == {"toelichting", "onbekend", "datum"}
    assert "stuurteken" in bad.value.errors["toelichting"][0]
    with pytest.raises(ValidationError) as long:
        drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "x" * 10_001})
    assert "maximaal 10000 tekens" in long.value.errors["toelichting"][0]  # deploy gave the field its limit
    assert drafts.load_draft(deployed.sessions, task.id, professional).data == {}  # the bad saves changed nothing


def test_a_draft_is_not_in_the_dossier_and_goes_with_the_completion(deployed, professional):
    case_id, task = _case_with_task(deployed, professional)
    drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "Concepttekst 4711"})
    drafts.save_draft(deployed.sessions, task.id, COLLEAGUE, {"toelichting": "Ook een concept"})
    info = deployed.case(case_id, professional)
    assert "Concepttekst 4711" not in repr(info.variables) and "Concepttekst 4711" not in repr(info.history)
    assert info.history == []
    deployed.complete_task(task.id, professional, {"vermoeden": False, "toelichting": "Definitief"})
    with deployed.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []  # both drafts went in the completion's transaction
    assert drafts.load_draft(deployed.sessions, task.id, professional) is None
    with pytest.raises(TaskNotReadyError):
        drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "te laat"})
    info = deployed.case(case_id, professional)
    assert "Concepttekst 4711" not in repr(info)


def test_a_completion_without_drafts_deletes_none_and_one_with_a_draft_deletes_it(db, deployed, professional):
    """The open task rows are read with whether they have a draft; only then is a DELETE sent."""
    sent = []
    event.listen(db, "before_cursor_execute", lambda _c, _cur, statement, *_: sent.append(statement))
    case_id = deployed.start_case("lus", "CL-LUS", professional)
    deployed.complete_task(deployed.open_tasks(case_id=case_id)[0].id, professional, {"duurzame_veiligheid": False})
    assert not [s for s in sent if "task_draft" in s and s.lstrip().upper().startswith("DELETE")]
    [task] = deployed.open_tasks(case_id=case_id)
    drafts.save_draft(deployed.sessions, task.id, professional, {"duurzame_veiligheid": "nee"})
    sent.clear()
    deployed.complete_task(task.id, professional, {"duurzame_veiligheid": False})
    assert [s for s in sent if "task_draft" in s and s.lstrip().upper().startswith("DELETE")]
    with deployed.sessions() as session:
        assert session.scalars(select(TaskDraft)).all() == []


def test_a_discarded_draft_is_gone(deployed, professional):
    case_id, task = _case_with_task(deployed, professional)
    assert drafts.discard_draft(deployed.sessions, task.id, professional) is False
    drafts.save_draft(deployed.sessions, task.id, professional, {"toelichting": "weg ermee"})
    assert drafts.has_draft(deployed.sessions, task.id, "piet")
    assert drafts.discard_draft(deployed.sessions, task.id, professional) is True
    assert drafts.load_draft(deployed.sessions, task.id, professional) is None
    assert "task.draft.discard" in [a for a, *_ in _audit(deployed, case_id)]


# -- the context of a task: what earlier steps recorded ----------------------------------------------------------
STAP1 = {"signalen": "Blauwe plekken, gezien op 3 maart", "hypothesen": "Ik vermoed dat vader slaat",
         "besproken_met": "Intern begeleider", "reactie": "Herkent het", "afspraken": "Volgen",
         "betreft_beroepskracht": False, "kindcheck_nodig": False}


@pytest.fixture
def meldcode(case_engine):
    case_engine.deploy_directory(PROCESSES, "tester")
    return case_engine


def _to_stap2(engine, actor):
    case_id = engine.start_case("meldcode", "CL-CTX", actor, team=actor.team,
                                data={"levensbedreigend": False, "aanleiding": "Zorgen over thuis"})
    for _ in range(3):
        [task, *_] = engine.open_tasks(case_id=case_id)
        if task.element_id == "stap2_consultatie":
            return case_id, task
        if task.element_id == "stap1_signalen":
            engine.complete_task(task.id, actor, STAP1)
        else:
            engine.complete_task(task.id, actor, {"aanleiding": "Zorgen over thuis", "levensbedreigend": False})
    raise AssertionError("Stap 2 did not open")


def test_stap_2_shows_the_signals_of_stap_1(meldcode, professional):
    case_id, stap2 = _to_stap2(meldcode, professional)
    steps = task_context.task_view(meldcode.sessions, stap2.id, COLLEAGUE)
    stap1 = next(s for s in steps if s.element_id == "stap1_signalen")
    answers = {a.name: a for a in stap1.answers}
    assert answers["signalen"].value == STAP1["signalen"]
    assert answers["signalen"].title == "Signalen (feitelijk)"  # the form's words
    assert answers["kindcheck_nodig"].value is False
    assert "bronnen_derden" not in answers  # empty answers are left out
    assert stap1.completed_by == "piet"
    assert [a.name for a in next(s for s in steps if s.element_id == "stap0_inschatting").answers] == ["aanleiding"]
    [event] = [d for a, o, _, d in _audit(meldcode, case_id) if a == "task.view" and o == "success"][-1:]
    assert stap1.task_id in event["context_tasks"] and event["access"] == "full"


def test_the_context_is_refused_to_who_may_not_work_on_the_task(meldcode, professional):
    case_id, stap2 = _to_stap2(meldcode, professional)
    with pytest.raises(NotAllowedError):  # Stap 2 is the professional's lane
        task_context.task_view(meldcode.sessions, stap2.id, OTHER_LANE)
    with pytest.raises(NotAllowedError):
        task_context.task_view(meldcode.sessions, stap2.id, OTHER_TEAM)
    assert [(a, o) for a, o, _, _ in _audit(meldcode, case_id)][-2:] == [("task.view", "denied")] * 2


def test_context_keys_are_read_leniently():
    schema = {"x-context": ["stap1_signalen", {"step": "stap2_consultatie", "fields": ["advies", 3]}, {"x": 1}, 7]}
    assert task_context.wanted(schema) == [task_context.ContextWanted("stap1_signalen", None),
                                           task_context.ContextWanted("stap2_consultatie", ["advies"])]
    assert task_context.wanted({"x-context": "stap1"}) == [] and task_context.wanted(None) == []


def test_every_context_key_of_the_shipped_forms_names_real_steps_and_fields():
    """Process owners edit x-context by hand: every step and field it names exists in the meldcode."""
    import json
    import re

    bpmn = (PROCESSES / "meldcode.bpmn").read_text()
    form_of = {m.group(1): re.search(r"(\w+)\.json", m.group(0)).group(1)
               for m in re.finditer(r'<bpmn:userTask id="([^"]+)".*?</bpmn:userTask>', bpmn, re.S)}
    forms = {p.stem: json.loads(p.read_text()) for p in (PROCESSES / "forms").glob("*.json")}
    checked = 0
    for name, schema in forms.items():
        for want in task_context.wanted(schema):
            assert want.step in form_of, f"{name}: x-context names unknown step {want.step}"
            properties = forms[form_of[want.step]]["properties"]
            for field in want.fields or []:
                assert field in properties, f"{name}: {want.step} has no field {field}"
            checked += 1
    assert checked > 10
    assert any(w.step == "stap1_signalen" for w in task_context.wanted(forms["stap2_collegiale_consultatie"]))
    assert any(w.step == "stap3_gesprek_voeren" for w in task_context.wanted(forms["stap4_afweging1"]))


def test_veilig_thuis_and_the_beheerder_see_no_earlier_answers_of_the_team(meldcode, professional):
    """The context follows the access decision: Veilig Thuis sees only its own lane and the melding's steps, the
    beheerder no answers at all."""
    from engine import access
    from engine.models import Case, CaseTask

    case_id, stap2 = _to_stap2(meldcode, professional)
    with meldcode.sessions() as session:
        case = session.get(Case, case_id)
        schema = case.process_version.forms[session.get(CaseTask, stap2.id).form]
        seen = {scope: task_context.steps_for(session, case, schema, access.Decision(scope, "test"))
                for scope in (access.FULL, access.VT_LIMITED, access.METADATA)}
    assert [s.element_id for s in seen[access.FULL]] == ["stap0_inschatting", "stap1_signalen"]
    assert seen[access.VT_LIMITED] == [] and seen[access.METADATA] == []
