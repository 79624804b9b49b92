"""Runtime bounds for diagram code: every allowed operation that can allocate or run long is checked here.

The sandbox (engine/sandbox.py) rewrites a diagram's code so that each such operation goes through a `Guards`
instance made for one evaluation. Together they give two provable bounds, without relying on line tracing:

Memory. Every operation that can allocate more than a few hundred bytes computes the size of its result BEFORE the
C call that would allocate it, and charges that size to the evaluation's budget (`Limits.charge`); the charge is
never refunded, so the total of all charged allocations is at most the budget. Small allocations (an int, a small
tuple display, one dict insert) are not charged one by one; instead every loop iteration and comprehension step is
charged a static amount for the nodes in its body that can retain memory (displays, item stores, generators), so
their sum is bounded too. The operations are exactly the sandbox's whitelist:

  operators      + - * ** % | & ^ / //   -> binop (int sizes, sequence and set sizes)
  comparisons    == != < <= > >= in      -> value (the expanded size of containers, see `measure`)
  hashing        d[k], {k: ..}, {x}      -> value
  slicing        x[a:b:c]                -> slice
  *x, **m        in calls and displays   -> spread, spread_map
  f-strings      f"{x!r:>5}"             -> fmt (format widths are limited statically)
  loops          for, comprehensions     -> step
  methods        every obj.name          -> attribute, call (join, replace, split, lower, upper, strip, append,
                                            get, keys, values, items, startswith, endswith, isoformat)
  builtins       every builtin           -> the wrappers in `builtins()` (list, tuple, set, dict, sorted, str, ...)

Time. Every guard checks the deadline before its C call, every loop iteration and comprehension step checks it, and
the work of each guarded C call is bounded by the size limits below (at most MAX_SEQUENCE_LENGTH items, at most
MAX_WALK_NODES expanded values and MAX_WALK_CHARS characters for anything that compares, hashes or prints
containers; the walk that measures this checks the deadline itself). Between two checks there
is therefore only straight-line code of bounded length, so the limit fires at most one bounded operation late.

Not bounded here: the work of the registered helpers (engine/script_helpers.py), which are trusted code (their
arguments are bounded by `helper`), and objects of types this module does not know (only helpers can return those).
"""
from __future__ import annotations

import operator
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as daytime
from functools import partial
from typing import Any

MAX_RANGE = 100_000
MAX_INT_BITS = 10_000  # ~3,000 decimal digits: far beyond any date or score arithmetic
MAX_SEQUENCE_LENGTH = 1_000_000
MAX_WALK_NODES = 2_000_000  # expanded size of data that is compared, hashed, printed or stored
MAX_WALK_CHARS = 100_000_000  # text in data that is compared or hashed (shared strings counted each time)
MAX_ROUND_DIGITS = 1_000
# Bytes charged per node that can retain memory each time its loop body runs (a display's object, a dict insert's
# amortised growth, a generator's frame), and per stored item of a list/set/dict comprehension.
RETAIN_NODE_BYTES = 256
ITEM_BYTES = 256
STR_OVERHEAD = 64
FRESH_SCALAR = 48  # an int or float made by iterating a range or by arithmetic, with allocator overhead


class ScriptError(Exception):
    """A diagram expression or script that is not allowed or exceeded a limit."""

    def __init__(self, reason: str, lineno: int | None = None) -> None:
        self.reason = reason
        self.lineno = lineno
        # SpiffWorkflow concatenates args[0] into its messages, so it must be the full text.
        super().__init__(f"line {lineno}: {reason}" if lineno else reason)

    def __str__(self) -> str:
        return str(self.args[0])

    def __reduce__(self) -> tuple[type[ScriptError], tuple[str, int | None]]:
        return ScriptError, (self.reason, self.lineno)


# Values whose comparison, hashing and printing take time proportional to their own (already charged) size.
_FLAT = frozenset({str, int, float, bool, type(None), date, datetime, daytime, timedelta})
_SEQUENCES = (list, tuple)
_VIEWS: tuple[type, ...] = (type({}.keys()), type({}.values()), type({}.items()))
_CONTAINERS = frozenset({list, tuple, set, frozenset, *_VIEWS})
_ITEMS_VIEW: type = type({}.items())
_JUST_STR = {str}


