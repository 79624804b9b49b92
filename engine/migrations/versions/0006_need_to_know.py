"""need-to-know: involvement of Veilig Thuis, restricted cases (internal route), break-the-glass grants

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

import engine.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "case_involvement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=30), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("element_id", sa.String(length=255), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("since", engine.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id", "party", "reason"),
    )
    op.create_index("ix_case_involvement_case_id", "case_involvement", ["case_id"])
    op.create_index("ix_case_involvement_party", "case_involvement", ["party", "case_id"])
    op.create_table(
        "case_restriction",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("since", engine.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_table(
        "access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("user_team", sa.String(length=100), nullable=True),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("team", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=100), nullable=True),
        sa.Column("reviewed_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_access_grant_case_id", "access_grant", ["case_id"])
    op.create_index("ix_access_grant_user_case", "access_grant", ["username", "case_id", "expires_at"])
    op.create_index("ix_access_grant_review", "access_grant", ["team", "reviewed_at"])

    # Cases that took the internal route before this revision are restricted too (the answer is in the
    # case's variables).
    cases = sa.table("cases", sa.column("id", sa.Integer()), sa.column("variables", sa.JSON()),
                     sa.column("updated_at", engine.models.UTCDateTime()))
    connection = op.get_bind()
    restricted = [{"case_id": row.id, "kind": "interne_route", "since": row.updated_at}
                  for row in connection.execute(sa.select(cases.c.id, cases.c.variables, cases.c.updated_at))
                  if isinstance(row.variables, dict) and row.variables.get("betreft_beroepskracht") is True]
    if restricted:
        op.bulk_insert(sa.table("case_restriction", sa.column("case_id", sa.Integer()),
                                sa.column("kind", sa.String()), sa.column("since", engine.models.UTCDateTime())),
                       restricted)
    # ... and Veilig Thuis' earlier involvement: its tasks, meldingen and transfers.
    op.execute("INSERT INTO case_involvement (case_id, party, reason, element_id, since) "
               "SELECT case_id, 'veilig_thuis', 'advies', MIN(element_id), MIN(created_at) FROM case_task "
               "WHERE lane = 'veilig_thuis' GROUP BY case_id")
    for reason, names in (("melding", "'melding_veilig_thuis', 'ambtshalve_melding', 'melding_nieuwe_regio'"),
                          ("overdracht", "'overdracht_door_veilig_thuis'")):
        op.execute("INSERT INTO case_involvement (case_id, party, reason, element_id, since) "
                   f"SELECT case_id, 'veilig_thuis', '{reason}', MIN(element_id), MIN(reached_at) "
                   f"FROM case_milestone WHERE name IN ({names}) GROUP BY case_id")


def downgrade():
    op.drop_index("ix_access_grant_review", table_name="access_grant")
    op.drop_index("ix_access_grant_user_case", table_name="access_grant")
    op.drop_index("ix_access_grant_case_id", table_name="access_grant")
    op.drop_table("access_grant")
    op.drop_table("case_restriction")
    op.drop_index("ix_case_involvement_party", table_name="case_involvement")
    op.drop_index("ix_case_involvement_case_id", table_name="case_involvement")
    op.drop_table("case_involvement")
