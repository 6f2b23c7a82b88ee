"""What the retrieved prior knows, on the corpus's validation tables (no LM; about a minute).

The attribute library is built from the train tables; each validation table's attributes get the
vote of their nearest labelled attributes (``corpus/library.py``). Printed:

1. direction agreement with each validation table's gold prior (all its rows), over attributes
   whose gold direction is not "none", beside a prior that says "higher" for everything;
2. held-out rho at 10 and 20 fit rows (seeds 0-4) of the judge's statistical answer with no prior
   (ridge), the retrieved prior, the all-"higher" prior, and the gold prior, which has seen every
   row of the table, held-out ones included: a ceiling, not a method. Differences to ridge are
   paired per table and seed, with a 95% bootstrap interval that resamples tables (a table's
   seeds move together).

Unseen tables are not read: they are for the benchmark alone. Run: ``make bench-retrieval``.
"""

from __future__ import annotations

import json
import warnings

import numpy as np

from rewardsmith.corpus.catalog import CATALOG_FILE
from rewardsmith.corpus.library import AttributeLibrary
from rewardsmith.data import load_dataset, make_task
from rewardsmith.fitting import AttributePrior, Prior
from rewardsmith.judge import Judge
from rewardsmith.metrics.prior_agreement import directions_agreed
from rewardsmith.metrics.spearman import heldout_scores, usable_outputs

SIZES = (10, 20)
SEEDS = range(5)


def gold_of(record) -> Prior:
    return Prior({a: AttributePrior(g["direction"], g["importance"])
                  for a, g in record["gold_prior"].items()}, origin="gold")


def table_interval(diffs: dict[str, list[float]], draws: int = 2000) -> tuple[float, float]:
    """95% bootstrap interval of the mean difference, resampling tables."""
    keys = sorted(diffs)
    means = np.array([np.mean(diffs[k]) for k in keys])
    counts = np.array([len(diffs[k]) for k in keys])
    rng = np.random.default_rng(0)
    stats = []
    for _ in range(draws):
        pick = rng.integers(0, len(keys), len(keys))
        stats.append(np.sum(means[pick] * counts[pick]) / np.sum(counts[pick]))
    return float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5))


def main() -> None:
    warnings.simplefilter("ignore")
    document = json.loads(CATALOG_FILE.read_text(encoding="utf-8"))
    records = [t for t in document["tables"] if t["part"] == "validation"]
    library = AttributeLibrary.from_catalog("train")
    agree = {"retrieved": [0, 0], "all higher": [0, 0]}
    rhos: dict[tuple, dict[str, list[float]]] = {}
    for record in records:
        ds = load_dataset(record["key"])
        priors = {"ridge (no prior)": None,
                  "retrieved": library.vote(ds.card_entry()),
                  "all higher": Prior({a: AttributePrior("higher", 2) for a in ds.attributes}),
                  "gold (ceiling)": gold_of(record)}
        for name in agree:
            a, t = directions_agreed(priors[name], record["gold_prior"])
            agree[name][0] += a
            agree[name][1] += t
        for size in SIZES:
            for seed in SEEDS:
                task = make_task(ds, fit_size=size, seed=seed)
                for name, prior in priors.items():
                    judge = Judge(task.fit_rows, prior, seed=seed, select_terms=False)
                    outputs = usable_outputs(judge.winner().function, task.heldout_rows)
                    rho = heldout_scores(outputs, task.fit_rows, task.heldout_rows)["rho"]
                    rhos.setdefault((size, name), {}).setdefault(record["key"], []).append(
                        rho if rho is not None else -1.0)
    print(f"{len(records)} validation tables, library of {len(library.entries)} labelled "
          "attributes from the train tables\n")
    print("direction agreement with the gold prior (attributes with a gold direction):")
    for name, (a, t) in agree.items():
        print(f"  {name:<12} {a}/{t} ({a / t:.0%})")
    print("\nheld-out rho, mean over tables and seeds 0-4; difference to ridge, paired, "
          "95% interval over tables:")
    for size in SIZES:
        base = rhos[(size, "ridge (no prior)")]
        for name in ("ridge (no prior)", "retrieved", "all higher", "gold (ceiling)"):
            cells = rhos[(size, name)]
            mean = np.mean([r for v in cells.values() for r in v])
            diffs = {k: list(np.subtract(cells[k], base[k])) for k in cells}
            delta = np.mean([d for v in diffs.values() for d in v])
            low, high = table_interval(diffs)
            print(f"  {size:>3} rows  {name:<17} {mean:.3f}   {delta:+.3f} [{low:+.3f}, "
                  f"{high:+.3f}]")


if __name__ == "__main__":
    main()
