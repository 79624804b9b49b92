"""Database tables of the engine. The case row is the durable object; the
SpiffWorkflow state is one column of it."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint, types
from sqlalchemy import text as sql_text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(types.TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite has no time zones)."""

    impl = types.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, bytes: LargeBinary}


# The column kinds most tables share, declared once (SQLAlchemy's Annotated mapping).
IntPk = Annotated[int, mapped_column(primary_key=True)]
CaseRef = Annotated[int, mapped_column(ForeignKey("cases.id"), index=True)]
Name = Annotated[str, mapped_column(String(100))]  # a username, team, role or process id


class Deployment(Base):
    """One `meldcode deploy`: the files exactly as they were deployed."""

    __tablename__ = "deployment"
    id: Mapped[IntPk]
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[Name]
    deployed_at: Mapped[datetime]
    comment: Mapped[str | None] = mapped_column(String(1000))  # the process owner's words (revision 0008)
    files: Mapped[list[DeploymentFile]] = relationship(back_populates="deployment")


class DeploymentFile(Base):
    __tablename__ = "deployment_file"
    id: Mapped[IntPk]
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content: Mapped[str] = mapped_column(Text)
    deployment: Mapped[Deployment] = relationship(back_populates="files")


class ProcessVersion(Base):
    """A deployed, immutable version of one executable process."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("process_id", "version"),)
    id: Mapped[IntPk]
    process_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"))
    deployed_by: Mapped[Name]
    deployed_at: Mapped[datetime]
    spec_json: Mapped[str] = mapped_column(Text, deferred=True)  # large; loaded once per process per engine
    forms: Mapped[dict]  # form filename -> JSON Schema, as deployed
    source_file: Mapped[str] = mapped_column(String(255))


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (  # revision 0010 (issue 14): lists by team and status, search by part of a client reference
        Index("ix_cases_team_status_id", "team", "status", "id"), Index("ix_cases_team_id", "team", "id"),
        Index("ix_cases_team_ended_at", "team", "ended_at"),  # revision 0013: the team dashboard's period
        Index("ix_cases_client_ref_trgm", "client_ref", postgresql_using="gin",
              postgresql_ops={"client_ref": "gin_trgm_ops"}).ddl_if(dialect="postgresql"))
    id: Mapped[IntPk]
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"), index=True)
    client_ref: Mapped[str] = mapped_column(String(100), index=True)
    team: Mapped[str | None] = mapped_column(String(100), index=True)
    started_by: Mapped[Name]
    started_at: Mapped[datetime] = mapped_column(index=True)  # oversight: started between
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), index=True)  # running | completed
    state: Mapped[bytes]
    variables: Mapped[dict]  # latest case variables, for reading without the engine
    compactions: Mapped[int] = mapped_column(Integer, default=0)
    # Oversight (revision 0007): why a beheerder suspended/terminated it; a legal hold stops retention
    status_reason: Mapped[str | None] = mapped_column(String(500))
    legal_hold: Mapped[str | None] = mapped_column(String(500))  # the reason; None: no hold
    # Issue 13 (revision 0009): the responsible professional, by default who started the case
    responsible: Mapped[str | None] = mapped_column(String(100), index=True)
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)
    # Revision 0011: the seq of the newest milestone, so a step numbers its milestones without a max() select
    last_milestone_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    process_version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": row_version}


class CaseTask(Base):
    """A user task as the inbox sees it; completed rows are the case's history."""

    __tablename__ = "case_task"
    __table_args__ = (Index("ix_case_task_open", "state", "lane"), Index("ix_case_task_case_state", "case_id", "state"),
                      Index("ix_case_task_open_step", "state", "element_id", "case_id"))  # oversight: step filter
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(255))
    lane: Mapped[str | None] = mapped_column(String(100))
    form: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20))  # ready | completed | cancelled
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    data: Mapped[dict | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))


class CaseMilestone(Base):
    __tablename__ = "case_milestone"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[Name]
    element_id: Mapped[str] = mapped_column(String(255))
    reached_at: Mapped[datetime]


