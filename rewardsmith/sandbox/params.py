"""Declared constants: the LLM proposes the form, the numbers are fitted (the LLM-SR approach).

A scoring function may declare ``PARAMS = {"w_light": 0.3, "bias": 1.0}`` at module level and use
``PARAMS["w_light"]`` inside ``score``. ``fit_params`` tunes those numbers on the fit rows with
``scipy.optimize`` and writes the fitted values back into the source, which stays plain Python.

Spearman rho is a step function of the parameters, so we maximise a smooth surrogate: the Pearson
correlation between the function's outputs and the *ranks* of the target. The result is kept only
if its Spearman rho on the same rows is higher than the starting values' rho.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from .checks import PARAMS_NAME, UnsafeCodeError, check_source


def declared_params(source: str) -> dict[str, float]:
    """The module-level ``PARAMS`` dict of numeric literals, in order ({} when absent)."""
    node = params_node(check_source(source))
    if node is None:
        return {}
    return dict(zip(_dict_keys(node), (_number(v) for v in node.values), strict=True))


def replace_params(source: str, values: dict[str, float], digits: int = 4) -> str:
    """Return ``source`` with the ``PARAMS`` literal rewritten to ``values`` (same key order)."""
    tree = check_source(source)
    node = params_node(tree)
    if node is None:
        raise UnsafeCodeError("the source declares no PARAMS dict to write values into")
    keys = _dict_keys(node)
    unknown = set(values) - set(keys)
    if unknown:
        raise KeyError(f"not declared in PARAMS: {sorted(unknown)}")
    current = dict(zip(keys, (_number(v) for v in node.values), strict=True))
    current.update(values)
    lines = source_lines(source)
    start = sum(len(line) for line in lines[: node.lineno - 1]) + byte_to_char(
        lines[node.lineno - 1], node.col_offset
    )
    end = sum(len(line) for line in lines[: node.end_lineno - 1]) + byte_to_char(
        lines[node.end_lineno - 1], node.end_col_offset
    )
    return source[:start] + format_params(current, digits, multiline=len(keys) > 3) + source[end:]


@dataclass
class FitResult:
    """What ``fit_params`` found. ``source`` holds the fitted values written back."""

    source: str
    params: dict[str, float]
    rho_before: float
    rho_after: float
    evaluations: int
    improved: bool


def fit_params(
    source: str,
    columns: list[str],
    X: np.ndarray,
    y: np.ndarray,
    *,
    sandbox=None,
    max_evaluations: int = 300,
    max_rows: int = 1000,
    seed: int = 0,
    digits: int = 4,
) -> FitResult:
    """Fit the declared ``PARAMS`` of ``source`` on rows ``X`` (n x k) with target ``y``.

    Rows beyond ``max_rows`` are sub-sampled (seeded) to keep fitting fast; every evaluation runs
    in the sandbox. Returns the original source unchanged when nothing is declared or nothing
    improves.
    """
    from .pool import default_sandbox

    sandbox = sandbox or default_sandbox()
    start = declared_params(source)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(y) > max_rows:
        pick = np.sort(np.random.default_rng(seed).choice(len(y), max_rows, replace=False))
        X, y = X[pick], y[pick]
    base = sandbox.evaluate(source, columns, X)
    rho_before = _spearman(base, y)
    if not start:
        return FitResult(source, {}, rho_before, rho_before, 1, False)

    names = list(start)
    x0 = np.array([start[k] for k in names], dtype=np.float64)
    target_ranks = stats.rankdata(y)
    evaluations = 1

    def loss(vector: np.ndarray) -> float:
        nonlocal evaluations
        evaluations += 1
        try:
            params = dict(zip(names, map(float, vector), strict=True))
            out = sandbox.evaluate(source, columns, X, [params], checked=True)[0]
        except Exception:
            return 2.0  # worse than any correlation: the optimiser steps away from failures
        if not np.all(np.isfinite(out)) or np.ptp(out) == 0:
            return 2.0
        return -float(np.corrcoef(out, target_ranks)[0, 1])

    # Nelder-Mead needs no gradients and copes with the kinks that if/else forms put in the loss.
    step = np.where(x0 != 0, 0.25 * np.abs(x0), 0.1)
    simplex = np.vstack([x0] + [x0 + np.eye(len(x0))[i] * step[i] for i in range(len(x0))])
    result = optimize.minimize(
        loss, x0, method="Nelder-Mead",
        options={"maxfev": max_evaluations, "initial_simplex": simplex,
                 "xatol": 1e-4, "fatol": 1e-6},
    )
    fitted = {k: _round_sig(float(v), digits) for k, v in zip(names, result.x, strict=True)}
    new_source = replace_params(source, fitted, digits)
    try:
        after = sandbox.evaluate(new_source, columns, X)
        rho_after = _spearman(after, y)
    except Exception:
        rho_after = -1.0
    if not rho_after > rho_before:  # also catches NaN; a tie keeps the source as it was
        return FitResult(source, dict(start), rho_before, rho_before, evaluations, False)
    return FitResult(new_source, fitted, rho_before, rho_after, evaluations, True)


def _spearman(out: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(out)) or np.ptp(out) == 0:
        return -1.0
    return float(stats.spearmanr(out, y).statistic)


def params_node(tree: ast.Module) -> ast.Dict | None:
    """The dict literal assigned to module-level ``PARAMS`` (None when there is none)."""
    for stmt in tree.body:
        targets = stmt.targets if isinstance(stmt, ast.Assign) else (
            [stmt.target] if isinstance(stmt, ast.AnnAssign) else []
        )
        if any(isinstance(t, ast.Name) and t.id == PARAMS_NAME for t in targets):
            if not isinstance(stmt.value, ast.Dict):
                raise UnsafeCodeError(
                    "PARAMS must be a dict literal of names to numbers", stmt.lineno
                )
            return stmt.value
    return None


def _dict_keys(node: ast.Dict) -> list[str]:
    keys = []
    for key in node.keys:
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
            raise UnsafeCodeError("PARAMS keys must be string literals", node.lineno)
        keys.append(key.value)
    return keys


def _number(node: ast.expr) -> float:
    sign = 1.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        node = node.operand
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(
        node.value, bool
    ):
        return sign * float(node.value)
    raise UnsafeCodeError("PARAMS values must be number literals", node.lineno)


def _round_sig(value: float, digits: int) -> float:
    return float(f"{value:.{digits}g}") if np.isfinite(value) else value


def format_params(values: dict[str, float], digits: int, multiline: bool) -> str:
    """A PARAMS dict as Python source, values rounded to ``digits`` significant digits."""
    items = [f"{json.dumps(k)}: {_round_sig(v, digits)!r}" for k, v in values.items()]
    if not multiline:
        return "{" + ", ".join(items) + "}"
    return "{\n" + "".join(f"    {item},\n" for item in items) + "}"


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """``text`` split into lines (ends kept) exactly where Python's parser counts them.

    ``str.splitlines`` also splits at form feeds, \\x1c-\\x1e, \\x85 and \\u2028/\\u2029, which may
    sit inside comments and strings; ``ast`` line numbers count only \\n, \\r\\n and \\r.
    """
    return _LINE.findall(text)


def byte_to_char(line: str, byte_offset: int) -> int:
    """The character offset in ``line`` of an ``ast`` column (a UTF-8 byte offset)."""
    return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))
