"""The rewardsmith command: output users read, one-line errors, and the LM over HTTP."""

import json

import numpy as np
import pandas as pd
import pytest
from fake_openai_server import FakeOpenAIServer
from scripted_responders import make_responder

from rewardsmith.cli import main
from rewardsmith.data import load_dataset, make_task
from rewardsmith.metrics import evaluate_function


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_datasets_lists_every_builtin_with_rows_and_licence(capsys):
    code, out, _ = run_cli(capsys, "datasets")
    assert code == 0
    for name, rows in [("seed", "17"), ("aadb", "9831"), ("spaq", "11125"),
                       ("wine_quality", "6497"), ("fed_turn", "375")]:
        line = next(line for line in out.splitlines() if line.startswith(name))
        assert rows in line
    assert "CC BY 4.0" in out


def test_check_prints_rho_equal_to_the_sandbox_computation(capsys, tmp_path):
    source = "def score(attrs):\n    return attrs['composition'] + attrs['lighting']\n"
    path = tmp_path / "f.py"
    path.write_text(source)
    code, out, _ = run_cli(capsys, "check", str(path), "--data", "seed")
    expected = evaluate_function(source, make_task(load_dataset("seed")).heldout_rows).rho
    assert code == 0
    assert f"rho {expected:.3f}" in out
    assert "complexity" in out


