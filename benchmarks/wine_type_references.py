"""Does wine_type carry signal any model can use? gbm and ebm with and without it.

The same tasks as ``text_attributes.py`` (wine_quality with and without ``wine_type``, one 0/1
feature), scored by scikit-learn's gradient boosting and interpret's Explainable Boosting
Machine instead of the program: if neither gains from the column, its goal in issue 21 cannot
be met on this table by any method. Appends one line per fit size and seed to --out.

    .venv/bin/python benchmarks/wine_type_references.py --sizes 1000,all --seeds 0-4
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from text_attributes import dataset, spans  # noqa: E402

from rewardsmith.data import make_task  # noqa: E402
from rewardsmith.metrics.baselines import ebm_rho, gradient_boosting_rho  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1000,all")
    p.add_argument("--seeds", default="0-4")
    p.add_argument("--out", default="benchmarks/results-text/wine_type_references.jsonl")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    with Path(args.out).open("a") as out:
        for size in [None if s == "all" else int(s) for s in args.sizes.split(",")]:
            for seed in spans(args.seeds):
                row = {"fit_size": size, "seed": seed}
                for with_type in (False, True):
                    task = make_task(dataset("wine_quality", with_type), fit_size=size,
                                     seed=seed)
                    row[f"gbm_{with_type}"] = gradient_boosting_rho(task.fit_rows,
                                                                    task.heldout_rows, seed)
                    row[f"ebm_{with_type}"] = ebm_rho(task.fit_rows, task.heldout_rows, seed)
                    row[f"features_{with_type}"] = len(task.fit_rows.attributes)
                print(row, flush=True)
                out.write(json.dumps(row) + "\n")
                out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
