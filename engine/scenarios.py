"""Replay a case without a person (contract.md "Scenarios").

A scenario answers every user task from a table of answers keyed by field name,
moves a scenario clock for timers and delays, and checks the milestones reached.
"""
from __future__ import annotations

import atexit
import dataclasses
import functools
import json
import multiprocessing
import os
import re
import shutil
import tempfile
import uuid
from collections import deque
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jsonschema import Draft202012Validator
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import Engine, make_url

from . import clock
from .cases import Actor, CaseEngine
from .contract import CASE_VARIABLES, LANES
from .db import make_engine, make_sessionmaker, upgrade
from .diagrams import read_directory
from .errors import DiagramError, EngineError
from .events import EventNotAvailable
from .models import Case, ProcessVersion
from .settings import Settings
from .states import CaseStatus
from .views import TaskInfo

MAX_TASKS = 5000
MAX_TIMER_FIRINGS = 5000
PLACEHOLDER = "(scenario: automatisch ingevuld)"
SCENARIO_ACTOR = Actor("scenario", frozenset(LANES), team="scenario")
SCHEMA_FILE = Path(__file__).resolve().parent / "schemas" / "scenario.schema.json"
DURATION = re.compile(r"^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")


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
    completed_tasks: int = 0  # tasks the replay completed (for the scenario gate's throughput)

    def to_json(self) -> str:
        fields = asdict(self)
        fields.pop("completed_tasks")  # a figure for bench/, not part of the CLI's output
        return json.dumps(fields, ensure_ascii=False)


def load_scenario(path: Path) -> dict[str, Any]:
    try:
        scenario = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: cannot read scenario: {exc}") from None
    check_format(scenario, str(path))
    return scenario  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def scenario_schema() -> dict[str, Any]:
    """The one scenario format (engine/schemas/scenario.schema.json), shared with the studio."""
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Draft202012Validator:
    return Draft202012Validator(scenario_schema())


def check_format(scenario: Any, where: str) -> None:
    """Raise ScenarioError naming every place where `scenario` breaks the scenario schema."""
    errors = sorted(_schema_validator().iter_errors(scenario), key=lambda e: list(e.absolute_path))
    if not errors:
        for name, duration in scenario.get("delays", {}).items():
            _duration(duration, f"{where}: delay of {name!r}")
        if "start" in scenario:
            _start(scenario["start"], where)
        return
    raise ScenarioError(f"{where}: not a valid scenario: " + "; ".join(_explain(e) for e in errors[:5]))


def _explain(error: Any) -> str:
    path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path).lstrip(".")
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"{path or 'the scenario'}: unknown keys {extra}"
    if error.validator == "required":
        missing = [n for n in error.validator_value if n not in error.instance]
        return f"{path or 'the scenario'}: {', '.join(repr(n) for n in missing)} is required"
    if error.validator in ("minLength", "type") and path in ("name", "process"):
        return f"{path!r} must be a non-empty string"
    message = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    if message is None:  # e.g. the {"each": [...]} form of an answer, explained one level up
        for parent in error.context or ():
            message = message or parent.schema.get("errorMessage")
    return f"{path or 'the scenario'} {message or error.message}"


def _duration(text: str, where: str, start: datetime | None = None) -> timedelta:
    try:
        parsed = TimerEventDefinition.parse_iso_duration(str(text))
        return TimerEventDefinition.get_timedelta_from_start(parsed, start or datetime(2000, 1, 1))  # type: ignore[no-any-return]
    except Exception:
        raise ScenarioError(f"{where}: {text!r} is not an ISO 8601 duration such as P8D") from None


def _start(text: str, where: str) -> datetime:
    try:
        start = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        start = None
    if start is None or start.tzinfo is None:
        raise ScenarioError(f"{where}: 'start' must be an ISO 8601 datetime with offset")
    return start


class _Clock:
    """The scenario clock: now, and its date and time as the professional reads them (local time)."""

    def __init__(self, now: datetime, tz: str):
        self.now, self.tz = now, ZoneInfo(tz)

    def local(self) -> datetime:
        return self.now.astimezone(self.tz)

    def advance(self, to: datetime) -> None:
        self.now = max(self.now, to)


