"""Fixtures for the workers: real Redis, real Celery workers (threads and processes), real SMTP, accounts.

- Redis: the server at 127.0.0.1:6379, one db number per test run, and a queue (plus ETA-ledger namespace) of
  its own per test; what a test leaves in Redis is deleted afterwards. Tests that stop Redis start their own
  `redis-server` on a free loopback port (`private_redis`).
- Celery workers: `thread_worker` (celery.contrib.testing in a thread of this process) and `worker_process`
  (a real `celery worker` subprocess, which a test can SIGKILL), both against the test's own PostgreSQL schema.
- SMTP: an aiosmtpd server on loopback that keeps what it receives and can be told to refuse.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from engine.cases import Actor
from engine.models import AuditEvent, CaseTask, CaseTimer
from engine.settings import Settings
from tests.conftest import PROJECT
from workers.settings import WorkerSettings

WORKER_DIAGRAMS = Path(__file__).resolve().parent / "diagrams"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
TEAM = "wijkteam-noord"
OTHER_TEAM = "wijkteam-zuid"

# Only PostgreSQL has SKIP LOCKED, and only a server database can be shared with worker processes.
postgres_only = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


def wait_for(predicate, timeout: float, interval: float = 0.05, message="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds.

    `timeout` bounds a liveness wait, not a latency: it is generous so that a loaded CI host does not fail a
    test whose subject is that the thing happens at all. `message` may be a callable, read at failure time.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for "
                                 f"{message() if callable(message) else message}")
        time.sleep(interval)


def wait_quiet(probe, quiet: float = 0.5, timeout: float = 20, interval: float = 0.05, message: str = "quiet"):
    """Poll `probe` until its value has stayed the same for `quiet` seconds; fail after `timeout` seconds.

    Replaces a fixed sleep before asserting that "nothing else happened": the wait ends as soon as the
    system is observably idle, and a system that keeps changing fails instead of passing by luck.
    """
    deadline = time.monotonic() + timeout
    last, since = probe(), time.monotonic()
    while True:
        time.sleep(interval)
        value = probe()
        now = time.monotonic()
        if value != last:
            last, since = value, now
        elif now - since >= quiet:
            return value
        if now > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message} (last value {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- Redis ---------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_db() -> int:
    """One Redis db number (1-15) for this test run."""
    import redis

    client = redis.Redis(REDIS_HOST, REDIS_PORT, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail("Redis is not running at 127.0.0.1:6379 (scripts/services.sh starts it)")
    return 1 + os.getpid() % 15


@pytest.fixture
def redis_url(redis_db) -> str:
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}"


def _clean_redis(url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        keys = [k for pattern in (f"*{queue}*", f"meldcode:eta:{queue}:*") for k in client.scan_iter(match=pattern)]
        if keys:
            client.delete(*keys)
        client.close()
    except redis.ConnectionError:
        pass


@dataclass
class PrivateRedis:
    """A redis-server of this test's own, which the test may stop and start again."""

    port: int
    directory: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, 10, message=f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self.process = None

    def ping(self) -> bool:
        import redis

        try:
            return redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def private_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed")
    server = PrivateRedis(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


# -- settings, Celery app, workers ---------------------------------------------------------------

@pytest.fixture
def worker_settings(database_url, redis_url) -> WorkerSettings:
    return WorkerSettings(redis_url=redis_url, queue=f"meldcode-test-{uuid.uuid4().hex[:12]}", sweep_interval=1.0,
                          mail_retry_seconds=0.2, smtp_timeout=5.0, engine=Settings(database_url=database_url))


@pytest.fixture
def celery_app(worker_settings):
    from workers.celery_app import make_celery

    app = make_celery(worker_settings)
    yield app
    held = getattr(app, "_meldcode_context", None)
    if held is not None:
        held[1].close()
    app.close()
    _clean_redis(worker_settings.redis_url, worker_settings.queue)


@pytest.fixture
def thread_worker(celery_app):
    """A Celery worker (solo pool) in a thread of this process, consuming the test's queue."""
    from celery.contrib.testing.worker import start_worker

    with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING",
                      shutdown_timeout=30) as worker:
        yield worker


