"""The logbeheerder's (privacy officer's) view of the audit trail: search, CSV export, the AVG art. 15 report
"who has seen the file of client X" as PDF, and GET /api/audit. Reading the log is itself logged.

Registering this blueprint also sets the audit context of every request (web/auditlog/context.py)."""
from flask import Blueprint

bp = Blueprint("auditlog", __name__)

from . import context, views  # noqa: E402,F401

context.register(bp)
