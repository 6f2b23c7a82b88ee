"""How much would a better prior buy? Run: ``make bench-prior-ceiling``.

Replays the ``prior`` cells of a benchmark folder (default ``benchmarks/results``) at the small
fit sizes, where the prior matters, without calling any language model: each cell's task is
rebuilt from its dataset, fit size and seed, and the judge's statistical candidates are fitted
and chosen exactly as in the run, under four priors:

- ``none``: no prior, so the judge's answer is plain ridge;
- ``elicited``: the prior the language model stated in that cell (read from ``cells.jsonl``);
- ``pool directions``: the sign of each attribute's Spearman rho with the target over the
  dataset's whole fit pool (every fit row, never a held-out one), importance 2 for all. This is
  an oracle no method has at 10 rows: it shows what the statistics make of directions that are
  right, and so how much of the gap to a goal is the prior's fault;
- ``reversed directions``: the oracle with every direction turned round: a prior as wrong as it
  can be, which cross-validation must overrule.

For each prior it prints the mean held-out rho of the chosen candidate and of the prior alone,
per dataset and over the datasets, and the mean over datasets less that of no prior, paired per
seed, with its 95% bootstrap interval over seeds. The figures are exact replays: the
``elicited`` row equals the benchmark's ``prior`` method wherever no written function won (true
at these sizes when the benchmark ran with ``rounds=0``).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rewardsmith.bench.cells import CellLog  # noqa: E402
from rewardsmith.bench.summary import bootstrap_interval  # noqa: E402
from rewardsmith.data import load_dataset, make_task  # noqa: E402
from rewardsmith.fitting import AttributePrior, Prior, fit_linear  # noqa: E402
from rewardsmith.fitting.rank import spearman  # noqa: E402
from rewardsmith.judge.candidates import STATISTICAL  # noqa: E402
from rewardsmith.judge.judge import Judge  # noqa: E402

PRIORS = ("none", "elicited", "pool directions", "reversed directions")
_REVERSED = {"higher": "lower", "lower": "higher", "none": "none"}


def pool_directions(dataset) -> Prior:
    """Directions from every fit row of the dataset (the oracle; see the module docstring)."""
    fit = dataset.fit_frame()
    y = fit[dataset.target].to_numpy(dtype=float)
    entries = {}
    for name in dataset.attributes:
        rho = spearman(fit[name].to_numpy(dtype=float), y)
        direction = "none" if not np.isfinite(rho) or rho == 0 else (
            "higher" if rho > 0 else "lower")
        entries[name] = AttributePrior(direction, 2)
    return Prior(entries, origin="pool directions")


def reversed_directions(prior: Prior) -> Prior:
    return Prior({name: AttributePrior(_REVERSED[p.direction], p.importance)
                  for name, p in prior.attributes.items()}, origin="reversed directions")


def replay(task, prior: Prior | None, seed: int) -> tuple[float, float | None, str]:
    """(held-out rho of the judge's choice, held-out rho of the prior alone, chosen name)."""
    fit, held = task.fit_rows, task.heldout_rows
    vector = prior.vector(fit.attributes) if prior else np.zeros(len(fit.attributes))
    chosen = Judge(fit, prior, seed=seed, select_terms=False).winner()

    def heldout_rho(mode):
        return spearman(fit_linear(fit.X, fit.y, vector, mode=mode).rank_score(held.X), held.y)

    alone = heldout_rho("prior") if np.any(vector) else None
    return heldout_rho(STATISTICAL[chosen.name]), alone, chosen.name


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", default="benchmarks/results",
                        help="a benchmark folder with a cells.jsonl holding `prior` cells")
    parser.add_argument("--fit-sizes", default="10,20", help="fit sizes to replay (under 100)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.fit_sizes.split(",")]
    cells = [r for r in CellLog(Path(args.results) / "cells.jsonl").read().values()
             if r["method"] == "prior" and r["fit_size"] in sizes and not r.get("error")]
    if not cells:
        print(f"no `prior` cells at fit sizes {sizes} in {args.results}", file=sys.stderr)
        return 1
    chosen, alone = defaultdict(list), defaultdict(list)
    datasets = sorted({r["dataset"] for r in cells})
    loaded = {name: load_dataset(name) for name in datasets}
    oracle = {name: pool_directions(ds) for name, ds in loaded.items()}
    for r in sorted(cells, key=lambda r: (r["dataset"], r["fit_size"], r["seed"])):
        task = make_task(loaded[r["dataset"]], fit_size=r["fit_size"], seed=r["seed"])
        priors = {"none": None, "elicited": Prior.from_dict(r["prior"]) if r.get("prior") else None,
                  "pool directions": oracle[r["dataset"]],
                  "reversed directions": reversed_directions(oracle[r["dataset"]])}
        for label, prior in priors.items():
            rho, rho_alone, _ = replay(task, prior, r["seed"])
            chosen[(label, r["dataset"], r["fit_size"])].append(rho)
            if rho_alone is not None:
                alone[(label, r["dataset"], r["fit_size"])].append(rho_alone)
    seeds = sorted({r["seed"] for r in cells})
    print(f"Held-out rho, mean over seeds {seeds}: the judge's choice (the prior alone); 'less "
          "none': the mean over datasets less that of no prior, paired per seed\n")
    header = "| fit rows | prior | " + " | ".join(datasets) + " | mean | less none |"
    print(header + "\n|" + "---|" * (header.count("|") - 1))
    for size in sizes:
        for label in PRIORS:
            means = [np.mean(chosen[(label, d, size)]) for d in datasets]
            lone = [f" ({np.mean(alone[(label, d, size)]):.3f})" if alone[(label, d, size)]
                    else "" for d in datasets]
            cols = " | ".join(f"{m:.3f}{a}" for m, a in zip(means, lone, strict=True))
            gap = bootstrap_interval(np.mean(
                [np.subtract(chosen[(label, d, size)], chosen[("none", d, size)])
                 for d in datasets], axis=0))
            less = ("" if label == "none" else
                    f"{gap['mean']:+.3f} [{gap['low']:+.3f}, {gap['high']:+.3f}]")
            print(f"| {size} | {label} | {cols} | {np.mean(means):.3f} | {less} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