def worker_env(settings: WorkerSettings, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MELDCODE_", "CELERY_"))}
    env.update({
        "PYTHONPATH": str(PROJECT) + os.pathsep + env.get("PYTHONPATH", ""),
        "DATABASE_URL": settings.engine.database_url,
        "REDIS_URL": settings.redis_url or "",
        "MELDCODE_CELERY_QUEUE": settings.queue,
        "MELDCODE_SWEEP_INTERVAL": str(settings.sweep_interval),
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class CeleryProcess:
    """A real `celery worker` (or `celery beat`) process in its own process group."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None
    history: list[int] = field(default_factory=list)

    def start(self, ready_timeout: float = 30) -> CeleryProcess:
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen([sys.executable, "-m", "celery", "-A", "workers.celery_app", *self.args],
                                        cwd=PROJECT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        log.close()
        self.history.append(self.process.pid)
        if self.args[0] == "worker":
            wait_for(lambda: self._ready() or self._died(), ready_timeout, 0.1, f"{self.name} to be ready")
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{self.log()}")
        return self

    def _ready(self) -> bool:
        return b" ready." in self.log_path.read_bytes()[-20000:] if self.log_path.exists() else False

    def _died(self) -> bool:
        return self.process.poll() is not None

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown, no cleanup, like a crashed container."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def celery_processes(tmp_path):
    """Factory for worker/beat subprocesses; all are stopped at the end of the test."""
    started: list[CeleryProcess] = []

    def make(kind: str, settings: WorkerSettings, name: str | None = None, *extra: str, **env) -> CeleryProcess:
        name = name or f"{kind}{len(started) + 1}"
        if kind == "worker":
            args = ["worker", "--pool=solo", "-Q", settings.queue, "-n", f"{name}@%h", "--without-mingle",
                    "--without-gossip", "--without-heartbeat", "--loglevel=INFO", *extra]
        else:
            args = ["beat", "--loglevel=INFO", "-s", str(tmp_path / f"{name}-schedule"), *extra]
        process = CeleryProcess(name, args, worker_env(settings, **env), tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield make
    for process in started:
        process.stop()


# -- database helpers ----------------------------------------------------------------------------

@pytest.fixture
def wacht(deployed):
    """The test diagrams plus `wacht` (a timer due at the start data's `wacht_tot`, then a task)."""
    deployed.deploy_directory(WORKER_DIAGRAMS, "tester")
    return deployed


def start_waiting_cases(engine, due_times, actor=None, *, frozen_at: datetime | None = None) -> list[int]:
    """One `wacht` case per due time (its timer waits until then)."""
    from engine import clock

    actor = actor or Actor("piet", frozenset({"professional"}), team=TEAM)
    with clock.frozen_at(frozen_at):
        return [engine.start_case("wacht", f"CL-W{i:04d}", actor, data={"wacht_tot": due.isoformat()})
                for i, due in enumerate(due_times)]


def timer_states(engine) -> dict[str, int]:
    with engine.sessions() as session:
        return dict(session.execute(select(CaseTimer.state, func.count()).group_by(CaseTimer.state)).all())


def activity(engine) -> tuple:
    """What the workers have done so far: timer states and the number of audit events (no-op firings too)."""
    with engine.sessions() as session:
        events = session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()
    return tuple(sorted(timer_states(engine).items())), events


def fired_count(engine) -> int:
    return timer_states(engine).get("fired", 0)


def assert_each_fired_once(engine, case_ids) -> None:
    """Every case's timer fired, and each exactly once: one firing with effect per case, one follow-up task.

    A worker that claims a case in the instant after another committed its firing (PostgreSQL re-checks the
    locked row but not the due-timer subquery) finds nothing to fire; the engine still audits that as a
    `timer.fire` with no timers. Such no-op events are allowed here; a second firing with effect is not.
    """
    with engine.sessions() as session:
        states = session.execute(select(CaseTimer.case_id, CaseTimer.state)).all()
        events = session.execute(select(AuditEvent.case_id, AuditEvent.outcome, AuditEvent.details)
                                 .where(AuditEvent.action == "timer.fire")).all()
        followups = dict(session.execute(select(CaseTask.case_id, func.count())
                                         .where(CaseTask.element_id == "opvolgen").group_by(CaseTask.case_id)).all())
    assert sorted(c for c, s in states if s == "fired") == sorted(case_ids)
    assert [s for _, s in states if s != "fired"] == []
    assert {outcome for _, outcome, _ in events} == {"success"}
    effective = Counter(c for c, _, details in events if details.get("timers"))
    assert {c: n for c, n in effective.items() if n != 1} == {}, "fired more than once"
    assert set(effective) == set(case_ids)
    assert all(details["timers"] in (["wachten"], []) for _, _, details in events)
    assert followups == {c: 1 for c in case_ids}


# -- accounts ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Person:
    username: str
    roles: tuple[str, ...]
    team: str
    email: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.username, frozenset(self.roles), team=self.team)


PEOPLE = (
    Person("piet", ("professional",), TEAM, "piet@wijkteam.example"),
    Person("karin", ("professional",), TEAM, "karin@wijkteam.example"),
    Person("anna", ("aandachtsfunctionaris",), TEAM, "anna@wijkteam.example"),
    Person("lotte", ("leidinggevende",), TEAM, "lotte@wijkteam.example"),
    Person("zonder_mail", ("professional",), TEAM, None),
    Person("zuid", ("professional", "aandachtsfunctionaris", "leidinggevende"), OTHER_TEAM, "zuid@example.org"),
)


def add_people(db, people=PEOPLE) -> dict[str, Person]:
    """Teams, users, roles and e-mail addresses in the web app's account tables."""
    now = datetime.now(UTC).replace(tzinfo=None)
    with db.begin() as conn:
        teams = {}
        for name in sorted({p.team for p in people}):
            teams[name] = conn.execute(text("INSERT INTO team (name) VALUES (:n) RETURNING id"), {"n": name}).scalar()
        for p in people:
            user_id = conn.execute(text(
                "INSERT INTO app_user (username, display_name, password_hash, team_id, active, session_version, "
                "created_at, email) VALUES (:u, :u, 'x', :t, :a, 1, :c, :e) RETURNING id"),
                {"u": p.username, "t": teams[p.team], "a": True, "c": now, "e": p.email}).scalar()
            for role in p.roles:
                conn.execute(text("INSERT INTO app_user_role (user_id, role) VALUES (:i, :r)"),
                             {"i": user_id, "r": role})
    return {p.username: p for p in people}


@pytest.fixture
def people(db):
    return add_people(db)


# -- SMTP ----------------------------------------------------------------------------------------

class SmtpSink:
    """Keeps every accepted message; `refuse(n, code)` makes the next n messages fail with that code."""

    def __init__(self):
        self.messages = []
        self.refusals: list[str] = []
        self.attempts = 0

    def refuse(self, times: int, reply: str = "451 4.3.0 Tijdelijk niet beschikbaar") -> None:
        self.refusals = [reply] * times

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes, policy

        self.attempts += 1
        if self.refusals:
            return self.refusals.pop(0)
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.url = f"smtp://127.0.0.1:{controller.port}"
    yield sink
    controller.stop()


def at(text_: str) -> datetime:
    """An Amsterdam wall-clock time, e.g. at('2026-04-01 09:00')."""
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text_).replace(tzinfo=ZoneInfo("Europe/Amsterdam"))