class CaseTimer(Base):
    """A waiting timer event; the scheduler finds due ones with one indexed query."""

    __tablename__ = "case_timer"
    __table_args__ = (Index("ix_case_timer_due", "state", "due_at"), Index("ix_case_timer_case_state", "case_id", "state"))
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    spiff_task_id: Mapped[str] = mapped_column(String(36))
    element_id: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))  # waiting | fired | cancelled | failed
    last_error: Mapped[str | None] = mapped_column(String(1000))  # why a failed (parked) timer failed
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AuditEvent(Base):
    """Append-only (enforced by triggers in the migration). NEN 7513: who, when, which client, what."""

    __tablename__ = "audit_event"
    __table_args__ = (  # revision 0010 (issue 14): audit search by user, and by a client named in a list event
        Index("ix_audit_event_actor_id", "actor", "id"),
        Index("ix_audit_event_listed_clients", sql_text("(CAST(details AS jsonb) -> 'client_refs')"), postgresql_using="gin",
              postgresql_where=sql_text("client_ref IS NULL")).ddl_if(dialect="postgresql"))
    id: Mapped[IntPk]
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[Name]
    outcome: Mapped[str] = mapped_column(String(20))  # success | denied | error
    case_id: Mapped[int | None] = mapped_column(Integer, index=True)  # no FK: denied attempts on unknown ids too
    task_id: Mapped[int | None] = mapped_column(Integer)
    client_ref: Mapped[str | None] = mapped_column(String(100), index=True)
    details: Mapped[dict]
    # NEN 7513 (revision 0007): name and roles of the actor, on whose behalf, access point, authorisation basis
    actor_name: Mapped[str | None] = mapped_column(String(200))
    actor_roles: Mapped[str | None] = mapped_column(String(200))
    on_behalf_of: Mapped[str | None] = mapped_column(String(100))
    channel: Mapped[str | None] = mapped_column(String(10))  # web | api | cli | worker
    client_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    basis: Mapped[str | None] = mapped_column(String(30))  # role | break-the-glass | system
    basis_detail: Mapped[str | None] = mapped_column(String(500))
    # Hash chain (engine/audit_chain.py): position, previous event's hash, hash of the content, own hash
    seq: Mapped[int | None] = mapped_column(BigInteger, index=True, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    content_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the newest event of the audit chain, and where retention cut the chain's start."""

    __tablename__ = "audit_chain_head"
    id: Mapped[IntPk]
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str | None] = mapped_column(String(64))  # revision 0011: the hash before the newest event
    pruned_through_seq: Mapped[int] = mapped_column(BigInteger)
    pruned_through_hash: Mapped[str] = mapped_column(String(64))
    pruned_at: Mapped[datetime | None]


class CaseInvolvement(Base):
    """Need-to-know: a party from outside the team became involved in a case (e.g. Veilig Thuis was asked for
    advice, received a melding or a transfer). Written in the same transaction as the step that caused it, so
    lists can filter on it with one indexed join. `task_id`: the completed task that caused it, if any. `team`:
    the case's (which never changes), so a party's cases of one team are one index range (revision 0014)."""

    __tablename__ = "case_involvement"
    __table_args__ = (UniqueConstraint("case_id", "party", "reason"),
                      Index("ix_case_involvement_party_team", "party", "team", "case_id"))
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    party: Mapped[str] = mapped_column(String(30))  # veilig_thuis
    reason: Mapped[str] = mapped_column(String(30))  # advies | melding | overdracht
    element_id: Mapped[str | None] = mapped_column(String(255))
    task_id: Mapped[int | None] = mapped_column(Integer)
    since: Mapped[datetime]
    team: Mapped[str | None] = mapped_column(String(100))


class CaseRestriction(Base):
    """Need-to-know: a case visible to fewer people than its team (the internal route: violence by a colleague)."""

    __tablename__ = "case_restriction"
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # interne_route
    since: Mapped[datetime]


class AccessGrant(Base):
    """Break-the-glass: time-limited access to one case for one user, granted at once on a stated reason and
    reviewed afterwards by the aandachtsfunctionaris of the case's team."""

    __tablename__ = "access_grant"
    __table_args__ = (Index("ix_access_grant_user_case", "username", "case_id", "expires_at"),
                      Index("ix_access_grant_review", "team", "reviewed_at"))
    id: Mapped[IntPk]
    username: Mapped[Name]
    user_team: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[CaseRef]
    team: Mapped[str | None] = mapped_column(String(100))  # the case's team, whose aandachtsfunctionaris reviews
    reason: Mapped[str] = mapped_column(Text)
    granted_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    reviewed_by: Mapped[str | None] = mapped_column(String(100))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class DeploymentScenario(Base):
    """A scenario attached to a deployment (revision 0008): every later change must pass it (contract.md)."""

    __tablename__ = "deployment_scenario"
    __table_args__ = (UniqueConstraint("deployment_id", "filename"),)
    id: Mapped[IntPk]
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployment.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    process_id: Mapped[Name]
    content: Mapped[str] = mapped_column(Text)  # the scenario's JSON text


