"""The benchmark end to end with the scripted LM: computed table, seen/unseen, resume, report."""

import argparse
import contextlib
import io
import json
import sys

import dspy
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scripted_responders import GENERIC_CODE, make_responder

import rewardsmith.lm
from rewardsmith.bench import BenchError, bootstrap_interval, run_bench, write_report
from rewardsmith.bench import methods as bench_methods
from rewardsmith.cli import build_parser, main
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.lm import scripted_lm
from rewardsmith.metrics import evaluate_function, run_baselines
from rewardsmith.programs import RewardProgram, compile

HOSTILE_ANALYSIS = "<script>alert('pwned')</script> The attributes rise with the judgment."
HOSTILE_CODE = GENERIC_CODE.replace(
    "Sum of all attributes", "</code></pre><script>alert('code')</script> Sum of attributes")
METHODS = ["compiled", "uncompiled", "seed", "signed_mean", "ols", "ridge"]
LINEAR = ("signed_mean", "ols", "ridge")


def run_cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    """`rewardsmith bench` on seed (compiled on) and fed_turn (unseen) with the scripted LM."""
    root = tmp_path_factory.mktemp("bench")
    lm, engine = scripted_lm(make_responder(HOSTILE_CODE, analysis=HOSTILE_ANALYSIS))
    program = compile(RewardProgram(rounds=1, samples=1), make_tasks(["seed"]), optimizer="none",
                      verbose=False)
    program.save(root / "program.json", metadata={"compile_datasets": ["seed"]})
    argv = ["bench", "--data", "seed,fed_turn", "--methods", ",".join(METHODS),
            "--fit-sizes", "8,all", "--seeds", "0,1", "--program", root / "program.json",
            "--out", root / "out", "--no-progress", "--no-cache"]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewardsmith.lm, "make_lm", lambda *a, **k: lm)
        code, out, err = run_cli(*argv)
        assert code == 0, err
        calls = engine.calls
        results = json.loads((root / "out" / "results.json").read_text())
        yield {"root": root, "out": root / "out", "stdout": out, "argv": argv, "engine": engine,
               "calls": calls, "results": results}


def _tasks():
    cache = {}

    def task(record):
        key = (record["dataset"], record["fit_size"], record["seed"])
        if key not in cache:
            cache[key] = make_task(load_dataset(record["dataset"]), fit_size=record["fit_size"],
                                   seed=record["seed"])
        return cache[key]

    return task


def _rho(results, dataset, method, fit_size, seed):
    (record,) = [r for r in results["records"] if (r["dataset"], r["method"], r["fit_size"],
                                                   r["seed"]) == (dataset, method, fit_size, seed)]
    return record["rho"]


def test_baseline_cells_equal_run_baselines_on_the_same_task(bench):
    task = _tasks()
    checked = 0
    for record in bench["results"]["records"]:
        if record["method"] not in LINEAR:
            continue
        t = task(record)
        expected = {b.name: b for b in run_baselines(t.fit_rows, t.heldout_rows)}
        assert record["rho"] == expected[record["method"]].rho
        assert record["complexity"] == expected[record["method"]].function.complexity
        assert record["fit_rows"] == len(t.fit_rows)
        checked += 1
    assert checked == 2 * 2 * 2 * 3  # datasets x fit sizes x seeds x linear baselines


def test_learned_cells_record_their_function_calls_and_held_out_rho(bench):
    task = _tasks()
    learned = [r for r in bench["results"]["records"] if r["method"] in ("compiled", "uncompiled",
                                                                         "seed")]
    assert len(learned) == 24
    for record in learned:
        assert record["rho"] == evaluate_function(record["source"], task(record).heldout_rows).rho
        # rounds=1, samples=1: the prior, one analysis and one write; the seed's method samples
        # three times.
        assert record["lm_calls"] == 3
        assert record["tokens"] > 0 and record["attempts"] and record["error"] is None
    assert bench["calls"] == sum(r["lm_calls"] for r in learned)


def test_seen_is_set_for_the_compile_dataset_and_the_headline_uses_unseen_only(bench):
    results = bench["results"]
    assert {r["dataset"] for r in results["records"] if r["seen"]} == {"seed"}
    assert results["summary"]["unseen_datasets"] == ["fed_turn"]
    headline = {h["method"]: h for h in results["summary"]["headline"]}
    for method in METHODS:
        per_seed = [np.mean([_rho(results, "fed_turn", method, f, s) for f in (8, None)])
                    for s in (0, 1)]
        assert headline[method]["mean"] == pytest.approx(np.mean(per_seed), abs=1e-12)
    everywhere = np.mean([r["rho"] for r in results["records"] if r["method"] == "ols"])
    assert headline["ols"]["mean"] != pytest.approx(everywhere, abs=1e-6)


