"""Column mode of the sandbox worker: ``score(attrs)`` called once with whole columns.

Loaded by ``worker.py`` at startup, before its audit hook and memory limit, and only when the
``Sandbox`` was made with ``columns=True``; the default worker never imports numpy. In column mode
``attrs`` maps each column name to a float64 array, so a function made of arithmetic runs once per
table instead of once per row. ``max(a, b, ...)`` and ``min(a, b, ...)`` of columns pick row by
row exactly as Python does (the first of equal values, so -0.0 and NaN come out as per row): the
hinges of the selected terms run by columns. ``a if condition else b`` with a column condition
picks row by row too (both sides are computed; where one raises for some rows, those rows go
the row path like any other that raises); with a plain condition only the chosen side runs, as
per row. Anything else that does not act on arrays the way it acts on floats (an ``if``
statement on a column, ``max`` of one iterable, string conversion, ...) must raise here: the
parent then scores the table row by row. Where a float operation would raise, numpy raises
FloatingPointError; the parent then finds the rows concerned and scores them row by row, as it
does every row whose input or result is not finite: so the results and errors are always those
of the row path.

A wall of its own, for code that never went through the static check: numpy holds ways to read and
write raw memory (``__array_interface__``, ``as_strided``) that no audit event sees, and they are
reached through attributes. So before column-mode code runs, its bytecode may name no attribute
but the dict methods and the ``math`` names, whatever ``checks.py`` decided.

Self-contained (only the standard library and numpy): the worker imports it by path.
"""

import ast
import dis
import math
import types
import warnings

import numpy as np

ALLOWED_ATTRIBUTES = frozenset(
    ("get", "items", "keys", "values", *(name for name in dir(math) if not name.startswith("_")))
)


def prepare():
    """Called once by the worker, before its audit hook."""
    # Where a float would raise (x / 0, log(0), sqrt(-1), exp(1000), ...) numpy raises too:
    # FloatingPointError, and the parent scores the rows concerned row by row. Left as inf/nan,
    # such a value could be squashed into a plausible number (tanh(1 / 0) is 1.0) and slip through.
    # Underflow to 0 is no error for floats either.
    np.seterr(divide="raise", over="raise", invalid="raise", under="ignore")
    # A warning would look for source lines to show (file access, refused) and go nowhere anyway.
    warnings.simplefilter("ignore")


def _out_of_place(op):
    # Per row, `t += x` rebinds t to a new float; on arrays it would write into t and change every
    # other name bound to the same array (or the shared input column). Keep the row semantics.
    def method(self, other):
        return op(self, other)

    return method


class Column(np.ndarray):
    """A float64 column that behaves like the per-row float where numpy would not."""

    __iadd__ = _out_of_place(np.add)
    __isub__ = _out_of_place(np.subtract)
    __imul__ = _out_of_place(np.multiply)
    __itruediv__ = _out_of_place(np.true_divide)
    __ifloordiv__ = _out_of_place(np.floor_divide)
    __imod__ = _out_of_place(np.remainder)
    __ipow__ = _out_of_place(np.power)

    # A float has no length, items or text of n values: a function that relies on them must take
    # the row path, not get one answer for the whole table.
    def __len__(self):
        raise TypeError("a column has no length in column mode")

    def __iter__(self):
        raise TypeError("a column cannot be iterated in column mode")

    def __contains__(self, item):
        raise TypeError("a column cannot be searched in column mode")

    def __str__(self):
        raise TypeError("a column has no text in column mode")

    __repr__ = __str__

    def __format__(self, spec):
        raise TypeError("a column has no text in column mode")


def _is_array(value):
    return isinstance(value, (np.ndarray, np.generic))


def _no_arrays(name, scalar_only):
    def checked(value, *args):
        if _is_array(value):
            raise TypeError(f"{name}() of a column is not supported in column mode")
        return scalar_only(value, *args)

    return checked


def _round(number, ndigits=None):
    # numpy rounds to digits by scaling, Python exactly: the two differ on some values.
    if ndigits is not None and (_is_array(number) or _is_array(ndigits)):
        raise TypeError("round(column, ndigits) is not supported in column mode")
    return round(number) if ndigits is None else round(number, ndigits)


