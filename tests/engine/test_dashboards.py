"""engine/dashboards.py on both databases: cases of the web tests' `proef` diagram driven through their steps on
a frozen clock, so that every count, month and duration is known exactly."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from engine import clock, dashboards
from engine.access import AccessDenied
from engine.models import AuditEvent, CaseInvolvement
from engine.views import Actor

WEB_DIAGRAMS = Path(__file__).resolve().parents[1] / "web" / "diagrams"
NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
TZ = "Europe/Amsterdam"
DAY = 86400.0
# Steps as engine/progress.py names them
S1, S2, S4 = "Stap 1 · Signalen in kaart brengen", "Stap 2 · Collegiale consultatie en advies", "Stap 4 · Wegen"

PIET = Actor("piet", frozenset({"professional"}), team="noord")
ANNA = Actor("anna", frozenset({"aandachtsfunctionaris"}), team="noord")
LEO = Actor("leo", frozenset({"leidinggevende"}), team="noord")
ZUID_PROF = Actor("zara", frozenset({"professional"}), team="zuid")
ZUID_AF = Actor("zeno", frozenset({"aandachtsfunctionaris"}), team="zuid")

STAP1 = {"signalen": "Blauwe plek.", "betreft_beroepskracht": False, "zorg": "laag", "datum_signalering": "2026-01-05"}
STAP2 = {"geraadpleegd": "Collega", "advies": "Gesprek voeren", "advies_veilig_thuis": False}
STAP4 = {"vermoeden": True, "toelichting": "Vermoeden blijft"}
ROUTE = (("stap1", "professional", STAP1), ("stap2", "aandachtsfunctionaris", STAP2), ("stap4", "professional", STAP4))
NOORD = {"professional": PIET, "aandachtsfunctionaris": ANNA}
ZUID = {"professional": ZUID_PROF, "aandachtsfunctionaris": ZUID_AF}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


class Driver:
    def __init__(self, engine):
        self.engine = engine

    def start(self, ref: str, when: str, actor: Actor = PIET) -> int:
        with clock.frozen_at(at(when)):
            return self.engine.start_case("proef", ref, actor, team=actor.team,
                                          data={"levensbedreigend": False, "aanleiding": "test"})

    def complete(self, case_id: int, element_id: str, when: str, actor: Actor, data: dict) -> None:
        [task] = [t for t in self.engine.open_tasks(case_id=case_id) if t.element_id == element_id]
        with clock.frozen_at(at(when)):
            self.engine.complete_task(task.id, actor, data)

    def walk(self, ref: str, team: dict[str, Actor], started: str, completed: tuple[str, ...]) -> int:
        """A case of `team` started at `started`, its first steps of ROUTE completed at the moments `completed`."""
        case_id = self.start(ref, started, team["professional"])
        for (element_id, lane, data), when in zip(ROUTE, completed):
            self.complete(case_id, element_id, when, team[lane], data)
        return case_id


@pytest.fixture
def team_cases(case_engine):
    """Team noord:
    A  Stap 1 open, due 2026-06-12 (overdue on 15 June)
    B  Stap 1 took 2 days; Stap 2 open; Veilig Thuis asked for advice in June 2026
    C  Stap 1 4 days, Stap 2 3 days, Stap 4 1 day, melding in March 2026; Terugkoppeling open
    F  Stap 1 9 days; Stap 2 open; an advice in June 2025 (before the period)
    G  Stap 1 completed in May 2025 (before the period: not in the durations); Stap 2 open
    H  Stap 1 1 day, Stap 2 6 days, Stap 4 completed 30 Nov 23:30 UTC = 1 Dec 00:30 in Amsterdam: a melding of
       December 2025; Terugkoppeling open
    Team zuid: D through to a melding in March 2026 and an advice in June 2026 (never counted for noord)."""
    case_engine.deploy_directory(WEB_DIAGRAMS, "tester")
    started_and_steps = {  # case: its team, when it started, when each of its steps of ROUTE was completed
        "A": (NOORD, "2026-06-10T09:00", ()),
        "B": (NOORD, "2026-06-01T09:00", ("2026-06-03T09:00",)),
        "C": (NOORD, "2026-03-02T09:00", ("2026-03-06T09:00", "2026-03-09T09:00", "2026-03-10T09:00")),
        "F": (NOORD, "2026-01-05T09:00", ("2026-01-14T09:00",)),
        "G": (NOORD, "2025-04-28T09:00", ("2025-05-01T09:00",)),
        "H": (NOORD, "2025-11-03T09:00", ("2025-11-04T09:00", "2025-11-10T09:00", "2025-11-30T23:30")),
        "D": (ZUID, "2026-03-02T09:00", ("2026-03-03T09:00", "2026-03-04T09:00", "2026-03-05T09:00")),
    }
    d = Driver(case_engine)
    ids = {key: d.walk(f"CL-{key}", *case) for key, case in started_and_steps.items()}
    # The proef diagram has no Veilig Thuis lane: its advice involvement is written as the engine writes it.
    with case_engine.sessions.begin() as session:
        for key, since in (("B", "2026-06-01T10:00"), ("F", "2025-06-20T10:00"), ("D", "2026-06-05T10:00")):
            session.add(CaseInvolvement(case_id=ids[key], party="veilig_thuis", reason="advies", since=at(since)))
    return ids


def board(case_engine, actor: Actor, months: int = 12):
    period = dashboards.last_months(months, tz=TZ, now=NOW)
    return dashboards.team_dashboard(case_engine.sessions, actor, period, now=NOW)


def test_open_cases_per_step_and_overdue_tasks_of_the_own_team(case_engine, team_cases):
    result = board(case_engine, ANNA)
    assert result.team == "noord"
    assert [(r.step, r.open_cases, r.overdue_tasks) for r in result.steps] == [
        (S1, 1, 1), (S2, 3, 0),
        ("Terugkoppeling Veilig Thuis vastleggen", 2, 0)]
    assert (result.open_cases, result.overdue_tasks) == (6, 1)


def test_meldingen_and_adviezen_per_month_in_the_local_time_zone(case_engine, team_cases):
    result = board(case_engine, LEO)
    assert [m.month for m in result.months] == [date(2025, m, 1) for m in range(7, 13)] + \
        [date(2026, m, 1) for m in range(1, 7)]
    counts = {m.month: (m.meldingen, m.adviezen) for m in result.months if m.meldingen or m.adviezen}
    assert counts == {date(2025, 12, 1): (1, 0), date(2026, 3, 1): (1, 0), date(2026, 6, 1): (0, 1)}


def test_time_per_step_median_and_mean_of_the_tasks_completed_in_the_period(case_engine, team_cases):
    result = board(case_engine, ANNA)
    got = {r.step: (r.tasks, r.median_seconds / DAY, r.mean_seconds / DAY) for r in result.durations}
    stap4_h = (at("2025-11-30T23:30") - at("2025-11-10T09:00")) / timedelta(days=1)
    assert set(got) == {S1, S2, S4}
    assert got[S1][0] == 4 and got[S1][1:] == pytest.approx((3.0, 4.0))  # 1, 2, 4, 9 days
    assert got[S2][0] == 2 and got[S2][1:] == pytest.approx((4.5, 4.5))  # 3, 6 days
    assert got[S4][0] == 2 and got[S4][1:] == pytest.approx(((1 + stap4_h) / 2,) * 2)


def test_a_step_of_two_elements_counts_a_case_once_and_takes_the_median_over_both(case_engine, team_cases):
    """A step's figures come from its elements' groups (engine/progress.py maps `stap1__tweede` to Stap 1): a
    case open in two of its elements is one open case, and the median is of all the step's durations."""
    from engine.models import CaseTask

    with case_engine.sessions.begin() as session:
        session.add_all([
            CaseTask(case_id=team_cases["A"], spiff_task_id="extra-open", element_id="stap1__tweede", name="Stap 1",
                     lane="professional", state="ready", created_at=at("2026-06-10T09:00"),
                     due_at=at("2026-06-20T09:00")),
            CaseTask(case_id=team_cases["B"], spiff_task_id="extra-done", element_id="stap1__tweede", name="Stap 1",
                     lane="professional", state="completed", created_at=at("2026-06-01T09:00"),
                     ended_at=at("2026-06-08T09:00"))])  # 7 days
    result = board(case_engine, ANNA)
    assert [(r.step, r.open_cases, r.overdue_tasks) for r in result.steps][0] == (S1, 1, 1)
    got = {r.step: (r.tasks, r.median_seconds / DAY, r.mean_seconds / DAY) for r in result.durations}
    assert got[S1][0] == 5 and got[S1][1:] == pytest.approx((4.0, 23 / 5))  # 1, 2, 4, 7, 9 days