def test_markdown_table_and_stdout_show_the_computed_numbers(bench):
    results, text = bench["results"], (bench["out"] / "results.md").read_text()
    row = next(line for line in text.splitlines() if line.startswith("| fed_turn | 8 |"))
    printed = next(line for line in bench["stdout"].splitlines()
                   if line.startswith("| fed_turn | 8 |"))
    assert printed == row
    cells = [c.strip() for c in row.strip("|").split("|")][2:]
    for method, cell in zip(METHODS, cells, strict=True):
        interval = bootstrap_interval([_rho(results, "fed_turn", method, 8, s) for s in (0, 1)])
        assert cell == f"{interval['mean']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"
    assert any(line.startswith("| seed (seen) | all (10) |") for line in text.splitlines())
    headline = next(line for line in bench["stdout"].splitlines() if line.startswith("headline"))
    ols = results["summary"]["headline"][METHODS.index("ols")]
    assert "unseen datasets: fed_turn;" in headline and f"ols {ols['mean']:.3f}" in headline


def test_linear_bar_is_the_best_linear_mean_per_unseen_dataset_and_size(bench):
    groups = {(g["dataset"], g["method"], g["fit_size"]): g["mean"]
              for g in bench["results"]["summary"]["groups"]}
    bar = bench["results"]["summary"]["linear_bar"]
    assert [(b["dataset"], b["fit_size"]) for b in bar] == [("fed_turn", 8), ("fed_turn", None)]
    for b in bar:
        best = max(LINEAR, key=lambda m: groups[("fed_turn", m, b["fit_size"])])
        assert b["baseline"] == best
        assert b["reached"] == (groups[("fed_turn", "compiled", b["fit_size"])]
                                >= groups[("fed_turn", best, b["fit_size"])])


def test_rerun_with_the_same_out_dir_makes_no_lm_call_and_reproduces_the_numbers(bench):
    engine, before = bench["engine"], bench["engine"].calls
    lm, fresh_engine = scripted_lm(make_responder())  # a fresh LM, as a new process would have
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(rewardsmith.lm, "make_lm", lambda *a, **k: lm)
        code, out, err = run_cli(*bench["argv"])
    assert code == 0, err
    assert (engine.calls - before, fresh_engine.calls) == (0, 0)
    again = json.loads((bench["out"] / "results.json").read_text())
    assert again["records"] == bench["results"]["records"]
    assert again["summary"] == bench["results"]["summary"]
    assert out.split("\nwrote")[0] == bench["stdout"].split("\nwrote")[0]


def test_report_is_self_contained_and_escapes_llm_text(bench):
    html = (bench["out"] / "report.html").read_text()
    assert html.count('<img src="data:image/png;base64,') == 6  # 3 figures x 2 datasets
    assert "<script" not in html
    assert "&lt;script&gt;alert(&#x27;pwned&#x27;)&lt;/script&gt;" in html
    assert "&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;alert(&#x27;code&#x27;)" in html
    pngs = sorted((bench["out"] / "figures").glob("*.png"))
    assert len(pngs) == 6 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    rho = _rho(bench["results"], "fed_turn", "compiled", None, 0)
    assert (f"fed_turn: compiled, seed 0, fit rows all (300); held-out rho {rho:.3f}</figcaption>"
            in html)
    markdown = (bench["out"] / "report.md").read_text()
    assert "![fed_turn: held-out rho by method](figures/fed_turn_rho_by_method.png)" in markdown


def test_report_command_writes_a_report_elsewhere(bench, tmp_path):
    code, out, err = run_cli("report", bench["out"] / "results.json", "--out", tmp_path)
    assert code == 0, err
    assert (tmp_path / "report.html").read_text().count("data:image/png;base64,") == 6
    assert out.strip() == f"wrote {tmp_path / 'report.html'}"


def _counting(monkeypatch, interrupt_after=None):
    """Wrap every runner: record (dataset, method, seed) of each cell it computes; optionally
    raise KeyboardInterrupt instead of computing a cell."""
    computed = []
    for name, runner in list(bench_methods.RUNNERS.items()):
        def wrapped(task, program, _name=name, _runner=runner):
            if interrupt_after is not None and len(computed) == interrupt_after:
                raise KeyboardInterrupt
            computed.append((task.dataset, _name, task.seed))
            return _runner(task, program)

        monkeypatch.setitem(bench_methods.RUNNERS, name, wrapped)
    return computed


