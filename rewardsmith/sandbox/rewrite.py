"""Mechanical rewrites of LLM-written source: they keep what it computes, or let it run at all.

``tidy_source`` removes typing noise the allow-list would refuse (``from typing import Dict`` and
annotations such as ``attrs: Dict[str, float]``): a small model at temperature 0 repeats such a line
on every retry however the feedback asks, and it never changes a score.

``lift_constants`` turns literal weights (``0.3 * attrs["light"]``) into declared ``PARAMS`` so the
numbers can be fitted to the rows like constants the LLM declared itself.

``declare_missing_params`` adds the keys a function reads from ``PARAMS`` but never declared (a
small model writes ``PARAMS["w_light"]`` for every attribute yet leaves some out of the dict, and
repeats the omission on every retry); they are then fitted like the rest instead of failing.
``drop_unused_params`` removes declared keys the function never reads (the same model copies a
demonstration's whole dict and uses a few keys): each one is a number nobody can fit or read.

All four only parse and cut text (nothing runs), keep every other character (comments included)
and leave the source unchanged when there is nothing to do or it does not parse.
"""

from __future__ import annotations

import ast
import json
import re

from .checks import PARAMS_NAME, UnsafeCodeError, all_args
from .params import byte_to_char, format_params, params_node, source_lines

#: Modules whose imports only serve annotations.
TYPING_MODULES = {"typing", "typing_extensions", "__future__"}
#: More weights than this are not lifted: a handful of rows cannot fit them.
MAX_LIFTED = 12


def tidy_source(source: str) -> str:
    """``source`` without typing imports and annotations (the rest byte for byte)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    offsets = _Offsets(source)
    cuts: list[tuple[int, int, str]] = []
    for stmt in tree.body:
        if _is_typing_import(stmt):
            cuts.append((offsets.line_start(stmt.lineno), offsets.line_start(stmt.end_lineno + 1),
                         ""))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for arg in all_args(node.args):
                if arg.annotation is not None:
                    name_end = offsets.at(arg.lineno, arg.col_offset) + len(arg.arg)
                    cuts.append((name_end, offsets.end(arg.annotation), ""))
            if node.returns is not None:
                start = offsets.start(node.returns)
                arrow = source.rfind("->", 0, start)
                while arrow > 0 and source[arrow - 1] in " \t":
                    arrow -= 1
                cuts.append((arrow, offsets.end(node.returns), ""))
        elif isinstance(node, ast.AnnAssign):
            if node.value is None:  # `x: float` alone binds nothing
                cuts.append((offsets.start(node), offsets.end(node), "pass"))
            else:
                cuts.append((offsets.end(node.target), offsets.end(node.annotation), ""))
    return _apply(source, cuts)


def lift_constants(source: str) -> str | None:
    """``source`` with each literal weight (a number multiplying anything else) read from a new
    ``PARAMS`` dict, or None when there is nothing to lift (no weights, PARAMS already declared,
    more than ``MAX_LIFTED`` weights, or source that does not parse)."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    if any(isinstance(n, ast.Name) and n.id == PARAMS_NAME for n in ast.walk(tree)):
        return None
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    weights: list[tuple[ast.expr, ast.expr]] = []
    for function in functions:
        for node in ast.walk(function):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
                for literal, other in ((node.left, node.right), (node.right, node.left)):
                    if _is_weight(literal) and not _is_number(other):
                        weights.append((literal, other))
    if not weights or len(weights) > MAX_LIFTED:
        return None
    offsets = _Offsets(source)
    values: dict[str, float] = {}
    cuts = []
    for literal, other in sorted(weights, key=lambda w: (w[0].lineno, w[0].col_offset)):
        key = _unique(_weight_name(other, len(values) + 1), values)
        values[key] = float(_signed_value(literal))
        cuts.append((offsets.start(literal), offsets.end(literal), f'{PARAMS_NAME}["{key}"]'))
    first_def = min(f.lineno for f in functions)
    declaration = f"{PARAMS_NAME} = {format_params(values, 6, multiline=len(values) > 3)}\n\n\n"
    at = offsets.line_start(first_def)
    cuts.append((at, at, declaration))
    return _apply(source, cuts)


