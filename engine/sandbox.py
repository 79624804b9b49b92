"""Restricted execution of the Python that comes from diagrams.

Gateway conditions, script tasks, pre/post scripts, timer expressions and DMN cells are written by process owners,
not by developers, so SpiffWorkflow's plain eval/exec is replaced here. Defences, in order:

1. A static AST whitelist: simple expressions and statements only, no imports, no names or attributes starting
   with '_', attribute access only for a few data methods, calls only to safe builtins and registered helpers.
2. A tiny builtins table, so nothing dangerous can even be looked up by name.
3. Runtime guards for single operations that would run long or allocate a lot inside one C call ('*', '**',
   '%' formatting, range, sum), and a wall-clock deadline checked between Python lines.

Not bounded in-process: one C-level call on large inputs (e.g. str.join producing gigabytes, set() of hash-colliding
ints) and time spent inside helpers. Run workers with a memory limit and a watchdog.
"""
from __future__ import annotations

import ast
import functools
import keyword
import re
import sys
import time
from collections.abc import Callable, Collection, Mapping
from types import CodeType, TracebackType
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

MAX_SOURCE_CHARS = 10_000
MAX_RANGE = 100_000
MAX_POW_EXPONENT = 64
MAX_INT_BITS = 10_000  # ~3,000 decimal digits: far beyond any date or score arithmetic
MAX_SEQUENCE_LENGTH = 1_000_000
# SpiffWorkflow finds the failing script line by looking for this file name in the traceback.
FILENAME = "<string>"

# Data accessors only: read dicts, normalise and test strings, build lists, read dates. None of them returns a
# function, class, frame or module. str.format/format_map are absent because their fields can read attributes
# ('{0.__class__}').
ALLOWED_ATTRIBUTES = frozenset({
    "get", "keys", "values", "items",  # dict
    "lower", "upper", "strip", "startswith", "endswith", "split", "join", "replace",  # str
    "append",  # list
    "isoformat", "year", "month", "day",  # date/datetime
})

# Rejected by name so the error says "not allowed" instead of a confusing NameError; none is in the builtins table.
FORBIDDEN_CALLS = frozenset({
    "open", "exec", "eval", "compile", "__import__", "getattr", "setattr", "delattr", "globals", "locals", "vars",
    "type", "object", "input", "breakpoint", "help", "memoryview",
})


class ScriptError(Exception):
    """A diagram expression or script that is not allowed or exceeded a limit."""

    def __init__(self, reason: str, lineno: int | None = None) -> None:
        self.reason = reason
        self.lineno = lineno
        # SpiffWorkflow concatenates args[0] into its messages, so it must be the full text.
        super().__init__(f"line {lineno}: {reason}" if lineno else reason)

    def __str__(self) -> str:
        return self.args[0]


# --- runtime guards --------------------------------------------------------------------------------------------

_SEQUENCES = (str, bytes, list, tuple)


def _safe_range(*args: int) -> range:
    result = range(*args)
    try:
        too_long = len(result) > MAX_RANGE
    except OverflowError:  # longer than sys.maxsize
        too_long = True
    if too_long:
        raise ScriptError(f"range longer than {MAX_RANGE} items is not allowed")
    return result


def _safe_sum(iterable: Any, /, start: int | float = 0) -> Any:
    # Summing lists or tuples is quadratic inside one C call, which the deadline cannot interrupt.
    if not isinstance(start, (int, float)):
        raise ScriptError("sum() only adds numbers")
    return sum(iterable, start)


def _guarded_mul(a: Any, b: Any) -> Any:
    # One multiplication can allocate gigabytes ("x" * 10**10) before the deadline is checked again.
    if isinstance(a, int) and isinstance(b, int):
        if a.bit_length() + b.bit_length() > MAX_INT_BITS:
            raise ScriptError("number too large")
    elif isinstance(a, _SEQUENCES) and isinstance(b, int) and len(a) * b > MAX_SEQUENCE_LENGTH \
            or isinstance(b, _SEQUENCES) and isinstance(a, int) and len(b) * a > MAX_SEQUENCE_LENGTH:
        raise ScriptError(f"sequence longer than {MAX_SEQUENCE_LENGTH} items is not allowed")
    return a * b


def _guarded_pow(a: Any, b: Any) -> Any:
    # The literal-exponent rule alone still allows ((10**64)**64)**64..., which runs for minutes in one C call.
    if isinstance(a, int) and isinstance(b, int) and b > 0 and a.bit_length() * b > MAX_INT_BITS:
        raise ScriptError("number too large")
    return a ** b


