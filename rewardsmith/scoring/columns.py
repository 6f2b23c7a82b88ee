"""Which columns of a table a scoring function reads, and the error when one is missing.

A function that touches ``attrs`` only as ``attrs["name"]`` or ``attrs.get("name", ...)`` reads
exactly those names: only they are sent to the sandbox (a wide table costs nothing extra), and a
missing ``attrs["name"]`` column is reported before anything is scored. A function that loops over
``attrs`` or passes it on may read any column: it gets every numeric column, as ``predict`` gives.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..data.dataset import DatasetError
from ..data.encoding import RANKED


class MissingColumnError(DatasetError):
    """The table lacks a column the function reads. One line: the column, and the fix."""


@dataclass(frozen=True)
class ColumnReads:
    """``required``: names read as ``attrs["name"]`` (first line of each); ``optional``: names
    read only as ``attrs.get("name", ...)``; ``dynamic``: ``attrs`` is used some other way, so the
    function may read any column; ``text``: names compared with text (``attrs["colour"] == "red"``,
    ``attrs["cut"] in ("Good", "Ideal")``), whose values it takes as text."""

    required: dict[str, int] = field(default_factory=dict)
    optional: dict[str, int] = field(default_factory=dict)
    dynamic: bool = False
    text: frozenset[str] = frozenset()

    @property
    def names(self) -> list[str]:
        """Every name read literally, in the order of first use."""
        lines = {**self.optional, **self.required}
        return sorted(lines, key=lambda name: (lines[name], name))


def column_reads(source: str) -> ColumnReads:
    """The columns ``score`` reads (``source`` has passed ``check_source``)."""
    tree = ast.parse(source)
    score = next((s for s in tree.body if isinstance(s, ast.FunctionDef) and s.name == "score"),
                 None)
    if score is None or len(score.args.args) != 1:
        return ColumnReads(dynamic=True)
    param = score.args.args[0].arg
    parents = {child: node for node in ast.walk(score) for child in ast.iter_child_nodes(node)}
    orders = _text_tuples(tree)
    required: dict[str, int] = {}
    optional: dict[str, int] = {}
    text: set[str] = set()
    for node in ast.walk(score):
        if isinstance(node, ast.arg) and node.arg == param and node is not score.args.args[0]:
            return ColumnReads(dynamic=True)  # a nested function or lambda reuses the name
        if not (isinstance(node, ast.Name) and node.id == param):
            continue
        if not isinstance(node.ctx, ast.Load):
            return ColumnReads(dynamic=True)  # rebound: no longer the table's row
        parent = parents.get(node)
        key = _literal_key(node, parent, parents)
        if key is None:
            return ColumnReads(dynamic=True)
        name, is_get = key
        target = optional if is_get else required
        target.setdefault(name, node.lineno)
        read = parent if not is_get else parents[parent]
        if _compared_with_text(read, parents.get(read)) or _ranked(read, parents.get(read),
                                                                   orders):
            text.add(name)
    optional = {name: line for name, line in optional.items() if name not in required}
    return ColumnReads(required, optional, text=frozenset(text))


def _compared_with_text(read, compare) -> bool:
    """``read == "lit"`` / ``"lit" != read`` / ``read in ("a", "b")``: the read is text."""
    if not isinstance(compare, ast.Compare):
        return False
    operands = [compare.left, *compare.comparators]
    for other in operands:
        if other is read:
            continue
        if isinstance(other, ast.Constant) and isinstance(other.value, str):
            return True
        if isinstance(other, (ast.Tuple, ast.List, ast.Set)) and other.elts and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in other.elts):
            return True
    return False


def _is_texts(node) -> bool:
    return isinstance(node, (ast.Tuple, ast.List)) and bool(node.elts) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)


def _text_tuples(tree: ast.Module) -> set[str]:
    """Module constants bound to a tuple or list of texts (an ordered attribute's levels)."""
    return {target.id for stmt in tree.body if isinstance(stmt, ast.Assign)
            and _is_texts(stmt.value) for target in stmt.targets if isinstance(target, ast.Name)}


def _ranked(read, call, orders) -> bool:
    """``ranked(read, ORDER, fallback)`` with ``ORDER`` texts: an ordered attribute's place
    (``encoding.RANKED``), so the read is text."""
    return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
            and call.func.id == RANKED and len(call.args) >= 2 and call.args[0] is read
            and (_is_texts(call.args[1]) or isinstance(call.args[1], ast.Name)
                 and call.args[1].id in orders))


def _literal_key(node, parent, parents) -> tuple[str, bool] | None:
    if (isinstance(parent, ast.Subscript) and parent.value is node
            and isinstance(parent.slice, ast.Constant) and isinstance(parent.slice.value, str)):
        return parent.slice.value, False
    call = parents.get(parent)
    if (isinstance(parent, ast.Attribute) and parent.attr == "get"
            and isinstance(call, ast.Call) and call.func is parent and call.args
            and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str)):
        return call.args[0].value, True
    return None


def missing_column(name: str, available: Iterable[str], *, line: int = 0,
                   where: str = "the table") -> MissingColumnError:
    """The one-line error for a column the function reads and ``where`` lacks."""
    at = f" (line {line})" if line else ""
    shown = list(available)
    listing = ", ".join(shown[:20]) + (", ..." if len(shown) > 20 else "")
    return MissingColumnError(
        f"the function reads column {name!r}{at}, which {where} lacks; add that column or rename "
        f"the matching one to {name!r} (columns: {listing or 'none'})"
    )
