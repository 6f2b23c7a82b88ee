"""Which prior step to compile: variants compared on corpus validation tables, by agreement with
each table's gold prior (one LM call per table and variant).

Variants (each a ``RewardProgram(rounds=0)``; the library is a compile by retrieval on every
corpus train table, which makes no LM call):

- ``uncompiled``: the card alone;
- ``evidence``: each attribute's nearest labelled attributes shown beside it;
- ``examples+evidence``: also the 2 most similar train tables with their gold priors as demos;
- ``random+evidence``: 2 train tables drawn at random (per table, fixed) instead of the most
  similar: the control that says whether similarity or any labelled demo does the work;
- ``vote`` (no LM): the neighbours' prior itself, for reference;
- ``questions``: two one-word questions per attribute read as probabilities
  (``RewardProgram(prior_step="questions")``, ``programs/questions.py``);
- ``questions+evidence``: the same with the attribute's nearest labelled attributes before
  its question.

The question variants record each attribute's two log-odds, so thresholds can be studied
without asking again. ``--part train`` runs the train tables instead (for choosing thresholds;
their own entries are left out of the library's evidence).

Derived without an LM (``--vote-weight``): ``uncompiled+vote``, ``examples+evidence+vote`` and
``questions+vote``, each recorded prior mixed with the neighbours' vote as a compiled program
mixes it (``corpus.library.combined_prior``). Question variants are rescored from their recorded
odds, so a change of thresholds needs no new call.

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
from rewardsmith.corpus.examples import PriorLibrary
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.lm import make_lm, use_run_cache
from rewardsmith.lm.usage import usage_totals
from rewardsmith.metrics.prior_agreement import directions_agreed, prior_agreement
from rewardsmith.programs import RewardProgram, compile
from rewardsmith.programs.questions import ask_attributes, prior_from_answers

VARIANTS = {
    "uncompiled": None,
    "evidence": {"examples": 0, "evidence": True},
    "examples+evidence": {"examples": 2, "evidence": True},
    "random+evidence": {"examples": 2, "evidence": True},
}
#: Question variants: whether the evidence stands before each question.
QUESTION_VARIANTS = {"questions": False, "questions+evidence": True}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=12,
                        help="how many validation tables, spread over the part (0: the "
                        "tables that already have an uncompiled record)")
    parser.add_argument("--out", default="benchmarks/results-prior-variants")
    parser.add_argument("--max-minutes", type=float, default=None)
    parser.add_argument("--lm", default=None)
    parser.add_argument("--variants", default=None,
                        help="comma-separated variants to run (default: all)")
    parser.add_argument("--part", default="validation", choices=("validation", "train"))
    parser.add_argument("--vote-weight", type=float, default=1.0,
                        help="the weight of the vote in the derived +vote variants")
    parser.add_argument("--program", default=None, metavar="PROGRAM.json",
                        help="also a variant whose prior step is this compiled program's (say, "
                        "GEPA's instruction), with no vote mixed in; NAME+vote is derived")
    parser.add_argument("--name", default="program", help="the --program variant's name")
    args = parser.parse_args(argv)
    variants, derived = dict(VARIANTS), list(DERIVED)
    if args.program:
        variants[args.name] = {"from_file": args.program}
        derived.append((f"{args.name}+vote", args.name))
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
    part = tables(args.part)
    wanted = set(args.variants.split(",")) if args.variants else None
    # Spread over the part (whose tables come grouped by R package), not its first few.
    if args.tables == 0:
        chosen = [t for t in part if (t.key, "uncompiled") in done]
    else:
        chosen = [part[i * len(part) // args.tables]
                  for i in range(min(args.tables, len(part)))]
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()), log_path.open("a") as log:
        for table in chosen:
            task = make_task(load_dataset(table.key), fit_size=20, seed=0)
            gold = task.gold_prior
            if (table.key, "vote") not in done:
                voted = library.vote(task.card, exclude_table=table.key)
                record = {"table": table.key, "variant": "vote", "seconds": 0.0, "lm_calls": 0,
                          "score": prior_agreement(voted, gold)[0],
                          "agree": directions_agreed(voted, gold),
                          "prior": voted.to_dict() if voted else None}
                log.write(json.dumps(record) + "\n")
                done[(table.key, "vote")] = record
            for variant in (*variants, *QUESTION_VARIANTS):
                if (table.key, variant) in done or (wanted and variant not in wanted):
                    continue
                if deadline is not None and time.monotonic() > deadline:
                    print("time limit reached; run the same command again to go on")
                    return summarize(derive(done, library, args.vote_weight, derived), chosen,
                                     variants, derived)
                if variant in QUESTION_VARIANTS:
                    record = ask_record(task, variant, library, gold)
                    log.write(json.dumps(record) + "\n")
                    log.flush()
                    done[(table.key, variant)] = record
                    report(record)
                    continue
                settings = variants[variant]
                if settings and "from_file" in settings:
                    program = RewardProgram.from_file(settings["from_file"])
                    program.rounds, program.vote_prior, program.vote_weight = 0, False, 0.0
                    settings = None  # its own library (if any) stays; no other is given
                else:
                    program = RewardProgram(rounds=0, vote_prior=False, vote_weight=0.0,
                                            **(settings or {}))
                if settings is not None:
                    program.library_ = (RandomDemos.like(library, table.key)
                                        if variant == "random+evidence" else library)
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
                report(record)
    summarize(derive(done, library, args.vote_weight, derived), chosen, variants, derived)


class RandomDemos(PriorLibrary):
    """The same library, but its demos are train tables drawn at random (seeded by the table's
    name, so a rerun draws the same ones)."""

    @classmethod
    def like(cls, library: PriorLibrary, table: str) -> RandomDemos:
        random = cls(library.tables, library.attributes)
        random.seed = int.from_bytes(table.encode("utf-8"), "little") % 2**32
        return random

    def demos(self, description, schema, k, *, exclude_table=None):
        candidates = [t for t in self.tables if t.table != exclude_table]
        rng = np.random.default_rng(self.seed)
        chosen = rng.choice(len(candidates), size=min(k, len(candidates)), replace=False)
        return [candidates[i].as_demo() for i in chosen]


def ask_record(task, variant: str, library, gold) -> dict:
    """One question variant on one table, timed, with each attribute's two log-odds."""
    card = task.card
    evidence = (library.evidence(card, exclude_table=task.dataset)
                if QUESTION_VARIANTS[variant] else {})
    started = time.perf_counter()
    with dspy.track_usage() as usage:
        answers = ask_attributes(task.description, task.prior_schema, list(card["attributes"]),
                                 target=card["target"], meanings=card["attributes"],
                                 evidence=evidence)
    calls, tokens = usage_totals(usage)
    prior = prior_from_answers(answers)
    return {"table": task.dataset, "variant": variant,
            "seconds": round(time.perf_counter() - started, 1), "lm_calls": calls,
            "tokens": tokens, "score": prior_agreement(prior, gold)[0],
            "agree": directions_agreed(prior, gold), "prior": prior.to_dict(),
            "odds": {a.attribute: [round(a.higher, 4), round(a.lower, 4)] for a in answers}}