# math functions whose numpy ufunc agrees with math on the finite domain; where math raises
# (log(0), sqrt(-1), exp(1000)) the ufunc raises FloatingPointError (see prepare).
_UFUNCS = {
    "acos": np.arccos, "acosh": np.arccosh, "asin": np.arcsin, "asinh": np.arcsinh,
    "atan": np.arctan, "atan2": np.arctan2, "atanh": np.arctanh, "cbrt": np.cbrt,
    "ceil": np.ceil, "copysign": np.copysign, "cos": np.cos, "cosh": np.cosh,
    "degrees": np.degrees, "exp": np.exp, "exp2": np.exp2, "expm1": np.expm1, "fabs": np.fabs,
    "floor": np.floor, "fmod": np.fmod, "hypot": np.hypot, "isfinite": np.isfinite,
    "isinf": np.isinf, "isnan": np.isnan, "log10": np.log10, "log1p": np.log1p,
    "log2": np.log2, "pow": np.power, "radians": np.radians, "sin": np.sin, "sinh": np.sinh,
    "sqrt": np.sqrt, "tan": np.tan, "tanh": np.tanh, "trunc": np.trunc,
}


def _vectorised(name, ufunc):
    scalar = getattr(math, name)

    def call(*args):
        if any(_is_array(a) for a in args):
            return ufunc(*args)
        return scalar(*args)  # plain numbers: exactly math's value or error

    return call


def _log(*args):
    if any(_is_array(a) for a in args):
        if len(args) == 1:
            return np.log(args[0])
        if len(args) == 2:
            return np.log(args[0]) / np.log(args[1])  # what math.log(x, base) computes
        raise TypeError(f"log expected 1 or 2 arguments, got {len(args)}")
    return math.log(*args)


def _math_module():
    table = {name: _vectorised(name, ufunc) for name, ufunc in _UFUNCS.items()
             if hasattr(math, name)}
    table["log"] = _log
    table.update(pi=math.pi, e=math.e, tau=math.tau, inf=math.inf, nan=math.nan)
    # Other math names are missing here: using one raises, and the parent takes the row path.
    return types.SimpleNamespace(**table)


_MATH = _math_module()


def _import(name, globals=None, locals=None, fromlist=(), level=0):
    if name == "math" and not level:
        return _MATH
    raise ImportError(f"import of {name!r} is not allowed")


def _pick(scalar, later_wins):
    """``max``/``min`` of two or more values, columns among them: each row keeps the running
    pick unless a later value beats it strictly, which is how Python's own walks its arguments."""
    def call(*args, **kwargs):
        if kwargs or len(args) < 2 or not any(_is_array(a) for a in args):
            return scalar(*args, **kwargs)  # one iterable (a column raises), key=, plain numbers
        best = args[0]
        for other in args[1:]:
            best = np.where(later_wins(other, best), other, best)
        return np.asarray(best).view(Column)  # so `t += 1` stays out of place, as per row

    return call


class _ChoicesByRow(ast.NodeTransformer):
    """``a if c else b`` -> ``__choose__(c, lambda: a, lambda: b)``: the sides stay lazy."""

    def visit_IfExp(self, node):
        self.generic_visit(node)

        def lazy(body):
            return ast.Lambda(args=ast.arguments(posonlyargs=[], args=[], vararg=None,
                                                 kwonlyargs=[], kw_defaults=[], kwarg=None,
                                                 defaults=[]), body=body)

        call = ast.Call(func=ast.Name("__choose__", ast.Load()),
                        args=[node.test, lazy(node.body), lazy(node.orelse)], keywords=[])
        return ast.copy_location(call, node)

    def visit_Compare(self, node):
        """``x in (...)`` -> ``__isin__(x, (...), False)``: a text column is looked up by row."""
        self.generic_visit(node)
        if len(node.ops) != 1 or not isinstance(node.ops[0], (ast.In, ast.NotIn)):
            return node
        negate = ast.Constant(isinstance(node.ops[0], ast.NotIn))
        call = ast.Call(func=ast.Name("__isin__", ast.Load()),
                        args=[node.left, node.comparators[0], negate], keywords=[])
        return ast.copy_location(call, node)


def rewrite(source):
    """The source as column mode compiles it (an AST): conditional expressions pick by row, and
    membership tests look a text column up by row."""
    return ast.fix_missing_locations(_ChoicesByRow().visit(ast.parse(source)))


def _choose(condition, then, otherwise):
    if not _is_array(condition) or np.ndim(condition) == 0:
        return then() if condition else otherwise()  # one condition for every row: as per row
    return np.asarray(np.where(condition, then(), otherwise())).view(Column)


