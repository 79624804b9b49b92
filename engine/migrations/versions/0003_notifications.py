"""notifications (reminders, escalations) and users' e-mail addresses

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

import engine.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("recipient", sa.String(length=100), nullable=False),
        sa.Column("role", sa.String(length=50), nullable=True),
        sa.Column("created_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("lease_until", engine.models.UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("sent_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("read_at", engine.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["task_id"], ["case_task.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("task_id", "kind", "recipient", name="uq_notification_task_kind_recipient"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notification_case_id"), ["case_id"], unique=False)
        batch_op.create_index("ix_notification_recipient", ["recipient", "created_at"], unique=False)
        batch_op.create_index("ix_notification_delivery", ["status", "next_attempt_at"], unique=False)

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=255), nullable=True))


def downgrade():
    # Not a batch operation: on SQLite that would recreate app_user, and dropping the old table would cascade
    # into app_user_role (foreign keys are on). Both databases drop a column in place (SQLite since 3.35).
    op.execute("ALTER TABLE app_user DROP COLUMN email")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_delivery")
        batch_op.drop_index("ix_notification_recipient")
        batch_op.drop_index(batch_op.f("ix_notification_case_id"))
    op.drop_table("notification")