#: Derived variants: (name, the recorded variant it mixes with the vote).
DERIVED = (("uncompiled+vote", "uncompiled"), ("examples+evidence+vote", "examples+evidence"),
           ("questions+vote", "questions"))


def derive(done: dict, library, weight: float, derived=DERIVED) -> dict:
    """Question records rescored from their odds, and the +vote variants, with no LM call."""
    from rewardsmith.corpus import catalog
    from rewardsmith.corpus.library import combined_prior, prior_scores
    from rewardsmith.fitting import Prior
    from rewardsmith.programs.questions import Answer

    out = dict(done)
    for (table, variant), record in done.items():
        if (variant not in dict(derived).values() and variant not in QUESTION_VARIANTS
                or table not in catalog()):  # a table that has left the catalog since
            continue
        gold = catalog()[table].gold_prior
        if "odds" in record:
            answers = [Answer(a, h, low) for a, (h, low) in record["odds"].items()]
            prior, scores = prior_from_answers(answers), {a.attribute: a.score for a in answers}
            out[(table, variant)] = {**record, "score": prior_agreement(prior, gold)[0],
                                     "agree": directions_agreed(prior, gold)}
        else:
            prior = Prior.from_dict(record["prior"]) if record["prior"] else None
            scores = prior_scores(prior) if prior else {}
        name = next((n for n, base in derived if base == variant), None)
        if name is None:
            continue
        card = load_dataset(table).card_entry()
        mixed = combined_prior(scores, library.attributes.vote_scores(card, exclude_table=table),
                               weight, origin="mixed")
        out[(table, name)] = {"table": table, "variant": name, "seconds": record["seconds"],
                              "lm_calls": record["lm_calls"],
                              "score": prior_agreement(mixed, gold)[0],
                              "agree": directions_agreed(mixed, gold)}
    return out


def report(record: dict) -> None:
    print(f"{record['table']:<32} {record['variant']:<18} score {record['score']:+.2f}  "
          f"agree {record['agree'][0]}/{record['agree'][1]}  {record['seconds']:.0f} s",
          flush=True)


def summarize(done, chosen, variants=VARIANTS, derived=DERIVED) -> None:
    """Over every table with a record (the chosen ones and any an earlier run added), then
    each variant against ``uncompiled`` on the tables both have (a bootstrap over tables)."""
    keys = list(dict.fromkeys(table for table, _ in done))
    variants = ("vote", *variants, *QUESTION_VARIANTS, *(name for name, _ in derived))
    print(f"\n{'variant':<18} tables  score (mean)  directions agreed   s/table")
    for variant in variants:
        records = [done[(k, variant)] for k in keys if (k, variant) in done]
        if not records:
            continue
        agree = sum(r["agree"][0] for r in records)
        total = sum(r["agree"][1] for r in records)
        seconds = [r["seconds"] for r in records if r["lm_calls"]]
        print(f"{variant:<18} {len(records):>6}  {np.mean([r['score'] for r in records]):+.3f}"
              f"        {agree}/{total} ({agree / max(total, 1):.0%})"
              f"       {np.mean(seconds) if seconds else 0:.0f}")
    print(f"\n{'paired with uncompiled':<24} tables  score difference [95%]   directions")
    for variant in variants:
        common = [k for k in keys if (k, variant) in done and (k, "uncompiled") in done]
        if variant == "uncompiled" or not common:
            continue
        diff = np.array([done[(k, variant)]["score"] - done[(k, "uncompiled")]["score"]
                         for k in common])
        draws = np.random.default_rng(0).choice(diff, size=(4000, len(diff))).mean(axis=1)
        low, high = np.percentile(draws, [2.5, 97.5])
        ours = sum(done[(k, variant)]["agree"][0] for k in common)
        theirs = sum(done[(k, "uncompiled")]["agree"][0] for k in common)
        total = sum(done[(k, "uncompiled")]["agree"][1] for k in common)
        print(f"{variant:<24} {len(common):>6}  {diff.mean():+.3f} [{low:+.3f}, {high:+.3f}]"
              f"   {ours}/{total} vs {theirs}/{total}")

if __name__ == "__main__":
    main()
