"""Move running cases to another version of their process (SpiffWorkflow's diff and migration helpers).

A dry run says per case whether it can move and why not: its current position (a ready task, a waiting timer or
message, a running subprocess) has no counterpart in the new version, a waiting timer's definition changed, or the
form of an open task changed (what the professional is filling in would no longer fit). The move itself runs the
same checks, then realigns the case's task tree with the new specs, keeps waiting timers' due times, and stores
the state from before so that the move can be reverted while the case has not moved on since.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from SpiffWorkflow import TaskState
from SpiffWorkflow.bpmn.util.diff import diff_workflow, migrate_workflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import audit, clock
from ..errors import CaseFailure, NotFoundError
from ..models import Case, CaseMigration, CaseTask, CaseTimer, ProcessVersion
from ..runtime import CaseRuntime, StepResult
from ..spiff_state import _registry, load_state
from ..states import CaseStatus, CaseTaskState, TimerState

if TYPE_CHECKING:
    from ..cases import CaseEngine

ACTIVE = TaskState.READY | TaskState.WAITING | TaskState.STARTED
HISTORY_ELEMENT = "studio_migratie"  # not a diagram element: a row of the case's timeline


@dataclass(frozen=True)
class MigrationResult:
    case_id: int
    ok: bool
    reason: str | None
    from_version: int | None = None
    to_version: int | None = None
    migrated: bool = False


class CannotMigrate(Exception):
    pass


def _label(task: Any) -> str:
    spec = task.task_spec
    name = getattr(spec, "bpmn_name", None)
    ident = getattr(spec, "bpmn_id", None) or spec.name
    return f"‘{name}’ ({ident})" if name else ident


def _form_of(spec: Any) -> str | None:
    return ((getattr(spec, "extensions", None) or {}).get("properties") or {}).get("formJsonSchemaFilename")


def _is_timer(spec: Any) -> bool:
    definition = getattr(spec, "event_definition", None)
    return definition is not None and type(definition).__name__.endswith("TimerEventDefinition")


def migrated_runtime(engine: CaseEngine, session: Session, case: Case, target: ProcessVersion) -> tuple[CaseRuntime, StepResult]:
    """The case's workflow moved onto `target`'s specs and run on (in memory), or CannotMigrate with the reason."""
    current = case.process_version
    if case.status != CaseStatus.RUNNING:
        raise CannotMigrate(f"de zaak loopt niet meer (status: {case.status})")
    if target.process_id != current.process_id:
        raise CannotMigrate(f"de zaak loopt op proces {current.process_id}, niet op {target.process_id}")
    if target.version == current.version:
        raise CannotMigrate(f"de zaak loopt al op versie {target.version}")
    if target.version < current.version:
        raise CannotMigrate(f"versie {target.version} is ouder dan versie {current.version} waarop de zaak loopt")
    old_spec, old_subs = engine._specs(session, current.id)
    new_spec, new_subs = engine._specs(session, target.id)
    workflow = load_state(case.state, old_spec, old_subs)
    top_diff, sp_diffs = diff_workflow(_registry, workflow, new_spec, new_subs)
    diffs = [(workflow, top_diff, new_spec)]
    for sp_id, sp_diff in sp_diffs.items():
        sub = workflow.subprocesses[sp_id]
        if sp_diff is None:
            if any(t.state & ACTIVE for t in sub.get_tasks()):
                raise CannotMigrate(f"het deelproces {sub.spec.name} bestaat niet in versie {target.version}")
            continue
        diffs.append((sub, sp_diff, new_subs[sub.spec.name]))

    old_forms, new_forms = current.forms or {}, target.forms or {}
    problems = []
    for wf, diff, _spec in diffs:
        removed = set(map(id, diff.removed))
        changed = {id(t): t for t in diff.changed}
        for task in wf.get_tasks(state=ACTIVE, skip_subprocesses=True):
            if not getattr(task.task_spec, "bpmn_id", None):
                continue  # the library's own bookkeeping tasks
            if id(task) in removed:
                what = "wachtende termijn" if _is_timer(task.task_spec) else "huidige stap"
                problems.append(f"{what} {_label(task)} bestaat niet in versie {target.version}")
                continue
            new_task_spec = diff.alignment.get(task)
            if _is_timer(task.task_spec) and task.state & TaskState.WAITING and id(task) in changed \
                    and task.task_spec.event_definition != getattr(new_task_spec, "event_definition", None):
                problems.append(f"de wachtende termijn {_label(task)} is gewijzigd in versie {target.version}")
            if task.state & TaskState.READY and task.task_spec.manual:
                old_form, new_form = _form_of(task.task_spec), _form_of(new_task_spec)
                if old_form != new_form or old_forms.get(old_form) != new_forms.get(new_form):
                    problems.append(f"het formulier van open taak {_label(task)} is gewijzigd in versie "
                                    f"{target.version}")
    if problems:
        raise CannotMigrate("; ".join(problems))

    # Only ready tasks are reset and predicted again from the new specs. A waiting timer (or message) is left as it
    # is: a reset would start a timer again from now and evaluate its expression with older data.
    try:
        for wf, diff, spec in diffs:
            migrate_workflow(diff, wf, spec, reset_mask=TaskState.READY)
        workflow.subprocess_specs = new_subs
    except Exception as exc:  # noqa: BLE001 - a library error on this case; the case stays as it is
        raise CannotMigrate(f"de zaak kan niet naar versie {target.version}: {type(exc).__name__}: {exc}") from None
    runtime = CaseRuntime(workflow, engine.script_engine)
    try:
        result = runtime._guarded(runtime._forget_removed_waits)
    except CaseFailure as exc:
        raise CannotMigrate(f"de zaak kan in versie {target.version} niet verder: {exc}") from None
    return runtime, result


def target_version(session: Session, process_id: str, version: int) -> ProcessVersion:
    pv = session.scalars(select(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                      ProcessVersion.version == version)).first()
    if pv is None:
        raise NotFoundError(f"process {process_id!r} has no version {version}")
    return pv


def migrate_case(engine: CaseEngine, case_id: int, process_id: str | None, to_version: int, actor: str, *,
                 dry_run: bool) -> MigrationResult:
    """One case, one transaction: checked (dry run) or moved; audited either way."""
    now = clock.now()
    with engine.sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is None:
            audit.record(session, actor, "studio.migrate", outcome="denied", case_id=case_id, dry_run=dry_run,
                         reason="no such case")
            return MigrationResult(case_id, False, "deze zaak bestaat niet", None, to_version)
        from_version = case.process_version.version
        process_id = process_id or case.process_version.process_id
        try:
            target = target_version(session, process_id, to_version)
            runtime, result = migrated_runtime(engine, session, case, target)
        except (CannotMigrate, NotFoundError) as exc:
            reason = str(exc) if isinstance(exc, CannotMigrate) else f"versie {to_version} bestaat niet"
            audit.record(session, actor, "studio.migrate", outcome="denied", case_id=case.id,
                         client_ref=case.client_ref, dry_run=dry_run, from_version=from_version,
                         to_version=to_version, reason=reason)
            return MigrationResult(case_id, False, reason, from_version, to_version)
        audit.record(session, actor, "studio.migrate", case_id=case.id, client_ref=case.client_ref,
                     dry_run=dry_run, from_version=from_version, to_version=to_version)
        if dry_run:
            return MigrationResult(case_id, True, None, from_version, to_version)
        session.add(CaseMigration(case_id=case.id, from_version_id=case.process_version_id, to_version_id=target.id,
                                  migrated_by=actor, migrated_at=now, state_before=case.state,
                                  variables_before=dict(case.variables or {})))
        case.process_version = target
        engine._save(session, case, runtime, result, now)
        _refresh_open_rows(session, case, runtime)
        _history(session, case, actor, now, f"Zaak gemigreerd naar versie {to_version} (was versie {from_version})",
                 from_version, to_version)
        return MigrationResult(case_id, True, None, from_version, to_version, migrated=True)


def _history(session: Session, case: Case, actor: str, now: datetime, title: str, from_version: int, to_version: int) -> None:
    """A migration belongs in the case's history (its timeline), like a completed step."""
    session.add(CaseTask(case_id=case.id, spiff_task_id="", element_id=HISTORY_ELEMENT, name=title, lane=None,
                         form=None, state=CaseTaskState.COMPLETED, created_at=now, ended_at=now, completed_by=actor,
                         data={"van_versie": from_version, "naar_versie": to_version}))


