"""Benchmark: sustained task completions per second over HTTP (issue 14's second throughput figure).

The web app runs under gunicorn as in docker-compose.yml (`workers.gunicorn_conf`, `web:create_app()`) on
loopback against a throwaway PostgreSQL schema with the `lus` test diagram (one user task in a loop) deployed.
`--clients` threads, each a user of its own team with an API token (`Authorization: Bearer`) and its own case,
send requests for `--seconds` in each of two flows, one after the other against the same server:
- `list+complete`: GET /api/tasks (its open tasks, an audited read), then POST /api/tasks/<id>/complete;
- `complete`: POST /api/tasks/<id>/complete of the task the previous completion's answer named as open next
  (`open_task_ids`), as an integration that works through a case does; GET /api/tasks only when it names none.
It prints completions/s, p50/p95 latency of the completion request, conflicts (409) and other errors per flow,
and checks that the database holds exactly as many completed task rows and `task.complete` events as requests
succeeded (no lost update). `--direct` adds bench/throughput.py's in-process figure for the same number of
processes.

    .venv/bin/python bench/http_throughput.py [--database-url URL] [--clients 4] [--seconds 20] [--workers 3]
        [--flow list+complete|complete|both]
"""
from __future__ import annotations

import http.client
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from bench import throughput  # noqa: E402
from bench.throwaway import database_parser, postgres_schema  # noqa: E402
from engine.cases import CaseEngine  # noqa: E402
from engine.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from engine.models import AuditEvent, CaseTask  # noqa: E402
from engine.settings import Settings  # noqa: E402
from web.auth import service as accounts  # noqa: E402

TARGET = 150  # completions/s over HTTP, issue 14


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Connection:
    """One client's HTTP/1.1 connection (gunicorn's sync workers close it after each answer: then reopened)."""

    def __init__(self, base: str, token: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port = host, int(port)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.conn: http.client.HTTPConnection | None = None

    def call(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            self.conn.request("GET" if body is None else "POST", path,
                              body=None if body is None else json.dumps(body), headers=self.headers)
            response = self.conn.getresponse()
            payload = response.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if response.will_close:
            self.close()
        return response.status, json.loads(payload) if response.status == 200 else {}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def seed(url: str, clients: int) -> list[str]:
    """Deploy `lus`, and per client a user of its own team, a case of that team and an API token."""
    db = make_engine(url)
    upgrade(db)
    sessions = make_sessionmaker(db)
    engine = CaseEngine(sessions, Settings(database_url=url))
    engine.deploy_directory(throughput.DIAGRAMS, "bench")
    tokens = []
    for n in range(clients):
        name = f"bench-{n}"
        accounts.create_user(sessions, name, "x", ["professional"], team=name, check_strength=False)
        engine.start_case("lus", f"H-{n}", throughput.ACTOR, team=name)
        tokens.append(accounts.create_token(sessions, name, "bench"))
    db.dispose()
    return tokens


def start_gunicorn(url: str, port: int, workers: int | None, log) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_urlsafe(48), SESSION_COOKIE_SECURE="0",
               MELDCODE_MFA_REQUIRED="0", MELDCODE_BIND=f"127.0.0.1:{port}")
    env.pop("REDIS_URL", None)  # no Celery here: each worker sweeps timers itself (`lus` has none)
    if workers is not None:
        env["WEB_CONCURRENCY"] = str(workers)
    # the access log (stdout) is dropped: writing it is not what is measured
    return subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "--config", "python:workers.gunicorn_conf",
                             "web:create_app()"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)


def wait_healthy(base: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/gezondheid", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /gezondheid in time")


FLOWS = ("list+complete", "complete")


def client(base: str, token: str, flow: str, deadline: float, out: dict) -> None:
    connection = Connection(base, token)
    latencies, conflicts, errors = [], 0, 0
    next_ids: list[int] = []
    while time.monotonic() < deadline:
        if flow == "list+complete" or not next_ids:
            status, body = connection.call("/api/tasks")
            if status != 200 or not body["tasks"]:
                errors += 1
                continue
            next_ids = [body["tasks"][0]["id"]]
        started = time.perf_counter()
        status, answer = connection.call(f"/api/tasks/{next_ids[0]}/complete", {"data": throughput.ANSWER})
        next_ids = []
        if status == 200:
            latencies.append(time.perf_counter() - started)
            next_ids = answer["open_task_ids"]
        elif status == 409:
            conflicts += 1
        else:
            errors += 1
    connection.close()
    out.update(latencies=latencies, conflicts=conflicts, errors=errors)


def load(base: str, tokens: list[str], flow: str, seconds: float) -> tuple[list[float], int, int, float]:
    """Run the clients in `flow` for `seconds`: latencies of the completions, conflicts, errors, elapsed."""
    results: list[dict] = [{} for _ in tokens]
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client, args=(base, token, flow, deadline, out))
               for token, out in zip(tokens, results)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (sorted(x for r in results for x in r["latencies"]), sum(r["conflicts"] for r in results),
            sum(r["errors"] for r in results), time.perf_counter() - started)


def stored_completions(url: str) -> tuple[int, int]:
    """Completed task rows and successful `task.complete` audit events in the schema."""
    db = make_engine(url)
    with make_sessionmaker(db)() as session:
        rows = session.scalar(select(func.count()).select_from(CaseTask).where(CaseTask.state == "completed"))
        events = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "task.complete", AuditEvent.outcome == "success"))
    db.dispose()
    return rows or 0, events or 0


def main() -> None:
    parser = database_parser()
    parser.description = __doc__.splitlines()[0]
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: gunicorn_conf's)")
    parser.add_argument("--direct", action="store_true", help="also measure bench/throughput.py's direct figure")
    parser.add_argument("--flow", choices=(*FLOWS, "both"), default="both")
    args = parser.parse_args()
    flows = FLOWS if args.flow == "both" else (args.flow,)
    with postgres_schema(args.database_url) as url, tempfile.TemporaryFile("w+") as log:
        tokens = seed(url, args.clients)
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        proc = start_gunicorn(url, port, args.workers, log)
        measured = {}
        try:
            wait_healthy(base, proc)
            for flow in flows:
                measured[flow] = load(base, tokens, flow, args.seconds)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read()[-4000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        workers = args.workers or f"{os.environ.get('WEB_CONCURRENCY', '3')} (gunicorn_conf)"
        print(f"HTTP completions, gunicorn with {workers} worker(s), {args.clients} client thread(s), "
              f"{args.seconds:.0f} s per flow (target >= {TARGET}/s over HTTP)")
        for flow, (latencies, conflicts, errors, elapsed) in measured.items():
            done = len(latencies)
            p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
            p95 = latencies[min(done - 1, int(done * 0.95))] * 1000 if latencies else float("nan")
            print(f"  {flow:14} {done / elapsed:6.0f} completions/s; completion request p50 {p50:.0f} ms, "
                  f"p95 {p95:.0f} ms; conflicts (409): {conflicts}, errors: {errors}")
        done = sum(len(m[0]) for m in measured.values())
        rows, events = stored_completions(url)
        print(f"  no lost update: {done} completions, {rows} completed task rows, {events} task.complete events "
              f"-> {'OK' if done == rows == events else 'MISMATCH'}")
        if args.direct:
            direct, _, _ = throughput.run(url, args.clients, args.seconds, 20, None)
            print(f"direct (bench/throughput.py, {args.clients} processes): {direct / args.seconds:6.0f} "
                  "completions/s")

if __name__ == "__main__":
    main()
