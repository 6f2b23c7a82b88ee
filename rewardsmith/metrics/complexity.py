"""A size measure for scoring functions, used to prefer short, readable ones."""

from __future__ import annotations

import ast


def complexity(source: str) -> int:
    """Number of AST nodes in ``source``, not counting docstrings (comments never reach the AST).

    Load/Store contexts and operator tokens are not counted, so the figure tracks what a reader
    sees: names, numbers, calls, operations and statements.
    """
    tree = ast.parse(source)
    skipped = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and _is_docstring(body[0]):
            skipped.update(id(n) for n in ast.walk(body[0]))
    return sum(
        1
        for node in ast.walk(tree)
        if id(node) not in skipped and not isinstance(node, _NOT_COUNTED)
    )


_NOT_COUNTED = (ast.expr_context, ast.operator, ast.unaryop, ast.cmpop, ast.boolop, ast.Module)


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )
