import os
import subprocess
import sys
import textwrap
import time
import tracemalloc
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine import sandbox
from engine.sandbox import (
    SandboxEnvironment,
    ScriptError,
    check_expression,
    check_script,
    make_script_engine,
)
from engine.sandbox_guards import Guards, Limits
from tests.decision_caller import decision_caller, one_task_process


def werkdagen(n):
    return f"+{n} werkdagen"


@pytest.fixture
def env():
    return SandboxEnvironment({"werkdagen": werkdagen}, time_limit=1.0)


# --- rejected constructs -------------------------------------------------------------------------------------

@pytest.mark.parametrize("script, reason", [
    ("import os", "import is not allowed"),
    ("from os import path", "import is not allowed"),
    ("x = ().__class__", "names starting with '_' are not allowed: '__class__'"),
    ("x = ().__class__.__mro__[1].__subclasses__()", "names starting with '_' are not allowed"),
    ("x = __builtins__", "names starting with '_' are not allowed: '__builtins__'"),
    ("_secret = 1", "names starting with '_' are not allowed: '_secret'"),
    ("x = open('/etc/passwd')", "calling 'open' is not allowed"),
    ("exec('x = 1')", "calling 'exec' is not allowed"),
    ("x = eval('1')", "calling 'eval' is not allowed"),
    ("x = compile('1', 'f', 'eval')", "calling 'compile' is not allowed"),
    ("x = __import__('os')", "calling '__import__' is not allowed"),
    ("x = getattr(1, 'real')", "calling 'getattr' is not allowed"),
    ("setattr(d, 'a', 1)", "calling 'setattr' is not allowed"),
    ("x = globals()", "calling 'globals' is not allowed"),
    ("x = type(1)", "calling 'type' is not allowed"),
    ("x = '{0.__class__}'.format(1)", "attribute 'format' is not allowed"),
    ("x = '{a}'.format_map(d)", "attribute 'format_map' is not allowed"),
    ("x = f'{d.__class__}'", "names starting with '_' are not allowed: '__class__'"),
    ("g = (i for i in [1])\nx = g.gi_frame", "attribute 'gi_frame' is not allowed"),
    ("x = d.pop('a')", "attribute 'pop' is not allowed"),
    ("d.year = 2026", "assigning or deleting attributes is not allowed"),
    ("x = d['f']()", "only builtins, helpers and allowed methods can be called"),
    ("while True:\n    pass", "a while loop is not allowed"),
    ("f = lambda: 1", "lambda is not allowed"),
    ("def f():\n    pass", "a function definition is not allowed"),
    ("class C:\n    pass", "a class definition is not allowed"),
    ("with d:\n    pass", "a with statement is not allowed"),
    ("try:\n    x = 1\nexcept Exception:\n    pass", "a try statement is not allowed"),
    ("global x", "global is not allowed"),
    ("x = yield 1", "yield is not allowed"),
    ("x = 10 ** 10 ** 10", "exponent of '**' must be a number literal of at most 64"),
    ("x = 2 ** 65", "exponent of '**' must be a number literal of at most 64"),
    ("x = 2 ** n", "exponent of '**' must be a number literal of at most 64"),
    ("x = 2\nx **= 2", "'*=', '**=' and '%=' are not allowed"),
    ("x = [0]\nx *= 10", "'*=', '**=' and '%=' are not allowed"),
    ("x = f'{1:>999999999}'", "format widths and precisions above 999 are not allowed"),
    ("x = f'{1.5:.5000f}'", "format widths and precisions above 999 are not allowed"),
    ("x = f'{1:{w}}'", "a format spec must be literal text"),
    ("x = 1 << 100", "a bit shift is not allowed"),
])
def test_forbidden_constructs_rejected(script, reason):
    with pytest.raises(ScriptError) as info:
        check_script(script)
    assert reason in info.value.reason


def test_error_reports_line():
    with pytest.raises(ScriptError) as info:
        check_script("x = 1\ny = 2\nimport os")
    assert info.value.lineno == 3
    assert info.value.reason == "import is not allowed"
    assert str(info.value) == "line 3: import is not allowed"