def _guarded_mod(a: Any, b: Any) -> Any:
    # printf-style widths ("%0999999999d", "%*d") allocate in one call; f-string specs are checked statically.
    if isinstance(a, (str, bytes)):
        raise ScriptError("'%' string formatting is not allowed; use an f-string")
    return a % b


SAFE_BUILTINS: Mapping[str, Callable[..., Any]] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "enumerate": enumerate, "float": float,
    "int": int, "len": len, "list": list, "max": max, "min": min, "range": _safe_range, "round": round,
    "set": set, "sorted": sorted, "str": str, "sum": _safe_sum, "tuple": tuple, "zip": zip,
}

# Operators rewritten into guard calls. The guards live under '_' names, which diagram code cannot spell.
_GUARDED_OPERATORS = {ast.Mult: "_sandbox_mul", ast.Pow: "_sandbox_pow", ast.Mod: "_sandbox_mod"}
_GUARDS = {"_sandbox_mul": _guarded_mul, "_sandbox_pow": _guarded_pow, "_sandbox_mod": _guarded_mod}

# --- static check ----------------------------------------------------------------------------------------------

_ALLOWED_NODES = frozenset({
    ast.Expression, ast.Module, ast.Expr,
    # statements (only reachable in scripts)
    ast.Assign, ast.AugAssign, ast.If, ast.For, ast.Pass, ast.Break, ast.Continue, ast.Delete,
    # expressions
    ast.Constant, ast.Name, ast.Attribute, ast.Subscript, ast.Slice, ast.Starred,
    ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.keyword,
    ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.comprehension,
    ast.JoinedStr, ast.FormattedValue,
    # contexts and operators (no shifts: 1 << 10**9 is one huge allocation; no @)
    ast.Load, ast.Store, ast.Del,
    ast.And, ast.Or, ast.Not, ast.UAdd, ast.USub, ast.Invert,
    ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.BitAnd, ast.BitOr, ast.BitXor,
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.Is, ast.IsNot, ast.In, ast.NotIn,
})

_DESCRIPTIONS = {
    ast.Import: "import", ast.ImportFrom: "import", ast.While: "a while loop", ast.Lambda: "lambda",
    ast.FunctionDef: "a function definition", ast.AsyncFunctionDef: "a function definition",
    ast.ClassDef: "a class definition", ast.With: "a with statement", ast.AsyncWith: "a with statement",
    ast.Try: "a try statement", ast.TryStar: "a try statement", ast.Raise: "raise", ast.Assert: "assert",
    ast.Global: "global", ast.Nonlocal: "nonlocal", ast.Yield: "yield", ast.YieldFrom: "yield",
    ast.Await: "await", ast.AsyncFor: "async for", ast.Return: "return", ast.Match: "a match statement",
    ast.NamedExpr: "an assignment expression (:=)", ast.AnnAssign: "an annotated assignment",
    ast.LShift: "a bit shift", ast.RShift: "a bit shift", ast.MatMult: "the @ operator",
}

# A width like f"{x:999999999}" allocates that many characters in one call.
_BIG_NUMBER = re.compile(r"[1-9][0-9]{3,}")


class _Compiled(NamedTuple):
    code: CodeType
    calls: tuple[tuple[str, int | None], ...]  # (function name, line) of every call by name


def _walk(tree: ast.AST):
    """Every node, depth first, with the line of its nearest located ancestor (operators have no line).

    Iterative, like _guard_operators, so long flat expressions ("a + b + ...") are limited only by compile().
    """
    stack: list[tuple[ast.AST, int | None]] = [(tree, None)]
    while stack:
        node, lineno = stack.pop()
        lineno = getattr(node, "lineno", lineno)
        yield node, lineno
        stack.extend((child, lineno) for child in reversed(list(ast.iter_child_nodes(node))))


def _literal_number(node: ast.AST) -> int | float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        node = node.operand
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    return None


