"""indexes for a case's open tasks and waiting timers

A case that loops for years keeps its history rows; finding its few open rows must not scan them.

Revision ID: 0004
Revises: 0003
"""
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_case_task_case_state", "case_task", ["case_id", "state"])
    op.create_index("ix_case_timer_case_state", "case_timer", ["case_id", "state"])


def downgrade():
    op.drop_index("ix_case_timer_case_state", table_name="case_timer")
    op.drop_index("ix_case_task_case_state", table_name="case_task")
