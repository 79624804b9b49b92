"""Benchmark: the professionals' and administrators' reads at a million cases, p95 next to the target.

Seeds a throwaway PostgreSQL schema with bench/seed.py (or reuses one kept with `seed.py --keep`, `--schema`),
then measures, each `--samples` times after a warm-up, and prints p50/p95 next to the target (query 10 ms, page
50 ms) — three times in the same run: as before issue 14 (the indexes of revision 0010 dropped, and the
need-to-know filters and exact audit count of bench/earlier_access.py), with the indexes but the earlier filters,
and as the product is now:

- inbox: the query (CaseEngine.open_tasks for a professional) and the page (GET /, Flask test client);
- case list: CaseEngine.list_cases (and the page /zaken), and the search by client reference (exact and
  contains, with the same need-to-know filter); engine/case_search.py when it exists;
- case file: the page /zaken/<id> of a running case;
- the beheerder's instance list (engine/oversight.py list_instances + filter_options, and the page);
- the audit search (engine/audit_search.py search_page by client, by user, by action, and all);
- the team dashboard (GET /dashboard as a leidinggevende);
- Veilig Thuis's reads: its inbox (query and page), its case list of every status, and its case search.

    .venv/bin/python bench/queries.py [--cases N] [--schema NAME] [--samples N] [--plans] [--now-only]

`--plans` prints `EXPLAIN (ANALYZE, BUFFERS)` of the statements behind the figures (with the indexes).
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import event, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.earlier_access import earlier_filters  # noqa: E402
from bench.seed import DEFAULT_URL, NOW, client_ref, drop_schema, schema_url, seed_new_schema, team_name  # noqa: E402
from engine import access, audit_search, notifications, oversight  # noqa: E402
from engine.db import make_engine  # noqa: E402
from engine.models import Case, CaseNote  # noqa: E402
from engine.settings import Settings  # noqa: E402
from workers.long_lived import freeze_startup_objects  # noqa: E402

QUERY_TARGET, PAGE_TARGET = 10.0, 50.0
PASSWORD = "bench horse battery staple"
# The professional measured: one the seed made (bench/seed.py), responsible for cases of team 42 with their
# reminders, most read; on a schema seeded without users, a new account of that team.
PROFESSIONAL = "prof-042-03"
MIGRATION = ROOT / "engine" / "migrations" / "versions" / "0010_scale_indexes.py"


def scale_indexes():
    """The indexes of revision 0010 (their names and how to create and drop them), from the migration itself."""
    spec = importlib.util.spec_from_file_location("scale_indexes_0010", MIGRATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass
class Figure:
    name: str
    target: float
    before: tuple[float, float] | None = None
    after: tuple[float, float] | None = None
    now: tuple[float, float] | None = None


# A running server has served a read many times before: psycopg prepares a statement on the server from its fifth
# execution (prepare_threshold), and a page's first renders compile its templates.
WARM_UP = 5


def measure(f: Callable[[], object], samples: int) -> tuple[float, float]:
    for _ in range(WARM_UP):
        f()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        f()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]


class Statements:
    """Collects the SQL statements run inside a block (for --plans)."""

    def __init__(self, db: Engine):
        self.db, self.seen = db, []

    def __enter__(self):
        event.listen(self.db, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        event.remove(self.db, "before_cursor_execute", self._add)

    def _add(self, conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            self.seen.append((statement, parameters))


def make_app(url: str, db: Engine):
    from web import create_app
    from web.auth import service as accounts
    from web.settings import WebSettings

    app = create_app({"MELDCODE_WEB_SETTINGS": WebSettings(secret_key="bench-" + "x" * 40, session_cookie_secure=False,
                                                           start_process="meldcode"),
                      "MELDCODE_ENGINE_SETTINGS": Settings(database_url=url, processes_dir=ROOT / "processes"),
                      "MELDCODE_DB_ENGINE": db})
    services = app.extensions["meldcode"]
    freeze_startup_objects()  # as the servers do before they serve (workers/long_lived.py)
    team = team_name(42)
    try:
        accounts.set_password(services.sessions, PROFESSIONAL, PASSWORD)
    except accounts.AccountError:
        accounts.create_user(services.sessions, PROFESSIONAL, PASSWORD, ["professional"], team, display_name=PROFESSIONAL)
    users = {"beheerder": ("bench-beheer", ["beheerder"], team), "logbeheerder": ("bench-log", ["logbeheerder"], team),
             "leidinggevende": ("bench-lead", ["leidinggevende"], team),
             "veilig_thuis": ("bench-vt", ["veilig_thuis"], team)}
    for username, roles, t in users.values():
        try:
            accounts.create_user(services.sessions, username, PASSWORD, roles, t, display_name=username)
        except accounts.AccountError:  # a kept schema measured again
            pass
    return app, services


def signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/inloggen")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = client.post("/inloggen", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302, f"sign-in of {username} failed: {response.status_code}"
    return client


def ok(response):
    assert response.status_code == 200, f"{response.request.path}: {response.status_code}"
    return response


def workload(app, services, db: Engine) -> dict[str, tuple[float, Callable[[], object]]]:
    """name -> (target ms, the measured call)."""
    prof = signed_in(app, PROFESSIONAL)
    beheer = signed_in(app, "bench-beheer")
    log = signed_in(app, "bench-log")
    lead = signed_in(app, "bench-lead")
    vt = signed_in(app, "bench-vt")
    with services.sessions() as session:
        team_case = session.scalar(select(Case.id).where(Case.team == team_name(42), Case.status == "running")
                                   .order_by(Case.id.desc()).limit(1))
        # the team's long case (bench/seed.py: the only cases with notes); on an older seed the same case
        long_case = session.scalar(select(CaseNote.case_id).join(Case, Case.id == CaseNote.case_id)
                                   .where(Case.team == team_name(42)).limit(1)) or team_case
    from engine.views import Actor
    professional = Actor(PROFESSIONAL, frozenset({"professional"}), team=team_name(42))
    veilig_thuis = Actor("bench-vt", frozenset({"veilig_thuis"}), team=team_name(42))
    wanted = client_ref(team_case)
    contains = wanted[-6:]

    def ref_search(condition):
        def run():
            with services.sessions() as session:
                return session.execute(select(Case.id, Case.client_ref, Case.team, Case.status, Case.started_at)
                                       .where(access.case_filter(session, professional, NOW), condition)
                                       .order_by(Case.id.desc()).limit(50)).all()
        return run

    def instances(f: oversight.InstanceFilter, after_id=None):
        def run():
            with services.sessions() as session:
                return oversight.list_instances(session, f, after_id=after_id, limit=50, now=NOW)
        return run

    def unread_notifications():
        with services.sessions() as session:
            return notifications.for_user(session, PROFESSIONAL, unread_only=True, limit=20)

    def filter_options():
        with services.sessions() as session:
            return oversight.filter_options(session)

    def audit(q: audit_search.AuditQuery):
        def run():  # the module's attribute at call time: bench/earlier_access.py swaps in the exact count
            with services.sessions() as session:
                return audit_search.search_page(session, q, page=1, per_page=50)
        return run

    work = {
        "inbox query (open_tasks, professional)": (QUERY_TARGET, lambda: services.cases.open_tasks(actor=professional)),
        "inbox page GET /": (PAGE_TARGET, lambda: ok(prof.get("/"))),
        "inbox notifications (unread, ~1,900 read)": (QUERY_TARGET, unread_notifications),
        "case list query (list_cases, running)": (PAGE_TARGET, lambda: services.cases.list_cases(
            actor=professional, status="running")),
        "case list page GET /zaken": (PAGE_TARGET, lambda: ok(prof.get("/zaken"))),
        "client ref exact (need-to-know filter)": (PAGE_TARGET, ref_search(Case.client_ref == wanted)),
        "client ref contains (ILIKE %..%)": (PAGE_TARGET, ref_search(Case.client_ref.ilike(f"%{contains}%"))),
        f"case file page GET /zaken/{team_case}": (PAGE_TARGET, lambda: ok(prof.get(f"/zaken/{team_case}"))),
        "case file page, a long case (404 steps)": (PAGE_TARGET, lambda: ok(prof.get(f"/zaken/{long_case}"))),
        "instances: no filter": (PAGE_TARGET, instances(oversight.InstanceFilter())),
        "instances: team + step + overdue": (PAGE_TARGET, instances(oversight.InstanceFilter(
            team=team_name(7), step="stap1_signalen", overdue=True))),
        "instances: step, deep page": (PAGE_TARGET, instances(oversight.InstanceFilter(step="stap6_evaluatiemoment"),
                                                              after_id=1_500_000)),
        "instances: suspended": (PAGE_TARGET, instances(oversight.InstanceFilter(status="suspended"))),
        "instances: filter options": (PAGE_TARGET, filter_options),
        "instances page GET /beheer/zaken": (PAGE_TARGET, lambda: ok(beheer.get("/beheer/zaken"))),
        "audit search: client": (PAGE_TARGET, audit(audit_search.AuditQuery(client_ref=wanted))),
        "audit search: user": (PAGE_TARGET, audit(audit_search.AuditQuery(user="prof-042-03"))),
        "audit search: action prefix case.": (PAGE_TARGET, audit(audit_search.AuditQuery(action="case."))),
        "audit search: all": (PAGE_TARGET, audit(audit_search.AuditQuery())),
        "audit page GET /auditlog?client": (PAGE_TARGET, lambda: ok(log.get(f"/auditlog?client_ref={wanted}"))),
        "team dashboard page GET /dashboard": (PAGE_TARGET, lambda: ok(lead.get("/dashboard"))),
        "Veilig Thuis inbox query (open_tasks)": (QUERY_TARGET, lambda: services.cases.open_tasks(actor=veilig_thuis)),
        "Veilig Thuis inbox page GET /": (PAGE_TARGET, lambda: ok(vt.get("/"))),
        "Veilig Thuis case list page, every status": (PAGE_TARGET, lambda: ok(vt.get("/zaken?status=alle"))),
    }
    try:
        from engine import case_search  # written by another helper; measured when present
    except ImportError:
        return work

    def find(actor=professional, **kwargs):
        def run():
            return case_search.search_cases(services.sessions, actor, case_search.CaseQuery(**kwargs), now=NOW)
        return run

    work.update({
        "case search: running (default list)": (PAGE_TARGET, find(status="running")),
        "case search: client ref contains": (PAGE_TARGET, find(q=contains)),
        "case search: client ref, all statuses": (PAGE_TARGET, find(q=wanted)),
        "case search: step 2 + overdue": (PAGE_TARGET, find(status="running", step=2, overdue=True)),
        "case search: responsible, by deadline": (PAGE_TARGET, find(responsible="prof-042-03",
                                                                    sort=case_search.CaseSort.DEADLINE)),
        "case search: completed, page 3": (PAGE_TARGET, find(status="completed", page=3)),
        "case search: every status, by deadline": (PAGE_TARGET, find(status=None,
                                                                     sort=case_search.CaseSort.DEADLINE)),
        "case search: Veilig Thuis, every status": (PAGE_TARGET, find(veilig_thuis, status=None)),
        "case search: Veilig Thuis, by deadline p3": (PAGE_TARGET, find(veilig_thuis, status=None, page=3,
                                                                        sort=case_search.CaseSort.DEADLINE)),
        "case search page GET /zaken?q=": (PAGE_TARGET, lambda: ok(prof.get(f"/zaken?q={contains}"))),
    })
    return work


def set_indexes(db: Engine, module, present: bool) -> float:
    started = time.perf_counter()
    with db.begin() as conn:
        if present:
            module.create_indexes(conn)
        else:
            module.drop_indexes(conn)
        conn.execute(text("ANALYZE cases, case_task, case_timer, audit_event"))
    return time.perf_counter() - started


def print_plans(db: Engine, work) -> None:
    for name, (_, f) in work.items():
        if "page" in name:
            continue
        with Statements(db) as statements:
            f()
        print(f"\n=== {name}: {len(statements.seen)} statement(s)")
        for statement, parameters in statements.seen:
            with db.connect() as conn:
                raw = conn.connection.dbapi_connection
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    plan = "\n".join(r[0] for r in cursor.fetchall())
            print(re.sub(r"\s+", " ", statement)[:300])
            print(plan)


def _pair(figure: tuple[float, float] | None, width: int) -> str:
    """p50 and p95 in the table's columns ("-" when not measured: --now-only)."""
    if figure is None:
        return f"{'-':>{width}}{'-':>8}"
    return f"{figure[0]:>{width}.1f}{figure[1]:>8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--schema", help="a schema seeded by `bench/seed.py --keep` (left in place)")
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--plans", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of the queries")
    parser.add_argument("--now-only", action="store_true",
                        help="measure the current code only, not the two earlier columns (at 10 million cases "
                             "each earlier read takes seconds to minutes)")
    args = parser.parse_args()
    schema = args.schema
    if schema is None:
        print(f"seeding {args.cases:,} cases into a throwaway schema (bench/seed.py)")
        schema, seeded = seed_new_schema(args.database_url, args.cases, log=lambda *a: None)
        print(f"seeded in {seeded.seconds:.0f} s: {seeded.running:,} running, {seeded.open_tasks:,} open tasks, "
              f"{seeded.history_tasks:,} history rows, {seeded.timers:,} timers, {seeded.audit_events:,} audit events")
    url = schema_url(args.database_url, schema)
    db = make_engine(url)
    module = scale_indexes()
    try:
        with db.connect() as conn:
            n = conn.scalar(text("SELECT count(*) FROM cases"))
        app, services = make_app(url, db)
        work = workload(app, services, db)
        figures = {name: Figure(name, target) for name, (target, _) in work.items()}
        with earlier_filters():
            for present in () if args.now_only else (False, True):
                took = set_indexes(db, module, present)
                print(f"revision 0010 indexes {'built' if present else 'dropped'} in {took:.1f} s; measuring "
                      f"{len(work)} reads x {args.samples} with the need-to-know filters before issue 14")
                for name, (_, f) in work.items():
                    setattr(figures[name], "after" if present else "before", measure(f, args.samples))
        print("with 0010 and the need-to-know filters of engine/access.py now")
        for name, (_, f) in work.items():
            figures[name].now = measure(f, args.samples)
        print(f"\n{n:,} cases; p50/p95 in ms, {args.samples} samples each (same run, same machine load)")
        print(f"{'read':42}{'target':>7} | {'before 0010':>11}{'p95':>8} | {'with 0010':>10}{'p95':>8} | "
              f"{'now':>10}{'p95':>8}  ok")
        for f in figures.values():
            print(f"{f.name[:42]:42}{f.target:>7.0f} | {_pair(f.before, 11)} | {_pair(f.after, 10)} | "
                  f"{f.now[0]:>10.1f}{f.now[1]:>8.1f}  {'yes' if f.now[1] <= f.target else 'NO'}")
        if args.plans:
            print("\nplans with revision 0010 and the filters before issue 14")
            with earlier_filters():
                print_plans(db, work)
            print("\nplans now (revision 0010, engine/access.py's filters)")
            print_plans(db, work)
    finally:
        db.dispose()
        if args.schema is None:
            drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