def test_check_rejects_unsafe_function_with_one_line(capsys, tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import os\ndef score(attrs):\n    return 1\n")
    code, out, err = run_cli(capsys, "check", str(path), "--data", "seed")
    assert code == 2
    assert err.strip() == "error: line 1: import of 'os' is not allowed; only 'import math' is"


def test_baseline_prints_each_baseline_rho_on_aadb(capsys):
    code, out, _ = run_cli(capsys, "baseline", "--data", "aadb", "--quiet")
    assert code == 0
    ols_line = next(line for line in out.splitlines() if line.startswith("ols"))
    assert abs(float(ols_line.split("rho")[1]) - 0.940) <= 0.005
    assert any(line.startswith("ridge") for line in out.splitlines())


def test_bad_data_path_is_one_line_error_with_exit_code_2(capsys, tmp_path):
    code, out, err = run_cli(capsys, "baseline", "--data", str(tmp_path / "missing.csv"))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_missing_api_key_names_the_variable(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, _, err = run_cli(capsys, "compile", "--data", "seed", "--out", str(tmp_path / "p.json"),
                           "--lm", "openai/gpt-4o-mini", "--optimizer", "none")
    assert code == 2
    assert "OPENAI_API_KEY" in err
    assert not (tmp_path / "p.json").exists()


def test_compile_run_evaluate_against_an_openai_compatible_server(capsys, tmp_path):
    program = tmp_path / "program.json"
    function = tmp_path / "reward.py"
    with FakeOpenAIServer(make_responder()) as server:
        lm = ["--lm", "openai/fake-model", "--api-base", server.url, "--no-cache"]
        code, _, err = run_cli(capsys, "compile", "--data", "seed,fed_turn", "--optimizer",
                               "bootstrap", "--budget", "4", "--fit-sizes", "20", "--rounds", "1",
                               "--out", str(program), *lm)
        assert code == 0, err
        assert json.loads(program.read_text())["metadata"]["compile_datasets"] == [
            "seed", "fed_turn"]

        code, out, err = run_cli(capsys, "run", "--program", str(program), "--data", "spaq",
                                 "--out", str(function), *lm)
        assert code == 0, err
        rho_line = next(line for line in out.splitlines() if line.startswith("held-out rho"))
        heldout = make_task(load_dataset("spaq")).heldout_rows
        expected = evaluate_function(function.read_text().split("if __name__")[0], heldout).rho
        assert f"held-out rho {expected:.3f}" in rho_line

        code, out, err = run_cli(capsys, "evaluate", "--program", str(program), "--data",
                                 "seed,spaq", "--fit-sizes", "20", *lm)
        assert code == 0, err
        assert "(seen in compile)" in next(line for line in out.splitlines()
                                             if line.startswith("seed"))
        assert "compiled" in out and "uncompiled" in out
        assert server.prompts  # every LM call went over HTTP to 127.0.0.1


def test_unknown_program_file_is_one_line_error(capsys, tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    code, _, err = run_cli(capsys, "run", "--program", str(bad), "--data", "seed",
                           "--lm", "openai/x", "--api-base", "http://127.0.0.1:9/v1")
    assert code == 2
    assert "damaged JSON" in err


@pytest.mark.parametrize("argv", [["--help"], ["compile", "--help"], ["run", "--help"]])
def test_help_texts_exist(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 0
    assert "usage: rewardsmith" in capsys.readouterr().out


def test_run_prints_the_prior_and_the_candidates_and_writes_the_prior_beside_the_function(
        capsys, tmp_path):
    from rewardsmith.programs import RewardProgram

    program = RewardProgram(rounds=1, samples=1).save(tmp_path / "program.json")
    function = tmp_path / "reward.py"
    prior = {"composition": "higher", "lighting": "higher"}
    with FakeOpenAIServer(make_responder(prior=prior)) as server:
        code, out, err = run_cli(capsys, "run", "--program", str(program), "--data", "seed",
                                 "--out", str(function), "--lm", "openai/fake-model",
                                 "--api-base", server.url, "--no-cache")
    assert code == 0, err
    assert "prior (elicited; 2 of 2 stated directions agree with the fit rows)" in out
    assert "candidates by cross-validated rho on the fit rows (leave-one-out (10 rows))" in out
    written = json.loads((tmp_path / "reward.prior.json").read_text())
    assert written["attributes"]["lighting"]["direction"] == "higher"

    # The written prior, edited, goes back in with --prior: the LM is not asked for one.
    written["attributes"]["lighting"]["direction"] = "lower"
    (tmp_path / "edited.json").write_text(json.dumps(written))
    with FakeOpenAIServer(make_responder()) as server:
        code, out, err = run_cli(capsys, "run", "--program", str(program), "--data", "seed",
                                 "--prior", str(tmp_path / "edited.json"), "--lm",
                                 "openai/fake-model", "--api-base", server.url, "--no-cache")
        assert not any("`beliefs`" in p for p in server.prompts)
    assert code == 0, err
    assert "prior (user (edited.json)" in out and "- lighting: lower is better" in out


def test_run_with_a_bad_prior_file_is_one_error_line(capsys, tmp_path):
    from rewardsmith.programs import RewardProgram

    program = RewardProgram(rounds=1).save(tmp_path / "program.json")
    bad = tmp_path / "prior.json"
    bad.write_text(json.dumps({"brightness": "higher"}))
    code, _, err = run_cli(capsys, "run", "--program", str(program), "--data", "seed",
                           "--prior", str(bad), "--lm", "openai/x",
                           "--api-base", "http://127.0.0.1:9/v1")
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "names attribute 'brightness'" in lines[0]


def test_the_library_logs_instead_of_printing_and_the_command_shows_the_log(capsys, tmp_path,
                                                                              caplog, monkeypatch):
    # A table without an id column gets a note. Loading it from Python prints nothing ...
    import logging

    monkeypatch.setattr(logging.getLogger("rewardsmith"), "handlers", [])  # as in a fresh process

    path = tmp_path / "t.csv"
    path.write_text("a,b,human_score\n1,2,3\n2,1,4\n3,3,5\n4,0,1\n5,5,2\n")
    with caplog.at_level(logging.INFO, logger="rewardsmith"):
        from rewardsmith.cli_options import load_data

        class Args:
            data, target, id_column, attributes, split_column = str(path), None, None, None, None
            on_invalid = "error"

        load_data(Args)
    assert capsys.readouterr().err == ""
    assert any("no id column found" in r.getMessage() for r in caplog.records)
    # ... and the command shows the same message on stderr as a plain line.
    source = tmp_path / "f.py"
    source.write_text("def score(attrs):\n    return attrs['a']\n")
    code, _, err = run_cli(capsys, "check", str(source), "--data", str(path), "--split", "all")
    assert code == 0
    assert "note: no id column found" in err


def test_compile_with_threads_scores_tasks_in_parallel_and_saves(capsys, tmp_path):
    program = tmp_path / "program.json"
    with FakeOpenAIServer(make_responder(), latency_s=0.2) as server:
        code, _, err = run_cli(capsys, "compile", "--data", "seed,fed_turn", "--optimizer",
                               "bootstrap", "--budget", "4", "--fit-sizes", "20", "--rounds", "1",
                               "--samples", "1", "--threads", "3", "--out", str(program),
                               "--lm", "openai/fake-model", "--api-base", server.url,
                               "--no-cache")
    assert code == 0, err
    assert json.loads(program.read_text())["format"] == "rewardsmith-program"


def test_compile_with_rounds_zero_compiles_the_prior_step_alone(capsys, tmp_path):
    program = tmp_path / "program.json"
    with FakeOpenAIServer(make_responder(prior={"composition": "higher"})) as server:
        code, _, err = run_cli(capsys, "compile", "--data", "seed,fed_turn", "--optimizer",
                               "bootstrap", "--budget", "2", "--fit-sizes", "20", "--rounds", "0",
                               "--out", str(program), "--lm", "openai/fake-model", "--api-base",
                               server.url, "--no-cache")
        assert not any("`code`" in p for p in server.prompts)  # nothing was written
    assert code == 0, err
    assert json.loads(program.read_text())["config"]["rounds"] == 0


def test_compile_by_retrieval_keeps_the_prior_step_asked_for(capsys, tmp_path):
    program = tmp_path / "program.json"
    code, _, err = run_cli(capsys, "compile", "--data", "wooldridge/affairs,wooldridge/apple",
                           "--optimizer", "retrieval", "--rounds", "0", "--fit-sizes", "20",
                           "--prior-step", "questions", "--out", str(program))
    assert code == 0, err
    assert json.loads(program.read_text())["config"]["prior_step"] == "questions"


def test_compile_refuses_negative_rounds(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["compile", "--data", "seed", "--rounds", "-1", "--out", "x.json"])
    assert exc.value.code == 2
    assert "--rounds: must be 0 or a positive integer" in capsys.readouterr().err


def test_run_notes_held_out_rows_that_repeat_fit_rows(capsys, tmp_path, monkeypatch):
    import rewardsmith.lm
    from rewardsmith.lm import scripted_lm
    from rewardsmith.programs import RewardProgram

    lm, _ = scripted_lm(make_responder())
    monkeypatch.setattr(rewardsmith.lm, "make_lm", lambda *a, **k: lm)
    program = tmp_path / "program.json"
    RewardProgram(rounds=1, samples=1).save(program)
    # fed_turn's ratings are few discrete levels: 10 of its 75 held-out replies repeat a fit one.
    code, out, err = run_cli(capsys, "run", "--program", str(program), "--data", "fed_turn",
                             "--no-cache")
    assert code == 0, err
    note = next(line for line in out.splitlines() if line.startswith("note: "))
    assert note.startswith("note: 10 of 75 held-out rows repeat a fit row's attributes exactly")
    assert "on the other 65: rho " in note


def test_group_column_option_reaches_the_loader(capsys, tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"rater": np.repeat(list("abcdefghij"), 6), "x": rng.normal(size=60)})
    frame["human_score"] = frame["x"] + rng.normal(scale=0.3, size=60)
    frame.to_csv(tmp_path / "rated.csv", index=False)
    code, out, _ = run_cli(capsys, "baseline", "--data", str(tmp_path / "rated.csv"),
                           "--group-column", "rater", "--quiet")
    assert code == 0 and any(line.startswith("ridge") for line in out.splitlines())
    code, _, err = run_cli(capsys, "baseline", "--data", str(tmp_path / "rated.csv"),
                           "--group-column", "judge")
    assert code == 2 and "group column 'judge' not found" in err