def test_syntax_error_becomes_script_error():
    with pytest.raises(ScriptError, match=r"line 1: syntax error"):
        check_expression("besluit ==")


def test_statements_are_not_expressions():
    with pytest.raises(ScriptError, match="syntax error"):
        check_expression("x = 1")


def test_source_size_limit():
    check_expression(repr("x" * 9_998))
    with pytest.raises(ScriptError, match="longer than 10000 characters"):
        check_expression(repr("x" * 9_999))


def test_deep_nesting_rejected_cleanly(env):
    assert env.evaluate(" + ".join(["1"] * 500), {}) == 500
    with pytest.raises(ScriptError, match="nested too deeply"):
        check_expression(" + ".join(["1"] * 2400))


def test_compiled_code_is_cached():
    text = "vermoeden and not besluit  # cache probe"
    check_expression(text)
    hits = sandbox._compile.cache_info().hits
    check_expression(text)
    assert sandbox._compile.cache_info().hits == hits + 1


def test_unknown_function_rejected_per_environment(env):
    check_expression("send_mail(1)")  # may be a helper somewhere else
    with pytest.raises(ScriptError, match="calling 'send_mail' is not allowed"):
        env.evaluate("send_mail(1)", {})
    with pytest.raises(ScriptError, match="calling 'f' is not allowed"):
        env.execute("f = len\nx = f([])", {})


def test_forbidden_builtins_not_reachable_by_name(env):
    with pytest.raises(NameError):
        env.evaluate("[open, exec, eval][0]", {})


# --- runtime limits ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("run, source, reason", [
    ("evaluate", "((10 ** 64) ** 64) ** 64", "line 1: number too large"),
    ("evaluate", "range(100001)", "range longer than 100000 items"),
    ("evaluate", "range(10 ** 30)", "range longer than 100000 items"),
    ("evaluate", "'x' * 10 ** 9", "sequence longer than"),
    ("execute", "n = 10 ** 9\nx = n * [0]", "sequence longer than"),
    ("execute", "w = 10 ** 9\nx = '%*d' % (w, 1)", "line 2: '%' string formatting is not allowed"),
    ("evaluate", "sum([[1]] * 100000, [])", "sum\\(\\) only adds numbers"),
    ("evaluate", "round(5, -10 ** 9)", "round\\(\\) to more than"),
    ("evaluate", "int('f' * 100000, 16)", "number too large"),
    ("execute", "x = 1\nfor i in range(20000):\n    x = x + x", "number too large"),
])
def test_oversized_operations_are_refused_when_they_run(env, run, source, reason):
    with pytest.raises(ScriptError, match=reason):
        getattr(env, run)(source, {})


@pytest.mark.parametrize("expression, data, expected", [
    ("(10 ** 64) ** 2", {}, 10 ** 128),
    ("len(range(100000))", {}, 100_000),
    ("'ab' * 3", {}, "ababab"),
    ("jaar % 4", {"jaar": 2026}, 2),  # % on numbers stays allowed
    ("sum([1, 2.5])", {}, 3.5),
])
def test_the_bounded_operations_run_within_their_bounds(env, expression, data, expected):
    assert env.evaluate(expression, data) == expected


def test_time_limit_on_nested_loop():
    env = SandboxEnvironment(time_limit=0.2)
    script = "total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total = total + 1\n"
    with pytest.raises(ScriptError, match="time limit exceeded") as info:  # how soon is a figure for bench/
        env.execute(script, {})
    assert info.value.lineno in (3, 4)


def test_a_stall_of_the_host_is_not_the_scripts_time():
    """A full test run failed a completion on `vermoeden == True` with "time limit exceeded": the limit was on the
    clock, so a host that stalled the process for a second (or another thread holding the GIL) failed a trivial
    expression. The limit is on the CPU time the script uses; a helper that waits stands in for the stall."""
    env = SandboxEnvironment(helpers={"wacht": lambda: time.sleep(0.4) or 1}, time_limit=0.2)
    assert env.evaluate("wacht() + len([i for i in range(1000)])", {}) == 1001
    with pytest.raises(ScriptError, match="time limit exceeded"):  # the script's own work still counts
        env.execute("wacht()\nfor i in range(100000):\n    for j in range(100000):\n        x = i + j\n", {})