def _keys(results):
    return {(r["dataset"], r["method"], r["seed"]): r["rho"] for r in results.records}


def test_an_interrupted_bench_resumes_with_only_the_missing_cells(monkeypatch, tmp_path):
    lm, engine = scripted_lm(make_responder())
    args = (["fed_turn"], ["uncompiled", "ridge"], [8], [0, 1, 2])
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        with monkeypatch.context() as mp:
            computed = _counting(mp, interrupt_after=3)
            with pytest.raises(KeyboardInterrupt):
                run_bench(*args, out_dir=tmp_path / "a", progress=False)
        assert computed == [("fed_turn", "uncompiled", 0), ("fed_turn", "ridge", 0),
                            ("fed_turn", "uncompiled", 1)]
        per_cell = engine.calls // 2
        lines = (tmp_path / "a" / "cells.jsonl").read_text().splitlines()
        assert len(lines) == 3
        before = engine.calls
        with monkeypatch.context() as mp:
            resumed = _counting(mp)
            results = run_bench(*args, out_dir=tmp_path / "a", progress=False)
        assert resumed == [("fed_turn", "ridge", 1), ("fed_turn", "uncompiled", 2),
                           ("fed_turn", "ridge", 2)]
        assert engine.calls - before == per_cell
        fresh = run_bench(*args, out_dir=tmp_path / "b", progress=False)
    assert _keys(results) == _keys(fresh) and len(results.records) == 6


def test_more_seeds_in_the_same_out_dir_compute_only_the_new_cells(monkeypatch, tmp_path):
    first = run_bench("fed_turn", ["ols", "ridge"], [10], [0], out_dir=tmp_path, progress=False)
    computed = _counting(monkeypatch)
    second = run_bench("fed_turn", ["ols", "ridge"], [10], [0, 1], out_dir=tmp_path,
                       progress=False)
    assert computed == [("fed_turn", "ols", 1), ("fed_turn", "ridge", 1)]
    assert second.records[:2] == first.records
    assert [r["seed"] for r in second.records] == [0, 0, 1, 1]


def test_a_torn_last_line_is_computed_again(monkeypatch, tmp_path):
    run_bench("seed", ["ols", "ridge"], [None], [0], out_dir=tmp_path, progress=False)
    log = tmp_path / "cells.jsonl"
    text = log.read_text()
    log.write_text(text[: len(text) - 40])  # killed in the middle of writing the last cell
    computed = _counting(monkeypatch)
    results = run_bench("seed", ["ols", "ridge"], [None], [0], out_dir=tmp_path, progress=False)
    assert computed == [("seed", "ridge", 0)]
    assert [r["method"] for r in results.records] == ["ols", "ridge"]
    assert len(log.read_text().splitlines()) == 3  # torn line kept apart, new line appended


def test_bootstrap_interval_is_deterministic_and_a_point_for_one_seed():
    assert bootstrap_interval([0.4]) == {"mean": 0.4, "low": 0.4, "high": 0.4, "n": 1}
    values = np.array([0.1, 0.5, 0.3, 0.9])
    means = values[np.random.default_rng(0).integers(0, 4, size=(2000, 4))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    assert bootstrap_interval(values) == {"mean": pytest.approx(0.45), "low": low, "high": high,
                                          "n": 4}


@pytest.mark.parametrize("seeds, words", [([0], "one seed"), ([0, 1], "2 seeds")])
def test_one_or_two_seeds_never_claim_the_compiled_program_beats_another(tmp_path, seeds, words):
    lm, _ = scripted_lm(make_responder())
    program = compile(RewardProgram(rounds=1, samples=1), make_tasks(["seed"]), optimizer="none",
                      verbose=False)
    program.save(tmp_path / "program.json", metadata={"compile_datasets": ["seed"]})
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        results = run_bench(["fed_turn"], ["compiled", "uncompiled"], [8], seeds,
                            program_path=tmp_path / "program.json", out_dir=tmp_path / "out",
                            progress=False)
    comparison = results.summary["comparisons"][0]
    assert comparison["n"] == len(seeds) and not comparison["beyond_interval"]
    markdown = results.paths["markdown"].read_text()
    assert "| compiled - uncompiled |" in markdown
    assert f"cannot tell ({words}; 3 needed)" in markdown


@pytest.mark.parametrize("argv, message", [
    (["--methods", "compiled,ols"], "error: method 'compiled' needs a compiled program"),
    (["--methods", "ols,lasso"], "error: unknown method(s) lasso; choose from"),
    (["--methods", "ols", "--fit-sizes", "0"], "error: --fit-sizes: '0' is not a positive"),
    (["--methods", "ols", "--data", "nope.csv"], "error: "),
])
def test_bad_bench_input_is_one_error_line(tmp_path, argv, message):
    base = ["bench", "--data", "seed", "--out", tmp_path, "--no-progress"]
    code, _, err = run_cli(*base, *argv)
    assert code == 2 and err.startswith(message) and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "results.json").exists()