def _check_tree(tree: ast.AST) -> tuple[tuple[str, int | None], ...]:
    calls = []
    for node, lineno in _walk(tree):
        kind = type(node)
        if kind not in _ALLOWED_NODES:
            raise ScriptError(f"{_DESCRIPTIONS.get(kind, kind.__name__)} is not allowed", lineno)
        name = node.id if kind is ast.Name else node.attr if kind is ast.Attribute else None
        if name is not None and name.startswith("_"):
            raise ScriptError(f"names starting with '_' are not allowed: {name!r}", lineno)
        if kind is ast.Attribute:
            if name not in ALLOWED_ATTRIBUTES:
                raise ScriptError(f"attribute {name!r} is not allowed", lineno)
            if not isinstance(node.ctx, ast.Load):
                raise ScriptError("assigning or deleting attributes is not allowed", lineno)
        elif kind is ast.Call:
            if isinstance(node.func, ast.Name):
                if node.func.id in FORBIDDEN_CALLS:
                    raise ScriptError(f"calling {node.func.id!r} is not allowed", lineno)
                calls.append((node.func.id, lineno))
            elif not isinstance(node.func, ast.Attribute):
                raise ScriptError("only builtins, helpers and allowed methods can be called", lineno)
        elif kind is ast.BinOp and isinstance(node.op, ast.Pow):
            exponent = _literal_number(node.right)
            if exponent is None or abs(exponent) > MAX_POW_EXPONENT:
                raise ScriptError(f"the exponent of '**' must be a number literal of at most {MAX_POW_EXPONENT}",
                                  lineno)
        elif kind is ast.AugAssign and type(node.op) in _GUARDED_OPERATORS:
            raise ScriptError("'*=', '**=' and '%=' are not allowed; write 'x = x * y'", lineno)
        elif kind is ast.FormattedValue and node.format_spec is not None:
            parts = node.format_spec.values
            if not all(isinstance(part, ast.Constant) for part in parts):
                raise ScriptError("a format spec must be literal text", lineno)
            if _BIG_NUMBER.search("".join(part.value for part in parts)):
                raise ScriptError("format widths and precisions above 999 are not allowed", lineno)
    return tuple(calls)


def _guarded(node: ast.AST) -> ast.AST:
    guard = _GUARDED_OPERATORS.get(type(node.op)) if isinstance(node, ast.BinOp) else None
    if guard is None:
        return node
    name = ast.copy_location(ast.Name(id=guard, ctx=ast.Load()), node)
    return ast.copy_location(ast.Call(func=name, args=[node.left, node.right], keywords=[]), node)