def test_time_spent_setting_up_a_script_is_not_the_scripts_time(monkeypatch):
    """The full suite failed a scenario on `gesprek_uitzondering == "geen"` with "time limit exceeded" (CI of
    2026-12-02, a host so loaded that the run took 14 minutes): the budget started when the guards were made, and
    a stall while the namespace was set up (counted as the thread's CPU time on this virtual machine, or a garbage
    collection) was charged to the expression. Here the set-up takes two seconds on both clocks."""
    from engine import sandbox_guards

    stalled = {"by": 0.0}
    clocks = type("Clocks", (), {"thread_time": staticmethod(lambda: time.thread_time() + stalled["by"]),
                                 "monotonic": staticmethod(lambda: time.monotonic() + stalled["by"])})
    monkeypatch.setattr(sandbox_guards, "time", clocks)
    builtins = Guards.builtins

    def slow_builtins(self):
        stalled["by"] += 2.0
        return builtins(self)

    monkeypatch.setattr(Guards, "builtins", slow_builtins)
    env = SandboxEnvironment(time_limit=1.0)
    assert env.evaluate('gesprek_uitzondering == "geen"', {"gesprek_uitzondering": "geen"}) is True
    assert env.evaluate("len([i for i in range(1000)])", {}) == 1000
    with pytest.raises(ScriptError, match="time limit exceeded"):  # the script's own stall still counts
        SandboxEnvironment(helpers={"wacht": lambda: stalled.update(by=stalled["by"] + 2.0) or 1},
                           time_limit=1.0).execute("wacht()\nfor i in range(3):\n    x = i\n", {})


def test_time_limit_in_comprehension():
    env = SandboxEnvironment(time_limit=0.2)
    with pytest.raises(ScriptError, match="line 1: time limit exceeded"):
        env.evaluate("sum(1 for i in range(100000) for j in range(100000))", {})


def test_previous_tracer_restored(env):
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        env.evaluate("1 + 1", {})
        assert sys.gettrace() is tracer
        with pytest.raises(ScriptError):
            SandboxEnvironment(time_limit=0.05).evaluate("sum(1 for i in range(100000) for j in range(100000))", {})
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_no_tracer_left_behind(env):
    previous = sys.gettrace()
    env.execute("x = [i for i in range(10)]", {})
    assert sys.gettrace() is previous


# --- allowed expressions and scripts -------------------------------------------------------------------------

@pytest.mark.parametrize("expression, expected", [
    ('besluit == "melden"', True),
    ("not vermoeden", False),
    ("score >= 3 and besluit in ('melden', 'hulp')", True),
    ("'hoog' if score > 2 else 'laag'", "hoog"),
    ("signalen[0].lower().strip()", "blauwe plekken"),
    ("len([s for s in signalen if s.startswith(' ')])", 1),
    ("sorted(antwoorden.items())[0]", ("a", 1)),
    ("antwoorden.get('z', 0) + sum(antwoorden.values())", 3),
    ("f'{besluit!r} na {score:.1f}'", "'melden' na 3.0"),
    ("f'{score:>5}|{score:04d}'", "    3|0003"),
    ("werkdagen(5)", "+5 werkdagen"),
    ("{k: v * 2 for k, v in antwoorden.items()}", {"a": 2, "b": 4}),
    ("2 ** 10 + -7 // 2 % 3", 1026),
    ("max(score, 10) - abs(-1)", 9),
])
def test_allowed_expressions(env, expression, expected):
    data = {"besluit": "melden", "vermoeden": True, "score": 3, "signalen": [" Blauwe plekken ", "angst"],
            "antwoorden": {"a": 1, "b": 2}}
    assert env.evaluate(expression, data) == expected


def test_condition_text_with_surrounding_whitespace(env):
    assert env.evaluate("  besluit == 'melden'", {"besluit": "melden"}) is True
    assert env.evaluate("\n      besluit == 'melden'\n    ", {"besluit": "melden"}) is True


