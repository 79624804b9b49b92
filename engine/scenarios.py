"""Replay a case without a person (contract.md "Scenarios").

A scenario answers every user task from a table of answers keyed by field name,
moves a scenario clock for timers and delays, and checks the milestones reached.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from . import clock
from .cases import Actor, CaseEngine
from .contract import CASE_VARIABLES, LANES
from .db import make_engine, make_sessionmaker, upgrade
from .diagrams import read_directory
from .errors import DiagramError, EngineError
from .settings import Settings

MAX_TASKS = 5000
MAX_TIMER_FIRINGS = 5000
PLACEHOLDER = "(scenario: automatisch ingevuld)"
SCENARIO_ACTOR = Actor("scenario", frozenset(LANES), team="scenario")
KNOWN_KEYS = {"name", "process", "answers", "expect", "autofill", "start", "delays", "description"}
EXPECT_KEYS = {"milestones_include", "milestones_exclude", "state"}


class ScenarioError(Exception):
    """The scenario file itself is wrong, or the case cannot be answered from it."""


@dataclass
class ScenarioResult:
    name: str
    passed: bool
    milestones: list[str] = field(default_factory=list)
    state: str | None = None
    open_tasks: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


def load_scenario(path: Path) -> dict:
    try:
        scenario = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    check_format(scenario, str(path))
    return scenario


def check_format(scenario, where: str) -> None:
    if not isinstance(scenario, dict):
        raise ScenarioError(f"{where}: a scenario is a JSON object")
    unknown = set(scenario) - KNOWN_KEYS
    if unknown:
        raise ScenarioError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("name", "process"):
        if not isinstance(scenario.get(key), str) or not scenario[key]:
            raise ScenarioError(f"{where}: {key!r} must be a non-empty string")
    if not isinstance(scenario.get("answers", {}), dict):
        raise ScenarioError(f"{where}: 'answers' must be an object")
    expect = scenario.get("expect", {})
    if not isinstance(expect, dict) or set(expect) - EXPECT_KEYS:
        raise ScenarioError(f"{where}: 'expect' may only hold {sorted(EXPECT_KEYS)}")
    if expect.get("state") not in (None, "completed", "waiting"):
        raise ScenarioError(f"{where}: expect.state must be 'completed' or 'waiting'")
    for name, value in scenario.get("answers", {}).items():
        if isinstance(value, dict) and (set(value) != {"each"} or not isinstance(value["each"], list)
                                        or not value["each"]):
            raise ScenarioError(f"{where}: answer {name!r} must be a value or {{\"each\": [non-empty list]}}")
    for name, duration in scenario.get("delays", {}).items():
        _duration(duration, f"{where}: delay of {name!r}")
    if "start" in scenario:
        _start(scenario["start"], where)


def _duration(text, where) -> timedelta:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(text))
        return TimerEventDefinition.get_timedelta_from_start(parsed, datetime(2000, 1, 1))
    except Exception:
        raise ScenarioError(f"{where}: {text!r} is not an ISO 8601 duration such as P8D") from None


def _start(text, where) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        start = None
    if start is None or start.tzinfo is None:
        raise ScenarioError(f"{where}: 'start' must be an ISO 8601 datetime with offset")
    return start


class _Answers:
    def __init__(self, answers: dict, autofill: bool):
        self.answers = answers
        self.autofill = autofill
        self.asked: dict[str, int] = {}

    def form_data(self, task, today: date) -> dict:
        schema = task.form_schema or {}
        required = set(schema.get("required", []))
        data = {}
        for name, prop in schema.get("properties", {}).items():
            if name in self.answers:
                data[name] = self._next(name)
            elif name in CASE_VARIABLES:
                if name in required:
                    raise ScenarioError(f"task {task.element_id} ({task.name}) asks for {name!r}, "
                                        "which the scenario does not answer")
            elif self.autofill:
                data[name] = _autofill(prop, today)
            elif name in required:
                raise ScenarioError(f"task {task.element_id} ({task.name}) asks for {name!r}; "
                                    "answer it or set \"autofill\": true")
        return data

    def _next(self, name):
        value = self.answers[name]
        if isinstance(value, dict) and "each" in value:
            index = self.asked.get(name, 0)
            self.asked[name] = index + 1
            return value["each"][min(index, len(value["each"]) - 1)]
        return value


def _autofill(prop: dict, today: date):
    kind = prop.get("type")
    if "enum" in prop:
        return prop["enum"][0]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return prop.get("minimum", 0)
    if kind == "array":
        return [_autofill(prop.get("items", {"type": "string"}), today)] if prop.get("minItems") else []
    if prop.get("format") == "date":
        return today.isoformat()
    if prop.get("format") == "date-time":
        return datetime.combine(today, datetime.min.time()).isoformat()
    return PLACEHOLDER


def run_scenario(engine: CaseEngine, scenario: dict, client_ref: str = "SCENARIO") -> ScenarioResult:
    name = scenario.get("name", "(unnamed)")
    result = ScenarioResult(name=name, passed=False)
    case_id = None
    try:
        check_format(scenario, name)
        now = _start(scenario["start"], name) if "start" in scenario else clock.now()
        delays = {k: _duration(v, k) for k, v in scenario.get("delays", {}).items()}
        answers = _Answers(scenario.get("answers", {}), bool(scenario.get("autofill", False)))
        with clock.frozen_at(now):
            case_id = engine.start_case(scenario["process"], client_ref, SCENARIO_ACTOR)
        completed = firings = 0
        while True:
            status, next_timer = engine.case_progress(case_id)
            if status != "running":
                break
            task, answer_at = _next_task(engine, engine.open_tasks(case_id=case_id), delays)
            if task is not None and (next_timer is None or answer_at < next_timer):
                now = max(now, answer_at)
                with clock.frozen_at(now):
                    engine.complete_task(task.id, SCENARIO_ACTOR, answers.form_data(task, now.date()))
                completed += 1
                if completed >= MAX_TASKS:
                    raise ScenarioError(f"the case has not ended after {MAX_TASKS} completed tasks")
            elif next_timer is not None:
                now = max(now, next_timer)
                if not engine.fire_case_timers(case_id, now):
                    raise ScenarioError(f"a timer due at {next_timer.isoformat()} did not fire")
                firings += 1
                if firings >= MAX_TIMER_FIRINGS:
                    raise ScenarioError(f"the case has not ended after {MAX_TIMER_FIRINGS} timer firings")
            else:
                break  # nothing to answer and nothing to wait for
        _finish(engine, case_id, result)
        _check(scenario.get("expect", {}), result)
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' results
        if case_id is not None:
            _finish(engine, case_id, result)
        kind = "" if isinstance(exc, (ScenarioError, EngineError)) else "internal error: "
        result.passed, result.error = False, f"{kind}{type(exc).__name__}: {exc}"
    return result


def _next_task(engine, open_tasks, delays):
    """The open task to answer next and when (a delayed field postpones its task)."""
    best = None
    for summary in open_tasks:
        task = engine.task(summary.id, SCENARIO_ACTOR, audit_read=False)
        fields = (task.form_schema or {}).get("properties", {})
        delay = max((delays[f] for f in fields if f in delays), default=timedelta(0))
        at = task.created_at + delay
        if best is None or at < best[1]:
            best = (task, at)
    return best or (None, None)


def _finish(engine, case_id, result):
    info = engine.case(case_id, SCENARIO_ACTOR, audit_read=False)
    result.milestones = info.milestones
    result.state = "completed" if info.status == "completed" else "waiting"
    result.open_tasks = [t.element_id for t in info.open_tasks]


def _check(expect: dict, result: ScenarioResult) -> None:
    problems = []
    missing = [m for m in expect.get("milestones_include", []) if m not in result.milestones]
    if missing:
        problems.append(f"milestones not reached: {missing}")
    unwanted = [m for m in expect.get("milestones_exclude", []) if m in result.milestones]
    if unwanted:
        problems.append(f"milestones reached that must not be: {unwanted}")
    if expect.get("state") and expect["state"] != result.state:
        problems.append(f"state is {result.state}, expected {expect['state']}")
    if problems:
        raise ScenarioError("; ".join(problems))
    result.passed = True


class ThrowawayEngine:
    """A case engine on a temporary SQLite database with `processes_dir` (or `files`) deployed."""

    def __init__(self, processes_dir: Path | None = None, settings: Settings | None = None, *,
                 files: dict[str, bytes] | None = None):
        self._tmp = tempfile.TemporaryDirectory(prefix="meldcode-scenario-")
        url = f"sqlite:///{Path(self._tmp.name) / 'scenario.sqlite3'}"
        self._db = make_engine(url)
        upgrade(self._db)
        self.engine = CaseEngine(make_sessionmaker(self._db), settings or Settings())
        if files is None:
            files = read_directory(Path(processes_dir))
        self.engine.deploy_files(files, "scenario-runner")

    def close(self):
        self._db.dispose()
        self._tmp.cleanup()

    def __enter__(self):
        return self.engine

    def __exit__(self, *exc):
        self.close()


def load_scenarios(paths) -> list[tuple[str, dict]]:
    """(file name, scenario) for files and for the *.json files of directories."""
    found = []
    for path in map(Path, paths):
        for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
            found.append((file.name, load_scenario(file)))
    return found


def verify_files(files: dict[str, bytes], scenarios: list[tuple[str, dict]], settings: Settings | None = None):
    """Raise DiagramError naming the first scenario that fails against `files`."""
    with ThrowawayEngine(settings=settings, files=files) as engine:
        failed = []
        for number, (name, scenario) in enumerate(scenarios, 1):
            result = run_scenario(engine, scenario, client_ref=f"VERIFY-{number:04d}")
            if not result.passed:
                failed.append((name, result))
    if failed:
        name, result = failed[0]
        more = f" (and {len(failed) - 1} more failing scenarios)" if len(failed) > 1 else ""
        raise DiagramError(name, None, f"scenario {result.name!r} fails against this deployment: "
                                       f"{result.error}{more}")


def run_files(paths, processes_dir: Path) -> list[ScenarioResult]:
    results = []
    with ThrowawayEngine(processes_dir) as engine:
        for number, path in enumerate(paths, 1):
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:
                results.append(ScenarioResult(name=str(path), passed=False, error=str(exc)))
                continue
            results.append(run_scenario(engine, scenario, client_ref=f"SCENARIO-{number:04d}"))
    return results
