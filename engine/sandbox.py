"""Restricted execution of the Python that comes from diagrams.

Gateway conditions, script tasks, pre/post scripts, timer expressions and DMN cells are written by process owners,
not by developers, so SpiffWorkflow's plain eval/exec is replaced here. Defences, in order:

1. A static AST whitelist: simple expressions and statements only, no imports, no names or attributes starting
   with '_', attribute access only for a few data methods, calls only to safe builtins and registered helpers.
   Expressions (conditions, timers, DMN cells) are read-only: no method that changes data.
2. A rewrite of the checked tree: every operator, comparison, subscript, slice, method call, f-string field,
   `*`/`**` spread and loop iteration goes through a guard of engine/sandbox_guards.py, and the builtins table
   holds guarded versions only. The guards charge every allocation to a per-evaluation memory budget before the
   C call that makes it, and check the deadline; see that module for why this bounds memory and time.
3. A tiny builtins table, so nothing dangerous can even be looked up by name.
"""
from __future__ import annotations

import ast
import functools
import keyword
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from types import CodeType, TracebackType
from typing import Any, NamedTuple

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from . import sandbox_guards as guards
from .sandbox_guards import MAX_RANGE, MAX_SEQUENCE_LENGTH, MUTATING_METHODS, Guards, Limits, ScriptError  # noqa: F401

MAX_SOURCE_CHARS = 10_000
MAX_POW_EXPONENT = 64
DEFAULT_MEMORY_LIMIT_MB = 256
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

# The names of the builtins table (each is a guarded wrapper, made per evaluation by Guards.builtins).
SAFE_BUILTINS = frozenset({
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "len", "list", "max", "min", "range",
    "round", "set", "sorted", "str", "sum", "tuple", "zip",
})
_GUARD_NAMES = frozenset(Guards(Limits(0, 0, True)).names())

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
    static_bytes: int  # what straight-line code may retain without a guard (charged once per run)