class _Answers:
    def __init__(self, answers: dict[str, Any], autofill: bool):
        self.answers = answers
        self.autofill = autofill
        self.asked: dict[str, int] = {}

    def form_data(self, schema: dict[str, Any] | None, what: str, clock_: _Clock) -> dict[str, Any]:
        """Answers for a form (a task's, or a case event's); `what` names it in errors."""
        schema = schema or {}
        required = set(schema.get("required", []))
        data = {}
        for name, prop in schema.get("properties", {}).items():
            if name in self.answers:
                data[name] = _relative(self._next(name), prop, clock_)
            elif name in CASE_VARIABLES:
                if name in required:
                    raise ScenarioError(f"{what} asks for {name!r}, which the scenario does not answer")
            elif self.autofill:
                data[name] = _autofill(prop, clock_)
            elif name in required:
                raise ScenarioError(f"{what} asks for {name!r}; answer it or set \"autofill\": true")
        return data

    def _next(self, name: str) -> Any:
        value = self.answers[name]
        if isinstance(value, dict) and "each" in value:
            index = self.asked.get(name, 0)
            self.asked[name] = index + 1
            return value["each"][min(index, len(value["each"]) - 1)]
        return value


def _relative(value: Any, prop: dict[str, Any], clock_: _Clock) -> Any:
    """A duration answer for a date field: the scenario clock's date (date-time: now) plus the duration."""
    kind = prop.get("format") if isinstance(prop, dict) else None
    if kind not in ("date", "date-time") or not isinstance(value, str) or not DURATION.match(value):
        return value
    local = clock_.local()
    moment = local + _duration(value, f"answer {value!r}", local)
    return moment.date().isoformat() if kind == "date" else moment.isoformat()


def _autofill(prop: dict[str, Any], clock_: _Clock) -> Any:
    kind = prop.get("type")
    if "enum" in prop:
        return prop["enum"][0]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return prop.get("minimum", 0)
    if kind == "array":
        return [_autofill(prop.get("items", {"type": "string"}), clock_)] if prop.get("minItems") else []
    if prop.get("format") == "date":
        return clock_.local().date().isoformat()
    if prop.get("format") == "date-time":
        return clock_.local().isoformat()
    return PLACEHOLDER


def _task_label(task: TaskInfo) -> str:
    return f"task {task.element_id} ({task.name})"


def run_scenario(engine: CaseEngine, scenario: dict[str, Any], client_ref: str = "SCENARIO") -> ScenarioResult:
    name = scenario.get("name", "(unnamed)") if isinstance(scenario, dict) else "(unnamed)"
    result = ScenarioResult(name=name, passed=False)
    case_id = None
    try:
        check_format(scenario, name)
        start = _start(scenario["start"], name) if "start" in scenario else clock.now()
        now = _Clock(start, engine.settings.timezone)
        delays = {k: _duration(v, k) for k, v in scenario.get("delays", {}).items()}
        events = deque(sorted(((start + _duration(e["at"], f"event {e['event']!r}", start), e["event"], e["at"])
                               for e in scenario.get("events", [])), key=lambda e: e[0]))
        answers = _Answers(scenario.get("answers", {}), bool(scenario.get("autofill", False)))
        with clock.frozen_at(now.now):
            case_id = engine.start_case(scenario["process"], client_ref, SCENARIO_ACTOR)
        completed = firings = 0
        schemas = _deployed_forms(engine, case_id)
        while True:
            with engine.one_transaction():  # where the case stands: one read
                status, next_timer = engine.case_progress(case_id)
                open_tasks = engine.open_tasks(case_id=case_id) if status == CaseStatus.RUNNING else []
            if status != CaseStatus.RUNNING:
                if events:
                    raise ScenarioError(f"the event {events[0][1]!r} (at {events[0][2]}) cannot be taken: "
                                        f"the case had already ended")
                break
            task, answer_at = _next_task(engine, open_tasks, delays, schemas)
            # What happens first: a timer falling due, a task answered, or an event (ties in that order).
            choices = [c for c in ((next_timer, 0), (answer_at, 1), (events[0][0] if events else None, 2))
                       if c[0] is not None]
            if not choices:
                break  # nothing to answer, wait for or send
            when, kind = min(choices)
            now.advance(when)  # type: ignore[arg-type]
            with clock.frozen_at(now.now):
                if kind == 0:
                    if not engine.fire_case_timers(case_id, now.now):
                        raise ScenarioError(f"a timer due at {next_timer.isoformat()} did not fire")  # type: ignore[union-attr]
                    firings += 1
                    if firings >= MAX_TIMER_FIRINGS:
                        raise ScenarioError(f"the case has not ended after {MAX_TIMER_FIRINGS} timer firings")
                elif kind == 1:
                    engine.complete_task(task.id, SCENARIO_ACTOR,  # type: ignore[union-attr]
                                         answers.form_data(task.form_schema, _task_label(task), now))  # type: ignore[union-attr, arg-type]
                    completed += 1
                    result.completed_tasks = completed
                    if completed >= MAX_TASKS:
                        raise ScenarioError(f"the case has not ended after {MAX_TASKS} completed tasks")
                else:
                    _raise_event(engine, case_id, events.popleft(), answers, now)
        _finish(engine, case_id, result)
        _check(scenario.get("expect", {}), result)
    except Exception as exc:  # noqa: BLE001 - one broken scenario must not hide the others' results
        if case_id is not None:
            _finish(engine, case_id, result)
        kind = "" if isinstance(exc, (ScenarioError, EngineError)) else "internal error: "  # type: ignore[assignment]
        result.passed, result.error = False, f"{kind}{type(exc).__name__}: {exc}"
    return result


