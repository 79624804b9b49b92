"""a team's cases by when they ended (issue 14): the team dashboard's period

The dashboard counts a team's steps, meldingen and durations of the last months over the cases that were open or
ended in that period (engine/dashboards.py `_active_since`). Without this index PostgreSQL read all of the team's
cases of twenty years (10,000 at a million cases, 7,000 heap blocks) to find the 627 of the period, in each of
three statements: the dashboard took 130 ms. With it, the open cases (ix_cases_team_status_id) and the recently
ended ones are two index ranges joined in one bitmap (docs/performance.md, "The team dashboard").

Revision ID: 0013
Revises: 0012
"""
from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_cases_team_ended_at", "cases", ["team", "ended_at"])


def downgrade():
    op.drop_index("ix_cases_team_ended_at", table_name="cases")