def test_a_shorter_period_leaves_out_older_months(case_engine, team_cases):
    result = board(case_engine, ANNA, months=3)  # April, May, June 2026
    assert [m.month for m in result.months] == [date(2026, 4, 1), date(2026, 5, 1), date(2026, 6, 1)]
    assert sum(m.meldingen for m in result.months) == 0
    assert {r.step: r.tasks for r in result.durations} == {S1: 1}  # B's, on 3 June
    assert result.open_cases == 6  # open cases are counted now, whatever the period


def test_another_team_counts_only_its_own_cases(case_engine, team_cases):
    result = board(case_engine, ZUID_AF)
    assert [(r.step, r.open_cases) for r in result.steps] == [("Terugkoppeling Veilig Thuis vastleggen", 1)]
    assert {m.month: (m.meldingen, m.adviezen) for m in result.months if m.meldingen or m.adviezen} == {
        date(2026, 3, 1): (1, 0), date(2026, 6, 1): (0, 1)}
    assert {r.step: r.tasks for r in result.durations} == {S1: 1, S2: 1, S4: 1}


def test_a_case_waiting_without_an_open_task_has_its_own_row(case_engine):
    case_engine.deploy_directory(WEB_DIAGRAMS, "tester")
    d = Driver(case_engine)
    case_id = d.start("CL-W", "2026-06-01T09:00")
    from engine.models import CaseTask
    with case_engine.sessions.begin() as session:  # as if the open task were cancelled by a timer
        for task in session.scalars(select(CaseTask).where(CaseTask.case_id == case_id)):
            task.state = "cancelled"
    result = board(case_engine, ANNA)
    assert [(r.step, r.open_cases) for r in result.steps] == [(dashboards.WAITING, 1)]