def _raise_event(engine: CaseEngine, case_id: int, event: tuple[datetime, str, str], answers: _Answers, now: _Clock) -> None:
    _, name, at = event
    options = {o.name: o for o in engine.available_events(case_id)}
    if name not in options:
        waiting = f" (it waits for: {', '.join(sorted(options))})" if options else ""
        raise ScenarioError(f"the event {name!r} (at {at}) cannot be taken: the case does not wait for it "
                            f"at {now.local().isoformat()}{waiting}")
    data = answers.form_data(options[name].form_schema, f"the event {name!r}", now)
    try:
        engine.raise_event(case_id, name, SCENARIO_ACTOR, data)
    except EventNotAvailable as exc:
        raise ScenarioError(f"the event {name!r} (at {at}) cannot be taken: {exc}") from None


def _deployed_forms(engine: CaseEngine, case_id: int) -> dict[str, Any]:
    """The form schemas deployed with the case's process version, by form name (what `engine.task` shows of a
    task's form; read once per replay instead of one audited task view per form)."""
    with engine.sessions() as session:
        return session.scalar(select(ProcessVersion.forms).join(Case, Case.process_version_id == ProcessVersion.id)
                              .where(Case.id == case_id)) or {}


def _next_task(engine: CaseEngine, open_tasks: list[TaskInfo], delays: dict[str, timedelta],
               schemas: dict[str, Any]) -> tuple[TaskInfo, datetime] | tuple[None, None]:
    """The open task to answer next and when (a delayed field postpones its task).

    `schemas`: the deployed form schemas by form name (a case's process version never changes them)."""
    best = None
    for task in open_tasks:
        task = dataclasses.replace(task, form_schema=schemas.get(task.form_name) if task.form_name else None)
        fields = (task.form_schema or {}).get("properties", {})
        delay = max((delays[f] for f in fields if f in delays), default=timedelta(0))
        at = task.created_at + delay
        if best is None or at < best[1]:
            best = (task, at)
    return best or (None, None)


def _finish(engine: CaseEngine, case_id: int, result: ScenarioResult) -> None:
    info = engine.case(case_id, SCENARIO_ACTOR, audit_read=False)
    result.milestones = info.milestones
    result.state = "completed" if info.status == CaseStatus.COMPLETED else "waiting"
    result.open_tasks = [t.element_id for t in info.open_tasks]


def _check(expect: dict[str, Any], result: ScenarioResult) -> None:
    problems = []
    missing = [m for m in expect.get("milestones_include", []) if m not in result.milestones]
    if missing:
        problems.append(f"milestones not reached: {missing}")
    unwanted = [m for m in expect.get("milestones_exclude", []) if m in result.milestones]
    if unwanted:
        problems.append(f"milestones reached that must not be: {unwanted}")
    sequence = expect.get("milestones_sequence", [])
    if sequence and not _in_order(sequence, result.milestones):
        problems.append(f"milestones not reached in this order (each its own occurrence): {sequence}")
    if expect.get("state") and expect["state"] != result.state:
        problems.append(f"state is {result.state}, expected {expect['state']}")
    if problems:
        raise ScenarioError("; ".join(problems))
    result.passed = True


