"""Static allow-list check of LLM-written scoring code.

Every function an LLM writes is untrusted. Before it runs anywhere we parse it and accept only a
small language: arithmetic, comparisons, boolean logic, if/else, local names and assignments,
bounded ``for`` loops and comprehensions, ``attrs[...]`` / ``attrs.get``, a handful of builtins and
the ``math`` module. Anything else is rejected with the line and the reason; the message doubles as
feedback for the LLM, so it says what to do instead.

This is the first of two walls: the code then runs in a separate, resource-limited process
(``sandbox.runner``) with only the allowed builtins in scope.
"""

from __future__ import annotations

import ast
import math

ENTRY_POINT = "score"
PARAMS_NAME = "PARAMS"

#: Builtins a scoring function may call. Everything here is pure and cannot reach the outside world.
SAFE_BUILTINS = (
    "abs", "all", "any", "bool", "dict", "enumerate", "float", "int", "isinstance", "len", "list",
    "max", "min", "pow", "range", "reversed", "round", "sorted", "str", "sum", "tuple", "zip",
)
#: Exception names usable in ``except`` clauses.
SAFE_EXCEPTIONS = (
    "ArithmeticError", "Exception", "KeyError", "OverflowError", "TypeError", "ValueError",
    "ZeroDivisionError",
)
MATH_NAMES = tuple(sorted(name for name in dir(math) if not name.startswith("_")))
#: Methods callable on dicts (``attrs``, ``PARAMS`` and local dicts); none of them mutates.
SAFE_METHODS = ("get", "items", "keys", "values")

# Names we refuse with a specific reason, because models (and attackers) reach for them.
_FORBIDDEN_NAMES = {
    "open": "file access is not allowed",
    "exec": "dynamic code execution is not allowed",
    "eval": "dynamic code execution is not allowed",
    "compile": "dynamic code execution is not allowed",
    "getattr": "reflection is not allowed",
    "setattr": "reflection is not allowed",
    "delattr": "reflection is not allowed",
    "globals": "reflection is not allowed",
    "locals": "reflection is not allowed",
    "vars": "reflection is not allowed",
    "dir": "reflection is not allowed",
    "type": "reflection is not allowed",
    "object": "reflection is not allowed",
    "super": "reflection is not allowed",
    "input": "reading input is not allowed",
    "print": "printing is not allowed; return the score instead",
    "breakpoint": "debugging hooks are not allowed",
    "help": "not allowed",
    "memoryview": "not allowed",
    "bytearray": "not allowed",
    "os": "the os module is not available; only math may be used",
    "sys": "the sys module is not available; only math may be used",
}

_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow)
_UNARYOPS = (ast.UAdd, ast.USub, ast.Not)
_CMPOPS = (
    ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn, ast.Is, ast.IsNot,
)
_MAX_SOURCE_CHARS = 20_000
_MAX_STRING_CHARS = 200

_ALLOWED_SYNTAX_HINT = (
    "use only arithmetic, comparisons, if/else, local variables, for loops over attrs or literals, "
    "attrs[...] / attrs.get(...), math.*, and the builtins " + ", ".join(SAFE_BUILTINS)
)


class UnsafeCodeError(ValueError):
    """The source uses syntax outside the allow-list. ``line`` is 1-based (0 when unknown)."""

    def __init__(self, reason: str, line: int = 0):
        self.reason = reason
        self.line = line
        where = f"line {line}: " if line else ""
        super().__init__(f"{where}{reason}")


def check_source(source: str) -> ast.Module:
    """Parse ``source`` and verify it against the allow-list; return the parsed module.

    Raises ``UnsafeCodeError`` naming the first offending line and why.
    """
    if not isinstance(source, str):
        raise UnsafeCodeError(f"source must be a string, got {type(source).__name__}")
    if len(source) > _MAX_SOURCE_CHARS:
        raise UnsafeCodeError(
            f"source is {len(source)} characters; keep the function under {_MAX_SOURCE_CHARS}"
        )
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise UnsafeCodeError(f"syntax error: {exc.msg}", exc.lineno or 0) from None
    except (ValueError, MemoryError, RecursionError) as exc:  # null bytes, absurd nesting
        raise UnsafeCodeError(f"cannot parse source: {exc or type(exc).__name__}") from None
    _Checker(tree).run()
    return tree