def test_lm_methods_without_a_configured_lm_fail_clearly(tmp_path):
    with dspy.context(lm=None), pytest.raises(BenchError, match="need a language model"):
        run_bench("seed", ["uncompiled", "ols"], [None], [0], out_dir=tmp_path, progress=False)
    with pytest.raises(BenchError, match="not a rewardsmith benchmark results file"):
        (tmp_path / "x.json").write_text("{}")
        write_report(tmp_path / "x.json", tmp_path)


def test_gbm_is_a_reference_rho_or_a_clear_error(tmp_path):
    if bench_methods.sklearn_available():
        from rewardsmith.metrics import gradient_boosting_rho

        results = run_bench("fed_turn", ["gbm"], [None], [0], out_dir=tmp_path, progress=False)
        task = make_task(load_dataset("fed_turn"), seed=0)
        assert results.records[0]["rho"] == gradient_boosting_rho(task.fit_rows,
                                                                   task.heldout_rows, seed=0)
        assert results.records[0]["source"] is None
    else:
        with pytest.raises(BenchError, match=r"pip install 'rewardsmith\[sklearn\]'"):
            run_bench("fed_turn", ["gbm"], [None], [0], out_dir=tmp_path, progress=False)


def test_ebm_is_a_reference_rho_or_a_clear_error(tmp_path):
    argv = ["bench", "--data", "seed", "--methods", "ebm", "--fit-sizes", "all", "--seeds", "0",
            "--out", tmp_path, "--no-progress"]
    if bench_methods.interpret_available():
        from rewardsmith.metrics import ebm_rho

        code, _, err = run_cli(*argv)  # seed: 10 fit rows, the few-row regime
        assert code == 0, err
        (record,) = json.loads((tmp_path / "results.json").read_text())["records"]
        task = make_task(load_dataset("seed"), seed=0)
        assert record["method"] == "ebm" and record["source"] is None
        assert record["rho"] == ebm_rho(task.fit_rows, task.heldout_rows, seed=0)
    else:
        code, _, err = run_cli(*argv)
        assert code == 2 and err.startswith("error: method 'ebm' needs interpret: pip install "
                                            "'rewardsmith[sklearn]'")


def test_ebm_without_interpret_is_one_error_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "interpret.glassbox", None)  # import fails as if missing
    assert not bench_methods.interpret_available()
    code, _, err = run_cli("bench", "--data", "seed", "--methods", "ebm", "--out", tmp_path,
                           "--no-progress")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("error: method 'ebm' needs interpret: pip install "
                          "'rewardsmith[sklearn]', or leave 'ebm' out of --methods")
    assert not (tmp_path / "results.json").exists()


def test_every_bench_and_report_option_has_help():
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("bench", "report"):
        helps = {a.dest: a.help for a in sub.choices[name]._actions if a.dest != "help"}
        assert helps and all(helps.values()), helps
    assert {"data", "methods", "fit_sizes", "seeds", "program", "out", "no_resume", "max_minutes",
            "lm", "api_base"} <= set({a.dest for a in sub.choices["bench"]._actions})


def _fake_clock(monkeypatch, computed, minutes_per_cell=1.0):
    """The bench's clock reads one minute per computed cell, whatever the machine's speed."""
    from rewardsmith.bench import runner

    monkeypatch.setattr(runner, "_clock", lambda: 60.0 * minutes_per_cell * len(computed))