class StudioDraft(Base):
    """A process owner's work in progress (revision 0008): the whole set of files and scenarios, saved on the
    server so that a refresh or a second tab loses nothing."""

    __tablename__ = "studio_draft"
    id: Mapped[IntPk]
    owner: Mapped[str] = mapped_column(String(100), index=True)
    title: Mapped[str] = mapped_column(String(200))
    base_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployment.id"))
    files: Mapped[dict]  # filename -> text
    scenarios: Mapped[dict]  # filename -> scenario (JSON object)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # Four-eyes rule (a setting): offered for approval, approved by a second process owner for this content
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(100))
    approved_at: Mapped[datetime | None]
    approved_hash: Mapped[str | None] = mapped_column(String(64))
    row_version: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": row_version}


class CaseMigration(Base):
    """A running case moved to another version of its process (revision 0008), with its state from before so
    that the move can be reverted."""

    __tablename__ = "case_migration"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    from_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    to_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    migrated_by: Mapped[Name]
    migrated_at: Mapped[datetime]
    state_before: Mapped[bytes]
    variables_before: Mapped[dict]
    reverted_by: Mapped[str | None] = mapped_column(String(100))
    reverted_at: Mapped[datetime | None]


class Notification(Base):
    """A reminder or escalation about an open task (engine/notifications.py): the in-app notification, and the
    delivery state of its e-mail copy."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("task_id", "kind", "recipient", name="uq_notification_task_kind_recipient"),
        Index("ix_notification_recipient", "recipient", "created_at"),
        # The inbox's unread ones (revision 0012): a professional's read notifications pile up over the years
        Index("ix_notification_unread", "recipient", "created_at", postgresql_where=sql_text("read_at IS NULL"),
              sqlite_where=sql_text("read_at IS NULL")),
        Index("ix_notification_delivery", "status", "next_attempt_at"),
    )
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    task_id: Mapped[int] = mapped_column(ForeignKey("case_task.id"))
    kind: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[Name]  # username; NOBODY when no one holds the role
    role: Mapped[str | None] = mapped_column(String(50))  # the lane/role the recipient was chosen by; None: assignee
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class CaseHandover(Base):
    """Issue 13: a case or one of its tasks handed to a named colleague, with a note (the log of who was
    responsible when; the current holder is `Case.responsible` or `CaseTask.claimed_by`)."""

    __tablename__ = "case_handover"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    task_id: Mapped[int | None] = mapped_column(ForeignKey("case_task.id"))  # None: the case itself
    from_user: Mapped[str | None] = mapped_column(String(100))
    to_user: Mapped[Name]
    note: Mapped[str | None] = mapped_column(Text)
    handed_by: Mapped[Name]  # the holder, or the leidinggevende who reassigned
    handed_at: Mapped[datetime]


class TaskDraft(Base):
    """Issue 13: a half-filled task form, saved on the server for one user; not part of the dossier."""

    __tablename__ = "task_draft"
    __table_args__ = (UniqueConstraint("task_id", "username"),)
    id: Mapped[IntPk]
    task_id: Mapped[int] = mapped_column(ForeignKey("case_task.id"), index=True)
    username: Mapped[Name]
    data: Mapped[dict]
    saved_at: Mapped[datetime]


class CaseNote(Base):
    """Issue 13: a free note (aantekening) on a case, or the follow-up of a hypothesis (bevestigd/weerlegd)."""

    __tablename__ = "case_note"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    author: Mapped[Name]
    created_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))  # aantekening | hypothese
    text: Mapped[str] = mapped_column(Text)
    hypothesis_outcome: Mapped[str | None] = mapped_column(String(20))  # bevestigd | weerlegd (kind hypothese)


class CaseAttachment(Base):
    """Issue 13: an uploaded PDF or image; the bytes live outside the web root under `storage_key`."""

    __tablename__ = "case_attachment"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    uploaded_by: Mapped[Name]
    uploaded_at: Mapped[datetime]
    filename: Mapped[str] = mapped_column(String(255))  # as the user named it, for display only
    content_type: Mapped[Name]  # decided from the content, not the upload
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(String(500))


class TaskCorrection(Base):
    """Issue 13: an addendum to a completed step; the step's own record is never overwritten."""

    __tablename__ = "task_correction"
    id: Mapped[IntPk]
    case_id: Mapped[CaseRef]
    task_id: Mapped[int] = mapped_column(ForeignKey("case_task.id"), index=True)
    author: Mapped[Name]
    created_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict]  # field -> corrected value
