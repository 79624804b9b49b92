"""Veilig Thuis's cases found by its team (issue 14): the team on each involvement

Veilig Thuis lists the cases of its team in which it is involved. The involvement knew only its case, so
PostgreSQL found them by hashing every Veilig Thuis involvement of the whole installation (131,085 at a million
cases, 28–35 ms for one page's count, growing with the country, not with the team) or by walking the team's cases
in the list's order (384 ms for a team where Veilig Thuis is rarely involved). A case never changes team
(engine/starting.py sets it once), so the involvement carries it: one index range holds a team's involvements
(docs/performance.md, "Veilig Thuis's lists").

Revision ID: 0014
Revises: 0013
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("case_involvement", sa.Column("team", sa.String(100)))
    op.execute("UPDATE case_involvement SET team = (SELECT team FROM cases WHERE cases.id = case_involvement.case_id)")
    op.create_index("ix_case_involvement_party_team", "case_involvement", ["party", "team", "case_id"])
    op.drop_index("ix_case_involvement_party", table_name="case_involvement")


def downgrade():
    op.create_index("ix_case_involvement_party", "case_involvement", ["party", "case_id"])
    op.drop_index("ix_case_involvement_party_team", table_name="case_involvement")
    with op.batch_alter_table("case_involvement") as batch:
        batch.drop_column("team")
