"""benchmarks/prior_ceiling.py: the replay must reproduce what the benchmark measured, and its
oracle must come from fit rows only."""

import json

import numpy as np
import pandas as pd
from script_loading import load_script as load_script_named

from rewardsmith.data import load_dataset, make_task
from rewardsmith.data.dataset import FIT
from rewardsmith.fitting import fit_linear
from rewardsmith.fitting.rank import spearman


def load_script():
    return load_script_named("prior_ceiling")


def prior_cell(dataset, attributes, direction="higher"):
    prior = {"origin": "elicited",
             "attributes": {a: {"direction": direction, "importance": 3} for a in attributes}}
    return {"dataset": dataset, "method": "prior", "fit_size": 10, "seed": 0, "prior": prior}


def test_replay_without_a_prior_is_ridge_on_the_same_rows(tmp_path, capsys):
    ceiling = load_script()
    ds = load_dataset("aadb")
    (tmp_path / "cells.jsonl").write_text(json.dumps(prior_cell("aadb", ds.attributes)) + "\n")
    assert ceiling.main(["--results", str(tmp_path), "--fit-sizes", "10"]) == 0
    out = capsys.readouterr().out
    task = make_task(ds, fit_size=10, seed=0)
    fit, held = task.fit_rows, task.heldout_rows
    ridge = spearman(fit_linear(fit.X, fit.y, mode="ridge").rank_score(held.X), held.y)
    assert f"| 10 | none | {ridge:.3f} | {ridge:.3f} |" in out
    assert "| 10 | elicited |" in out and "| 10 | pool directions |" in out
    assert "| 10 | reversed directions |" in out


def test_a_prior_the_data_contradict_loses_to_the_oracle_when_alone(tmp_path):
    ceiling = load_script()
    ds = load_dataset("aadb")
    task = make_task(ds, fit_size=10, seed=0)
    wrong = ceiling.reversed_directions(ceiling.pool_directions(ds))
    assert {p.direction for p in wrong.attributes.values()} == {"lower"}  # aadb: all help
    _, wrong_alone, _ = ceiling.replay(task, wrong, 0)
    _, oracle_alone, _ = ceiling.replay(task, ceiling.pool_directions(ds), 0)
    assert wrong_alone < 0 < oracle_alone


def test_oracle_directions_ignore_the_heldout_rows():
    ceiling = load_script()
    rng = np.random.default_rng(0)
    x = rng.normal(size=500)
    split = np.where(np.arange(500) < 100, FIT, "heldout")
    # x helps on the 100 fit rows and hurts, more strongly, on the 400 held-out ones.
    y = np.where(split == FIT, x, -3 * x) + 0.1 * rng.normal(size=500)
    ds = load_dataset(pd.DataFrame({"x": x, "noise": rng.normal(size=500), "score": y,
                                    "split": split}),
                      target="score", split_column="split")
    assert ceiling.pool_directions(ds).attributes["x"].direction == "higher"
