"""fewer round trips per completion (issue 14): the chain head keeps the hash before the newest event, the case
row the seq of its newest milestone

- audit_chain_head.prev_hash: appending an audit event moves the head in one UPDATE … RETURNING that also gives
  back the previous hash (RETURNING shows only new values; engine/audit_chain.py `advance_head`).
- cases.last_milestone_seq: a step that reaches a milestone numbers it from the case row it already holds (and
  locks optimistically) instead of selecting max(seq) first (engine/case_store.py `sync`). Filled from the
  milestones there are.

Revision ID: 0011
Revises: 0010
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("audit_chain_head", sa.Column("prev_hash", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("last_milestone_seq", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE cases SET last_milestone_seq = (SELECT max(seq) FROM case_milestone "
               "WHERE case_milestone.case_id = cases.id) "
               "WHERE EXISTS (SELECT 1 FROM case_milestone WHERE case_milestone.case_id = cases.id)")


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose the chain head's triggers
    op.drop_column("cases", "last_milestone_seq")
    op.drop_column("audit_chain_head", "prev_hash")