def test_evaluate_does_not_change_task_data(env):
    data = {"besluit": "melden"}
    env.evaluate("werkdagen(1)", data)
    assert data == {"besluit": "melden"}


def test_dmn_external_context(env):
    assert env.evaluate("1 < dmninputexpr < 5", {"leeftijd": 4}, {"dmninputexpr": 4}) is True
    assert env.evaluate("dmninputexpr == leeftijd", {"leeftijd": 7}, {"dmninputexpr": 4}) is False


def test_script_assignments_land_in_context(env):
    data = {"score": 2, "signalen": ["a"]}
    env.execute(
        "score += 1\n"
        "signalen.append('b')\n"
        "termijn = werkdagen(5)\n"
        "if score > 2:\n"
        "    besluit = 'melden'\n"
        "else:\n"
        "    besluit = 'afsluiten'\n"
        "a, b = 1, 2\n"
        "del b\n"
        "f = len\n",
        data,
    )
    assert data == {"score": 3, "signalen": ["a", "b"], "termijn": "+5 werkdagen", "besluit": "melden", "a": 1}


def test_helpers_and_builtins_removed_after_execute(env):
    data = {}
    env.execute("x = 2 * 3", data)
    assert data == {"x": 6}


def test_helpers_removed_even_when_script_fails(env):
    data = {}
    with pytest.raises(ZeroDivisionError):
        env.execute("x = 1\ny = x / 0", data)
    assert data == {"x": 1}


def test_external_context_visible_in_scripts_but_not_kept(env):
    data = {}
    env.execute("y = dmninputexpr * 2", data, {"dmninputexpr": 3})
    assert data == {"y": 6}


def test_task_data_shadowing_a_helper_raises(env):
    with pytest.raises(ValueError, match="werkdagen"):
        env.execute("x = 1", {"werkdagen": 3})
    with pytest.raises(ValueError, match="werkdagen"):
        env.evaluate("werkdagen", {"werkdagen": 3})


def test_invalid_helper_names_rejected():
    for name in ("_hidden", "open", "not an identifier", "lambda"):
        with pytest.raises(ValueError, match="invalid helper name"):
            SandboxEnvironment({name: len})


def test_call_service_not_supported(env):
    with pytest.raises(NotImplementedError, match="service tasks are not supported"):
        env.call_service({}, operation_name="x")


def test_validate_keeps_syntax_error_for_dmn():
    engine = make_script_engine()
    engine.validate("leeftijd >= 18")
    with pytest.raises(SyntaxError):
        engine.validate(">= 18")  # DMN then retries as "v >= 18"
    with pytest.raises(ScriptError, match="names starting with '_'"):
        engine.validate("leeftijd.__class__")
    with pytest.raises(ScriptError, match="calling 'werkdagen' is not allowed"):
        engine.validate("werkdagen(1)")
    make_script_engine({"werkdagen": werkdagen}).validate("werkdagen(1)")


# --- end to end through SpiffWorkflow ------------------------------------------------------------------------

def script_process(script: str) -> str:
    return one_task_process("proc", "scriptTask", "script", "Script", f"<bpmn:script>{script}</bpmn:script>")


def run_process(bpmn: str, engine: PythonScriptEngine, dmn: str | None = None, data: dict | None = None):
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(bpmn.encode())
    if dmn:
        parser.add_dmn_str(dmn.encode())
    workflow = BpmnWorkflow(parser.get_spec("proc"), script_engine=engine)
    workflow.get_next_task(spec_name="start").data.update(data or {})
    workflow.do_engine_steps()
    return workflow


IMPORT_SCRIPT = "marker = 'ran'\nimport os\nmarker = os.sep"


def test_default_engine_would_run_the_import():
    # Control for the test below: the diagram is valid and the plain engine executes the import.
    workflow = run_process(script_process(IMPORT_SCRIPT), PythonScriptEngine())
    assert workflow.is_completed()
    assert workflow.data["marker"] == os.sep


