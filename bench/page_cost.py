"""Benchmark: what one page costs, wall and CPU, on a seeded schema, optionally next to an earlier revision.

Each path is requested `--samples` times after a warm-up through the Flask test client, signed in as a
professional of the seeded team 42 (or another role of it, `--role`), and the median wall and CPU time of this process (the web's own share; the
database server's time shows only in wall), the p95 wall time, the statements per request and the page size are
printed. With `--baseline REV` the same is measured for the code of git revision REV (checked out into a temporary
worktree, run with this checkout's packages), alternating with the current code for `--rounds` rounds, so both
see the same load on a machine whose speed moves within minutes.

    .venv/bin/python bench/seed.py --cases 1000000 --keep [--users-per-team 150]
    .venv/bin/python bench/page_cost.py --schema NAME [--path / --path '/zaken/{case}'] [--samples 100]
        [--baseline REV --rounds 3]

`{case}` in a path is the newest running case of the team.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

from collector import FullPasses  # noqa: E402  # bench/ (this script's folder), also when measuring older code

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-page-cost-1"
USERNAME, TEAM = "bench-page", "team-042"


def measure(code_root: Path, url: str, paths: list[str], samples: int, role: str = "professional") -> dict[str, dict]:
    """Import the product from `code_root` and measure each path (run in a process of its own)."""
    sys.path.insert(0, str(code_root))
    from sqlalchemy import event, select

    from engine.db import make_engine
    from engine.models import Case
    from engine.settings import Settings
    from web import create_app
    from web.auth import service as accounts
    from web.settings import WebSettings

    db = make_engine(url)
    app = create_app({"MELDCODE_WEB_SETTINGS": WebSettings(secret_key="bench-" + "x" * 40,
                                                           session_cookie_secure=False, start_process="meldcode"),
                      "MELDCODE_ENGINE_SETTINGS": Settings(database_url=url, processes_dir=code_root / "processes"),
                      "MELDCODE_DB_ENGINE": db})
    services = app.extensions["meldcode"]
    try:  # as the servers do before they serve (code from before workers/long_lived.py did not)
        from workers.long_lived import freeze_startup_objects
    except ImportError:
        pass
    else:
        freeze_startup_objects()
    username = USERNAME if role == "professional" else f"{USERNAME}-{role}"
    try:
        accounts.create_user(services.sessions, username, PASSWORD, [role], TEAM, display_name=username)
    except accounts.AccountError:  # measured before on this schema
        pass
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/inloggen").text).group(1)
    response = client.post("/inloggen", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, f"sign-in failed: {response.status_code}"
    with services.sessions() as session:
        case_id = session.scalar(select(Case.id).where(Case.team == TEAM, Case.status == "running")
                                 .order_by(Case.id.desc()).limit(1))
    statements: list[int] = []
    event.listen(db, "before_cursor_execute", lambda *args: statements.append(1))
    results = {}
    for path in paths:
        url_path = path.replace("{case}", str(case_id))
        for _ in range(max(5, samples // 5)):
            assert client.get(url_path).status_code == 200, url_path
        wall, cpu, counts, size = [], [], [], 0
        with FullPasses() as passes:
            for _ in range(samples):
                statements.clear()
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get(url_path)
                wall.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
                assert response.status_code == 200, f"{url_path}: {response.status_code}"
                counts.append(len(statements))
                size = len(response.data)
        results[path] = {"wall": statistics.median(wall), "p95": statistics.quantiles(wall, n=20, method="inclusive")[-1],
                         "max": max(wall), "cpu": statistics.median(cpu), "statements": statistics.median(counts),
                         "bytes": size, "full_gc": len(passes.pauses), "full_gc_ms": max(passes.pauses, default=0.0)}
    db.dispose()
    return results


def _run(code_root: Path, args) -> dict[str, dict]:
    """One measurement in a fresh process (imports must come from `code_root`, and caches start cold)."""
    command = [sys.executable, str(Path(__file__).resolve()), "--schema", args.schema, "--database-url",
               args.database_url, "--samples", str(args.samples), "--role", args.role, "--measure", str(code_root)]
    for path in args.path:
        command += ["--path", path]
    out = subprocess.run(command, check=True, capture_output=True, text=True, cwd=code_root,
                         env={**os.environ, "PYTHONPATH": ""}).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--schema", required=True, help="a schema seeded by `bench/seed.py --keep`")
    parser.add_argument("--path", action="append", help="default: / and /zaken/{case}")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--baseline", help="a git revision to measure alternately with the current code")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--role", default="professional",
                        help="the role of the account that signs in (e.g. leidinggevende for /dashboard)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # internal: measure the code at this root
    args = parser.parse_args()
    args.path = args.path or ["/", "/zaken/{case}"]
    url = f"{args.database_url}{'&' if '?' in args.database_url else '?'}options=-csearch_path%3D{args.schema}"
    if args.measure:
        print(json.dumps(measure(Path(args.measure), url, args.path, args.samples, args.role)))
        return
    runs: dict[str, list[dict[str, dict]]] = {"now": []}
    with tempfile.TemporaryDirectory() as tmp:
        codes = {"now": ROOT}
        if args.baseline:
            worktree = Path(tmp) / "baseline"
            subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(worktree), args.baseline],
                           cwd=ROOT, check=True)
            codes["baseline"], runs["baseline"] = worktree, []
        try:
            for _ in range(args.rounds if args.baseline else 1):
                for name, code_root in codes.items():
                    runs[name].append(_run(code_root, args))
        finally:
            if args.baseline:
                subprocess.run(["git", "worktree", "remove", "--force", str(codes["baseline"])], cwd=ROOT,
                               check=True)
    print(f"schema {args.schema}; {args.samples} requests per path and run; ms per request (median of each run)")
    print("full GC: the garbage collector's passes over its oldest generation during the run, and the longest")
    print(f"{'path':24} {'code':>10} | {'wall p50':>18} | {'wall p95':>18} | {'wall max':>18} | {'CPU p50':>18} | "
          f"{'full GC n/max ms':>24} | statements | bytes")
    for path in args.path:
        for name, found in runs.items():
            label = name if name == "now" else args.baseline[:10]
            figures = {k: " ".join(f"{r[path].get(k, 0):5.1f}" for r in found) for k in ("wall", "p95", "max", "cpu")}
            full = " ".join(f"{r[path].get('full_gc', 0)}/{r[path].get('full_gc_ms', 0):.0f}" for r in found)
            print(f"{path:24} {label:>10} | {figures['wall']:>18} | {figures['p95']:>18} | {figures['max']:>18} | "
                  f"{figures['cpu']:>18} | {full:>24} | {found[0][path]['statements']:>10.0f} | "
                  f"{found[0][path]['bytes']:,}")


if __name__ == "__main__":
    main()