def _walk(tree: ast.AST) -> Iterator[tuple[Any, int | None]]:  # Any: callers dispatch on type(node)
    """Every node, depth first, with the line of its nearest located ancestor (operators have no line).

    Iterative, like _rewrite, so long flat expressions ("a + b + ...") are limited only by compile().
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
        return node.value  # type: ignore[return-value]  # an int or a float, checked above
    return None


def _check_tree(tree: ast.AST, mode: str) -> tuple[tuple[str, int | None], ...]:
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
            if mode == "eval" and name in MUTATING_METHODS:
                # Conditions, timers and decision cells only read case data.
                raise ScriptError(f"calling {name!r} is not allowed in a condition or expression: "
                                  "it would change case data", lineno)
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
        elif kind is ast.AugAssign:
            if isinstance(node.op, (ast.Mult, ast.Pow, ast.Mod)):
                raise ScriptError("'*=', '**=' and '%=' are not allowed; write 'x = x * y'", lineno)
            if not isinstance(node.target, ast.Name):
                raise ScriptError("'+=' and the like only work on a variable; write 'x[k] = x[k] + y'", lineno)
        elif kind is ast.Subscript and mode == "eval" and not isinstance(node.ctx, ast.Load):
            # Only a comprehension's target can store in an expression: [0 for d['k'] in [1]].
            raise ScriptError("assigning to an item is not allowed in a condition or expression: "
                              "it would change case data", lineno)
        elif kind is ast.Subscript and isinstance(node.slice, ast.Slice) and isinstance(node.ctx, ast.Store):
            raise ScriptError("assigning to a slice is not allowed", lineno)
        elif kind is ast.Starred and not isinstance(node.ctx, ast.Load):
            raise ScriptError("starred assignment ('a, *b = ...') is not allowed", lineno)
        elif kind is ast.FormattedValue and node.format_spec is not None:
            parts = node.format_spec.values
            if not all(isinstance(part, ast.Constant) for part in parts):
                raise ScriptError("a format spec must be literal text", lineno)
            if _BIG_NUMBER.search("".join(part.value for part in parts)):
                raise ScriptError("format widths and precisions above 999 are not allowed", lineno)
    return tuple(calls)


# --- rewrite: route every operation that can allocate or run long through a guard -----------------------------

_BINOP_INDEX = {
    ast.Add: guards.ADD, ast.Sub: guards.SUB, ast.Mult: guards.MUL, ast.Div: guards.DIV,
    ast.FloorDiv: guards.FLOORDIV, ast.Mod: guards.MOD, ast.Pow: guards.POW, ast.BitOr: guards.OR,
    ast.BitAnd: guards.AND, ast.BitXor: guards.XOR,
}
_INPLACE_INDEX = {
    ast.Add: guards.IADD, ast.Sub: guards.ISUB, ast.Div: guards.IDIV, ast.FloorDiv: guards.IFLOORDIV,
    ast.BitOr: guards.IOR, ast.BitAnd: guards.IAND, ast.BitXor: guards.IXOR,
}
_ORDERING = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_ITEM_BYTES = {ast.ListComp: 16 + guards.FRESH_SCALAR, ast.SetComp: guards.ITEM_BYTES, ast.DictComp: guards.ITEM_BYTES,
               ast.GeneratorExp: 0}


def _retained_bytes(nodes: list[ast.AST]) -> int:
    """What one run of these nodes may keep alive without passing a guard that charges it.

    Displays build a new object that can reference earlier ones (x = [x, x] grows each iteration), item stores grow a
    dict, a generator keeps a frame; everything else that allocates more than a few bytes is charged by a guard.
    """
    total = 0
    for tree in nodes:
        for node in ast.walk(tree):
            if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and isinstance(getattr(node, "ctx", ast.Load()),
                                                                                 ast.Load):
                total += 64 + (16 + guards.FRESH_SCALAR) * len(node.elts)
            elif isinstance(node, ast.Dict):
                total += 256 + guards.ITEM_BYTES * len(node.keys)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store):
                total += guards.RETAIN_NODE_BYTES
            elif isinstance(node, _COMPREHENSIONS):
                total += 1024 if isinstance(node, ast.GeneratorExp) else 256
    return total


def _guard_call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
    func = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), like)
    return ast.copy_location(ast.Call(func=func, args=args, keywords=[]), like)


def _constant(value: Any, like: ast.AST) -> ast.Constant:
    return ast.copy_location(ast.Constant(value=value), like)


def _step(nbytes: int, like: ast.AST) -> ast.Call:
    return _guard_call("_sandbox_step", [_constant(nbytes, like)], like)


def _rewritten(node: Any) -> Any:
    """The guarded form of one node (its children are rewritten afterwards, by _rewrite)."""
    kind = type(node)
    if kind is ast.BinOp:
        return _guard_call("_sandbox_binop", [node.left, _constant(_BINOP_INDEX[type(node.op)], node), node.right],
                           node)
    if kind is ast.AugAssign:
        load = ast.copy_location(ast.Name(id=node.target.id, ctx=ast.Load()), node.target)
        value = _guard_call("_sandbox_binop", [load, _constant(_INPLACE_INDEX[type(node.op)], node), node.value],
                            node)
        return ast.copy_location(ast.Assign(targets=[node.target], value=value), node)
    if kind is ast.Compare:
        if any(isinstance(op, _ORDERING) for op in node.ops):
            node.left = _guard_call("_sandbox_value", [node.left], node.left)
            node.comparators = [_guard_call("_sandbox_value", [c], c) for c in node.comparators]
        return node
    if kind is ast.Subscript:
        if isinstance(node.slice, ast.Slice):
            if isinstance(node.ctx, ast.Load):
                bounds = [part if part is not None else _constant(None, node)
                          for part in (node.slice.lower, node.slice.upper, node.slice.step)]
                return _guard_call("_sandbox_slice", [node.value, *bounds], node)
            return node  # del x[a:b] only shrinks
        node.slice = _guard_call("_sandbox_value", [node.slice], node.slice)  # hashing a key
        return node
    if kind is ast.Attribute:
        return _guard_call("_sandbox_attr", [node.value, _constant(node.attr, node)], node)
    if kind is ast.Call and isinstance(node.func, ast.Attribute):
        call = _guard_call("_sandbox_call", [node.func.value, _constant(node.func.attr, node), *node.args], node)
        call.keywords = node.keywords
        return call
    if kind is ast.Starred:
        node.value = _guard_call("_sandbox_spread", [node.value], node.value)
        return node
    if kind is ast.keyword and node.arg is None:
        node.value = _guard_call("_sandbox_spread_map", [node.value], node.value)
        return node
    if kind is ast.Dict:
        node.values = [_guard_call("_sandbox_spread_map", [v], v) if k is None else v
                       for k, v in zip(node.keys, node.values)]
        node.keys = [_guard_call("_sandbox_value", [k], k) if k is not None else None for k in node.keys]
        return node
    if kind is ast.Set:
        node.elts = [e if isinstance(e, ast.Starred) else _guard_call("_sandbox_value", [e], e) for e in node.elts]
        return node
    if kind is ast.FormattedValue:
        spec = "".join(part.value for part in node.format_spec.values) if node.format_spec else ""
        width = max((int(number) for number in re.findall(r"[0-9]+", spec)), default=0)  # at most 999, checked
        node.value = _guard_call("_sandbox_fmt", [node.value, _constant(node.conversion, node),
                                                  _constant(width, node)], node.value)
        node.conversion = -1
        return node
    if kind in _COMPREHENSIONS:
        parts = [node.key, node.value] if kind is ast.DictComp else [node.elt]
        per_step = _retained_bytes(parts + [g for g in node.generators])
        for index, generator in enumerate(node.generators):
            last = index == len(node.generators) - 1
            generator.ifs.insert(0, _step(per_step + (_ITEM_BYTES[kind] if last else 0), generator.target))
        if kind is ast.DictComp:
            node.key = _guard_call("_sandbox_value", [node.key], node.key)
        elif kind is ast.SetComp:
            node.elt = _guard_call("_sandbox_value", [node.elt], node.elt)
        return node
    if kind is ast.For:
        first = node.body[0]
        step = ast.copy_location(ast.Expr(value=_step(_retained_bytes([node.target, *node.body]), first)), first)
        node.body.insert(0, step)
        return node
    return node


def _rewrite(tree: ast.AST) -> None:
    """Replace every node by its guarded form, top down and in place (iteratively: deep trees are allowed)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        for field, value in ast.iter_fields(node):
            if isinstance(value, list):
                value[:] = [_rewritten(item) if isinstance(item, ast.AST) else item for item in value]
                stack.extend(item for item in value if isinstance(item, ast.AST))
            elif isinstance(value, ast.AST):
                value = _rewritten(value)
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
        calls = _check_tree(tree, mode)
        static_bytes = _retained_bytes([tree])
        _rewrite(tree)
        ast.fix_missing_locations(tree)
        return _Compiled(compile(tree, FILENAME, mode), calls, static_bytes)  # type: ignore[call-overload]
    except (RecursionError, MemoryError):
        raise ScriptError("source text is nested too deeply") from None