def _in_order(sequence: list[str], milestones: list[str]) -> bool:
    remaining = iter(milestones)
    return all(any(m == wanted for m in remaining) for wanted in sequence)


_FAST_TMP = "/dev/shm" if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK) else None
_TEMPLATE: dict[str, Path] = {}  # per process: a SQLite file migrated to head, copied for each throwaway


def _no_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


def _migrated_copy(path: Path) -> None:
    """A SQLite database at `path` with the schema at head: the migrations run once per process, then the
    migrated file is copied (the migrations themselves are the only way the schema is made)."""
    template = _TEMPLATE.get("head")
    if template is None or not template.exists():
        holder = tempfile.mkdtemp(prefix="meldcode-scenario-template-", dir=_FAST_TMP)
        template = Path(holder) / "head.sqlite3"
        db = make_engine(f"sqlite:///{template}")
        try:
            upgrade(db)
            with db.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.dispose()
        atexit.register(shutil.rmtree, holder, True)
        _TEMPLATE["head"] = template
    shutil.copyfile(template, path)


class ThrowawayEngine:
    """A case engine on a throwaway database with `processes_dir` (or `files`) deployed.

    By default a temporary SQLite file. With `database_url` (a PostgreSQL server), a new schema on that
    server, dropped again on close: the server's other schemas and the configured database are never touched.
    """

    _tmp: tempfile.TemporaryDirectory[str] | None
    _admin: Engine | None
    _schema: str | None

    def __init__(self, processes_dir: Path | None = None, settings: Settings | None = None, *,
                 files: dict[str, bytes] | None = None, database_url: str | None = None):
        self._tmp = self._admin = self._schema = None
        if database_url:
            url = self._postgres_schema(database_url)
        else:
            self._tmp = tempfile.TemporaryDirectory(prefix="meldcode-scenario-", dir=_FAST_TMP)
            path = Path(self._tmp.name) / "scenario.sqlite3"
            _migrated_copy(path)
            url = f"sqlite:///{path}"
        try:
            self._db = make_engine(url)
            if self._tmp is not None:
                # A throwaway database: no fsync per commit (a crash loses nothing worth keeping)
                event.listen(self._db, "connect", _no_sync)
            else:
                upgrade(self._db)
            self.engine = CaseEngine(make_sessionmaker(self._db), settings or Settings())
            if files is None:
                files = read_directory(Path(processes_dir))  # type: ignore[arg-type]
            self.engine.deploy_files(files, "scenario-runner")
        except BaseException:
            self.close()
            raise

    def _postgres_schema(self, database_url: str) -> str:
        url = make_url(database_url)
        if not url.drivername.startswith("postgresql"):
            raise ScenarioError(f"--database-url must name a PostgreSQL server, not {url.drivername!r} "
                                "(without it scenarios run in a temporary SQLite database)")
        self._schema = f"scenario_{uuid.uuid4().hex[:16]}"
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with self._admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{self._schema}"'))
        options = " ".join(filter(None, [url.query.get("options"), f"-csearch_path={self._schema}"]))  # type: ignore[list-item]
        return url.update_query_dict({"options": options}).render_as_string(hide_password=False)

    def close(self) -> None:
        if getattr(self, "_db", None) is not None:
            self._db.dispose()
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{self._schema}" CASCADE'))
            self._admin.dispose()
            self._admin = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> CaseEngine:
        return self.engine

    def __exit__(self, *exc: object) -> None:
        self.close()


def load_scenarios(paths: Iterable[str | Path]) -> list[tuple[str, dict[str, Any]]]:
    """(file name, scenario) for files and for the *.json files of directories."""
    found = []
    for path in map(Path, paths):
        for file in sorted(path.glob("*.json")) if path.is_dir() else [path]:
            found.append((file.name, load_scenario(file)))
    return found


_WORKER: dict[str, ThrowawayEngine] = {}  # in a suite's worker process: its throwaway engine