def _refresh_open_rows(session: Session, case: Case, runtime: CaseRuntime) -> None:
    """Open task rows show the new version's name, lane and form (the spiff task ids stay the same)."""
    ready = {t.spiff_task_id: t for t in runtime.ready_tasks()}
    for row in session.scalars(select(CaseTask).where(CaseTask.case_id == case.id, CaseTask.state == CaseTaskState.READY)):
        task = ready.get(row.spiff_task_id)
        if task is not None:
            row.element_id, row.name, row.lane, row.form = task.element_id, task.name, task.lane, task.form


def revert_migration(engine: CaseEngine, case_id: int, actor: str) -> MigrationResult:
    """Put the case back as it was before its last migration, if it has not moved on since."""
    now = clock.now()
    with engine.sessions.begin() as session:
        case = session.get(Case, case_id)
        if case is None:
            raise NotFoundError(f"case {case_id} does not exist")
        move = session.scalars(select(CaseMigration).where(CaseMigration.case_id == case_id,
                                                           CaseMigration.reverted_at.is_(None))
                               .order_by(CaseMigration.id.desc()).limit(1)).first()
        reason = None
        if move is None:
            reason = "deze zaak is niet gemigreerd (of de migratie is al teruggedraaid)"
        elif case.updated_at != move.migrated_at:
            reason = "de zaak is na de migratie verder gegaan; terugdraaien zou dat werk ongedaan maken"
        if reason:
            audit.record(session, actor, "studio.migrate_revert", outcome="denied", case_id=case.id,
                         client_ref=case.client_ref, reason=reason)
            return MigrationResult(case_id, False, reason, case.process_version.version, None)
        assert move is not None  # no reason given: there is a migration to revert
        to_version = case.process_version.version
        old = session.get(ProcessVersion, move.from_version_id)
        assert old is not None  # a foreign key
        spec, subs = engine._specs(session, old.id)
        runtime = CaseRuntime(load_state(move.state_before, spec, subs), engine.script_engine)
        case.process_version = old
        engine._save(session, case, runtime, StepResult(), now)
        case.variables = dict(move.variables_before)
        _refresh_open_rows(session, case, runtime)
        move.reverted_at, move.reverted_by = now, actor
        _history(session, case, actor, now, f"Migratie teruggedraaid: weer op versie {old.version}", to_version,
                 old.version)
        audit.record(session, actor, "studio.migrate_revert", case_id=case.id, client_ref=case.client_ref,
                     from_version=to_version, to_version=old.version)
        return MigrationResult(case_id, True, None, to_version, old.version, migrated=True)