def _children(item: Any) -> list[Any] | tuple[Any, ...] | None:
    """The values a container holds (a dict's keys and values), or None for anything that holds none."""
    kind = type(item)
    if kind is list or kind is tuple:
        return item  # type: ignore[no-any-return]
    if kind is dict:
        return [*item.keys(), *item.values()]
    if kind in _CONTAINERS:
        return list(item)
    return None


# Binary operators by index (the sandbox rewrites `a + b` into `binop(a, ADD, b)`).
BINOPS: tuple[Callable[[Any, Any], Any], ...] = (
    operator.add, operator.sub, operator.mul, operator.truediv, operator.floordiv, operator.mod, operator.pow,
    operator.or_, operator.and_, operator.xor,
    operator.iadd, operator.isub, operator.itruediv, operator.ifloordiv, operator.ior, operator.iand,
    operator.ixor,
)
ADD, SUB, MUL, DIV, FLOORDIV, MOD, POW, OR, AND, XOR = range(10)
IADD, ISUB, IDIV, IFLOORDIV, IOR, IAND, IXOR = range(10, 17)
_ADDS = (ADD, IADD)
_SET_OPS = frozenset({SUB, OR, AND, XOR, ISUB, IOR, IAND, IXOR})

DATA_ATTRIBUTES = frozenset({"year", "month", "day"})
MUTATING_METHODS = frozenset({"append"})


def _width(text: str) -> int:
    """Bytes per character of a str (isascii is O(1) in CPython; anything else may need 4)."""
    return 1 if text.isascii() else 4


class Limits:
    """The budget of one evaluation: bytes that may still be allocated, time, and whether it is read-only.

    The time limit is on the CPU time the evaluation's thread spends, not on the clock: a host that stalls (a
    busy neighbour, a garbage collection, another thread holding the GIL) must not fail a case on a trivial
    expression, while a runaway script burns CPU and is stopped. The cheap monotonic clock is read on every
    check; only when its deadline has passed is the thread's CPU time read, and the deadline moved on by what
    is left of the budget."""

    __slots__ = ("memory_limit", "left", "deadline", "read_only", "time_limit", "cpu_started")

    def __init__(self, memory_limit: int, time_limit: float, read_only: bool) -> None:
        self.memory_limit = memory_limit
        self.left = memory_limit
        self.time_limit = time_limit
        self.read_only = read_only
        self.start()

    def start(self) -> None:
        """Start the time budget now: when the script starts, not while its namespace is being set up."""
        self.cpu_started = time.thread_time()
        self.deadline = time.monotonic() + self.time_limit

    def _out_of_time(self) -> bool:
        left = self.time_limit - (time.thread_time() - self.cpu_started)
        if left <= 0:
            return True
        self.deadline = time.monotonic() + left
        return False

    def check_time(self) -> None:
        if time.monotonic() > self.deadline and self._out_of_time():
            raise ScriptError("time limit exceeded")

    def charge(self, nbytes: int) -> None:
        if time.monotonic() > self.deadline and self._out_of_time():
            raise ScriptError("time limit exceeded")
        self.left -= nbytes
        if self.left < 0:
            raise ScriptError(f"memory limit exceeded: the script needs more than "
                              f"{self.memory_limit // 2 ** 20} MB")


def _too_long(n: int) -> ScriptError:
    return ScriptError(f"sequence longer than {MAX_SEQUENCE_LENGTH} items is not allowed")