def test_bpmn_script_with_import_fails_without_running():
    with pytest.raises(WorkflowTaskException) as info:
        run_process(script_process(IMPORT_SCRIPT), make_script_engine())
    assert "import is not allowed" in str(info.value)
    assert info.value.line_number == 2
    assert "marker" not in info.value.task.data  # not even the first line ran


def test_bpmn_script_runs_in_sandbox():
    workflow = run_process(script_process("termijn = werkdagen(5)"), make_script_engine({"werkdagen": werkdagen}))
    assert workflow.is_completed()
    assert workflow.data == {"termijn": "+5 werkdagen"}


DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="dmn" name="DMN" namespace="http://example.org">
  <decision id="leeftijd_decision" name="Leeftijd">
    <decisionTable id="table" hitPolicy="UNIQUE">
      <input id="in1" label="Leeftijd"><inputExpression id="ie1" typeRef="integer"><text>leeftijd</text></inputExpression></input>
      <output id="out1" label="Groep" name="groep" typeRef="string"/>
      <rule id="r1"><inputEntry id="e1"><text>&lt; 12</text></inputEntry><outputEntry id="o1"><text>"kind"</text></outputEntry></rule>
      <rule id="r2"><inputEntry id="e2"><text>12 &lt;= ? &lt; 18</text></inputEntry><outputEntry id="o2"><text>"jongere"</text></outputEntry></rule>
      <rule id="r3"><inputEntry id="e3"><text>leeftijd.__class__</text></inputEntry><outputEntry id="o3"><text>"escape"</text></outputEntry></rule>
    </decisionTable>
  </decision>
</definitions>"""

DMN_PROCESS = decision_caller("leeftijd_decision", "proc")


@pytest.mark.parametrize("leeftijd, groep", [(8, "kind"), (15, "jongere")])
def test_dmn_table_runs_in_sandbox(leeftijd, groep):
    workflow = run_process(DMN_PROCESS, make_script_engine(), DMN, {"leeftijd": leeftijd})
    assert workflow.is_completed()
    assert workflow.data["groep"] == groep


def test_dmn_cell_escape_rejected():
    with pytest.raises(WorkflowTaskException) as info:
        run_process(DMN_PROCESS, make_script_engine(), DMN, {"leeftijd": 40})
    assert "names starting with '_' are not allowed" in str(info.value)


def test_engine_call_service_fails_with_clear_reason():
    workflow = run_process(script_process("x = 1"), make_script_engine())
    task = workflow.get_next_task(spec_name="end")
    with pytest.raises(WorkflowTaskException, match="service tasks are not supported"):
        workflow.script_engine.call_service(task, operation_name="send_mail")


# --- issue 10 item 8: memory and time bounds that hold inside one C call ------------------------------------


PROJECT_ROOT = Path(__file__).resolve().parents[2]
MB = 2 ** 20


def peak_of(run) -> tuple[int, BaseException | None]:
    """Peak Python allocation (bytes) while `run()` runs, and what it raised."""
    tracemalloc.start()
    try:
        run()
        raised = None
    except Exception as err:  # noqa: BLE001 - the caller asserts on it
        raised = err
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def test_probe_join_of_a_gigabyte_is_refused_before_it_allocates():
    # The probe's attack, as made: one C-level join of a gigabyte inside the web process (default limits).
    env = SandboxEnvironment(time_limit=1.0)
    peak, raised = peak_of(lambda: env.evaluate("''.join(['x' * 1000000] * 1000)", {}))
    assert isinstance(raised, ScriptError), raised
    assert peak < 256 * MB


def test_probe_join_keeps_the_process_under_the_memory_bound():
    # The same attack in a fresh process, measured by the operating system (peak resident size).
    child = textwrap.dedent("""
        import resource
        from engine.sandbox import SandboxEnvironment, ScriptError
        env = SandboxEnvironment(time_limit=1.0)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        outcomes = []
        for source in ["''.join(['x' * 1000000] * 1000)",
                       "[[i] * 1000 for i in range(100000)]",
                       "[str(i) * 100 for i in range(100000) for j in range(10)]"]:
            try:
                env.evaluate(source, {})
                outcomes.append("evaluated")
            except ScriptError as err:
                outcomes.append(err.reason)
        grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(grown_kb)
        print(outcomes)
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=300,
                            cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr
    grown_kb, outcomes = result.stdout.splitlines()
    assert "evaluated" not in outcomes
    assert int(grown_kb) < 256 * 1024, outcomes