def test_a_bench_past_its_time_limit_keeps_the_finished_cells_and_resumes_the_rest(
        monkeypatch, tmp_path):
    args = ("fed_turn", ["ols", "ridge"], [8, None], [0, 1, 2])
    computed = _counting(monkeypatch)
    _fake_clock(monkeypatch, computed)
    partial = run_bench(*args, out_dir=tmp_path / "a", progress=False, max_minutes=5)
    # Seed by seed: both sizes of seed 0 finish before seed 1 starts.
    assert computed == [("fed_turn", "ols", 0), ("fed_turn", "ridge", 0), ("fed_turn", "ols", 0),
                        ("fed_turn", "ridge", 0), ("fed_turn", "ols", 1)]
    assert len(partial.records) == 5 and partial.summary["missing_cells"] == 7
    assert partial.summary["seeds_by_fit_size"] == [{"fit_size": 8, "seeds": [0]},
                                                    {"fit_size": None, "seeds": [0]}]
    assert partial.summary["headline"] == []  # no size has every seed yet
    markdown = partial.paths["markdown"].read_text()
    assert "headline: none yet" in markdown and "7 cell(s) not run yet" in markdown
    assert "fit size 8: seed 0 only" in markdown
    computed.clear()
    monkeypatch.setattr("rewardsmith.bench.runner._clock", lambda: 0.0)
    finished = run_bench(*args, out_dir=tmp_path / "a", progress=False)
    assert len(computed) == 7 and finished.summary["missing_cells"] == 0
    fresh = run_bench(*args, out_dir=tmp_path / "b", progress=False)
    assert _keys(finished) == _keys(fresh)
    assert finished.summary["headline"] == fresh.summary["headline"]


def test_cells_finished_earlier_past_the_time_limits_stop_are_still_reported(
        monkeypatch, tmp_path):
    run_bench("fed_turn", ["ols", "ridge"], [8], [2], out_dir=tmp_path, progress=False)
    computed = _counting(monkeypatch)
    _fake_clock(monkeypatch, computed)
    results = run_bench("fed_turn", ["ols", "ridge"], [8], [0, 1, 2], out_dir=tmp_path,
                        progress=False, max_minutes=3)
    assert computed == [("fed_turn", "ols", 0), ("fed_turn", "ridge", 0), ("fed_turn", "ols", 1)]
    assert [(r["seed"], r["method"]) for r in results.records] == [
        (0, "ols"), (0, "ridge"), (1, "ols"), (2, "ols"), (2, "ridge")]
    assert results.summary["seeds_by_fit_size"] == [{"fit_size": 8, "seeds": [0, 2]}]


def test_a_seed_that_not_every_method_finished_is_left_out_of_the_means():
    from rewardsmith.bench.summary import summarize

    config = {"datasets": ["d"], "methods": ["compiled", "ridge"], "fit_sizes": [20, 100],
              "seeds": [0, 1]}
    rhos = {("compiled", 20, 0): 0.5, ("ridge", 20, 0): 0.4, ("compiled", 20, 1): 0.7,
            ("ridge", 20, 1): 0.6, ("compiled", 100, 0): 0.8, ("ridge", 100, 0): 0.9,
            ("compiled", 100, 1): -1.0}  # ridge never ran on size 100, seed 1
    records = [{"dataset": "d", "method": m, "fit_size": f, "seed": s, "rho": r, "seen": False,
                "fit_rows": f} for (m, f, s), r in rhos.items()]
    summary = summarize(records, config)
    group = {(g["method"], g["fit_size"]): g for g in summary["groups"]}
    assert group[("compiled", 100)]["mean"] == 0.8 and group[("compiled", 100)]["n"] == 1
    assert group[("compiled", 20)]["mean"] == pytest.approx(0.6)
    assert summary["headline_fit_sizes"] == [20] and summary["missing_cells"] == 1
    assert {h["method"]: h["mean"] for h in summary["headline"]} == {
        "compiled": pytest.approx(0.6), "ridge": pytest.approx(0.5)}


def test_cells_from_before_a_methods_latest_revision_are_run_again(tmp_path):
    lm, engine = scripted_lm(make_responder())
    args = ("fed_turn", ["uncompiled", "seed"], [8], [0])
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        run_bench(*args, out_dir=tmp_path, progress=False)
        log = tmp_path / "cells.jsonl"
        records = [json.loads(line) for line in log.read_text().splitlines()]
        assert [r["setup"].get("revision") for r in records] == [4, 3]
        records[1]["setup"]["revision"] = 2  # as written before the seed method's revision 3
        log.write_text("".join(json.dumps(r) + "\n" for r in records))
        with pytest.MonkeyPatch.context() as mp:
            computed = _counting(mp)
            run_bench(*args, out_dir=tmp_path, progress=False, max_minutes=60)
    assert computed == [("fed_turn", "seed", 0)]


