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
    if not s["unseen_datasets"]:
        return ("headline: none - every dataset was used in the compile; add a dataset the "
                "program has not seen")
    if not s["headline"]:
        return (f"headline: none yet - no fit size has finished every seed; {missing_text(s)}")
    sizes = ", ".join(size_label(f) for f in headline_sizes(s, c))
    parts = ", ".join(f"{h['method']} {interval_text(h)}" for h in s["headline"])
    text = (f"headline (unseen datasets: {', '.join(s['unseen_datasets'])}; mean held-out rho "
            f"over fit sizes {sizes} and seeds {', '.join(map(str, c['seeds']))}): {parts}")
    return text + (f" ({missing_text(s)})" if s.get("missing_cells") else "")


def headline_sizes(summary, config) -> list:
    """The fit sizes the headline averages (results from before time limits: all of them)."""
    return summary.get("headline_fit_sizes", config["fit_sizes"])


def missing_text(summary) -> str:
    return (f"{summary['missing_cells']} cell(s) not run yet (the time limit stopped the "
            "benchmark); run the same command again to add them")


def seeds_note(summary, config) -> str:
    """'Fit size 100: seed 0 only.' for every size that not every seed finished."""
    parts = [f"fit size {size_label(e['fit_size'])}: "
             + (f"seed{'s' if len(e['seeds']) > 1 else ''} {', '.join(map(str, e['seeds']))} only"
                if e["seeds"] else "no seed finished")
             for e in summary.get("seeds_by_fit_size", [])
             if len(e["seeds"]) < len(config["seeds"])]
    return (" Not every seed finished: " + "; ".join(parts) + ".") if parts else ""


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
            "over seeds. '(seen)': the compiled program was compiled on tasks from that dataset."
            + seeds_note(results.summary, c))
    return Table("Held-out Spearman rho", note, ["dataset", "fit rows", *c["methods"]], rows)


def all_tables(results) -> list[Table]:
    s, methods = results.summary, results.config["methods"]
    tables = [results_table(results)]
    if s["headline_by_fit_size"]:
        by = {(h["method"], h["fit_size"]): h for h in s["headline_by_fit_size"]}
        rows = [[size_label(f), *(interval_text(by[(m, f)]) for m in methods)]
                for f in results.config["fit_sizes"]]
        tables.append(Table("Headline by fit size", "Mean over the unseen datasets only."
                            + seeds_note(s, results.config),
                            ["fit rows", *methods], rows))
    if s["linear_bar"]:
        # Results written before the bar could be the prior method say "compiled_rho".
        method = s["linear_bar"][0].get("method", "compiled")
        ours = [b.get("program_rho", b.get("compiled_rho")) for b in s["linear_bar"]]
        rows = [[b["dataset"], size_label(b["fit_size"]), b["baseline"],
                 f"{b['baseline_rho']:.3f}", f"{rho:.3f}", f"{rho - b['baseline_rho']:+.4f}",
                 "yes" if b["reached"] else "no"] for b, rho in zip(s["linear_bar"], ours,
                                                                    strict=True)]
        tables.append(Table(f"{method} against the strongest linear baseline",
                            "Unseen datasets; means over seeds; the best of signed_mean, ols "
                            "and ridge at each size; the gap shows near-ties that three "
                            "decimals hide.",
                            ["dataset", "fit rows", "strongest linear", "its rho", method,
                             "gap", "reached"], rows))
    if s["comparisons"]:
        rows = [[f"compiled - {c['versus']}", interval_text(c), str(c["n"]),
                 "yes" if c["beyond_interval"] else "no" if c["n"] >= MIN_SEEDS_TO_CLAIM
                 else f"cannot tell ({_seeds(c['n'])}; {MIN_SEEDS_TO_CLAIM} needed)"]
                for c in s["comparisons"]]
        tables.append(Table("Compiled against uncompiled and the seed's method",
                            "Paired per seed: mean over unseen datasets and the headline's "
                            "fit sizes of the difference in held-out rho; 'beats it' means the "
                            "whole interval is above zero.",
                            ["comparison", "mean difference", "seeds", "beats it"], rows))
    repeats = unseen_table(results)
    if repeats is not None:
        tables.append(repeats)
    choices = choice_table(results)
    if choices is not None:
        tables.append(choices)
    rows = [[c["method"], str(c["cells"]), str(c["failed"]), _num(c["complexity"], ".0f"),
             _num(c["lm_calls"], ".1f"), _num(c["tokens"], ",.0f"), _num(c["wall_s"], ".2f")]
            for c in s["costs"]]
    tables.append(Table("Cost per cell", "Means over all cells of a method; complexity counts "
                        "AST nodes; LM calls and tokens count only calls that reached the model "
                        "(cache hits are free); 'failed': no valid function or an error (rho -1).",
                        ["method", "cells", "failed", "complexity", "LM calls", "tokens",
                         "wall s"], rows))
    return tables


