"""tamper-evident audit trail (hash chain + chain head), NEN 7513 fields, oversight and retention columns

- audit_event: actor name and roles, on whose behalf, access point (channel, client address, user agent),
  authorisation basis; seq / prev_hash / content_hash / hash of the chain (engine/audit_chain.py). Existing
  events are chained in id order.
- audit_chain_head: one row with the newest seq and hash, and where retention cut the chain's start.
- Triggers: audit_event stays append-only (no UPDATE, no TRUNCATE; DELETE only of the prefix that retention
  recorded as pruned in the head); the head never goes back.
- PostgreSQL: audit_event_prune(cutoff), SECURITY DEFINER, the one way for the app role to remove expired
  events (at least 5 years old), recording the cut in the head.
- cases.status_reason, cases.legal_hold, case_timer.last_error; indexes for the beheerder's instance list.

Revision ID: 0007
Revises: 0006
"""
from types import SimpleNamespace

import sqlalchemy as sa
from alembic import op

import engine.models
from engine import audit_chain

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

AUDIT_COLUMNS = [
    ("actor_name", sa.String(200)), ("actor_roles", sa.String(200)), ("on_behalf_of", sa.String(100)),
    ("channel", sa.String(10)), ("client_address", sa.String(64)), ("user_agent", sa.String(300)),
    ("basis", sa.String(30)), ("basis_detail", sa.String(500)), ("seq", sa.BigInteger()),
    ("prev_hash", sa.String(64)), ("content_hash", sa.String(64)), ("hash", sa.String(64)),
]


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade():
    for name, type_ in AUDIT_COLUMNS:
        op.add_column("audit_event", sa.Column(name, type_, nullable=True))
    op.create_index(op.f("ix_audit_event_seq"), "audit_event", ["seq"], unique=True)
    head = op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("pruned_through_seq", sa.BigInteger(), nullable=False),
        sa.Column("pruned_through_hash", sa.String(length=64), nullable=False),
        sa.Column("pruned_at", engine.models.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("cases", sa.Column("status_reason", sa.String(500), nullable=True))
    op.add_column("cases", sa.Column("legal_hold", sa.String(500), nullable=True))
    op.add_column("case_timer", sa.Column("last_error", sa.String(1000), nullable=True))
    # The beheerder's instance list: "started between" and "current step" stay indexed at a million cases
    op.create_index(op.f("ix_cases_started_at"), "cases", ["started_at"])
    op.create_index("ix_case_task_open_step", "case_task", ["state", "element_id", "case_id"])

    _drop_old_triggers()
    seq, last = _chain_existing_events()
    op.bulk_insert(head, [{"id": 1, "seq": seq, "hash": last, "pruned_through_seq": 0,
                           "pruned_through_hash": audit_chain.GENESIS, "pruned_at": None}])
    _create_triggers()


def _chain_existing_events() -> tuple[int, str]:
    """Seal the events written before this revision, in id order (the triggers are off meanwhile)."""
    bind = op.get_bind()
    typed = {"at": engine.models.UTCDateTime(), "details": sa.JSON(), "id": sa.Integer(), "case_id": sa.Integer(),
             "task_id": sa.Integer(), "seq": sa.BigInteger()}
    names = ("id", "at", "actor", "action", "outcome", "case_id", "task_id", "client_ref", "details",
             *[name for name, _ in AUDIT_COLUMNS])
    events = sa.table("audit_event", *[sa.column(c, typed.get(c, sa.String())) for c in names])
    seq, prev = 0, audit_chain.GENESIS
    for row in bind.execute(sa.select(*[events.c[c] for c in names[:9]]).order_by(events.c.id)).mappings().all():
        event = SimpleNamespace(**{name: None for name, _ in AUDIT_COLUMNS}, **row)
        seq += 1
        audit_chain.seal(event, seq, prev)
        bind.execute(events.update().where(events.c.id == row["id"]).values(
            seq=event.seq, prev_hash=event.prev_hash, content_hash=event.content_hash, hash=event.hash))
        prev = event.hash
    return seq, prev


def _drop_old_triggers():
    if _postgres():
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_delete")


def _create_triggers():
    if _postgres():
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' AND OLD.seq IS NOT NULL AND OLD.seq <= (
                        SELECT pruned_through_seq FROM audit_chain_head WHERE id = 1) THEN
                    RETURN OLD;  -- the prefix retention recorded as pruned
                END IF;
                RAISE EXCEPTION 'audit_event is append-only';
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
        op.execute("""
            CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
            FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()""")
        op.execute("""
            CREATE FUNCTION audit_chain_head_forward() RETURNS trigger AS $$
            BEGIN
                IF TG_OP <> 'UPDATE' OR NEW.id <> OLD.id OR NEW.seq < OLD.seq
                        OR NEW.pruned_through_seq < OLD.pruned_through_seq THEN
                    RAISE EXCEPTION 'audit_chain_head only moves forward';
                END IF;
                RETURN NEW;
            END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE OR DELETE ON audit_chain_head
            FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward()""")
        op.execute("""
            CREATE TRIGGER audit_chain_head_no_truncate BEFORE TRUNCATE ON audit_chain_head
            FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_head_forward()""")
        schema = op.get_bind().execute(sa.text("SELECT current_schema()")).scalar()
        op.execute(f"""
            CREATE FUNCTION audit_event_prune(cutoff timestamp) RETURNS bigint
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = "{schema}" AS $$
            DECLARE
                keep_from bigint;
                last_seq bigint;
                last_hash varchar(64);
                removed bigint;
            BEGIN
                -- cutoff is UTC (the columns hold naive UTC); audit events are kept at least 5 years
                IF cutoff > (now() AT TIME ZONE 'UTC') - interval '5 years' THEN
                    RAISE EXCEPTION 'audit events are kept at least 5 years';
                END IF;
                SELECT min(seq) INTO keep_from FROM audit_event WHERE at >= cutoff;
                SELECT seq, hash INTO last_seq, last_hash FROM audit_event
                    WHERE at < cutoff AND (keep_from IS NULL OR seq < keep_from) ORDER BY seq DESC LIMIT 1;
                IF last_seq IS NULL THEN
                    RETURN 0;
                END IF;
                UPDATE audit_chain_head SET pruned_through_seq = last_seq, pruned_through_hash = last_hash,
                    pruned_at = now() AT TIME ZONE 'UTC' WHERE id = 1 AND pruned_through_seq < last_seq;
                DELETE FROM audit_event WHERE seq <= last_seq;
                GET DIAGNOSTICS removed = ROW_COUNT;
                RETURN removed;
            END $$""")
        op.execute("REVOKE ALL ON FUNCTION audit_event_prune(timestamp) FROM PUBLIC")
    else:
        op.execute("""
            CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
        op.execute("""
            CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
            WHEN OLD.seq IS NULL OR OLD.seq > (SELECT pruned_through_seq FROM audit_chain_head WHERE id = 1)
            BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
        op.execute("""
            CREATE TRIGGER audit_chain_head_forward BEFORE UPDATE ON audit_chain_head
            WHEN NEW.id <> OLD.id OR NEW.seq < OLD.seq OR NEW.pruned_through_seq < OLD.pruned_through_seq
            BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END""")
        op.execute("""
            CREATE TRIGGER audit_chain_head_no_delete BEFORE DELETE ON audit_chain_head
            BEGIN SELECT RAISE(ABORT, 'audit_chain_head only moves forward'); END""")


def downgrade():
    if _postgres():
        op.execute("DROP FUNCTION IF EXISTS audit_event_prune(timestamp)")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_forward ON audit_chain_head")
        op.execute("DROP TRIGGER IF EXISTS audit_chain_head_no_truncate ON audit_chain_head")
        op.execute("DROP FUNCTION IF EXISTS audit_chain_head_forward()")
    else:
        for name in ("audit_event_no_update", "audit_event_no_delete", "audit_chain_head_forward",
                     "audit_chain_head_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("audit_chain_head")
    op.drop_index("ix_case_task_open_step", table_name="case_task")
    op.drop_index(op.f("ix_cases_started_at"), table_name="cases")
    op.drop_index(op.f("ix_audit_event_seq"), table_name="audit_event")
    # In place on both databases (SQLite >= 3.35), so the table and its triggers are not recreated.
    for name, _ in reversed(AUDIT_COLUMNS):
        op.execute(f"ALTER TABLE audit_event DROP COLUMN {name}")
    op.execute("ALTER TABLE case_timer DROP COLUMN last_error")
    op.execute("ALTER TABLE cases DROP COLUMN legal_hold")
    op.execute("ALTER TABLE cases DROP COLUMN status_reason")
    # 0001's triggers
    if _postgres():
        op.execute("""
            CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit_event is append-only'; END $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event
            FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()""")
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(f"""
                CREATE TRIGGER audit_event_no_{verb.lower()} BEFORE {verb} ON audit_event
                BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END""")