def test_the_view_is_audited_without_client_data_and_a_professional_is_refused(case_engine, team_cases):
    board(case_engine, ANNA)
    with pytest.raises(AccessDenied):
        board(case_engine, PIET)
    with pytest.raises(AccessDenied):
        board(case_engine, Actor("vera", frozenset({"veilig_thuis"}), team="noord"))
    with case_engine.sessions() as session:
        events = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "dashboard.view")
                                      .order_by(AuditEvent.id)))
    assert [(e.actor, e.outcome, e.case_id, e.client_ref) for e in events] == [
        ("anna", "success", None, None), ("piet", "denied", None, None), ("vera", "denied", None, None)]
    assert events[0].details["team"] == "noord" and events[0].details["months"] == 12


def test_a_team_without_cases_gets_zeroes(case_engine):
    result = board(case_engine, ANNA)
    assert result.steps == [] and result.durations == []
    assert len(result.months) == 12 and all(m.meldingen == m.adviezen == 0 for m in result.months)


def test_last_months_counts_whole_calendar_months():
    period = dashboards.last_months(12, tz=TZ, now=at("2026-01-31T23:30"))  # 1 February in Amsterdam
    assert (period.first, period.last) == (date(2025, 3, 1), date(2026, 2, 1))
    assert dashboards.last_months(99, tz=TZ, now=NOW).months == dashboards.MAX_MONTHS
    assert period.boundaries()[0] == at("2025-02-28T23:00")


@pytest.mark.backends("postgres")
def test_the_period_is_found_by_index_among_twenty_years_of_a_teams_cases(case_engine, team_cases):
    """Revision 0013: a team's cases that ended long ago are not read to find those of the period. Before it,
    PostgreSQL read all of a team's cases (10,000 at a million) in each of three statements."""
    from sqlalchemy import text

    from tests.engine.plans import analyze, copy_case, plan, statements_during

    before = board(case_engine, LEO)
    with case_engine.sessions.begin() as session:
        copy_case(session, "CL-A", 3000, {"client_ref": "'CL-OUD-' || g", "status": "'completed'",
                                          "started_at": "TIMESTAMP '2008-01-01' + g * INTERVAL '1 hour'",
                                          "ended_at": "TIMESTAMP '2009-01-01' + g * INTERVAL '1 hour'"})
        # each with its documented steps and a melding, all long before the period
        session.execute(text(
            "INSERT INTO case_task (case_id, spiff_task_id, element_id, name, lane, state, created_at, ended_at) "
            "SELECT c.id, md5(c.id::text || s), 'stap1', 'Stap 1', 'professional', 'completed', c.started_at, "
            "c.ended_at FROM cases c, generate_series(1, 4) AS s WHERE c.client_ref LIKE 'CL-OUD-%'"))
        session.execute(text(
            "INSERT INTO case_milestone (case_id, name, element_id, seq, reached_at) "
            "SELECT c.id, 'melding_veilig_thuis', 'melding', 1, c.ended_at FROM cases c "
            "WHERE c.client_ref LIKE 'CL-OUD-%'"))
        analyze(session, "cases", "case_task", "case_milestone", "case_involvement")
    bind = case_engine.sessions.kw["bind"]
    after, sent = statements_during(bind, "FROM ", lambda: board(case_engine, LEO))
    assert (after.steps, after.months, after.durations) == (before.steps, before.months, before.durations)
    in_period = [(st, p) for st, p in sent if "cases.ended_at >=" in st]
    assert len(in_period) == 2  # meldingen and the durations
    for statement, parameters in in_period:
        planned = plan(bind, statement, parameters)
        assert "ix_cases_team_ended_at" in planned, planned
    # The adviezen: the team's involvements by their own team (revision 0014), without reading cases at all
    [statement] = [st for st, _ in sent if "FROM case_involvement" in st]
    assert "JOIN cases" not in statement and "case_involvement.team =" in statement
