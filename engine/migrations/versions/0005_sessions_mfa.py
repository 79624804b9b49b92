"""revocable server-side sessions, TOTP second factor with recovery codes, expiring API tokens,
atomic sign-in counters

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

import engine.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("mfa_verified", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("revoked_at", engine.models.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=50), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_user_session_user_id", "user_session", ["user_id"])

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("totp_enabled_at", engine.models.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("mfa_exempt", sa.Boolean(), server_default=sa.false(), nullable=False))

    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", engine.models.UTCDateTime(), nullable=False),
        sa.Column("used_at", engine.models.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mfa_recovery_code_user_id", "mfa_recovery_code", ["user_id"])

    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", engine.models.UTCDateTime(), nullable=True))

    op.create_table(
        "login_counter",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", engine.models.UTCDateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index("ix_login_counter_window_start", "login_counter", ["window_start"])


def downgrade():
    op.drop_index("ix_login_counter_window_start", table_name="login_counter")
    op.drop_table("login_counter")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("expires_at")
    op.drop_index("ix_mfa_recovery_code_user_id", table_name="mfa_recovery_code")
    op.drop_table("mfa_recovery_code")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("mfa_exempt")
        batch_op.drop_column("totp_last_step")
        batch_op.drop_column("totp_enabled_at")
        batch_op.drop_column("totp_secret")
    op.drop_index("ix_user_session_user_id", table_name="user_session")
    op.drop_table("user_session")