def _compile_checked(text: str, mode: str) -> _Compiled:
    try:
        return _compile(text, mode)
    except SyntaxError as err:
        raise ScriptError(f"syntax error: {err.msg}", err.lineno) from None


def check_expression(text: str, helpers: Collection[str] | None = None) -> None:
    """Raise ScriptError unless `text` is an allowed (read-only) expression. With `helpers`, calls by name must be
    safe builtins or those helpers (otherwise they are checked per environment, at run time)."""
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


class SandboxEnvironment(BasePythonScriptEngineEnvironment):  # type: ignore[misc]  # SpiffWorkflow is untyped
    """TaskDataEnvironment semantics, but every source text is whitelisted and runs guarded, against safe builtins
    only, within a time limit (seconds) and a memory limit (MB) per evaluation."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]] | None = None, time_limit: float = 1.0,
                 memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB) -> None:
        helpers = dict(helpers or {})
        for name in helpers:
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name) \
                    or name.startswith("_") or name in FORBIDDEN_CALLS:
                raise ValueError(f"invalid helper name: {name!r}")
        if time_limit <= 0:
            raise ValueError("time_limit must be positive")
        if memory_limit_mb <= 0:
            raise ValueError("memory_limit_mb must be positive")
        super().__init__(helpers)
        self.time_limit = time_limit
        self.memory_limit = int(memory_limit_mb * 2 ** 20)
        self._callable_names = frozenset(SAFE_BUILTINS) | frozenset(helpers)

    def _check_calls(self, compiled: _Compiled) -> None:
        for name, lineno in compiled.calls:
            if name not in self._callable_names:
                raise ScriptError(f"calling {name!r} is not allowed: not a builtin or helper", lineno)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> Any:
        compiled = self._compile(expression, "eval")
        self.check_for_overwrite(context, {})
        namespace = {**self.globals, **(external_context or {}), **context}
        guard = self._guards(namespace, read_only=True)
        result = self._run(eval, compiled, namespace, guard)
        guard.check_result(result, "the result")
        return result

    def execute(self, script: str, context: dict[str, Any], external_context: Mapping[str, Any] | None = None) -> bool:
        external_context = external_context or {}
        compiled = self._compile(script, "exec")
        self.check_for_overwrite(context, external_context)
        # Run in the task data itself so new variables land there, as TaskDataEnvironment does.
        context.update(self.globals)
        context.update(external_context)
        guard = self._guards(context, read_only=False)
        try:
            self._run(exec, compiled, context, guard)
        finally:
            self._remove_injected(context, external_context)
        # The data is serialised with the case: no cycles, no explosion of shared references.
        guard.check_result(context, "the script's data")
        return True

    def call_service(self, context: dict[str, Any], **kwargs: Any) -> Any:
        raise NotImplementedError("service tasks are not supported: diagrams cannot call external services")

    def check_for_overwrite(self, context: Mapping[str, Any], external_context: Mapping[str, Any]) -> None:
        # A field named like a helper would make the helper uncallable with a baffling error; fail fast instead.
        clashes = (set(self.globals) | set(external_context)) & set(context)
        if clashes:
            raise ValueError("task data overwrites predefined function(s); rename these variables or fields: "
                             + ", ".join(sorted(clashes)))

    def _compile(self, text: str, mode: str) -> _Compiled:
        compiled = _compile_checked(text, mode)
        self._check_calls(compiled)
        return compiled

    def _guards(self, namespace: dict[str, Any], read_only: bool) -> Guards:
        # Fresh guards and builtins per run: budgets never carry over, and nothing leaks to the next run.
        guard = Guards(Limits(self.memory_limit, self.time_limit, read_only))
        namespace["__builtins__"] = guard.builtins()
        namespace.update(guard.names())
        namespace.update({name: guard.helper(function) for name, function in self.globals.items()
                          if callable(function)})
        return guard

    def _remove_injected(self, context: dict[str, Any], external_context: Mapping[str, Any]) -> None:
        for key in list(context):
            value = context[key]
            if key == "__builtins__" or key in _GUARD_NAMES or key in self.globals or key in external_context \
                    or callable(value):
                del context[key]

    def _run(self, run: Callable[..., Any], compiled: _Compiled, namespace: dict[str, Any], guard: Guards) -> Any:
        try:
            # The budget is the script's: a stall or a garbage collection while the guards and helpers were being
            # set up (counted as CPU time on a virtual machine whose host stalls it) failed trivial expressions.
            guard.limits.start()
            guard.limits.charge(compiled.static_bytes)
            return run(compiled.code, namespace)
        except ScriptError as err:
            # Guards and helpers do not know the diagram line; the traceback does.
            lineno = err.lineno or _diagram_line(err.__traceback__)
            if lineno != err.lineno:
                raise ScriptError(err.reason, lineno) from None
            raise
        except MemoryError:
            # Only reachable if the machine itself is out of memory: every guarded allocation is within the limit.
            raise ScriptError("memory limit exceeded") from None


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]  # SpiffWorkflow is untyped
    environment: SandboxEnvironment

    def __init__(self, environment: SandboxEnvironment) -> None:
        super().__init__(environment)

    def validate(self, expression: str) -> None:
        # DMN's needs_eq() probes syntax by catching SyntaxError, so syntax problems must stay SyntaxError.
        self.environment._check_calls(_compile(expression, "eval"))

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as err:
            # The base class keeps only the error type; surface the sandbox's reason and line.
            if isinstance(err.__context__, ScriptError):
                err.add_note(str(err.__context__))
                err.line_number = err.line_number or err.__context__.lineno
            raise

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        # The base class's error path references an undefined name; fail with the real reason instead.
        try:
            return self.environment.call_service(task.data, **kwargs)
        except Exception as err:
            raise WorkflowTaskException(f"Service call failed: {err}", task=task, exception=err) from err

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int | None, str]:
        if isinstance(err, ScriptError) and err.lineno:
            lines = script.splitlines()
            return err.lineno, lines[err.lineno - 1] if err.lineno <= len(lines) else ""
        return super().get_error_line_number_and_content(script, err)  # type: ignore[no-any-return]


def make_script_engine(helpers: Mapping[str, Callable[..., Any]] | None = None, time_limit: float = 1.0,
                       memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB) -> PythonScriptEngine:
    """SpiffWorkflow's script engine with every diagram expression and script sandboxed and bounded."""
    return SandboxScriptEngine(SandboxEnvironment(helpers, time_limit, memory_limit_mb))
