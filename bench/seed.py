"""Seed a throwaway PostgreSQL schema with N meldcode cases in bulk (server-side INSERT ... SELECT over
generate_series: one statement per table, no row crosses the wire).

The mix, for N cases over 20 years (retention) in 100 teams, newest ids newest:
- `--running` of them (default 3 %: ~30,000 of a million, 300 per team: a team of ~15 professionals with about
  20 cases each) are running, each with one open task at a real user task of processes/meldcode.bpmn in its
  lane (professional, leidinggevende, veilig_thuis), a due date (some overdue), some claimed; 1 % of all cases
  is suspended or terminated; the rest is completed;
- every case has `--history` completed task rows (its documented steps, with answers), two milestones, and
  three audit events (case.start, task.complete, case.view); every 10th case also a list event
  (inbox.view/case.list) that names its client only in details.client_refs, as lists record it;
- a reminder to the responsible professional for every other finished step (read) and every open one (unread);
- one long case per team (the first running one): 400 evaluations of Stap 6 with answers, 400 milestones, 150
  notes;
- Veilig Thuis is involved in about 13 % of the cases (a melding in 8 %, advice in 5 %, and every case with an
  open task in its lane), with the case's team;
- 40 % of the running cases wait on a timer (one of the diagram's timer events), completed cases keep a fired
  one every third case;
- `responsible` is set (by default the professional who started it); the state blob and the variables are those
  of a real meldcode case started by the engine, so rows are as wide as real ones;
- the 100 teams exist with a title, each with `--users-per-team` professionals (default 15, the `prof-TTT-NN`
  the cases name; 150 models one installation shared by a region's organisations: 15,000 users), so pages that
  name people look them up among as many users as a real installation has.

    .venv/bin/python bench/seed.py [--cases N] [--keep] [--database-url URL]

Without `--keep` the schema is dropped at the end (a smoke run: `--cases 10000`); with it, the schema's name is
printed for `bench/queries.py --schema NAME`.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from engine.cases import CaseEngine  # noqa: E402
from engine.db import make_engine, make_sessionmaker, upgrade  # noqa: E402
from engine.settings import Settings  # noqa: E402
from engine.views import Actor  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
NOW = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)  # seeded dates are relative to today
TEAMS = 100
# Open steps of a running case: (element id, name, lane, form, weight) — real user tasks of meldcode.bpmn
OPEN_STEPS = [
    ("stap1_signalen", "Stap 1 – Signalen in kaart brengen", "professional", "stap1_signalen.json", 20),
    ("stap2_consultatie", "Stap 2 – Collegiale consultatie", "professional", "stap2_collegiale_consultatie.json", 12),
    ("stap3_gesprek_voeren", "Stap 3 – Gesprek met de cliënt voeren", "professional", "stap3_gesprek.json", 10),
    ("stap4_afweging1", "Stap 4 – Afweging 1: is er een vermoeden?", "professional", "stap4_afweging1.json", 8),
    ("stap4_afweging2", "Stap 4 – Afweging 2: acuut of structureel onveilig?", "professional",
     "stap4_afweging2.json", 6),
    ("stap5_afweging3_4", "Stap 5 – Afweging 3 en 4: hulp en meewerken", "professional", "stap5_afweging3_4.json", 6),
    ("stap5_hulp_organiseren", "Stap 5 – Hulp bieden of organiseren", "professional", "stap5_hulp_organiseren.json",
     8),
    ("stap6_evaluatiemoment", "Stap 6 – Evaluatie: volg de cliënt", "professional", "stap6_evaluatiemoment.json", 14),
    ("monitoring_afronden", "Monitoringperiode afgelopen: veiligheid nagaan", "professional", "stap6_monitoring.json",
     6),
    ("leidinggevende_agressieprotocol", "Agressieprotocol uitvoeren", "leidinggevende", "agressieprotocol.json", 3),
    ("interne_route_afhandelen", "Interne route – signalen over collega afhandelen", "leidinggevende",
     "interne_route.json", 2),
    ("vt_advies_geven", "Veilig Thuis – adviesvraag beantwoorden", "veilig_thuis", None, 3),
    ("vt_ambtshalve_afwegen", "Veilig Thuis – ambtshalve melding afwegen", "veilig_thuis", None, 2),
]
HISTORY_STEPS = ["stap0_inschatting", "stap1_signalen", "stap2_consultatie", "stap3_gesprek_keuze",
                 "stap3_gesprek_voeren", "stap4_afweging1", "stap4_afweging2", "stap5_afweging3_4",
                 "stap5_hulp_organiseren", "stap6_evaluatiemoment", "afsluiten_vastleggen"]
TIMERS = ["tmr_evaluatiemoment", "tmr_einde_monitoring", "tmr_vt_terugkoppeling"]
ANSWERS = {"signalen": "Blauwe plek op de arm, gezien op 3 februari; kind schrikt bij aanraking.",
           "bron": "De buurvrouw", "besproken_met": "Mentor\nIntern begeleider", "zorg": "hoog",
           "datum_signalering": "2026-02-03", "betreft_beroepskracht": "nee"}


@dataclass(frozen=True)
class Seeded:
    cases: int
    running: int
    open_tasks: int
    history_tasks: int
    timers: int
    audit_events: int
    seconds: float


def team_name(i: int) -> str:
    return f"team-{i:03d}"


def client_ref(case_id: int) -> str:
    return f"CL-{case_id:08d}"


def _real_case(db: Engine) -> tuple[int, bytes, dict]:
    """Deploy processes/ and start one real meldcode case; its state and variables are copied to every row."""
    engine = CaseEngine(make_sessionmaker(db), Settings(database_url=db.url.render_as_string(hide_password=False)))
    engine.deploy_directory(ROOT / "processes", "bench")
    actor = Actor("prof-000-00", frozenset({"professional"}), team=team_name(0))
    case_id = engine.start_case("meldcode", "CL-SEED-0", actor, data={"levensbedreigend": False,
                                                                        "aanleiding": "Signalen van de mentor"})
    with db.connect() as conn:
        pv, state, variables = conn.execute(text("SELECT process_version_id, state, variables FROM cases WHERE id = :i"),
                                            {"i": case_id}).one()
    return pv, state, variables if isinstance(variables, dict) else json.loads(variables)


def seed(db: Engine, n: int, *, running: float = 0.03, history: int = 4, users_per_team: int = 15,
         log=print) -> Seeded:
    """Fill the (migrated, empty) schema of `db` with `n` cases. Ids 1,000,001.. (the real case keeps its own)."""
    started = time.perf_counter()
    pv, state, variables = _real_case(db)
    base = 1_000_000  # seeded case ids start after it; the real case has a low id
    n_running = max(1, int(n * running))
    steps = [s for s in OPEN_STEPS for _ in range(s[4])]
    params = {
        "n": n, "base": base, "pv": pv, "state": state, "vars": json.dumps(variables), "teams": TEAMS,
        "first_running": n - n_running, "now": NOW.replace(tzinfo=None), "answers": json.dumps(ANSWERS),
        "s_el": [s[0] for s in steps], "s_name": [s[1] for s in steps], "s_lane": [s[2] for s in steps],
        "s_form": [s[3] for s in steps], "s_n": len(steps), "h_el": HISTORY_STEPS, "h_n": len(HISTORY_STEPS),
        "t_el": TIMERS, "history": history, "per_team": users_per_team,
    }
    # i = 1..n; a case's start is spread over 20 years, the running ones (the newest) over the last months
    case_sql = """
        WITH s AS (SELECT i, :base + i AS id, (i % :teams) AS t,
                   CASE WHEN i > :first_running
                        THEN :now - ((:n - i + 1)::float / (:n - :first_running + 1)) * INTERVAL '180 days'
                        ELSE :now - INTERVAL '180 days' - ((:first_running - i)::float / :first_running)
                             * INTERVAL '20 years' END AS at
                   FROM generate_series(1, :n) AS i)
        INSERT INTO cases (id, process_version_id, client_ref, team, started_by, started_at, updated_at, ended_at,
                           status, state, variables, compactions, row_version, responsible)
        SELECT id, :pv, 'CL-' || lpad(id::text, 8, '0'), 'team-' || lpad(t::text, 3, '0'),
               'prof-' || lpad(t::text, 3, '0') || '-' || lpad((i % 15)::text, 2, '0'), at,
               at + INTERVAL '3 days',
               CASE WHEN i > :first_running THEN NULL ELSE at + INTERVAL '90 days' END,
               CASE WHEN i > :first_running THEN (CASE WHEN i % 50 = 0 THEN 'suspended' ELSE 'running' END)
                    WHEN i % 100 = 0 THEN 'terminated' ELSE 'completed' END,
               :state, CAST(:vars AS json), 0, 1,
               'prof-' || lpad(t::text, 3, '0') || '-' || lpad(((i + i / 7) % 15)::text, 2, '0')
        FROM s"""
    history_sql = """
        INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, form, state, created_at, due_at,
                               ended_at, completed_by, data, claimed_by)
        SELECT c.id, md5(c.id::text || '-' || h), (CAST(:h_el AS text[]))[1 + (h % :h_n)], (CAST(:h_el AS text[]))[1 + (h % :h_n)],
               'professional', (CAST(:h_el AS text[]))[1 + (h % :h_n)] || '.json', 'completed',
               c.started_at + h * INTERVAL '2 days', NULL, c.started_at + h * INTERVAL '2 days' + INTERVAL '1 hour',
               c.responsible, CAST(:answers AS json), NULL
        FROM cases c, generate_series(0, :history - 1) AS h WHERE c.id > :base"""
    open_sql = """
        INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, form, state, created_at, due_at,
                               ended_at, completed_by, data, claimed_by)
        SELECT c.id, md5(c.id::text || '-open'), (CAST(:s_el AS text[]))[k], (CAST(:s_name AS text[]))[k], (CAST(:s_lane AS text[]))[k], (CAST(:s_form AS text[]))[k], 'ready',
               c.updated_at, CASE WHEN c.id % 4 = 0 THEN NULL
                                  ELSE :now + ((c.id % 60) - 10) * INTERVAL '1 day' END,
               NULL, NULL, NULL, CASE WHEN c.id % 3 = 0 THEN c.responsible END
        FROM (SELECT c.*, 1 + (hashint4(c.id::int) & 2147483647) % :s_n AS k FROM cases c
              WHERE c.id > :base AND c.status IN ('running', 'suspended')) c"""
    # Veilig Thuis involved (with the case's team, revision 0014): a melding in 8 % of the cases, advice asked in
    # 5 %, spread over the teams by a hash (a modulus would line up with the team's), and every case whose open
    # task is in Veilig Thuis's lane.
    involvement_sql = """
        INSERT INTO case_involvement (case_id, party, reason, element_id, task_id, since, team)
        SELECT c.id, 'veilig_thuis', r.reason, r.element_id, NULL, c.started_at + r.after, c.team
        FROM cases c CROSS JOIN (VALUES ('melding', 'stap5_melding_doen', INTERVAL '20 days', 0, 8),
                                        ('advies', 'stap2_consultatie', INTERVAL '6 days', 1, 5))
                                 AS r(reason, element_id, after, salt, percent)
        WHERE c.id > :base AND (hashint4(c.id * 2 + r.salt) & 2147483647) % 100 < r.percent"""
    lane_involvement_sql = """
        INSERT INTO case_involvement (case_id, party, reason, element_id, task_id, since, team)
        SELECT t.case_id, 'veilig_thuis', CASE WHEN t.element_id = 'vt_advies_geven' THEN 'advies' ELSE 'melding' END,
               t.element_id, NULL, t.created_at, c.team
        FROM case_task t JOIN cases c ON c.id = t.case_id
        WHERE t.case_id > :base AND t.state = 'ready' AND t.lane = 'veilig_thuis'
        ON CONFLICT DO NOTHING"""
    # One long case per team (the first running case of each): monitored for months, 400 evaluations with their
    # answers, 400 milestones and 150 notes, as a case file grows when Stap 6 loops.
    long_first = "c.id - :base - :first_running BETWEEN 1 AND :teams AND c.status = 'running'"
    long_sql = f"""
        INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, form, state, created_at, due_at,
                               ended_at, completed_by, data, claimed_by)
        SELECT c.id, md5(c.id::text || '-lang-' || g), 'stap6_evaluatiemoment', 'Stap 6 – Evaluatie: volg de cliënt',
               'professional', 'stap6_evaluatiemoment.json', 'completed', c.started_at + g * INTERVAL '6 hours', NULL,
               c.started_at + g * INTERVAL '6 hours' + INTERVAL '1 hour', c.responsible, CAST(:answers AS json), NULL
        FROM cases c, generate_series(1, 400) AS g WHERE {long_first}"""
    long_milestone_sql = f"""
        INSERT INTO case_milestone (case_id, seq, name, element_id, reached_at)
        SELECT c.id, 10 + g, 'evaluatie_gedaan', 'ms_evaluatie', c.started_at + g * INTERVAL '6 hours'
        FROM cases c, generate_series(1, 400) AS g WHERE {long_first}"""
    long_note_sql = f"""
        INSERT INTO case_note (case_id, author, created_at, kind, text)
        SELECT c.id, c.responsible, c.started_at + g * INTERVAL '16 hours', 'aantekening',
               'Gesprek met moeder gehad; de afspraken zijn nagekomen. (' || g || ')'
        FROM cases c, generate_series(1, 150) AS g WHERE {long_first}"""
    # A reminder to the responsible professional for every other finished step (read a day later) and for every
    # open step (unread): ~1,900 per professional over the 20 years, about 30 unread, as a diligent reader has.
    notification_sql = """
        INSERT INTO notification (case_id, task_id, kind, recipient, role, created_at, status, attempts, sent_at,
                                  read_at)
        SELECT t.case_id, t.id, 'reminder_due', c.responsible, 'professional', coalesce(t.due_at, t.created_at),
               'sent', 1, coalesce(t.due_at, t.created_at),
               CASE WHEN t.state = 'completed' THEN coalesce(t.due_at, t.created_at) + INTERVAL '1 day' END
        FROM case_task t JOIN cases c ON c.id = t.case_id
        WHERE t.case_id > :base AND c.responsible IS NOT NULL AND (t.id % 2 = 0 OR t.state = 'ready')"""
    timer_sql = """
        INSERT INTO case_timer (case_id, spiff_task_id, element_id, due_at, state, created_at, ended_at)
        SELECT c.id, md5(c.id::text || '-tmr'), (CAST(:t_el AS text[]))[1 + c.id % 3],
               CASE WHEN c.status IN ('running', 'suspended') THEN :now + ((c.id % 90) - 2) * INTERVAL '1 day'
                    ELSE c.started_at + INTERVAL '60 days' END,
               CASE WHEN c.status IN ('running', 'suspended') THEN 'waiting' ELSE 'fired' END,
               c.started_at, CASE WHEN c.status IN ('running', 'suspended') THEN NULL
                                  ELSE c.started_at + INTERVAL '60 days' END
        FROM cases c
        WHERE c.id > :base AND ((c.status IN ('running', 'suspended') AND c.id % 5 < 2)
                                OR (c.status NOT IN ('running', 'suspended') AND c.id % 3 = 0))"""
    milestone_sql = """
        INSERT INTO case_milestone (case_id, seq, name, element_id, reached_at)
        SELECT c.id, m, (ARRAY['signalen_in_kaart', 'afweging_gemaakt'])[m],
               (ARRAY['ms_signalen', 'ms_afweging'])[m], c.started_at + m * INTERVAL '3 days'
        FROM cases c, generate_series(1, 2) AS m WHERE c.id > :base"""
    audit_sql = """
        INSERT INTO audit_event (at, actor, action, outcome, case_id, task_id, client_ref, details, actor_roles,
                                 channel, basis)
        SELECT c.started_at + a * INTERVAL '1 day', c.responsible,
               (ARRAY['case.start', 'task.complete', 'case.view'])[a + 1], 'success', c.id, NULL, c.client_ref,
               CAST('{"access": "full", "basis": "role professional in team"}' AS json), 'professional', 'web', 'role'
        FROM cases c, generate_series(0, 2) AS a WHERE c.id > :base"""
    list_sql = """
        INSERT INTO audit_event (at, actor, action, outcome, case_id, client_ref, details, actor_roles, channel, basis)
        SELECT c.started_at + INTERVAL '5 days', c.responsible,
               CASE WHEN c.id % 20 = 0 THEN 'inbox.view' ELSE 'case.list' END, 'success', NULL, NULL,
               json_build_object('client_refs', json_build_array(c.client_ref, 'CL-' || lpad((c.id - 1)::text, 8, '0'),
                                                                 'CL-' || lpad((c.id - 2)::text, 8, '0')),
                                 'filter', 'team'),
               'professional', 'web', 'role'
        FROM cases c WHERE c.id > :base AND c.id % 10 = 0"""
    team_sql = """
        INSERT INTO team (name, title)
        SELECT 'team-' || lpad(t::text, 3, '0'), 'Wijkteam ' || lpad(t::text, 3, '0') FROM generate_series(0, :teams - 1) t
        ON CONFLICT (name) DO NOTHING"""
    user_sql = """
        INSERT INTO app_user (username, display_name, password_hash, team_id, active, session_version, created_at,
                              mfa_exempt)
        SELECT 'prof-' || lpad(t::text, 3, '0') || '-' || lpad(u::text, greatest(2, length(u::text)), '0'),
               'Medewerker ' || t || '-' || u,
               '!seeded: no password', team.id, true, 1, :now, false
        FROM generate_series(0, :teams - 1) t CROSS JOIN generate_series(0, :per_team - 1) u
        JOIN team ON team.name = 'team-' || lpad(t::text, 3, '0')"""
    role_sql = """
        INSERT INTO app_user_role (user_id, role) SELECT id, 'professional' FROM app_user WHERE username LIKE 'prof-%'"""
    counts = {}
    with db.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        # Rows are consistent by construction: no per-row foreign-key or append-only trigger (superuser only)
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        # Bulk load: the secondary indexes are dropped first and built once at the end
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN "
            "('cases', 'case_task', 'case_timer', 'case_milestone', 'audit_event', 'notification') AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE connamespace = current_schema()::regnamespace)")).all()
        for index, _ in indexes:
            conn.execute(text(f'DROP INDEX "{index}"'))
        for name, sql in (("teams", team_sql), ("users", user_sql), ("user roles", role_sql), ("cases", case_sql), ("history tasks", history_sql), ("open tasks", open_sql),
                          ("involvements", involvement_sql), ("involvements, VT lane", lane_involvement_sql),
                          ("long cases: steps", long_sql), ("long cases: milestones", long_milestone_sql),
                          ("long cases: notes", long_note_sql), ("notifications", notification_sql),
                          ("timers", timer_sql), ("milestones", milestone_sql), ("audit events", audit_sql),
                          ("list audit events", list_sql)):
            t0 = time.perf_counter()
            counts[name] = conn.execute(text(sql), params).rowcount
            log(f"  {name:18} {counts[name]:>11,} rows  {time.perf_counter() - t0:6.1f} s")
        t0 = time.perf_counter()
        for _, definition in indexes:
            conn.execute(text(definition))
        log(f"  {'indexes':18} {len(indexes):>11,}       {time.perf_counter() - t0:6.1f} s")
    t0 = time.perf_counter()
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    log(f"  {'vacuum analyze':18} {'':>16}  {time.perf_counter() - t0:6.1f} s")
    return Seeded(n, n_running, counts["open tasks"], counts["history tasks"], counts["timers"],
                  counts["audit events"] + counts["list audit events"], time.perf_counter() - started)


def schema_url(database_url: str, schema: str) -> str:
    return f"{database_url}{'&' if '?' in database_url else '?'}options=-csearch_path%3D{schema}"


def create_schema(database_url: str, prefix: str = "seed") -> str:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    return schema


def drop_schema(database_url: str, schema: str) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def seed_new_schema(database_url: str, n: int, **kwargs) -> tuple[str, Seeded]:
    """A new schema, migrated to head and seeded with `n` cases; the caller drops it (drop_schema)."""
    schema = create_schema(database_url)
    db = make_engine(schema_url(database_url, schema))
    try:
        upgrade(db)
        return schema, seed(db, n, **kwargs)
    except BaseException:
        db.dispose()
        drop_schema(database_url, schema)
        raise
    finally:
        db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--running", type=float, default=0.03, help="share of running cases (default 0.03)")
    parser.add_argument("--history", type=int, default=4, help="completed task rows per case (default 4)")
    parser.add_argument("--users-per-team", type=int, default=15,
                        help="professionals in each of the 100 teams (default 15; 150 = 15,000 users)")
    parser.add_argument("--keep", action="store_true", help="keep the schema (for bench/queries.py --schema)")
    args = parser.parse_args()
    print(f"seeding {args.cases:,} cases ({args.running:.1%} running, {args.history} history rows each) "
          f"and {TEAMS * args.users_per_team:,} users")
    schema, seeded = seed_new_schema(args.database_url, args.cases, running=args.running, history=args.history,
                                     users_per_team=args.users_per_team)
    print(f"{seeded.cases:,} cases ({seeded.running:,} running, {seeded.open_tasks:,} open tasks, "
          f"{seeded.history_tasks:,} history rows, {seeded.timers:,} timers, {seeded.audit_events:,} audit events) "
          f"in {seeded.seconds:.0f} s = {seeded.cases / seeded.seconds:,.0f} cases/s")
    if args.keep:
        print(f"schema kept: {schema}   (bench/queries.py --schema {schema}; drop with DROP SCHEMA {schema} CASCADE)")
    else:
        drop_schema(args.database_url, schema)


if __name__ == "__main__":
    main()
