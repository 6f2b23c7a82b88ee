"""Linear models rendered as readable scoring functions: attribute names, rounded coefficients."""

from __future__ import annotations

import json

from ..sandbox import ScoringFunction


def linear_function(name: str, doc: str, intercept: float, coef, attributes) -> ScoringFunction:
    """``def score(attrs)`` returning ``intercept + sum(coef * attrs[a])``; zero terms left out."""
    lines = [f"        {number(intercept)}"]
    for c, a in zip(coef, attributes, strict=True):
        if c == 0:
            continue
        lines.append(f"        {'+' if c > 0 else '-'} {number(abs(c))} * {attr_key(a)}")
    source = (
        f'def score(attrs):\n    """{doc}"""\n    return (\n' + "\n".join(lines) + "\n    )\n"
    )
    return ScoringFunction(source, attributes, name=name)


def terms_function(name: str, doc: str, intercept: float, coef, terms, attributes
                   ) -> ScoringFunction:
    """``def score(attrs)`` returning ``intercept + sum(coef * term)`` over readable ``terms``
    (``terms.Term``), one term a line."""
    lines = [f"        {number(intercept)}"]
    for c, term in zip(coef, terms, strict=True):
        if c == 0:
            continue
        sign = "+" if c > 0 else "-"
        lines.append(f"        {sign} {number(abs(c))} * {term.source(attributes)}")
    needs_math = any(term.kind == "log" for term in terms)
    source = (
        ("import math\n\n\n" if needs_math else "")
        + f'def score(attrs):\n    """{doc}"""\n    return (\n' + "\n".join(lines) + "\n    )\n"
    )
    return ScoringFunction(source, attributes, name=name)


def shifted(key: str, knot: float) -> str:
    """``key - knot`` as it reads best: ``x - 2.5``, ``x + 0.4``, or ``x`` at zero."""
    if knot == 0:
        return key
    return f"{key} {'-' if knot > 0 else '+'} {number(abs(knot))}"


def number(value: float) -> str:
    """A float with 6 significant digits, as Python source."""
    return repr(float(f"{float(value):.6g}"))


def attr_key(name: str) -> str:
    return f"attrs[{json.dumps(name)}]"
