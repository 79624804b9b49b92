"""process owners' studio: deploy comments, scenarios stored with a deployment, drafts (with the four-eyes
approval), case migrations

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("deployment", sa.Column("comment", sa.String(1000), nullable=True))
    op.create_table(
        "deployment_scenario",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment_id", sa.Integer(), sa.ForeignKey("deployment.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("process_id", sa.String(100), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deployment_id", "filename"),
    )
    op.create_index(op.f("ix_deployment_scenario_deployment_id"), "deployment_scenario", ["deployment_id"])
    op.create_table(
        "studio_draft",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("base_deployment_id", sa.Integer(), sa.ForeignKey("deployment.id"), nullable=True),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("scenarios", sa.JSON(), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("submitted_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("approved_by", sa.String(100), nullable=True),
        sa.Column("approved_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("approved_hash", sa.String(64), nullable=True),
        sa.Column("row_version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_studio_draft_owner"), "studio_draft", ["owner"])
    op.create_table(
        "case_migration",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), sa.ForeignKey("cases.id"), nullable=False),
        sa.Column("from_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=False),
        sa.Column("to_version_id", sa.Integer(), sa.ForeignKey("process_version.id"), nullable=False),
        sa.Column("migrated_by", sa.String(100), nullable=False),
        sa.Column("migrated_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("state_before", sa.LargeBinary(), nullable=False),
        sa.Column("variables_before", sa.JSON(), nullable=False),
        sa.Column("reverted_by", sa.String(100), nullable=True),
        sa.Column("reverted_at", engine.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_case_migration_case_id"), "case_migration", ["case_id"])


def downgrade():
    op.drop_index(op.f("ix_case_migration_case_id"), table_name="case_migration")
    op.drop_table("case_migration")
    op.drop_index(op.f("ix_studio_draft_owner"), table_name="studio_draft")
    op.drop_table("studio_draft")
    op.drop_index(op.f("ix_deployment_scenario_deployment_id"), table_name="deployment_scenario")
    op.drop_table("deployment_scenario")
    with op.batch_alter_table("deployment") as batch:
        batch.drop_column("comment")
