"""Migration 0003 (hand-written): the notification table matches its model, and it downgrades cleanly on
SQLite and PostgreSQL without touching the accounts."""
from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from engine.db import alembic_config
from engine.notifications import Notification

from .conftest import add_people


def test_notification_table_matches_the_model(db):
    def only_notification(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        return table is not None and table.name == "notification"

    with db.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": only_notification})
        diff = compare_metadata(context, Notification.metadata)
    assert diff == []
    columns = {c["name"]: c for c in inspect(db).get_columns("app_user")}
    assert columns["email"]["nullable"] and columns["email"]["type"].length == 255


def test_downgrade_and_upgrade_keep_users_and_roles(db, database_url):
    add_people(db)
    command.downgrade(alembic_config(database_url), "0002")
    assert "notification" not in inspect(db).get_table_names()
    assert "email" not in {c["name"] for c in inspect(db).get_columns("app_user")}
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM app_user_role")).scalar() == 8
    command.upgrade(alembic_config(database_url), "head")
    assert "notification" in inspect(db).get_table_names()