@pytest.mark.parametrize("script", [
    "s = 'x'\nfor i in range(100):\n    s = s + s",
    "s = ['x']\nfor i in range(100):\n    s = s + s",
    "s = ['x']\nfor i in range(100):\n    s += s",
    "s = 'x' * 1000\nfor i in range(100):\n    s = s.replace('x', 'xx')",
    "s = 'x' * 1000\nfor i in range(100):\n    s = ' '.join([s, s])",
    "s = 'x' * 1000\nfor i in range(100):\n    s = f'{s}{s}'",
    "s = 'x' * 1000\nfor i in range(100):\n    s = f'{s!r}{s!a}'",
    "x = [0]\nfor i in range(100):\n    x = [*x, *x]",
    "x = (0,)\nfor i in range(100):\n    x = (*x, *x)",
    "x = {0}\nfor i in range(100000):\n    x = x | {i}",
    "x = {}\nfor i in range(100000):\n    x = {**x, i: i}",
    "x = []\nfor i in range(100000):\n    x += (j for j in range(100000))",
    "x = {}\nfor i in range(100000):\n    x |= ((i * 100000 + j, j) for j in range(100000))",
    "x = [1] * 1000\ny = []\nfor i in range(100000):\n    y.append(x[:])",
    "x = [1] * 1000\ny = []\nfor i in range(100000):\n    y.append(list(x))",
    "x = [1] * 1000\ny = []\nfor i in range(100000):\n    y.append(sorted(x))",
    "x = 'ab ' * 100000\ny = []\nfor i in range(1000):\n    y.append(x.split())",
    "x = 'x' * 100000\ny = []\nfor i in range(1000):\n    y.append(x.upper())",
    "x = [1] * 1000\ny = []\nfor i in range(100000):\n    y.append(str(x))",
    "d = {}\nfor i in range(100000):\n    for j in range(100000):\n        d[(i, j)] = [i, j]",
    "y = [[i] * 1000 for i in range(100000)]",
    "y = {i: str(i) * 100 for i in range(100000)}",
    "y = [x for x in range(100000) for z in range(100000)]",
    "y = list(zip(range(100000), range(100000)))\nz = [y] * 1000\nw = [list(v) for v in z]",
])
def test_growing_scripts_stop_at_the_memory_bound(script):
    limit_mb = 32
    env = SandboxEnvironment(time_limit=30.0, memory_limit_mb=limit_mb)  # the memory bound must come first
    peak, raised = peak_of(lambda: env.execute(script, {}))
    assert isinstance(raised, ScriptError), raised
    assert "memory limit exceeded" in raised.reason or "longer than" in raised.reason, raised.reason
    assert peak < limit_mb * MB * 1.1, peak / MB


def test_memory_limit_is_per_evaluation():
    env = SandboxEnvironment(memory_limit_mb=8)
    for _ in range(20):  # 20 x 2 MB: each evaluation has its own budget
        assert env.evaluate("len('x' * 500000 + 'y' * 500000)", {}) == 1_000_000
    with pytest.raises(ScriptError, match="memory limit exceeded"):
        env.evaluate("len(['x' * 500000 + 'y' * 500000 for i in range(10)])", {})


