"""Retention on a frozen clock: the dry run changes nothing; applying destroys (or anonymises) expired cases
except under legal hold, prunes audit events older than the audit rule, logs all that, and the hash chain
still verifies."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from engine import audit_chain, clock
from engine.models import AuditChainHead, AuditEvent, Case, CaseTask
from engine.oversight import Oversight, instance
from engine.retention import RetentionPolicy, plan, prune_audit
from engine.views import Actor
from workers.retention import run_retention

BEA = Actor("bea", frozenset({"beheerder"}))


def at(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


@pytest.fixture
def history(case_engine, professional):
    """Three cases: A ended 2001, B ended 2001 under legal hold, C ended 2010; D still running."""
    from tests.conftest import TEST_DIAGRAMS

    deployed = case_engine
    ops = Oversight(deployed.sessions)
    ids = {}
    with clock.frozen_at(at("2000-01-10 10:00")):
        deployed.deploy_directory(TEST_DIAGRAMS, "tester")
        for name in "ABCD":
            ids[name] = deployed.start_case("voorbeeld", f"CL-{name}", professional, data={"a": 1})
    with clock.frozen_at(at("2001-03-01 10:00")):
        ops.terminate(ids["A"], BEA, "Afgerond")
        ops.terminate(ids["B"], BEA, "Afgerond")
        ops.set_legal_hold(ids["B"], BEA, "Rechtszaak loopt")
    with clock.frozen_at(at("2010-06-01 10:00")):
        ops.terminate(ids["C"], BEA, "Afgerond")
    return deployed, ids


def counts(engine):
    with engine.sessions() as session:
        return {"cases": session.scalar(select(func.count()).select_from(Case)),
                "events": session.scalar(select(func.count()).select_from(AuditEvent))}


def test_dry_run_then_apply(history):
    engine, ids = history
    before = counts(engine)
    with clock.frozen_at(at("2022-01-01 00:00")):
        report = run_retention(engine.sessions, RetentionPolicy())
    assert [c["case_id"] for c in report.expired_cases] == [ids["A"]]
    assert [(c["case_id"], c["legal_hold"]) for c in report.held_cases] == [(ids["B"], "Rechtszaak loopt")]
    assert report.audit_events == before["events"] and not report.applied
    assert counts(engine) == before  # a dry run changes nothing

    with clock.frozen_at(at("2022-01-01 00:00")):
        report = run_retention(engine.sessions, RetentionPolicy(), do_apply=True)
    assert report.destroyed_cases == [ids["A"]] and report.pruned_events == before["events"] and not report.errors
    with engine.sessions() as session:
        assert session.get(Case, ids["A"]) is None
        assert session.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.case_id == ids["A"])) == 0
        assert {c.id for c in session.scalars(select(Case))} == {ids["B"], ids["C"], ids["D"]}
        events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))
        head = session.get(AuditChainHead, 1)
        result = audit_chain.verify(session)
    # What remains: the destruction of A (written before the prune) and the prune itself
    assert [(e.action, e.case_id) for e in events] == [("retention.destroy_case", ids["A"]),
                                                       ("retention.prune_audit", None)]
    destroyed, pruned = events
    assert destroyed.details["rule"] == "case data: 20 years after the case ended (destroy)"
    assert destroyed.at == at("2022-01-01 00:00") and destroyed.actor == "system" and destroyed.channel == "worker"
    assert pruned.details["events"] == before["events"] and pruned.details["rule"] == "audit events: 5 years"
    assert head.pruned_through_seq == before["events"] and events[0].prev_hash != audit_chain.GENESIS
    assert result.ok and result.checked == 2

    # Nothing left to do the next day; tampering is still seen after a prune
    with clock.frozen_at(at("2022-01-02 00:00")):
        again = run_retention(engine.sessions, RetentionPolicy(), do_apply=True)
    assert again.destroyed_cases == [] and again.pruned_events == 0
    db = engine.sessions.kw["bind"]
    with db.begin() as conn:
        if db.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text(f"DELETE FROM audit_event WHERE id = {events[0].id}"))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
            conn.execute(text(f"DELETE FROM audit_event WHERE id = {events[0].id}"))
    with engine.sessions() as session:
        broken = audit_chain.verify(session)
    assert not broken.ok and broken.first_break.kind == "removed" and broken.first_break.event_id == events[1].id


def test_a_legal_hold_lifted_lets_retention_destroy(history):
    engine, ids = history
    Oversight(engine.sessions).set_legal_hold(ids["B"], BEA, None)
    with clock.frozen_at(at("2022-01-01 00:00")):
        report = run_retention(engine.sessions, RetentionPolicy(), do_apply=True)
    assert sorted(report.destroyed_cases) == sorted([ids["A"], ids["B"]])


def test_anonymise_keeps_the_case_as_metadata(history):
    from engine.models import CaseMigration

    engine, ids = history
    with engine.sessions.begin() as session:  # case C was once migrated: its state from before is case data too
        version = session.get(Case, ids["C"]).process_version_id
        session.add(CaseMigration(case_id=ids["C"], from_version_id=version, to_version_id=version, migrated_by="pb",
                                  migrated_at=at("2026-06-01 00:00"), state_before=b"geheim",
                                  variables_before={"vermoeden": True}))
    with clock.frozen_at(at("2035-01-01 00:00")):
        policy = RetentionPolicy(case_action="anonymise", audit_years=40)
        report = run_retention(engine.sessions, policy, do_apply=True)
        assert report.pruned_events == 0  # nothing is 40 years old yet
        assert plan(engine.sessions(), policy).expired_cases == []  # done once
    assert sorted(report.destroyed_cases) == sorted([ids["A"], ids["C"]])
    with engine.sessions() as session:
        case = session.get(Case, ids["C"])
        assert case.client_ref == f"geanonimiseerd-{ids['C']}" and case.variables == {} and case.status == "terminated"
        assert session.get(Case, ids["B"]).client_ref == "CL-B"  # held
        assert instance(session, ids["C"]).status == "terminated"  # the beheerder still sees its metadata
    assert engine.case_diagram(ids["C"]).active_elements == []  # no workflow state left, no failure
    with engine.sessions() as session:
        moved = session.scalars(select(CaseMigration).where(CaseMigration.case_id == ids["C"])).one()
        assert moved.state_before == b"" and moved.variables_before == {}
    with engine.sessions() as session:
        assert audit_chain.verify(session).ok
        actions = session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("retention.%"))).all()
    assert actions == ["retention.anonymise_case", "retention.anonymise_case"]


def test_audit_events_are_kept_at_least_five_years(deployed):
    with pytest.raises(ValueError, match="at least 5 years"):
        RetentionPolicy(audit_years=4)
    with pytest.raises(ValueError, match="at least 5 years"):
        with deployed.sessions.begin() as session:
            prune_audit(session, at("2025-01-01 00:00") if clock.now().year < 2030 else clock.now())
    assert RetentionPolicy.from_env({"MELDCODE_RETENTION_CASE_YEARS": "25"}).case_years == 25


def test_the_retention_command_prints_the_dry_run(history, database_url):
    from engine.cli import main

    result = CliRunner().invoke(main, ["worker", "retention"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["applied"] is False
    # Real time: A, B and C ended long ago, but within 20 years of 2026 only C... all are before 2006? A ended 2001.
    expired = {c["case_id"] for c in report["expired_cases"]}
    held = {c["case_id"] for c in report["held_cases"]}
    _, ids = history
    assert held == {ids["B"]} and ids["A"] in expired and ids["D"] not in expired


def test_the_retention_command_removes_the_attachment_files_of_the_cases_it_destroys(history, database_url,
                                                                                     tmp_path):
    """Found in review: the worker (command and daily task) destroyed the attachments' rows but not their files."""
    from engine import attachments
    from engine.cli import main

    engine, ids = history
    gone, held = _daily_work(engine, ids["A"], tmp_path), _daily_work(engine, ids["B"], tmp_path)
    result = CliRunner().invoke(main, ["worker", "retention", "--apply"],
                                env={"DATABASE_URL": database_url, "MELDCODE_ATTACHMENTS_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert ids["A"] in json.loads(result.output)["destroyed_cases"]
    assert not attachments.stored_path(tmp_path, gone).exists()
    assert attachments.stored_path(tmp_path, held).read_bytes() == b"%PDF-1.4 geheim"


def _daily_work(engine, case_id: int, storage) -> str:
    """A note, a draft, a correction, a handover and an attachment (with its bytes) on a case, as the
    professionals' daily work leaves them; returns the attachment's storage key."""
    from engine import attachments
    from engine.models import CaseAttachment, CaseHandover, CaseNote, TaskCorrection, TaskDraft

    key = attachments.new_storage_key()
    attachments.store(storage, key, b"%PDF-1.4 geheim")
    when = at("2000-02-01 10:00")
    with engine.sessions.begin() as session:
        task_id = session.scalars(select(CaseTask.id).where(CaseTask.case_id == case_id)).first()
        session.add_all([
            CaseNote(case_id=case_id, author="piet", created_at=when, kind="aantekening", text="geheime aantekening"),
            TaskDraft(task_id=task_id, username="piet", data={"signalen": "geheim concept"}, saved_at=when),
            TaskCorrection(case_id=case_id, task_id=task_id, author="piet", created_at=when,
                           reason="geheime reden", changes={"toelichting": "geheim"}),
            CaseHandover(case_id=case_id, from_user="piet", to_user="kees", note="geheime overdracht",
                         handed_by="piet", handed_at=when),
            CaseAttachment(case_id=case_id, uploaded_by="piet", uploaded_at=when, filename="brief.pdf",
                           content_type="application/pdf", size=15, sha256="0" * 64, storage_key=key),
        ])
    return key


@pytest.mark.parametrize("action", ["destroy", "anonymise"])
def test_notes_drafts_corrections_handovers_and_attachments_go_with_the_case(history, tmp_path, action):
    from engine import attachments
    from engine.models import CaseAttachment, CaseHandover, CaseNote, TaskCorrection, TaskDraft
    from engine.retention import apply

    engine, ids = history
    key = _daily_work(engine, ids["A"], tmp_path)
    kept = _daily_work(engine, ids["B"], tmp_path)  # held: untouched
    with clock.frozen_at(at("2022-01-01 00:00")):
        report = apply(engine.sessions, RetentionPolicy(case_action=action), attachments_dir=tmp_path)
    assert report.destroyed_cases == [ids["A"]] and not report.errors
    assert not attachments.stored_path(tmp_path, key).exists()
    assert attachments.stored_path(tmp_path, kept).read_bytes() == b"%PDF-1.4 geheim"
    with engine.sessions() as session:
        def texts(case_id):
            return {"notes": session.scalars(select(CaseNote.text).where(CaseNote.case_id == case_id)).all(),
                    "drafts": session.scalars(select(TaskDraft.data).join(CaseTask, CaseTask.id == TaskDraft.task_id)
                                              .where(CaseTask.case_id == case_id)).all(),
                    "corrections": session.execute(select(TaskCorrection.reason, TaskCorrection.changes)
                                                   .where(TaskCorrection.case_id == case_id)).all(),
                    "handovers": session.scalars(select(CaseHandover.note)
                                                 .where(CaseHandover.case_id == case_id)).all(),
                    "attachments": session.scalars(select(CaseAttachment.id)
                                                   .where(CaseAttachment.case_id == case_id)).all()}
        gone = texts(ids["A"])
        held = texts(ids["B"])
    if action == "destroy":
        assert gone == {"notes": [], "drafts": [], "corrections": [], "handovers": [], "attachments": []}
    else:  # who did what when stays; what was written goes
        assert gone == {"notes": ["[geanonimiseerd]"], "drafts": [], "corrections": [("[geanonimiseerd]", {})],
                        "handovers": [None], "attachments": []}
    assert held["notes"] == ["geheime aantekening"] and len(held["attachments"]) == 1
