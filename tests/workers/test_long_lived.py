"""A web worker freezes its start-up objects for the garbage collector (workers/long_lived.py): a full collection
no longer walks the app's ~180,000 long-lived objects in the middle of a request."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]

# In a process of its own (freezing is for good): the app as gunicorn loads it, then the worker's start hook.
WORKER = """
import gc, json, types
from engine.db import make_engine, upgrade
from engine.settings import Settings
upgrade(make_engine(Settings.from_env().database_url))
from web import create_app
from workers import gunicorn_conf
app = create_app()
before = gc.get_freeze_count()
worker = types.SimpleNamespace(wsgi=app)
gunicorn_conf.post_worker_init(worker)
frozen = gc.get_freeze_count()
gunicorn_conf.worker_exit(None, worker)
print(json.dumps({"before": before, "frozen": frozen, "tracked": len(gc.get_objects())}))
"""


def test_the_worker_start_hook_freezes_the_apps_objects(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path}/worker.sqlite3", "SECRET_KEY": "k" * 48,
           "SESSION_COOKIE_SECURE": "0", "PYTHONPATH": str(PROJECT)}
    env.pop("REDIS_URL", None)
    out = subprocess.run([sys.executable, "-c", WORKER], cwd=PROJECT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    counts = json.loads(out.stdout.strip().splitlines()[-1])
    assert counts["before"] == 0
    assert counts["frozen"] > 50_000  # the modules, the app and its mappings
    assert counts["tracked"] < counts["frozen"] / 4  # what a full collection still walks
