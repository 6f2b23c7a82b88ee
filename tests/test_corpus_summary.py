"""benchmarks/corpus_summary.py: paired differences over the cells both methods finished, and
direction agreement against the table's own signs."""

import json

import numpy as np
from script_loading import load_script as load_script_named


def load_script():
    return load_script_named("corpus_summary")


def test_paired_differences_use_only_cells_both_methods_have():
    summary = load_script()
    rho = {("t1", "a", 10, 0): 0.5, ("t1", "b", 10, 0): 0.3,
           ("t1", "a", 10, 1): 0.7, ("t1", "b", 10, 1): 0.4,
           ("t2", "a", 10, 0): 0.2, ("t2", "b", 10, 0): 0.3,
           ("t2", "a", 10, 1): 0.9}  # no b: left out
    mean, low, high, tables, cells = summary.paired(rho, "a", "b", ["t1", "t2"], 10)
    assert np.isclose(mean, (0.2 + 0.3 - 0.1) / 3) and (tables, cells) == (2, 3)
    assert low <= mean <= high


def test_direction_agreement_reads_the_cells_prior(tmp_path, capsys):
    summary = load_script()
    signs = summary.own_signs("seed")
    prior = {"origin": "elicited",
             "attributes": {a: {"direction": "higher" if s > 0 else "lower"}
                            for a, s in signs.items()}}
    cell = {"dataset": "seed", "method": "compiled", "fit_size": 10, "seed": 0, "rho": 0.5,
            "error": None, "prior": prior}
    other = {**cell, "method": "uncompiled", "prior": None, "rho": 0.4}
    (tmp_path / "cells.jsonl").write_text(json.dumps(cell) + "\n" + json.dumps(other) + "\n")
    summary.main(str(tmp_path), tables=["seed"])
    out = capsys.readouterr().out
    stated = sum(1 for s in signs.values() if s)
    assert f"compiled: {stated}/{stated} attributes (100%)" in out
    assert "compiled - uncompiled +0.100" in out


def test_the_last_bench_commands_results_win_over_stale_cells(tmp_path, capsys):
    summary = load_script()
    cell = {"dataset": "seed", "method": "compiled", "fit_size": 10, "seed": 0, "rho": 0.5,
            "error": None, "prior": None}
    stale = {**cell, "rho": 0.9}  # from older code: in cells.jsonl, not in results.json
    (tmp_path / "cells.jsonl").write_text(json.dumps(cell) + "\n" + json.dumps(stale) + "\n")
    (tmp_path / "results.json").write_text(json.dumps({"records": [cell]}))
    assert [r["rho"] for r in summary.cells(tmp_path)] == [0.5]
    (tmp_path / "results.json").unlink()
    assert [r["rho"] for r in summary.cells(tmp_path)] == [0.9]


def test_the_full_program_summary_pairs_each_program_with_itself_without_writing(
        tmp_path, capsys, monkeypatch):
    from script_loading import BENCHMARKS

    monkeypatch.syspath_prepend(str(BENCHMARKS))  # it imports corpus_summary beside it
    full_summary = load_script_named("full_program_summary")
    full, plain = tmp_path / "full", tmp_path / "plain"
    for folder in (full, plain):
        folder.mkdir()

    def cell(method, seed, rho, chosen="ridge"):
        return {"dataset": "t", "method": method, "fit_size": 20, "seed": seed, "rho": rho,
                "error": None, "chosen": chosen}
    written = [cell("compiled", 0, 0.5, "attempt 1"), cell("uncompiled", 0, 0.7),
               cell("compiled", 1, 0.3), cell("uncompiled", 1, 0.4, "attempt 2")]
    unwritten = [cell("compiled", 0, 0.4), cell("uncompiled", 0, 0.7),
                 cell("compiled", 1, 0.3), cell("uncompiled", 1, 0.6)]
    (full / "results.json").write_text(json.dumps({"records": written}))
    (plain / "results.json").write_text(json.dumps({"records": unwritten}))
    full_summary.main(str(full), str(plain))
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 20 |")]
    assert row == ["| 20 | 2 | 0.400 | 0.550 | -0.150 [-0.200, -0.100] | "
                   "+0.050 [+0.000, +0.100] (2) | -0.100 [-0.200, +0.000] (2) | 1 / 1 |"]