@pytest.mark.parametrize("script", [
    # Shared references: a few kilobytes of memory that expand to 2**60 values when hashed, compared or printed.
    "t = ()\nfor i in range(60):\n    t = (t, t)\nh = {t}",
    "t = ()\nfor i in range(60):\n    t = (t, t)\nd = {}\nd[t] = 1",
    "t = ()\nu = ()\nfor i in range(60):\n    t = (t, t)\n    u = (u, u)\nsame = t == u",
    "t = []\nfor i in range(60):\n    t = [t, t]\ns = str(t)",
    "t = []\nfor i in range(60):\n    t = [t, t]\ns = f'{t}'",
    "t = []\nfor i in range(60):\n    t = [t, t]\ns = sorted([t, t])",
    "t = []\nfor i in range(60):\n    t = [t, t]\ns = max([t, t])",
    "t = []\nfor i in range(60):\n    t = [t, t]",  # the script's data itself: serialising it would never end
    "t = []\nt.append(t)",  # a cycle
    # One memcmp of a megabyte a million times: a terabyte read in one C call.
    "a = 'x' * 1000000\nb = 'x' * 999999 + 'y'\nl = [a] * 1000000\nfound = b in l",
])
def test_one_c_call_on_shared_references_is_refused(script):
    env = SandboxEnvironment(time_limit=1.0)
    # Measuring stops at the size cap or, on a busy machine, at the deadline (the walk checks it too).
    with pytest.raises(ScriptError, match="too large|time limit exceeded"):
        env.execute(script, {})


@pytest.mark.parametrize("expression", [
    "sorted(list(range(100000)) * 10)",  # 1M items is the sequence limit: sorting them is bounded
    "max(list(range(100000)) * 10)",
    "sum(list(range(100000)) * 10)",
    "len(set(list(range(100000)) * 10))",
])
def test_largest_allowed_operations_run(expression):
    env = SandboxEnvironment(time_limit=5.0)
    env.evaluate(expression, {})


def test_time_limit_holds_without_a_tracer():
    # The deadline is checked by every loop step and guard, not by sys.settrace: a debugger's tracer stays.
    def tracer(frame, event, arg):
        return None

    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        with pytest.raises(ScriptError, match="time limit exceeded"):
            SandboxEnvironment(time_limit=0.05).execute(
                "total = 0\nfor i in range(100000):\n    for j in range(100000):\n        total = total + 1", {})
        assert sys.gettrace() is tracer
    finally:
        sys.settrace(previous)


def test_generators_consumed_by_builtins_are_bounded():
    env = SandboxEnvironment(time_limit=0.2)
    with pytest.raises(ScriptError, match="time limit exceeded"):
        env.evaluate("any(i < 0 for i in range(100000) for j in range(100000))", {})
    with pytest.raises(ScriptError, match="memory limit exceeded|longer than"):
        SandboxEnvironment(time_limit=10, memory_limit_mb=16).evaluate(
            "len(''.join(str(i) for i in range(100000) for j in range(100000)))", {})


def test_guarded_operations_keep_their_meaning(env):
    data = {"d": {"a": 1, (1, 2): "t"}, "s": "Aap noot", "l": [3, 1, 2]}
    assert env.evaluate("[s.lower(), s.upper(), s.strip(), s.split(), s.split(' ', 1), s.replace('a', 'e')]",
                        data) == ["aap noot", "AAP NOOT", "Aap noot", ["Aap", "noot"], ["Aap", "noot"], "Aep noot"]
    assert env.evaluate("'-'.join(x for x in s.split())", data) == "Aap-noot"
    assert env.evaluate("(d.get((1, 2)), d[(1, 2)], sorted(l), sorted(l, key=abs, reverse=True))", data) == \
        ("t", "t", [1, 2, 3], [3, 2, 1])
    assert env.evaluate("(max(l), min(l, key=abs), max([], default=0), l[::-1], l[1:], s[:3])", data) == \
        (3, 1, 0, [2, 1, 3], [1, 2], "Aap")
    assert env.evaluate("({**d, 'b': 2}['b'], [*l, *range(2)], {*l}, dict(a=1), list(d.items())[0])", data) == \
        (2, [3, 1, 2, 0, 1], {1, 2, 3}, {"a": 1}, ("a", 1))
    assert env.evaluate("(f'{l}', f'{s!r:>12}', f'{3.14159:.2f}', str(l), 2 in l, (1, 2) in d)", data) == \
        ("[3, 1, 2]", "  'Aap noot'", "3.14", "[3, 1, 2]", True, True)
    assert env.evaluate("sorted(d.keys() - {'a'}) + list(zip(l, l))[:1]", data) == [(1, 2), (3, 3)]
    script_data = {"l": [1]}
    env.execute("l += [2]\nx = set()\nx |= {1}\nn = 1\nn -= 3\nl.append(n)", script_data)
    assert script_data == {"l": [1, 2, -2], "x": {1}, "n": -2}


