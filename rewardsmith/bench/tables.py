"""The summary as tables of plain strings, rendered to Markdown here and to HTML by the report.

One source for both renderings keeps the Markdown and the HTML page from disagreeing.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from .summary import MIN_SEEDS_TO_CLAIM


@dataclass
class Table:
    title: str
    note: str
    header: list[str]
    rows: list[list[str]]


def interval_text(entry: dict) -> str:
    if entry.get("mean") is None:
        return "-"
    if entry.get("n", 0) > 1:
        return f"{entry['mean']:.3f} [{entry['low']:.3f}, {entry['high']:.3f}]"
    return f"{entry['mean']:.3f}"


def size_label(fit_size, fit_rows=None) -> str:
    """'all (300)', '20', or '20 (10)' when the table had fewer fit rows than asked."""
    if fit_size is None:
        return f"all ({fit_rows})" if fit_rows is not None else "all"
    if fit_rows is not None and fit_rows != fit_size:
        return f"{fit_size} ({fit_rows})"
    return str(fit_size)


def _sizes_text(config) -> str:
    return ", ".join(size_label(f) for f in config["fit_sizes"])


def headline_text(results) -> str:
    """One line: mean held-out rho per method over unseen datasets, fit sizes and seeds."""
    s, c = results.summary, results.config
    if not s["headline"]:
        return ("headline: none - every dataset was used in the compile; add a dataset the "
                "program has not seen")
    parts = ", ".join(f"{h['method']} {interval_text(h)}" for h in s["headline"])
    return (f"headline (unseen datasets: {', '.join(s['unseen_datasets'])}; mean held-out rho "
            f"over fit sizes {_sizes_text(c)} and seeds {', '.join(map(str, c['seeds']))}): "
            f"{parts}")


def results_table(results) -> Table:
    c = results.config
    cell = {(g["dataset"], g["method"], g["fit_size"]): g for g in results.summary["groups"]}
    rows = []
    for g in results.summary["groups"]:
        if g["method"] != c["methods"][0]:
            continue
        name = g["dataset"] + (" (seen)" if g["seen"] else "")
        rows.append([name, size_label(g["fit_size"], g["fit_rows"]),
                     *(interval_text(cell[(g["dataset"], m, g["fit_size"])])
                       for m in c["methods"])])
    note = (f"Mean over seeds {', '.join(map(str, c['seeds']))} with a 95% bootstrap interval "
            "over seeds. '(seen)': the compiled program was compiled on tasks from that dataset.")
    return Table("Held-out Spearman rho", note, ["dataset", "fit rows", *c["methods"]], rows)


def all_tables(results) -> list[Table]:
    s, methods = results.summary, results.config["methods"]
    tables = [results_table(results)]
    if s["headline_by_fit_size"]:
        by = {(h["method"], h["fit_size"]): h for h in s["headline_by_fit_size"]}
        rows = [[size_label(f), *(interval_text(by[(m, f)]) for m in methods)]
                for f in results.config["fit_sizes"]]
        tables.append(Table("Headline by fit size", "Mean over the unseen datasets only.",
                            ["fit rows", *methods], rows))
    if s["linear_bar"]:
        rows = [[b["dataset"], size_label(b["fit_size"]), b["baseline"],
                 f"{b['baseline_rho']:.3f}", f"{b['compiled_rho']:.3f}",
                 "yes" if b["reached"] else "no"] for b in s["linear_bar"]]
        tables.append(Table("Compiled program against the strongest linear baseline",
                            "Unseen datasets; means over seeds; the best of signed_mean, ols "
                            "and ridge at each size.",
                            ["dataset", "fit rows", "strongest linear", "its rho", "compiled",
                             "reached"], rows))
    if s["comparisons"]:
        rows = [[f"compiled - {c['versus']}", interval_text(c), str(c["n"]),
                 "yes" if c["beyond_interval"] else "no" if c["n"] >= MIN_SEEDS_TO_CLAIM
                 else f"cannot tell ({_seeds(c['n'])}; {MIN_SEEDS_TO_CLAIM} needed)"]
                for c in s["comparisons"]]
        tables.append(Table("Compiled against uncompiled and the seed's method",
                            "Paired per seed: mean over unseen datasets and fit sizes of the "
                            "difference in held-out rho; 'beats it' means the whole interval "
                            "is above zero.",
                            ["comparison", "mean difference", "seeds", "beats it"], rows))
    rows = [[c["method"], str(c["cells"]), str(c["failed"]), _num(c["complexity"], ".0f"),
             _num(c["lm_calls"], ".1f"), _num(c["tokens"], ",.0f"), _num(c["wall_s"], ".2f")]
            for c in s["costs"]]
    tables.append(Table("Cost per cell", "Means over all cells of a method; complexity counts "
                        "AST nodes; LM calls and tokens count only calls that reached the model "
                        "(cache hits are free); 'failed': no valid function or an error (rho -1).",
                        ["method", "cells", "failed", "complexity", "LM calls", "tokens",
                         "wall s"], rows))
    return tables


def _seeds(n: int) -> str:
    return "one seed" if n == 1 else f"{n} seeds"


def _num(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def md_cell(text: str) -> str:
    """Table-safe Markdown: no pipes or newlines, and no raw HTML (names may come from files)."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table, level: str = "##") -> str:
    lines = [f"{level} {table.title}", "", table.note, "",
             "| " + " | ".join(map(md_cell, table.header)) + " |",
             "|" + "---|" * len(table.header)]
    lines += ["| " + " | ".join(map(md_cell, row)) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def markdown(results) -> str:
    """results.md: what was run, the headline, and every table."""
    c = results.config
    intro = [
        "# rewardsmith benchmark", "",
        md_cell(f"Datasets: {', '.join(c['datasets'])}; methods: {', '.join(c['methods'])}; fit "
                f"sizes: {_sizes_text(c)}; seeds: {', '.join(map(str, c['seeds']))}."),
        md_cell(f"Compile datasets (seen): {', '.join(c['compile_datasets']) or 'none'}; "
                f"language model: {c.get('lm') or 'none'}; program: {c.get('program') or 'none'}."),
        "", f"**{md_cell(headline_text(results))}**", "",
    ]
    return "\n".join(intro + [markdown_table(t) for t in all_tables(results)])