def running_cases(session: Session, process_id: str, version: int, step: str | None = None) -> list[int]:
    """Running cases on a version; with `step`, those whose current position (open task or waiting timer) is
    that element."""
    query = (select(Case.id).join(ProcessVersion).where(ProcessVersion.process_id == process_id,
                                                        ProcessVersion.version == version,
                                                        Case.status == CaseStatus.RUNNING).order_by(Case.id))
    if step:
        at_task = select(CaseTask.case_id).where(CaseTask.state == CaseTaskState.READY, CaseTask.element_id == step)
        at_timer = select(CaseTimer.case_id).where(CaseTimer.state == TimerState.WAITING, CaseTimer.element_id == step)
        query = query.where(Case.id.in_(at_task) | Case.id.in_(at_timer))
    return list(session.scalars(query))


def migrations_of(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(select(CaseMigration).where(CaseMigration.case_id == case_id)
                           .order_by(CaseMigration.id)).scalars().all()
    versions = {pv.id: pv.version for pv in session.scalars(select(ProcessVersion).where(ProcessVersion.id.in_(
        {r.from_version_id for r in rows} | {r.to_version_id for r in rows})))}
    return [{"from_version": versions[r.from_version_id], "to_version": versions[r.to_version_id],
             "migrated_by": r.migrated_by, "migrated_at": r.migrated_at, "reverted_at": r.reverted_at,
             "reverted_by": r.reverted_by} for r in rows]