def test_method_reference_is_guarded_too(env):
    # A method passed as a value (here a sort key) is the guard's wrapper, never the bare C method.
    assert env.evaluate("sorted(['b', 'a'], key=d.get)", {"d": {"a": 2, "b": 1}}) == ["b", "a"]
    with pytest.raises(ScriptError, match="sequence longer than"):
        env.evaluate("max([['x' * 1000000] * 1000], key=s.join)", {"s": ""})


# --- gateway conditions are read-only -------------------------------------------------------------------------

def test_probe_condition_cannot_change_case_data(env):
    # The probe's condition: true, and it appended to the case's list.
    data = {"lst": [0]}
    with pytest.raises(ScriptError, match="'append' is not allowed in a condition"):
        env.evaluate("lst.append(1) is None", data)
    assert data == {"lst": [0]}
    with pytest.raises(ScriptError, match="'append' is not allowed in a condition"):
        check_expression("lst.append(1) is None")


def test_condition_cannot_store_through_a_comprehension_target(env):
    data = {"lst": [0], "d": {}}
    for expression in ("[0 for lst[0] in [99]] and True", "any(True for d['k'] in [1])"):
        with pytest.raises(ScriptError, match="assigning to an item is not allowed in a condition"):
            env.evaluate(expression, data)
    assert data == {"lst": [0], "d": {}}


def test_mutating_call_refused_at_run_time_too():
    # Second line behind the static check: the method guard of a read-only evaluation refuses mutators.
    lst = [0]
    with pytest.raises(ScriptError, match="would change case data"):
        Guards(Limits(2 ** 20, 1.0, read_only=True)).call(lst, "append", 1)
    Guards(Limits(2 ** 20, 1.0, read_only=False)).call(lst, "append", 1)
    assert lst == [0, 1]


def test_scripts_may_still_change_data(env):
    data = {"lst": [0]}
    env.execute("lst.append(1)\nn = len(lst)", data)
    assert data == {"lst": [0, 1], "n": 2}


@pytest.mark.parametrize("script, reason", [
    ("t = []\nfor i in range(60):\n    t = [t, t]\nn = tekst(t)", "too large|memory limit exceeded"),
    ("a = 'x' * 1000000\nn = tekst([a] * 1000000)", "memory limit exceeded"),
])
def test_helper_arguments_are_bounded(script, reason):
    # A helper is trusted, but str() of a diagram's value inside it must not be an unbounded call.
    env = SandboxEnvironment({"tekst": lambda value: len(str(value))}, time_limit=10.0)
    assert env.evaluate("tekst([1, 2])", {}) == 6
    with pytest.raises(ScriptError, match=reason):
        env.execute(script, {})


class _CountingLimits(Limits):
    def __init__(self) -> None:
        super().__init__(2 ** 20, 3600.0, read_only=True)
        self.checks = 0

    def check_time(self) -> None:
        self.checks += 1
        super().check_time()


def test_shared_data_is_measured_by_the_objects_that_exist_not_the_tree_they_expand_to():
    # Found by CI under load: walking t = [t, t] (sixty levels) node by node took two million steps and hit the
    # time limit before the size bound. Each distinct list is now measured once, so it is refused straight away.
    t: list = []
    for _ in range(60):
        t = [t, t]
    limits = _CountingLimits()
    with pytest.raises(ScriptError, match="too large"):
        Guards(limits).measure(t)
    assert limits.checks <= 61
    # The expanded size is still what repr and == traverse: shared strings count each time they occur.
    shared = ["abc", ["de"]]
    assert Guards(_CountingLimits()).measure([shared, shared, {"k": shared}]) == (1 + 3 + 3 + 3 + 2 + 3, 5 + 5 + 1 + 5)
    cycle: list = [1]
    cycle.append([cycle])
    with pytest.raises(ScriptError, match="or a cycle"):
        Guards(_CountingLimits()).measure(cycle)