class Guards:
    """The guard functions of one evaluation, bound to its Limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def names(self) -> dict[str, Callable[..., Any]]:
        """The guards under the names the rewritten code calls (diagram code cannot spell names with '_')."""
        return {
            "_sandbox_binop": self.binop, "_sandbox_value": self.value, "_sandbox_slice": self.slice,
            "_sandbox_spread": self.spread, "_sandbox_spread_map": self.spread_map, "_sandbox_fmt": self.fmt,
            "_sandbox_step": self.step, "_sandbox_attr": self.attribute, "_sandbox_call": self.call,
        }

    # --- measuring -------------------------------------------------------------------------------------------

    def measure(self, value: Any, what: str = "data") -> tuple[int, int]:
        """(nodes, characters) of `value` expanded as a tree: what ==, hash, repr and JSON traverse.

        Shared references count each time they occur (so [[x] * 1000] * 1000 is a million nodes, as it is for
        repr), and a cycle never ends, so both exceed MAX_WALK_NODES and are refused. Each distinct container is
        visited once and its expanded size remembered, so the walk costs the objects that exist, not the tree
        they expand to: t = [t, t] sixty times over is 61 lists, refused at once.
        """
        kind = type(value)
        if kind is str:
            return 1, len(value)
        if kind in _FLAT:
            return 1, 0
        root = _children(value)
        if root is None:
            return 1, 0
        check_time = self.limits.check_time
        sizes: dict[int, tuple[int, int]] = {}  # id of a finished container -> its expanded (nodes, chars)
        on_path = {id(value)}
        # Each frame: the container's id, its children, the index of the next child to look at.
        stack: list[list[Any]] = [[id(value), root, 0]]
        while stack:
            frame = stack[-1]
            children: list[Any] = frame[1]
            index: int = frame[2]
            if index == 0 and set(map(type, children)) <= _FLAT:
                index = len(children)  # nothing below to visit (a long flat list is not looped over in Python)
            pushed = False
            while index < len(children):
                child = children[index]
                index += 1
                if type(child) in _FLAT or id(child) in sizes:
                    continue
                grandchildren = _children(child)
                if grandchildren is None:
                    continue
                if id(child) in on_path:
                    raise ScriptError(f"{what} too large: more than {MAX_WALK_NODES} values (or a cycle)")
                frame[2] = index
                on_path.add(id(child))
                stack.append([id(child), grandchildren, 0])
                pushed = True
                break
            if pushed:
                continue
            check_time()
            nodes, chars = len(children), 0
            kinds = set(map(type, children))
            if kinds <= _FLAT:  # flat children (the common case) are counted at C speed
                if kinds == _JUST_STR:
                    chars = sum(map(len, children))
                elif str in kinds:
                    chars = sum(len(child) for child in children if type(child) is str)
            else:
                for child in children:
                    if type(child) is str:
                        chars += len(child)
                    else:
                        below = sizes.get(id(child))
                        if below is not None:
                            nodes += below[0]
                            chars += below[1]
            if nodes > MAX_WALK_NODES:
                raise ScriptError(f"{what} too large: more than {MAX_WALK_NODES} values (or a cycle)")
            stack.pop()
            on_path.discard(frame[0])
            sizes[frame[0]] = (nodes, chars)
        nodes, chars = sizes[id(value)]
        return nodes + 1, chars

    def value(self, value: Any) -> Any:
        """Guard for an operand of a comparison and for anything hashed: bounded expanded size."""
        if type(value) not in _FLAT:
            self.limits.check_time()
            _, chars = self.measure(value)
            if chars > MAX_WALK_CHARS:  # [a] * 10**6 with a 1 MB string: comparing it reads a terabyte
                raise ScriptError(f"data too large: more than {MAX_WALK_CHARS} characters to compare")
        return value

    def check_result(self, value: Any, what: str) -> None:
        """Data leaving the sandbox is serialised: bounded, acyclic, and its text within the memory limit."""
        _, chars = self.measure(value, what)
        if chars > self.limits.memory_limit:
            raise ScriptError(f"{what} too large: {chars} characters")

    def _repr_chars(self, value: Any) -> int:
        """An upper bound on len(repr(value)) or len(str(value)) of a container or flat value."""
        kind = type(value)
        if kind is int:
            return int(value.bit_length() // 3 + 2)
        nodes, chars = self.measure(value)
        # repr of a str is at most 10 characters per character ('\U0001f600'); no other value prints longer than
        # ~100 characters (a datetime with its time zone), separators included.
        return 10 * chars + 100 * nodes

    # --- materialising iterables -----------------------------------------------------------------------------

    def materialize(self, iterable: Any) -> list[Any] | tuple[Any, ...]:
        """`iterable` as a list or tuple, with the allocation charged before it happens."""
        kind = type(iterable)
        if kind is list or kind is tuple:
            return iterable  # type: ignore[no-any-return]
        if hasattr(iterable, "__len__") and not isinstance(iterable, dict):
            size = len(iterable)
            if size > MAX_SEQUENCE_LENGTH:
                raise _too_long(size)
            per_item = 80 if kind is _ITEMS_VIEW else 72 if kind is str else 40 if kind is range else 16
            self.limits.charge(size * per_item + 64)
            return list(iterable)
        if isinstance(iterable, dict):
            size = len(iterable)
            self.limits.charge(size * 16 + 64)
            return list(iterable)
        # A generator, zip or enumerate: pull items one by one so each is charged before the next is produced.
        items: list[Any] = []
        append = items.append
        charge = self.limits.charge
        for item in iterable:
            if len(items) >= MAX_SEQUENCE_LENGTH:
                raise _too_long(len(items))
            # zip/enumerate make a tuple per item, and ranges a fresh int per value
            charge(16 + FRESH_SCALAR + (sys.getsizeof(item) + FRESH_SCALAR * len(item) if type(item) is tuple
                                        else 0))
            append(item)
        return items

    # --- operators -------------------------------------------------------------------------------------------

    def binop(self, left: Any, op: int, right: Any) -> Any:
        limits = self.limits
        limits.check_time()
        left_kind, right_kind = type(left), type(right)
        if left_kind in (int, bool) and right_kind in (int, bool):
            if op == MUL:
                if left.bit_length() + right.bit_length() > MAX_INT_BITS:
                    raise ScriptError("number too large")
            elif op == POW:
                # The literal-exponent rule alone still allows ((10**64)**64)**64..., minutes in one C call.
                if right > 0 and left.bit_length() * right > MAX_INT_BITS:
                    raise ScriptError("number too large")
            elif left.bit_length() > MAX_INT_BITS or right.bit_length() > MAX_INT_BITS:
                raise ScriptError("number too large")
            return BINOPS[op](left, right)
        if (op == IADD and type(left) is list or op in _SET_OPS and type(left) is dict) \
                and not hasattr(right, "__len__"):
            # list += generator and dict |= pairs accept any iterable: take it in charged, item by item.
            right = self.materialize(right)
        if op == MOD and isinstance(left, (str, bytes)):
            # printf-style widths ("%0999999999d", "%*d") allocate in one call; f-string specs are checked
            # statically.
            raise ScriptError("'%' string formatting is not allowed; use an f-string")
        if op in _ADDS and isinstance(left, (str, list, tuple)) and isinstance(right, (str, list, tuple)):
            size = len(left) + len(right)
            if size > MAX_SEQUENCE_LENGTH:
                raise _too_long(size)
            per_item = max(_width(left), _width(right)) if isinstance(left, str) and isinstance(right, str) else 8
            limits.charge(size * per_item + STR_OVERHEAD)
        elif op == MUL and (isinstance(left, (str, list, tuple)) and right_kind in (int, bool)
                            or isinstance(right, (str, list, tuple)) and left_kind in (int, bool)):
            sequence, count = (left, right) if right_kind in (int, bool) else (right, left)
            size = len(sequence) * max(count, 0)
            if size > MAX_SEQUENCE_LENGTH:
                raise _too_long(size)
            limits.charge(size * (_width(sequence) if isinstance(sequence, str) else 8) + STR_OVERHEAD)
        elif op in _SET_OPS and hasattr(left, "__len__") and not isinstance(left, (str, list, tuple)):
            # Sets, dicts (|) and dict views: the result holds at most the items of both sides, and a view hashes
            # the other operand's items.
            self.value(right)
            size = len(left) + (len(right) if hasattr(right, "__len__") else 0)
            if size > MAX_SEQUENCE_LENGTH:
                raise _too_long(size)
            limits.charge(size * 100 + 64)
        elif left_kind in (int, bool) and right_kind is float or left_kind is float and right_kind in (int, bool) \
                or left_kind is float and right_kind is float:
            pass  # floats are fixed size; an oversized int fails to convert
        elif op in (POW, MUL):
            pass  # other types (dates, helpers' values) either do not support these or are fixed size
        return BINOPS[op](left, right)

    def slice(self, obj: Any, lower: Any, upper: Any, step: Any) -> Any:
        self.limits.check_time()
        bounds = slice(lower, upper, step)
        if isinstance(obj, (str, list, tuple)):
            size = len(range(*bounds.indices(len(obj))))
            self.limits.charge(size * (_width(obj) if isinstance(obj, str) else 8) + STR_OVERHEAD)
        return obj[bounds]

    def spread(self, iterable: Any) -> list[Any] | tuple[Any, ...]:
        """Guard for `*x` in a call or display: the items are copied once more."""
        items = self.materialize(iterable)
        self.limits.charge(len(items) * 8 + 64)
        return items

    def spread_map(self, mapping: Any) -> Any:
        """Guard for `**m` in a call or dict display: the entries are copied."""
        self.limits.charge(len(mapping) * 100 + 64 if hasattr(mapping, "__len__") else 64)
        return mapping

    def fmt(self, value: Any, conversion: int, width: int) -> Any:
        """Guard for an f-string field: apply !s/!r/!a here and charge the text twice (the field and its copy in
        the joined string). `width` is the largest number in the field's literal format spec (at most 999)."""
        limits = self.limits
        kind = type(value)
        if conversion == -1 and kind in _FLAT:
            chars = len(value) if kind is str else value.bit_length() // 3 + 2 if kind is int else 330
            limits.charge(2 * 4 * (chars + width) + STR_OVERHEAD)
            return value
        limits.charge(2 * 4 * (self._repr_chars(value) + width) + STR_OVERHEAD)
        return repr(value) if conversion == ord("r") else ascii(value) if conversion == ord("a") else str(value)

    def step(self, nbytes: int) -> bool:
        """One loop iteration or comprehension step: the deadline, and what its body may retain."""
        self.limits.charge(nbytes)
        return True

    # --- methods ---------------------------------------------------------------------------------------------

    def attribute(self, obj: Any, name: str) -> Any:
        """Guard for `obj.name` that is not called at once: data attributes as they are, methods guarded."""
        if name in DATA_ATTRIBUTES:
            return getattr(obj, name)
        getattr(obj, name)  # AttributeError as usual
        self.limits.charge(128)
        return partial(self.call, obj, name)

    def call(self, obj: Any, name: str, /, *args: Any, **kwargs: Any) -> Any:
        """Guard for `obj.name(...)`, the only way diagram code calls a method."""
        limits = self.limits
        limits.check_time()
        if name in MUTATING_METHODS and limits.read_only:
            raise ScriptError(f"calling {name!r} is not allowed in a condition or expression: "
                              "it would change case data")
        method = getattr(obj, name)
        if isinstance(obj, str):
            return self._str_method(obj, name, method, args, kwargs)
        if isinstance(obj, dict) and name == "get" and args:
            self.value(args[0])
        elif isinstance(obj, list) and name == "append":
            if len(obj) >= MAX_SEQUENCE_LENGTH:
                raise _too_long(len(obj) + 1)
            limits.charge(16 + (sys.getsizeof(args[0]) if args and type(args[0]) in _FLAT else 0))
        return method(*args, **kwargs)

    def _str_method(self, text: str, name: str, method: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        charge = self.limits.charge
        width = _width(text)
        if name in ("lower", "upper"):
            charge(3 * len(text) * 4 + STR_OVERHEAD)  # 'ß'.upper() == 'SS'; no character maps to more than 3
        elif name == "strip":
            charge(len(text) * width + STR_OVERHEAD)
        elif name == "join":
            if len(args) != 1 or kwargs:
                return method(*args, **kwargs)  # TypeError as usual
            items = self.materialize(args[0])
            try:  # at C speed; a non-str item makes join itself fail before it allocates
                total = len(text) * max(len(items) - 1, 0) + sum(map(len, items))
                wide = 1 if width == 1 and all(map(str.isascii, items)) else 4
            except TypeError:
                return text.join(items)
            if total > MAX_SEQUENCE_LENGTH:
                raise _too_long(total)
            charge(total * wide + STR_OVERHEAD)
            return text.join(items)
        elif name == "replace":
            old = args[0] if args else kwargs.get("old")
            new = args[1] if len(args) > 1 else kwargs.get("new")
            count = args[2] if len(args) > 2 else kwargs.get("count", -1)
            if isinstance(old, str) and isinstance(new, str) and type(count) in (int, bool):
                found = text.count(old)  # no allocation; replace('', x) inserts len(text) + 1 times, as counted
                if count >= 0:
                    found = min(found, count)
                size = len(text) + found * (len(new) - len(old))
                if size > MAX_SEQUENCE_LENGTH:
                    raise _too_long(size)
                charge(max(size, len(text)) * max(width, _width(new)) + STR_OVERHEAD)
        elif name == "split":
            sep = args[0] if args else kwargs.get("sep")
            maxsplit = args[1] if len(args) > 1 else kwargs.get("maxsplit", -1)
            pieces = (len(text) + 1) // 2 + 1 if sep is None else text.count(sep) + 1 if isinstance(sep, str) \
                and sep else 1
            if type(maxsplit) in (int, bool) and maxsplit >= 0:
                pieces = min(pieces, maxsplit + 1)
            if pieces > MAX_SEQUENCE_LENGTH:
                raise _too_long(pieces)
            charge(pieces * (8 + STR_OVERHEAD) + len(text) * width)
        return method(*args, **kwargs)

    # --- helpers ---------------------------------------------------------------------------------------------

    def helper(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """A registered helper, called with arguments whose size is bounded and charged as if printed.

        Helpers are trusted code, but their arguments come from the diagram: str(argument) inside a helper must
        not be the unbounded call that the guards prevent everywhere else.
        """
        def guarded(*args: Any, **kwargs: Any) -> Any:
            self.limits.check_time()
            for value in (*args, *kwargs.values()):
                if type(value) not in _FLAT:
                    self.limits.charge(4 * self._repr_chars(value))
            return function(*args, **kwargs)
        return guarded

    # --- builtins --------------------------------------------------------------------------------------------

    def builtins(self) -> dict[str, Callable[..., Any]]:
        """The builtins table of one evaluation: every entry is bounded."""
        return {
            "abs": self._checked(abs), "all": self._checked(all), "any": self._checked(any),
            "bool": self._checked(bool), "dict": self._dict, "enumerate": self._lazy(enumerate),
            "float": self._checked(float), "int": self._int, "len": len, "list": self._list,
            "max": partial(self._extreme, max), "min": partial(self._extreme, min), "range": self._range,
            "round": self._round, "set": self._set, "sorted": self._sorted, "str": self._str, "sum": self._sum,
            "tuple": self._tuple, "zip": self._lazy(zip),
        }

    def _checked(self, function: Callable[..., Any]) -> Callable[..., Any]:
        # Builtins whose work is linear in their (already charged) input and that allocate O(1).
        def checked(*args: Any, **kwargs: Any) -> Any:
            self.limits.check_time()
            return function(*args, **kwargs)
        return checked

    def _lazy(self, function: Callable[..., Any]) -> Callable[..., Any]:
        # zip/enumerate hold references to their inputs: charge the object so chains of them are bounded.
        def lazy(*args: Any, **kwargs: Any) -> Any:
            self.limits.charge(128 + 8 * len(args))
            return function(*args, **kwargs)
        return lazy

    def _range(self, *args: int) -> range:
        self.limits.check_time()
        result = range(*args)
        try:
            too_long = len(result) > MAX_RANGE
        except OverflowError:  # longer than sys.maxsize
            too_long = True
        if too_long:
            raise ScriptError(f"range longer than {MAX_RANGE} items is not allowed")
        return result

    def _sum(self, iterable: Any, /, start: float = 0) -> Any:
        # Summing lists or tuples is quadratic inside one C call.
        if not isinstance(start, (int, float)):
            raise ScriptError("sum() only adds numbers")
        self.limits.check_time()
        return sum(iterable, start)

    def _int(self, *args: Any, **kwargs: Any) -> int:
        self.limits.check_time()
        result = int(*args, **kwargs)  # linear in the text; decimal text is limited to 4300 digits by Python
        if result.bit_length() > MAX_INT_BITS:
            raise ScriptError("number too large")
        return result

    def _round(self, number: Any, ndigits: Any = None) -> Any:
        self.limits.check_time()
        if ndigits is None:
            return round(number)
        if type(ndigits) is int and abs(ndigits) > MAX_ROUND_DIGITS:
            raise ScriptError(f"round() to more than {MAX_ROUND_DIGITS} digits is not allowed")
        return round(number, ndigits)

    def _list(self, iterable: Any = ()) -> list[Any]:
        items = self.materialize(iterable)
        if type(items) is list and items is not iterable:
            return items  # already a fresh copy
        self.limits.charge(len(items) * 8 + 64)
        return list(items)

    def _tuple(self, iterable: Any = ()) -> tuple[Any, ...]:
        if type(iterable) is tuple:
            return iterable
        items = self.materialize(iterable)
        self.limits.charge(len(items) * 8 + 64)
        return tuple(items)

    def _set(self, iterable: Any = ()) -> set[Any]:
        items = self.materialize(iterable) if not isinstance(iterable, (set, frozenset, dict)) else iterable
        self.value(items)  # hashing walks every item
        self.limits.charge(len(items) * 100 + 256)
        return set(items)

    def _dict(self, *args: Any, **kwargs: Any) -> dict[Any, Any]:
        if len(args) > 1:
            return dict(*args)  # TypeError as usual
        source = args[0] if args else {}
        if not isinstance(source, dict):
            source = self.materialize(source)
            self.value(source)
        self.limits.charge((len(source) + len(kwargs)) * 100 + 256)
        return dict(source, **kwargs)

    def _sorted(self, iterable: Any, /, *, key: Callable[..., Any] | None = None, reverse: bool = False) -> list[Any]:
        items = self.materialize(iterable)
        if len(items) > MAX_SEQUENCE_LENGTH:
            raise _too_long(len(items))
        self.limits.charge(len(items) * 16 + 64)
        if key is None:
            self.value(items)
            return sorted(items, reverse=reverse)
        # Compute the keys here (each call is guarded) and bound what the sort compares.
        keys = [key(item) for item in items]
        self.value(keys)
        order = sorted(range(len(items)), key=keys.__getitem__, reverse=reverse)
        return [items[index] for index in order]

    def _extreme(self, function: Callable[..., Any], *args: Any, key: Callable[..., Any] | None = None, **kwargs: Any) -> Any:
        self.limits.check_time()
        items = self.materialize(args[0]) if len(args) == 1 else args
        if key is None:
            self.value(items)
            return function(items, **kwargs)
        keys = [key(item) for item in items]
        self.value(keys)
        if not items:
            return function(items, **kwargs)  # default= or ValueError as usual
        return items[function(range(len(items)), key=keys.__getitem__)]

    def _str(self, *args: Any, **kwargs: Any) -> str:
        if len(args) != 1 or kwargs:
            return str(*args, **kwargs)  # str() or str(bytes, encoding): no bytes exist in the sandbox
        value = args[0]
        kind = type(value)
        if kind is str:
            return value  # type: ignore[no-any-return]
        self.limits.charge(4 * self._repr_chars(value) + STR_OVERHEAD)
        return str(value)