def unseen_table(results) -> Table | None:
    """Held-out rho on the rows that repeat no fit row, where some held-out rows repeat one."""
    found = results.summary.get("unseen_groups") or []
    if not found:
        return None
    methods = results.config["methods"]
    cell = {(g["dataset"], g["method"], g["fit_size"]): g for g in found}
    rows = []
    for g in found:
        if g["method"] != methods[0]:
            continue
        rows.append([g["dataset"], size_label(g["fit_size"], g["fit_rows"]),
                     f"{g['heldout_seen']} of {g['heldout_rows']}",
                     *(interval_text(cell[(g["dataset"], m, g["fit_size"])]) for m in methods)])
    return Table("Held-out rows that repeat no fit row",
                 "Where some held-out rows have exactly the attribute values of a fit row, a "
                 "model that memorises scores well on them; these are the means over seeds of "
                 "rho on the other held-out rows. 'repeats': held-out rows that repeat a fit "
                 "row (the most over seeds).",
                 ["dataset", "fit rows", "repeats", *methods], rows)


def choice_table(results) -> Table | None:
    """Per dataset, fit size and LM method: how many of the prior's stated directions agree with
    the fit rows (summed over seeds) and which candidate won how often."""
    groups: dict = {}
    for r in results.records:
        if "chosen" not in r:
            continue
        key = (r["dataset"], r["fit_size"], r["method"])
        entry = groups.setdefault(key, {"agree": 0, "stated": 0, "priors": 0, "won": {}})
        if r.get("prior_agreement"):
            entry["agree"] += r["prior_agreement"][0]
            entry["stated"] += r["prior_agreement"][1]
            entry["priors"] += 1
        won = r.get("chosen") or "none"
        won = "written" if won.startswith(("attempt", "sample")) else won
        entry["won"][won] = entry["won"].get(won, 0) + 1
    if not groups:
        return None
    order = {m: i for i, m in enumerate(results.config["methods"])}
    sizes = {f: i for i, f in enumerate(results.config["fit_sizes"])}
    rows = []
    for (dataset, size, method), e in sorted(
            groups.items(), key=lambda kv: (kv[0][0], sizes.get(kv[0][1], 0), order[kv[0][2]])):
        agreement = (f"{e['agree']}/{e['stated']} ({e['agree'] / e['stated']:.0%})"
                     if e["stated"] else "no prior")
        won = ", ".join(f"{name} {n}" for name, n in sorted(e["won"].items(), key=lambda x: -x[1]))
        rows.append([dataset, size_label(size), method, agreement, str(e["priors"]), won])
    return Table("The prior and the chosen candidate",
                 "Directions the LM stated that agree with the sign of the attribute's rank "
                 "correlation on the fit rows, summed over seeds; cells with a usable prior; which "
                 "candidate cross-validation chose, in how many seeds ('written': a function the "
                 "LM wrote).",
                 ["dataset", "fit rows", "method", "prior agrees", "priors", "chosen"], rows)


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
