"""One run as a page a person looks at: the function's code, the prior beside what the fit rows
say, every candidate's cross-validated rho with the chosen one marked, the held-out scatter (the
seed notebook's plot) and the function along each attribute.

The page is one self-contained file: inline CSS, figures as base64 PNG data URIs, no scripts.
Everything inserted is escaped: the code, the analysis and the feedback were written by a
language model and the names come from a user's file, so none of it may become markup.
"""

from __future__ import annotations

import base64
import os
from html import escape
from pathlib import Path

import numpy as np

from ..data.profile import spearman_or_none
from ..files import atomic_write_text
from . import plots

STYLE = """
.rs-run{font-family:system-ui,sans-serif;max-width:1100px;color:#222}
.rs-run table{border-collapse:collapse;margin:.5em 0 1.2em}
.rs-run th,.rs-run td{border:1px solid #ccc;padding:.25em .6em;text-align:left}
.rs-run th{background:#f2f2f2}.rs-run td.num{font-variant-numeric:tabular-nums;text-align:right}
.rs-run tr.chosen{background:#eef4ff;font-weight:600}.rs-run .note{color:#555;font-size:.9em}
.rs-run .warn{background:#fff4e0;border-left:4px solid #e69500;padding:.5em .8em}
.rs-run .headline{font-weight:600;background:#eef4ff;padding:.6em;border-radius:4px}
.rs-run pre{background:#f7f7f7;padding:.6em;overflow-x:auto}.rs-run img{max-width:100%}
.rs-run figure{margin:.5em 0}
"""

#: Points along each attribute, and fit rows averaged over at each point, in the dependence plot.
GRID_POINTS = 25
MAX_ROWS = 200


def run_page(result, *, fragment: bool = False) -> str:
    """The page of a ``RunResult``; ``fragment`` gives a ``<div>`` for a notebook cell."""
    body = "\n".join(_sections(result))
    div = f'<div class="rs-run"><style>{STYLE}</style>\n{body}\n</div>'
    if fragment:
        return div
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>rewardsmith run: {escape(result.dataset)}</title></head>"
            f"<body style=\"margin:2em auto;max-width:1100px;padding:0 1em\">\n{div}\n"
            "</body></html>\n")


def write_run_page(result, path: str | os.PathLike) -> Path:
    """Write the page to ``path`` (through a temporary file, never half-written)."""
    return atomic_write_text(path, run_page(result))


def _sections(result):
    yield f"<h1>Reward function for {escape(result.dataset)}</h1>"
    if result.lm_note:
        yield f'<p class="warn">{escape(result.lm_note)}</p>'
    yield f'<p class="headline">{escape(_headline(result))}</p>'
    task = result.task
    if result.heldout_scores is not None and task is not None and len(task.heldout_rows):
        title = (f"held-out rows of {result.dataset}: rho {result.rho:.3f}"
                 if result.rho is not None else f"held-out rows of {result.dataset}")
        yield "<h2>Held-out items: the function's score against the human score</h2>"
        yield _figure(plots.scatter(task.heldout_rows.y, result.heldout_scores, title),
                      "scatter of the learned function's score against the human score")
    if result.function is not None:
        yield "<h2>The function</h2>"
        yield f'<pre><code class="function">{escape(result.function.source.rstrip())}</code></pre>'
    yield from _prior_section(result)
    yield from _candidates_section(result)
    yield from _front_section(result)
    if result.function is not None and task is not None:
        # Along each feature (a text level is a 0/1 feature): the fitted function on the rows
        # it was fitted on.
        curves, failed = dependence_curves(result.feature_function or result.function,
                                           task.fit_rows)
        if curves:
            yield "<h2>The function along each attribute</h2>"
            yield _p("Each panel moves one attribute across the fit rows' range and shows the "
                     "function's mean score over the fit rows (a partial-dependence line); the "
                     "ticks at the bottom are the fit rows' values.", "note")
            encoding = task.get("encoding") if hasattr(task, "get") else None
            orders = dict(encoding.orders) if encoding is not None else {}
            yield _figure(plots.dependence(curves, levels=orders), "the function's mean score "
                          "along each attribute")
        if failed:
            yield _p(f"No line for {', '.join(failed)}: the function failed on values of the "
                     "fit rows' range.", "note")
    if result.analysis:
        yield "<details><summary>The LM's analysis of the table</summary>"
        yield f"<pre>{escape(result.analysis)}</pre></details>"
    if result.attempts:
        yield "<details><summary>Every written attempt and its feedback</summary>"
        for attempt in result.attempts:
            status = "ok" if attempt.ok else "failed"
            yield f"<h3>Attempt {attempt.round} ({status})</h3>"
            if attempt.source:
                yield f"<pre>{escape(attempt.source.rstrip())}</pre>"
            if attempt.feedback:
                yield f"<pre>{escape(attempt.feedback)}</pre>"
        yield "</details>"


