"""Which prior step to compile: variants compared on corpus validation tables, by agreement with
each table's gold prior (one LM call per table and variant).

Variants (each a ``RewardProgram(rounds=0)``; the library is a compile by retrieval on every
corpus train table, which makes no LM call):

- ``uncompiled``: the card alone;
- ``evidence``: each attribute's nearest labelled attributes shown beside it;
- ``examples+evidence``: also the 2 most similar train tables with their gold priors as demos;
- ``vote`` (no LM): the neighbours' prior itself, for reference.

Scored per table: the effect-weighted agreement of ``metrics/prior_agreement.py`` (-1..1) and the
share of attributes with a gold direction whose stated direction matches it. Each finished call
is appended to ``OUT/records.jsonl`` and the LM replies are cached in ``OUT/dspy_cache``, so the
same command resumes. ``--max-minutes`` stops starting new calls after that long.

    .venv/bin/python benchmarks/prior_variants.py --tables 12 \
        --out benchmarks/results-prior-variants
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import dspy
import numpy as np

from rewardsmith.corpus import tables
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.lm import make_lm, use_run_cache
from rewardsmith.lm.usage import usage_totals
from rewardsmith.metrics.prior_agreement import directions_agreed, prior_agreement
from rewardsmith.programs import RewardProgram, compile

VARIANTS = {
    "uncompiled": None,
    "evidence": {"examples": 0, "evidence": True},
    "examples+evidence": {"examples": 2, "evidence": True},
}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=12,
                        help="how many validation tables, spread over the part")
    parser.add_argument("--out", default="benchmarks/results-prior-variants")
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--lm", default=None)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "records.jsonl"
    done = {}
    if log_path.is_file():
        for line in log_path.read_text().splitlines():
            record = json.loads(line)
            done[(record["table"], record["variant"])] = record
    library_program = compile(RewardProgram(rounds=0),
                              make_tasks([t.key for t in tables("train")], fit_sizes=[20]),
                              optimizer="retrieval", verbose=False)
    library = library_program.library_
    use_run_cache(out)
    lm = make_lm(args.lm)
    deadline = time.monotonic() + 60 * args.max_minutes if args.max_minutes else None
    part = tables("validation")
    # Spread over the part (whose tables come grouped by R package), not its first few.
    chosen = [part[i * len(part) // args.tables] for i in range(min(args.tables, len(part)))]
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), log_path.open("a") as log:
        for table in chosen:
            task = make_task(load_dataset(table.key), fit_size=20, seed=0)
            gold = task.gold_prior
            if (table.key, "vote") not in done:
                voted = library.vote(task.card)
                record = {"table": table.key, "variant": "vote", "seconds": 0.0, "lm_calls": 0,
                          "score": prior_agreement(voted, gold)[0],
                          "agree": directions_agreed(voted, gold),
                          "prior": voted.to_dict() if voted else None}
                log.write(json.dumps(record) + "\n")
                done[(table.key, "vote")] = record
            for variant, settings in VARIANTS.items():
                if (table.key, variant) in done:
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    print("time limit reached; run the same command again to go on")
                    return summarize(done, chosen)
                program = RewardProgram(rounds=0, vote_prior=False, **(settings or {}))
                if settings is not None:
                    program.library_ = library
                started = time.perf_counter()
                with dspy.track_usage() as usage:
                    prediction = program(**task.inputs())
                calls, tokens = usage_totals(usage)
                record = {"table": table.key, "variant": variant,
                          "seconds": round(time.perf_counter() - started, 1),
                          "lm_calls": calls, "tokens": tokens,
                          "score": prior_agreement(prediction.prior, gold)[0],
                          "agree": directions_agreed(prediction.prior, gold),
                          "prior": prediction.prior.to_dict() if prediction.prior else None}
                log.write(json.dumps(record) + "\n")
                log.flush()
                done[(table.key, variant)] = record
                print(f"{table.key:<32} {variant:<18} score {record['score']:+.2f}  "
                      f"agree {record['agree'][0]}/{record['agree'][1]}  "
                      f"{record['seconds']:.0f} s", flush=True)
    summarize(done, chosen)


def summarize(done, chosen) -> None:
    """Over every table with a record (the chosen ones and any an earlier run added)."""
    keys = list(dict.fromkeys(table for table, _ in done))
    print(f"\n{'variant':<18} tables  score (mean)  directions agreed   s/call")
    for variant in ("vote", *VARIANTS):
        records = [done[(k, variant)] for k in keys if (k, variant) in done]
        if not records:
            continue
        agree = sum(r["agree"][0] for r in records)
        total = sum(r["agree"][1] for r in records)
        seconds = [r["seconds"] for r in records if r["lm_calls"]]
        print(f"{variant:<18} {len(records):>6}  {np.mean([r['score'] for r in records]):+.3f}"
              f"        {agree}/{total} ({agree / max(total, 1):.0%})"
              f"       {np.mean(seconds) if seconds else 0:.0f}")


if __name__ == "__main__":
    main()