class _Checker(ast.NodeVisitor):
    def __init__(self, tree: ast.Module):
        self.tree = tree
        # Names bound in each enclosing scope (module first). A name counts as defined only where
        # Python would resolve it, so `def f(open): ...` does not license `open(...)` in score.
        self.scopes: list[set[str]] = []

    # -- entry -------------------------------------------------------------------------------
    def run(self) -> None:
        for stmt in self.tree.body:
            self._check_top_level(stmt)
        score = [
            s for s in self.tree.body if isinstance(s, ast.FunctionDef) and s.name == ENTRY_POINT
        ]
        if not score:
            raise UnsafeCodeError(
                f"no function named '{ENTRY_POINT}': define def score(attrs): ..."
            )
        args = score[0].args
        if len(args.args) != 1 or args.vararg or args.kwarg or args.kwonlyargs or args.posonlyargs:
            raise UnsafeCodeError(
                "score must take exactly one argument: def score(attrs):", score[0].lineno
            )
        self.scopes = [_bound_names(self.tree.body)]
        try:
            self.visit(self.tree)
        except RecursionError:
            raise UnsafeCodeError("expression nested too deeply") from None

    def _check_top_level(self, stmt: ast.stmt) -> None:
        ok = (
            isinstance(
                stmt, (ast.FunctionDef, ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign)
            )
            or _is_docstring(stmt)
        )
        if not ok:
            raise UnsafeCodeError(
                f"{type(stmt).__name__} at module level; the module may only hold imports of math, "
                "constant assignments and function definitions",
                stmt.lineno,
            )

    # -- generic -----------------------------------------------------------------------------
    def generic_visit(self, node: ast.AST) -> None:
        if not isinstance(node, _ALLOWED_NODES):
            line = getattr(node, "lineno", 0)
            raise UnsafeCodeError(
                f"{_describe(node)} is not allowed; {_ALLOWED_SYNTAX_HINT}", line
            )
        super().generic_visit(node)

    # -- statements --------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name != "math" or alias.asname not in (None, "math"):
                raise UnsafeCodeError(
                    f"import of '{alias.name}' is not allowed; only 'import math' is", node.lineno
                )

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.module != "math" or node.level:
            raise UnsafeCodeError(
                f"import from '{node.module}' is not allowed; only math may be imported",
                node.lineno,
            )
        for alias in node.names:
            if alias.name not in MATH_NAMES:
                raise UnsafeCodeError(f"math has no public name '{alias.name}'", node.lineno)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        _check_identifier(node.name, node.lineno)
        if node.decorator_list:
            raise UnsafeCodeError("decorators are not allowed", node.lineno)
        for arg in all_args(node.args):
            _check_identifier(arg.arg, node.lineno)
        # Annotations are evaluated at definition time: allow only plain names like float/dict.
        for ann in [node.returns, *(a.annotation for a in all_args(node.args))]:
            _check_annotation(ann, node.lineno)
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d is not None]:
            self.visit(default)
        local = _bound_names(node.body) | {a.arg for a in all_args(node.args)}
        self.scopes.append(local)
        try:
            for stmt in node.body:
                self.visit(stmt)
        finally:
            self.scopes.pop()

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        # A module-level annotation is evaluated when the module runs, like any expression.
        _check_annotation(node.annotation, node.lineno)
        if node.value is not None:
            self.visit(node.value)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        if not isinstance(node.op, _BINOPS):
            raise UnsafeCodeError(f"operator {type(node.op).__name__} is not allowed", node.lineno)
        self.visit(node.value)

    def _check_target(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            _check_identifier(target.id, target.lineno)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self._check_target(elt)
        else:
            raise UnsafeCodeError(
                "only local names may be assigned (no attrs[...] = ..., no attributes); "
                "copy values into local variables instead",
                target.lineno,
            )

    def visit_For(self, node: ast.For) -> None:
        self._check_target(node.target)
        self._check_iterable(node.iter)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def _visit_comprehension_scope(self, node: ast.expr) -> None:
        # A comprehension is its own scope: its targets are visible only inside it.
        self.scopes.append(_bound_names([g.target for g in node.generators]))
        try:
            self.generic_visit(node)
        finally:
            self.scopes.pop()

    visit_ListComp = visit_SetComp = _visit_comprehension_scope
    visit_DictComp = visit_GeneratorExp = _visit_comprehension_scope

    def visit_comprehension(self, node: ast.comprehension) -> None:
        if node.is_async:
            raise UnsafeCodeError("async comprehensions are not allowed", node.iter.lineno)
        self._check_target(node.target)
        self._check_iterable(node.iter)
        for cond in node.ifs:
            self.visit(cond)

    def _check_iterable(self, it: ast.expr) -> None:
        # Loops may run over literals, names (attrs, PARAMS, local lists), dict views and range().
        if isinstance(it, (ast.List, ast.Tuple, ast.Set, ast.Name)):
            self.visit(it)
            return
        if isinstance(it, ast.Call) and (
            (isinstance(it.func, ast.Attribute) and it.func.attr in ("items", "keys", "values"))
            or (isinstance(it.func, ast.Name)
                and it.func.id in ("range", "enumerate", "zip", "sorted", "reversed"))
        ):
            self.visit(it)
            return
        raise UnsafeCodeError(
            "loops may only run over attrs, a literal list/tuple, a dict's .items()/.keys()/"
            ".values(), or range/enumerate/zip/sorted/reversed",
            getattr(it, "lineno", 0),
        )

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        types = []
        if isinstance(node.type, ast.Tuple):
            types = node.type.elts
        elif node.type is not None:
            types = [node.type]
        for t in types:
            if not (isinstance(t, ast.Name) and t.id in SAFE_EXCEPTIONS):
                raise UnsafeCodeError(
                    "except clauses may only name " + ", ".join(SAFE_EXCEPTIONS), node.lineno
                )
        if node.name:
            _check_identifier(node.name, node.lineno)
        for stmt in node.body:
            self.visit(stmt)

    def visit_Expr(self, node: ast.Expr) -> None:
        if not _is_docstring(node):
            # A bare expression has no effect on the score; usually a stray call.
            raise UnsafeCodeError(
                "a bare expression statement has no effect; assign it or return it", node.lineno
            )

    # -- expressions -------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        _check_identifier(node.id, node.lineno)
        visible = any(node.id in scope for scope in self.scopes)
        if isinstance(node.ctx, ast.Load) and not visible:
            if node.id in _FORBIDDEN_NAMES:
                raise UnsafeCodeError(f"'{node.id}': {_FORBIDDEN_NAMES[node.id]}", node.lineno)
            if node.id not in _KNOWN_GLOBALS:
                raise UnsafeCodeError(
                    f"unknown name '{node.id}'; allowed builtins are "
                    + ", ".join(SAFE_BUILTINS) + " and the math module",
                    node.lineno,
                )

    def visit_Attribute(self, node: ast.Attribute) -> None:
        _check_identifier(node.attr, node.lineno)
        if isinstance(node.value, ast.Name) and node.value.id == "math":
            if node.attr not in MATH_NAMES:
                raise UnsafeCodeError(f"math has no public name '{node.attr}'", node.lineno)
            return
        raise UnsafeCodeError(
            f"attribute access '.{node.attr}' is not allowed; only math.<name> and the dict "
            "methods .get/.items/.keys/.values may be used",
            node.lineno,
        )

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in SAFE_METHODS:
            _check_identifier(func.attr, node.lineno)
            self.visit(func.value)
        elif isinstance(func, ast.Attribute):
            self.visit_Attribute(func)  # math.f() passes, anything else raises
        elif isinstance(func, ast.Name):
            self.visit_Name(func)
        else:
            raise UnsafeCodeError("only named functions may be called", node.lineno)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise UnsafeCodeError("*args in calls is not allowed", node.lineno)
            self.visit(arg)
        for kw in node.keywords:
            if kw.arg is None:
                raise UnsafeCodeError("**kwargs in calls is not allowed", node.lineno)
            _check_identifier(kw.arg, node.lineno)
            self.visit(kw.value)

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        if isinstance(value, bytes) or value is Ellipsis:
            raise UnsafeCodeError(f"{type(value).__name__} constants are not allowed", node.lineno)
        if isinstance(value, str) and len(value) > _MAX_STRING_CHARS and not self._is_doc(node):
            raise UnsafeCodeError("string constants longer than 200 characters", node.lineno)

    def _is_doc(self, node: ast.Constant) -> bool:
        return any(
            _is_docstring(s) and s.value is node
            for s in ast.walk(self.tree)
            if isinstance(s, ast.Expr)
        )

    def visit_BinOp(self, node: ast.BinOp) -> None:
        if not isinstance(node.op, _BINOPS):
            raise UnsafeCodeError(f"operator {type(node.op).__name__} is not allowed", node.lineno)
        self.visit(node.left)
        self.visit(node.right)

    def visit_UnaryOp(self, node: ast.UnaryOp) -> None:
        if not isinstance(node.op, _UNARYOPS):
            raise UnsafeCodeError(f"operator {type(node.op).__name__} is not allowed", node.lineno)
        self.visit(node.operand)

    def visit_Compare(self, node: ast.Compare) -> None:
        for op in node.ops:
            if not isinstance(op, _CMPOPS):
                raise UnsafeCodeError(f"comparison {type(op).__name__} is not allowed", node.lineno)
        self.visit(node.left)
        for comp in node.comparators:
            self.visit(comp)


_ANNOTATIONS = {"float", "int", "dict", "bool", "str"}
_KNOWN_GLOBALS = set(SAFE_BUILTINS) | set(SAFE_EXCEPTIONS) | {"math"}

# Node types allowed wherever the specific visitors above do not decide. Operators (ast.Add, ...)
# and contexts are listed because generic_visit walks into them.
_ALLOWED_NODES = (
    ast.Module, ast.FunctionDef, ast.arguments, ast.arg, ast.Return, ast.Assign, ast.AnnAssign,
    ast.AugAssign, ast.If, ast.For, ast.Break, ast.Continue, ast.Pass, ast.Try, ast.ExceptHandler,
    ast.Expr, ast.IfExp, ast.BoolOp, ast.And, ast.Or, ast.BinOp, ast.UnaryOp, ast.Compare,
    ast.Call, ast.keyword, ast.Name, ast.Load, ast.Store, ast.Constant, ast.Subscript, ast.Slice,
    ast.Dict, ast.List, ast.Tuple, ast.Set, ast.ListComp, ast.GeneratorExp, ast.DictComp,
    ast.SetComp, ast.comprehension, ast.Attribute, ast.Import, ast.ImportFrom, ast.alias,
    *_BINOPS, *_UNARYOPS, *_CMPOPS,
)


def _check_identifier(name: str, line: int) -> None:
    if name.startswith("__") or name.endswith("__"):
        raise UnsafeCodeError(f"dunder name '{name}' is not allowed", line)
    if name.startswith("_") and name != "_":
        # Private names are the usual route to interpreter internals (e.g. _io, _posixsubprocess).
        raise UnsafeCodeError(f"names starting with '_' are not allowed ('{name}')", line)


def _check_annotation(ann: ast.expr | None, line: int) -> None:
    if ann is not None and not (isinstance(ann, ast.Name) and ann.id in _ANNOTATIONS):
        raise UnsafeCodeError("annotations may only be float, int, dict, bool or str", line)


_OWN_SCOPE = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda)


def _bound_names(nodes: list[ast.AST]) -> set[str]:
    """Names bound directly in the scope holding ``nodes``: assignment and loop targets, except
    names, imports and the names of nested functions (whose bodies are scopes of their own)."""
    names: set[str] = set()
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, _OWN_SCOPE):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        stack.extend(ast.iter_child_nodes(node))
    return names


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def all_args(args: ast.arguments) -> list[ast.arg]:
    """Every parameter of a function: positional-only, plain, keyword-only, *args and **kwargs."""
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [*args.posonlyargs, *args.args, *args.kwonlyargs, *extra]


def _describe(node: ast.AST) -> str:
    names = {
        "Lambda": "lambda", "While": "a while loop", "With": "a with statement",
        "ClassDef": "a class definition", "Global": "a global statement",
        "Nonlocal": "a nonlocal statement", "Delete": "del", "Raise": "raise",
        "Assert": "assert", "JoinedStr": "an f-string", "FormattedValue": "an f-string",
        "NamedExpr": "the walrus operator", "Yield": "yield", "YieldFrom": "yield",
        "Await": "await", "AsyncFunctionDef": "an async function", "Starred": "star-unpacking",
        "Match": "a match statement",
    }
    kind = type(node).__name__
    return names.get(kind, kind)