def _guard_operators(tree: ast.AST) -> None:
    """Rewrite `a * b`, `a ** b` and `a % b` into calls of the runtime guards, top down and in place."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [_guarded(item) for item in value]
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                value = _guarded(value)
                setattr(node, field, value)
                stack.append(value)


# --- compile, evaluate, execute -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1024)
def _compile(text: str, mode: str) -> _Compiled:
    """Check and compile; raises SyntaxError for syntax problems (DMN relies on that) and ScriptError otherwise."""
    if not isinstance(text, str):
        raise ScriptError(f"expected source text, got {type(text).__name__}")
    if len(text) > MAX_SOURCE_CHARS:
        raise ScriptError(f"source text longer than {MAX_SOURCE_CHARS} characters")
    if mode == "eval":
        # Diagram XML often wraps expressions in newlines and indentation (SpiffWorkflow does not strip them), and
        # surrounding whitespace never changes an expression's meaning.
        text = text.strip()
    try:
        tree = ast.parse(text, filename=FILENAME, mode=mode)
        calls = _check_tree(tree)
        _guard_operators(tree)
        return _Compiled(compile(tree, FILENAME, mode), calls)
    except (RecursionError, MemoryError):
        raise ScriptError("source text is nested too deeply") from None


def _compile_checked(text: str, mode: str) -> _Compiled:
    try:
        return _compile(text, mode)
    except SyntaxError as err:
        raise ScriptError(f"syntax error: {err.msg}", err.lineno) from None


def check_expression(text: str, helpers: Collection[str] | None = None) -> None:
    """Raise ScriptError unless `text` is an allowed expression. With `helpers`, calls by name must be safe
    builtins or those helpers (otherwise they are checked per environment, at run time)."""
    _check_names(_compile_checked(text, "eval"), helpers)


def check_script(text: str, helpers: Collection[str] | None = None) -> None:
    """Raise ScriptError unless `text` is an allowed script (see check_expression for `helpers`)."""
    _check_names(_compile_checked(text, "exec"), helpers)


def _check_names(compiled: _Compiled, helpers: Collection[str] | None) -> None:
    if helpers is None:
        return
    for name, lineno in compiled.calls:
        if name not in SAFE_BUILTINS and name not in helpers:
            raise ScriptError(f"calling {name!r} is not allowed: not a builtin or helper", lineno)


def _diagram_line(tb: TracebackType | None) -> int | None:
    """The innermost diagram line in a traceback."""
    lineno = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            lineno = tb.tb_lineno
        tb = tb.tb_next
    return lineno


class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment semantics, but every source text is whitelisted and runs against safe builtins only."""

    def __init__(self, helpers: Mapping[str, Callable] | None = None, time_limit: float = 1.0) -> None:
        helpers = dict(helpers or {})
        for name in helpers:
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                    or name.startswith("_") or name in FORBIDDEN_CALLS:
                raise ValueError(f"invalid helper name: {name!r}")
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        super().__init__(helpers)
        self.time_limit = time_limit
        self._callable_names = frozenset(SAFE_BUILTINS) | frozenset(helpers)

    def _check_calls(self, compiled: _Compiled) -> None:
        for name, lineno in compiled.calls:
            if name not in self._callable_names:
                raise ScriptError(f"calling {name!r} is not allowed: not a builtin or helper", lineno)

    def evaluate(self, expression: str, context: dict, external_context: Mapping | None = None) -> Any:
        compiled = self._compile(expression, "eval")
        self.check_for_overwrite(context, {})
        namespace = {**self.globals, **(external_context or {}), **context, **self._injected()}
        return self._run(eval, compiled.code, namespace)

    def execute(self, script: str, context: dict, external_context: Mapping | None = None) -> bool:
        external_context = external_context or {}
        compiled = self._compile(script, "exec")
        self.check_for_overwrite(context, external_context)
        # Run in the task data itself so new variables land there, as TaskDataEnvironment does.
        context.update(self.globals)
        context.update(external_context)
        context.update(self._injected())
        try:
            self._run(exec, compiled.code, context)
        finally:
            self._remove_injected(context, external_context)
        return True

    def call_service(self, context: dict, **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are not supported: diagrams cannot call external services")

    def check_for_overwrite(self, context: Mapping, external_context: Mapping) -> None:
        # A field named like a helper would make the helper uncallable with a baffling error; fail fast instead.
        clashes = (set(self.globals) | set(external_context)) & set(context)
        if clashes:
            raise ValueError("task data overwrites predefined function(s); rename these variables or fields: "
                             + ", ".join(sorted(clashes)))

    def _compile(self, text: str, mode: str) -> _Compiled:
        compiled = _compile_checked(text, mode)
        self._check_calls(compiled)
        return compiled

    @staticmethod
    def _injected() -> dict[str, Any]:
        # A fresh builtins dict per run: even if something reached it, nothing would leak to the next run.
        return {"__builtins__": dict(SAFE_BUILTINS), **_GUARDS}

    def _remove_injected(self, context: dict, external_context: Mapping) -> None:
        for key in list(context):
            value = context[key]
            if key == "__builtins__" or key in _GUARDS or key in self.globals or key in external_context \
                    or callable(value):
                del context[key]

    def _run(self, run: Callable, code: CodeType, namespace: dict) -> Any:
        deadline = time.monotonic() + self.time_limit

        def trace(frame, event, arg):
            # Only diagram frames are traced (loops re-fire line events there) and only they raise: diagram code
            # cannot catch exceptions, whereas a helper might swallow the error. Helpers run untraced.
            if frame.f_code.co_filename != FILENAME:
                return None
            if time.monotonic() > deadline:
                raise ScriptError("time limit exceeded", frame.f_lineno)
            return trace

        previous = sys.gettrace()  # e.g. coverage or a debugger
        sys.settrace(trace)
        try:
            result = run(code, namespace)
            # CPython uninstalls a tracer that raised; if it is gone, something swallowed the time-out.
            if sys.gettrace() is not trace:
                raise ScriptError("time limit exceeded")
            return result
        except ScriptError as err:
            # Guards and helpers do not know the diagram line; the traceback does.
            lineno = err.lineno or _diagram_line(err.__traceback__)
            if lineno != err.lineno:
                raise ScriptError(err.reason, lineno) from None
            raise
        finally:
            sys.settrace(previous)


class SandboxScriptEngine(PythonScriptEngine):
    environment: SandboxEnvironment

    def __init__(self, environment: SandboxEnvironment) -> None:
        super().__init__(environment)

    def validate(self, expression: str) -> None:
        # DMN's needs_eq() probes syntax by catching SyntaxError, so syntax problems must stay SyntaxError.
        self.environment._check_calls(_compile(expression, "eval"))

    def evaluate(self, task, expression, external_context=None):
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as err:
            # The base class keeps only the error type; surface the sandbox's reason and line.
            if isinstance(err.__context__, ScriptError):
                err.add_note(str(err.__context__))
                err.line_number = err.line_number or err.__context__.lineno
            raise

    def call_service(self, task, **kwargs):
        # The base class's error path references an undefined name; fail with the real reason instead.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(f"Service call failed: {err}", task=task, exception=err) from err

    def get_error_line_number_and_content(self, script, err):
        if isinstance(err, ScriptError) and err.lineno:
            lines = script.splitlines()
            return err.lineno, lines[err.lineno - 1] if err.lineno <= len(lines) else ""
        return super().get_error_line_number_and_content(script, err)


def make_script_engine(helpers: Mapping[str, Callable] | None = None, time_limit: float = 1.0) -> PythonScriptEngine:
    """SpiffWorkflow's script engine with every diagram expression and script sandboxed."""
    return SandboxScriptEngine(SandboxEnvironment(helpers, time_limit))
