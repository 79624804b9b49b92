"""professionals' daily work (issue 13): responsible professional and handovers, drafts, notes, attachments,
corrections (addenda)

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = engine.models.UTCDateTime


def upgrade():
    op.add_column("cases", sa.Column("responsible", sa.String(100), nullable=True))
    op.execute("UPDATE cases SET responsible = started_by")
    op.create_index(op.f("ix_cases_responsible"), "cases", ["responsible"])
    op.create_table(
        "case_handover",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("case_task.id"), nullable=True),
        sa.Column("from_user", sa.String(100), nullable=True),
        sa.Column("to_user", sa.String(100), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("handed_by", sa.String(100), nullable=False),
        sa.Column("handed_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_handover_case_id"), "case_handover", ["case_id"])
    op.create_table(
        "task_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("case_task.id"), nullable=False),
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("saved_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "username"),
    )
    op.create_index(op.f("ix_task_draft_task_id"), "task_draft", ["task_id"])
    op.create_table(
        "case_note",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("hypothesis_outcome", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_note_case_id"), "case_note", ["case_id"])
    op.create_table(
        "case_attachment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.Column("uploaded_at", UTC(), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(100), nullable=False),
        sa.Column("description", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("storage_key"),
    )
    op.create_index(op.f("ix_case_attachment_case_id"), "case_attachment", ["case_id"])
    op.create_table(
        "task_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("task_id", sa.Integer(), sa.ForeignKey("case_task.id"), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_task_correction_case_id"), "task_correction", ["case_id"])
    op.create_index(op.f("ix_task_correction_task_id"), "task_correction", ["task_id"])


def downgrade():
    for table in ("task_correction", "case_attachment", "case_note", "task_draft", "case_handover"):
        op.drop_table(table)
    op.drop_index(op.f("ix_cases_responsible"), table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("responsible")