def _start_worker(files: dict[str, bytes], settings: Settings | None) -> None:
    _WORKER["engine"] = ThrowawayEngine(settings=settings, files=files)
    atexit.register(_WORKER["engine"].close)


def _run_in_worker(scenario: dict[str, Any], client_ref: str) -> ScenarioResult:
    return run_scenario(_WORKER["engine"].engine, scenario, client_ref=client_ref)


def suite_processes(count: int) -> int:
    """How many processes a suite of `count` scenarios runs in: one per core, at most one per scenario
    (MELDCODE_SCENARIO_PROCESSES overrides; 1 runs them in this process)."""
    wanted = os.environ.get("MELDCODE_SCENARIO_PROCESSES")
    cores = int(wanted) if wanted and wanted.isdigit() and int(wanted) > 0 else (os.cpu_count() or 1)
    return max(1, min(cores, count))


def _pool_context() -> Any:
    """Where the platform has it, a fork server that imports the engine once (per process that runs suites) and
    forks each suite's workers from it, ready to run: spawned, every worker of every suite imported it again
    (~1.3 s). The fork server is a single-threaded process of its own, so forking from it is as safe from a
    threaded web server as spawning."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def prepare_workers(count: int = 2) -> bool:
    """Start the fork server ahead of a suite of `count` scenarios (a process owner opened a draft that will be
    checked), so that the first check of this process is as quick as the next: the fork server imports the
    engine once, ~0.7 s that the first suite waited for. True when suites here run in worker processes and the
    server is running; once per process, as the first suite would start it."""
    if suite_processes(count) <= 1:
        return False
    context = _pool_context()
    if context.get_start_method() != "forkserver":
        return False
    from multiprocessing import forkserver

    forkserver.ensure_running()
    return True


def run_suite(files: dict[str, bytes], scenarios: list[tuple[str, dict[str, Any]]], settings: Settings | None = None, *,
              processes: int | None = None, prefix: str = "SUITE") -> list[tuple[str, ScenarioResult]]:
    """Every scenario against `files`, each in a throwaway database: [(name, result)] in the given order.

    With more than one process (default: one per core), the scenarios are spread over worker processes
    (concurrent.futures, forked from a fork server, or spawned: both safe from a threaded web server), each with a throwaway engine of its own
    that has `files` deployed once; each takes the next scenario when it is done with one."""
    processes = processes or suite_processes(len(scenarios))
    refs = [f"{prefix}-{number:04d}" for number in range(1, len(scenarios) + 1)]
    if processes <= 1 or len(scenarios) <= 1:
        with ThrowawayEngine(settings=settings, files=files) as engine:
            return [(name, run_scenario(engine, scenario, client_ref=ref))
                    for (name, scenario), ref in zip(scenarios, refs, strict=True)]
    with ProcessPoolExecutor(processes, mp_context=_pool_context(), initializer=_start_worker,
                             initargs=(files, settings)) as pool:
        futures = [pool.submit(_run_in_worker, scenario, ref) for (_, scenario), ref in zip(scenarios, refs,
                                                                                            strict=True)]
        return [(name, future.result()) for (name, _), future in zip(scenarios, futures, strict=True)]


def verify_files(files: dict[str, bytes], scenarios: list[tuple[str, dict[str, Any]]], settings: Settings | None = None) -> None:
    """Raise DiagramError naming the first scenario that fails against `files`."""
    failed = [(name, result) for name, result in run_suite(files, list(scenarios), settings, prefix="VERIFY")
              if not result.passed]
    if failed:
        name, result = failed[0]
        more = f" (and {len(failed) - 1} more failing scenarios)" if len(failed) > 1 else ""
        raise DiagramError(name, None, f"scenario {result.name!r} fails against this deployment: "
                                       f"{result.error}{more}")


def run_files(paths: Iterable[Path], processes_dir: Path | None, database_url: str | None = None) -> list[ScenarioResult]:
    results = []
    with ThrowawayEngine(processes_dir, database_url=database_url) as engine:
        for number, path in enumerate(paths, 1):
            try:
                scenario = load_scenario(path)
            except ScenarioError as exc:
                results.append(ScenarioResult(name=str(path), passed=False, error=str(exc)))
                continue
            results.append(run_scenario(engine, scenario, client_ref=f"SCENARIO-{number:04d}"))
    return results