def _headline(result) -> str:
    parts = []
    if result.rho is not None:
        parts.append(f"held-out Spearman rho {result.rho:.3f} on {result.heldout_rows} items")
    else:
        parts.append("no held-out rows: rho not measured")
    parts.append(f"fitted on {result.fit_rows} rows")
    if result.chosen:
        parts.append(f"chosen: {result.chosen}")
    if result.function is not None:
        parts.append(f"complexity {result.function.complexity}")
    parts.append(f"LM calls {result.lm_calls}, tokens {result.tokens:,}")
    return "; ".join(parts)


def _prior_section(result):
    prior, task = result.prior, result.task
    if prior is None:
        yield "<h2>Prior</h2>"
        yield _p("No prior: the LM gave no usable one.", "note")
        return
    agree, stated = prior.agreement(task.fit_rows) if task is not None else (0, 0)
    yield f"<h2>Prior ({escape(prior.origin)})</h2>"
    yield _p(f"{agree} of {stated} stated directions agree with the fit rows (the sign of each "
             "attribute's rank correlation with the human score).", "note")
    rows = ["<table><tr><th>attribute</th><th>direction</th><th>importance</th><th>shape</th>"
            "<th>fit rows' rho</th><th>agrees</th></tr>"]
    names = list(task.fit_rows.attributes) if task is not None else list(prior.attributes)
    for name in names:
        entry = prior.attributes.get(name)
        rho = _fit_rho(task.fit_rows, name) if task is not None else None
        agrees = ""
        if entry is not None and entry.direction != "none" and rho:
            agrees = "yes" if (rho > 0) == (entry.direction == "higher") else "no"
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{escape(entry.direction if entry else 'not stated')}"
            f"</td><td class=\"num\">{entry.importance if entry else ''}</td>"
            f"<td>{escape(entry.shape if entry else '')}</td>"
            f"<td class=\"num\">{'' if rho is None else f'{rho:+.2f}'}</td><td>{agrees}</td></tr>")
    rows.append("</table>")
    yield "\n".join(rows)


def _candidates_section(result):
    if not result.candidates:
        return
    yield "<h2>Candidates by cross-validated rho on the fit rows</h2>"
    rows = ["<table><tr><th></th><th>candidate</th><th>CV rho</th><th>detail</th></tr>"]
    for c in sorted(result.candidates, key=lambda c: -_number(c.get("cv_rho"))):
        chosen = c.get("name") == result.chosen
        rho = _number(c.get("cv_rho"))
        opening = '<tr class="chosen"><td>chosen</td>' if chosen else "<tr><td></td>"
        rows.append(
            f"{opening}<td>{escape(str(c.get('name')))}</td>"
            f"<td class=\"num\">{f'{rho:.3f}' if np.isfinite(rho) else 'failed'}</td>"
            f"<td>{escape(str(c.get('detail') or ''))}</td></tr>")
    rows.append("</table>")
    yield "\n".join(rows)


def _front_section(result):
    front = getattr(result, "front", None)
    if front is None or not front.terms:
        return
    yield "<h2>Selected terms: CV rho by number of terms</h2>"
    yield _p(f"The selection added terms one at a time up to {len(front.terms)}; the function "
             f"offered takes {front.size()}, the fewest within one standard error of the best. "
             "These CV scores come from the folds that chose the terms, so they flatter every "
             "size alike; from Python, result.front_function(n) gives the function of n terms.")
    yield _figure(plots.front(front.points(), f"selected terms on {result.fit_rows} fit rows"),
                  "CV rho of the selected terms against their number")


def dependence_curves(function, rows, points: int = GRID_POINTS, max_rows: int = MAX_ROWS):
    """``({attribute: (grid, mean score, fit values)}, [attributes it failed on])``: for each
    attribute, every one of (up to ``max_rows``) fit rows with the attribute set to each grid
    value, scored in one sandbox call, averaged per grid value."""
    from ..sandbox import SandboxError

    X = np.asarray(rows.X, dtype=np.float64)
    if len(X) > max_rows:
        X = X[np.random.default_rng(0).choice(len(X), max_rows, replace=False)]
    names = list(rows.attributes)
    curves, failed = {}, []
    for j, name in enumerate(names):
        column = np.asarray(rows.X[:, j], dtype=np.float64)
        grid = np.unique(np.quantile(column, np.linspace(0.0, 1.0, points)))
        if len(grid) < 2:
            continue  # a constant column: nothing to draw
        block = np.repeat(X[None, :, :], len(grid), axis=0)
        block[:, :, j] = grid[:, None]
        try:
            scores = function.predict(block.reshape(-1, len(names)), names)
        except SandboxError:
            failed.append(name)
            continue
        means = np.asarray(scores, dtype=np.float64).reshape(len(grid), len(X)).mean(axis=1)
        if not np.all(np.isfinite(means)):
            failed.append(name)
            continue
        curves[name] = (grid, means, column)
    return curves, failed


def _fit_rho(rows, name: str) -> float | None:
    j = list(rows.attributes).index(name)
    return spearman_or_none(np.asarray(rows.X[:, j], dtype=np.float64),
                            np.asarray(rows.y, dtype=np.float64))


def _figure(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}"></figure>'


def _p(text: str, cls: str = "") -> str:
    return f'<p class="{cls}">{escape(text)}</p>' if cls else f"<p>{escape(text)}</p>"


def _number(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return float("-inf")
    return value if np.isfinite(value) else float("-inf")