def test_a_time_limit_that_is_not_a_positive_number_is_refused(tmp_path):
    with pytest.raises(BenchError, match="max_minutes must be a positive number"):
        run_bench("seed", ["ols"], [None], [0], out_dir=tmp_path, progress=False, max_minutes=0)
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit) as exc:
        main(["bench", "--data", "seed", "--methods", "ols", "--out", str(tmp_path),
              "--max-minutes", "-3"])
    assert exc.value.code == 2
    assert err.getvalue().strip().splitlines()[-1].endswith(
        "argument --max-minutes: must be a positive number")
    assert not (tmp_path / "results.json").exists()


def test_the_prior_method_asks_once_and_records_the_winner_and_the_priors_agreement(tmp_path):
    lm, engine = scripted_lm(make_responder(prior={"composition": "higher", "lighting": "lower"}))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        results = run_bench("seed", ["prior", "ridge"], [8], [0], out_dir=tmp_path,
                            progress=False)
    record = next(r for r in results.records if r["method"] == "prior")
    assert record["lm_calls"] == engine.calls == 1  # the prior step alone: nothing written
    (bar,) = results.summary["linear_bar"]  # without a compiled program, the prior method
    assert bar["method"] == "prior" and bar["baseline"] == "ridge"
    assert "prior against the strongest linear baseline" in (tmp_path / "results.md").read_text()
    assert record["chosen"] in {c["name"] for c in record["candidates"]}
    assert record["prior"]["attributes"]["lighting"]["direction"] == "lower"
    assert record["prior_agreement"][1] == 2


def repeated_rows_dataset(repeats=10):
    """40 fit rows and 20 held-out rows, ``repeats`` of which repeat a fit row's attributes."""
    rng = np.random.default_rng(0)
    fit = rng.normal(size=(40, 3))
    held = np.vstack([fit[:repeats], rng.normal(size=(20 - repeats, 3))])
    X = np.vstack([fit, held])
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["t"] = X @ [1.0, -0.5, 0.2] + 0.5 * rng.normal(size=len(X))
    frame["split"] = ["train"] * 40 + ["test"] * 20
    return load_dataset(frame, target="t", split_column="split", name="repeats")


def test_held_out_rows_that_repeat_fit_rows_are_scored_apart(tmp_path):
    results = run_bench([repeated_rows_dataset()], ["ridge"], [None], [0], out_dir=tmp_path,
                        progress=False)
    (record,) = results.records
    assert record["heldout_seen"] == 10
    task = make_task(repeated_rows_dataset(), seed=0)
    outputs = evaluate_function(results_function(record), task.heldout_rows).outputs
    assert record["unseen_rho"] == pytest.approx(
        stats.spearmanr(outputs[10:], task.heldout_rows.y[10:]).statistic)
    assert record["rho"] == pytest.approx(
        stats.spearmanr(outputs, task.heldout_rows.y).statistic)
    text = (tmp_path / "results.md").read_text()
    assert "## Held-out rows that repeat no fit row" in text and "10 of 20" in text


def test_no_repeat_table_when_no_held_out_row_repeats_a_fit_row(tmp_path):
    results = run_bench([repeated_rows_dataset(repeats=0)], ["ridge"], [None], [0],
                        out_dir=tmp_path, progress=False)
    assert results.records[0]["heldout_seen"] == 0
    assert results.records[0]["unseen_rho"] == results.records[0]["rho"]
    assert "repeat no fit row" not in (tmp_path / "results.md").read_text()


def test_cells_from_before_unseen_rows_were_scored_are_run_again(tmp_path):
    args = ("fed_turn", ["ridge", "ols"], [8], [0])
    run_bench(*args, out_dir=tmp_path, progress=False)
    log = tmp_path / "cells.jsonl"
    records = [json.loads(line) for line in log.read_text().splitlines()]
    del records[0]["unseen_rho"]  # as written before unseen rows were scored
    log.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.MonkeyPatch.context() as mp:
        computed = _counting(mp)
        run_bench(*args, out_dir=tmp_path, progress=False)
    assert computed == [("fed_turn", "ridge", 0)]


def results_function(record):
    from rewardsmith.sandbox import ScoringFunction

    return ScoringFunction(record["source"], ("a", "b", "c"))