def builtins_table(base):
    """The worker's safe builtins, adapted to columns."""
    table = dict(base)
    table["__import__"] = _import
    table["round"] = _round
    table["max"] = _pick(max, lambda other, best: other > best)
    table["min"] = _pick(min, lambda other, best: other < best)
    table["__choose__"] = _choose
    table["__isin__"] = _isin
    table["isinstance"] = _no_arrays("isinstance", isinstance)
    table["str"] = _no_arrays("str", str)
    return table


def gate(code):
    """Refuse code that names an attribute outside the dict methods and math, or imports."""
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            gate(const)
    for ins in dis.get_instructions(code):
        name = ins.opname
        if ("ATTR" in name or "METHOD" in name) and ins.argval not in ALLOWED_ATTRIBUTES:
            raise PermissionError(f"attribute .{ins.argval} is not allowed in column mode")
        if name == "IMPORT_NAME" and ins.argval != "math":
            raise PermissionError(f"import of {ins.argval!r} is not allowed in column mode")
        if name == "IMPORT_FROM" and ins.argval not in ALLOWED_ATTRIBUTES:
            raise PermissionError(f"math.{ins.argval} is not allowed in column mode")


class Texts:
    """A text column in column mode: codes into ``levels`` (NaN where missing; the parent sends
    those rows the row path). Only what acts on it as on each row's text is defined: ``==`` and
    ``!=`` against a value, and ``in`` / ``not in`` a literal (see ``_isin``), each a column of
    1.0 / 0.0 (True * w is w per row as well). Anything else raises, and the row path serves."""

    __slots__ = ("codes", "levels")
    __hash__ = None

    def __init__(self, codes, levels):
        self.codes = codes
        self.levels = levels

    def equals(self, other):
        if isinstance(other, Texts) or _is_array(other):
            raise TypeError("comparing a text column with a column is not supported in column "
                            "mode")
        if isinstance(other, str) and other in self.levels:
            return self.codes == self.levels.index(other)
        return np.zeros(len(self.codes), dtype=bool)  # text never equals a number or None

    def __eq__(self, other):
        return self.equals(other).astype(np.float64).view(Column)

    def __ne__(self, other):
        return (~self.equals(other)).astype(np.float64).view(Column)

    def __bool__(self):
        raise TypeError("a text column has no truth value in column mode")


def _isin(value, container, negate):
    """``value in container`` (``not in`` when ``negate``), for a text column row by row."""
    if not isinstance(value, Texts):
        return value not in container if negate else value in container
    if isinstance(container, dict):
        container = list(container)
    if not isinstance(container, (tuple, list, set, frozenset)):
        raise TypeError("a text column can only be looked up in a literal tuple, list or set")
    found = np.zeros(len(value.codes), dtype=bool)
    for item in container:
        found |= value.equals(item)
    return (~found if negate else found).astype(np.float64).view(Column)


class Table:
    """A loaded table: the float64 column-major payload viewed as one read-only array per column
    (a ``Texts`` for a text column, whose levels the load gave). ``rows`` (the per-row dicts) is
    built by the worker only when a row call needs it."""

    __slots__ = ("columns", "n", "payload", "matrix", "rows", "levels")

    def __init__(self, columns, n, payload, levels=None):
        matrix = np.frombuffer(payload, dtype=np.float64)  # a view: bytes are read-only
        if matrix.size != len(columns) * n:
            raise ValueError(f"payload holds {matrix.size} values, not {len(columns)} x {n}")
        self.columns = columns
        self.n = n
        self.payload = payload
        self.matrix = matrix.reshape(len(columns), n)
        self.rows = None
        self.levels = levels or {}

    def attrs(self):
        # A fresh dict per call: what one call does to it cannot reach the next.
        return {name: (Texts(self.matrix[j], self.levels[name]) if name in self.levels
                       else self.matrix[j].view(Column))
                for j, name in enumerate(self.columns)}


def as_column(value, n):
    """The function's column result as n float64 values, or TypeError if it is not one."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind != "f" or value.shape not in ((n,), ()):
            raise TypeError(f"score returned an array of {value.dtype} with shape {value.shape}; "
                            f"column mode needs {n} floats")
        plain = np.asarray(value, dtype=np.float64).view(np.ndarray)
        return np.broadcast_to(plain, (n,)).astype(np.float64).tobytes()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.floating)):
        raise TypeError(f"score returned {type(value).__name__}; it must return a number")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf if value > 0 else -math.inf
    return np.full(n, number, dtype=np.float64).tobytes()