def declare_missing_params(source: str) -> tuple[str, dict[str, float]]:
    """``source`` with every ``PARAMS["key"]`` it reads but does not declare added to ``PARAMS``
    (the dict is created before the first function when there is none), and the added keys with
    their starting values: the median size of the declared values, or 1.0.

    Only literal keys are found (``PARAMS[name]`` with a computed name is left to fail). Returns
    ``(source, {})`` unchanged when nothing is missing or the source does not parse.
    """
    try:
        tree = ast.parse(source)
        node = params_node(tree)
    except (SyntaxError, ValueError, UnsafeCodeError):
        return source, {}
    declared = set()
    if node is not None:
        declared = {k.value for k in node.keys if isinstance(k, ast.Constant)}
    missing = []
    for n in _literal_reads(tree):
        if n.slice.value not in declared and n.slice.value not in missing:
            missing.append(n.slice.value)
    functions = [s for s in tree.body if isinstance(s, ast.FunctionDef)]
    if not missing or (node is None and not functions):
        return source, {}
    sizes = sorted(abs(v) for v in _number_values(node) if v)
    start = sizes[len(sizes) // 2] if sizes else 1.0
    added = {key: start for key in missing}
    offsets = _Offsets(source)
    if node is None:
        at = offsets.line_start(min(f.lineno for f in functions))
        text = f"{PARAMS_NAME} = {format_params(added, 6, multiline=len(added) > 3)}\n\n\n"
        return _apply(source, [(at, at, text)]), added
    items = [f"{json.dumps(k)}: {v!r}" for k, v in added.items()]
    if not node.values:
        at = offsets.end(node) - 1  # just inside the closing brace of {}
        return _apply(source, [(at, at, ", ".join(items))]), added
    last = node.keys[-1]
    if node.end_lineno > node.lineno:  # one entry per line: continue in the same layout
        line = offsets.lines[last.lineno - 1]
        indent = line[: byte_to_char(line, last.col_offset)]
        indent = indent if not indent.strip() else "    "  # the last key shares the brace's line
        text = "".join(f",\n{indent}{item}" for item in items)
    else:
        text = "".join(f", {item}" for item in items)
    at = offsets.end(node.values[-1])
    return _apply(source, [(at, at, text)]), added


def drop_unused_params(source: str) -> tuple[str, list[str]]:
    """``source`` without the ``PARAMS`` entries it never reads, and the keys removed.

    Only when every use of ``PARAMS`` is a literal key (``PARAMS["w"]``): a computed key, a
    ``.get`` or ``PARAMS`` passed on could read any entry, and then nothing is removed. Returns
    ``(source, [])`` unchanged when nothing is unused or the source does not parse.
    """
    try:
        tree = ast.parse(source)
        node = params_node(tree)
    except (SyntaxError, ValueError, UnsafeCodeError):
        return source, []
    if node is None or not node.keys:
        return source, []
    reads = _literal_reads(tree)
    loads = sum(1 for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == PARAMS_NAME
                and isinstance(n.ctx, ast.Load))
    if loads != len(reads):  # a use beyond PARAMS["literal"]: it may read any entry
        return source, []
    read = {n.slice.value for n in reads}
    keys = [k.value if isinstance(k, ast.Constant) else None for k in node.keys]
    kept = [i for i, k in enumerate(keys) if k in read]
    unused = [i for i, k in enumerate(keys) if k not in read]
    if not unused:
        return source, []
    removed = list(dict.fromkeys(keys[i] for i in unused))
    offsets = _Offsets(source)
    if not kept:
        return _apply(source, [(offsets.start(node), offsets.end(node), "{}")]), removed
    last_kept = kept[-1]
    # An entry before the last kept one goes up to the next entry (its comma, comment and line
    # break with it); the entries after it go from the end of the last kept value.
    cuts = [(offsets.start(node.keys[i]), offsets.start(node.keys[i + 1]), "")
            for i in unused if i < last_kept]
    if unused[-1] > last_kept:
        cuts.append((offsets.end(node.values[last_kept]), offsets.end(node.values[-1]), ""))
    return _apply(source, cuts), removed


# -- helpers ---------------------------------------------------------------------------------
class _Offsets:
    """Character offsets into the source from ast's (line, UTF-8 byte column) positions."""

    def __init__(self, source: str):
        self.lines = source_lines(source)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def line_start(self, lineno: int) -> int:
        return self.starts[min(lineno - 1, len(self.lines))]

    def at(self, lineno: int, col: int) -> int:
        return self.starts[lineno - 1] + byte_to_char(self.lines[lineno - 1], col)

    def start(self, node: ast.AST) -> int:
        return self.at(node.lineno, node.col_offset)

    def end(self, node: ast.AST) -> int:
        return self.at(node.end_lineno, node.end_col_offset)


def _apply(source: str, cuts: list[tuple[int, int, str]]) -> str:
    for start, end, text in sorted(cuts, reverse=True):
        source = source[:start] + text + source[end:]
    return source


def _literal_reads(tree: ast.Module) -> list[ast.Subscript]:
    """Every ``PARAMS["key"]`` with a literal key, in source order."""
    reads = [n for n in ast.walk(tree) if isinstance(n, ast.Subscript)
             and isinstance(n.value, ast.Name) and n.value.id == PARAMS_NAME
             and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)]
    return sorted(reads, key=lambda n: (n.lineno, n.col_offset))


def _number_values(node: ast.Dict | None) -> list[float]:
    values = []
    for value in node.values if node is not None else []:
        if _is_number(value):
            values.append(float(_signed_value(value)))
    return values


def _is_typing_import(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.ImportFrom):
        return (stmt.module or "").split(".")[0] in TYPING_MODULES and not stmt.level
    if isinstance(stmt, ast.Import):
        return all(a.name.split(".")[0] in TYPING_MODULES for a in stmt.names)
    return False


def _is_number(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return (isinstance(node, ast.Constant) and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool))


def _signed_value(node: ast.expr) -> float:
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    return node.value


def _is_weight(node: ast.expr) -> bool:
    return _is_number(node) and _signed_value(node) != 0


def _weight_name(other: ast.expr, number: int) -> str:
    """``w_<attribute>`` when the weight multiplies ``attrs["<attribute>"]``, else ``c<number>``."""
    key = None
    if isinstance(other, ast.Subscript) and isinstance(other.slice, ast.Constant):
        key = other.slice.value  # attrs["light"]
    elif (isinstance(other, ast.Call) and isinstance(other.func, ast.Attribute)
          and other.func.attr == "get" and other.args and isinstance(other.args[0], ast.Constant)):
        key = other.args[0].value  # attrs.get("light", 0)
    word = re.sub(r"\W+", "_", key).strip("_").lower() if isinstance(key, str) else ""
    return f"w_{word}"[:40] if word else f"c{number}"


def _unique(name: str, taken: dict) -> str:
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}_{n}", n + 1
    return candidate
