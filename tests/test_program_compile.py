"""Compile with each optimizer, save, reload in a fresh process, run on an unseen dataset."""

import json
import subprocess
import sys
from pathlib import Path

import dspy
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.lm import scripted_lm
from rewardsmith.metrics import evaluate_function
from rewardsmith.programs import CompileError, RewardProgram, compile

TESTS_DIR = Path(__file__).parent

RELOAD_AND_RUN = """
import json, sys
import dspy
sys.path.insert(0, {tests!r})
from scripted_responders import make_responder
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram

lm, engine = scripted_lm(make_responder())
dspy.configure(lm=lm, adapter=dspy.JSONAdapter())
program = RewardProgram.from_file({path!r})
result = program.run("spaq", fit_size=40)
print(json.dumps({{"rho": result.rho, "code": result.function.source,
                  "instructions": program.write.signature.instructions,
                  "demos": len(program.write.demos), "calls": engine.calls}}))
"""


@pytest.fixture(scope="module")
def tasks():
    return make_tasks(["seed", "fed_turn"], fit_sizes=[20], seeds=[0])


@pytest.mark.parametrize("optimizer", ["gepa", "mipro", "bootstrap", "none"])
def test_compile_save_reload_in_fresh_process_and_run_on_unseen_dataset(tmp_path, tasks, optimizer):
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compiled = compile(RewardProgram(rounds=2), tasks, optimizer=optimizer, budget=6,
                           verbose=False)
    assert optimizer == "none" or engine.calls > 0
    path = compiled.save(tmp_path / "program.json", metadata={"compile_datasets": ["seed"]})

    script = RELOAD_AND_RUN.format(tests=str(TESTS_DIR), path=str(path))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    reloaded = json.loads(done.stdout.strip().splitlines()[-1])

    # The rho the reloaded program reports is the sandbox's own computation on held-out rows.
    heldout = make_task(load_dataset("spaq"), fit_size=40).heldout_rows
    assert reloaded["rho"] == pytest.approx(evaluate_function(reloaded["code"], heldout).rho)
    assert reloaded["instructions"] == compiled.write.signature.instructions
    assert reloaded["demos"] == len(compiled.write.demos)
    assert reloaded["calls"] >= 2


def test_saved_file_holds_no_heldout_rows(tmp_path, tasks):
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compiled = compile(RewardProgram(rounds=1), tasks, optimizer="bootstrap", budget=4,
                           verbose=False)
    text = compiled.save(tmp_path / "p.json").read_text()
    heldout_ids = [str(i) for t in tasks for i in t.heldout_rows.ids]
    assert heldout_ids and not [i for i in heldout_ids if f'"{i}"' in text or f" {i} " in text]
    assert "RowTable" not in text


def test_tasks_of_one_dataset_in_train_and_val_are_refused(tasks):
    with pytest.raises(CompileError, match="seed"):
        compile(RewardProgram(), tasks, make_tasks(["seed"], fit_sizes=[10]), verbose=False)


def test_unknown_optimizer_is_refused_with_the_choices(tasks):
    with pytest.raises(CompileError, match="retrieval, gepa, mipro, bootstrap, none"):
        compile(RewardProgram(), tasks, optimizer="adam", verbose=False)


def test_empty_trainset_is_refused():
    with pytest.raises(CompileError, match="trainset is empty"):
        compile(RewardProgram(), [], verbose=False)


def test_projected_cost_is_logged_before_compiling(caplog, tasks):
    caplog.set_level("INFO", logger="rewardsmith")
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compile(RewardProgram(rounds=1), tasks, optimizer="none", budget=5)
    assert "budget 5 metric calls" in caplog.text


def test_gepa_on_a_prior_only_program_rewrites_only_the_prior_step():
    """With rounds=0 the analysis and the writer never run; GEPA's turns on them were wasted."""
    from rewardsmith.lm import output_fields

    reflected = []

    def responder(prompt):
        fields = output_fields(prompt)
        if fields == ["new_instruction"]:
            reflected.append(prompt)
            return {"new_instruction": "Say how each attribute moves the judgment."}
        return make_responder()(prompt)

    lm, _ = scripted_lm(responder)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compile(RewardProgram(rounds=0), make_tasks(["seed", "fed_turn"], fit_sizes=[20]),
                optimizer="gepa", budget=12, verbose=False)
    assert len(reflected) >= 2
    assert all("You know the domain" in p and "You study a table" not in p for p in reflected)


def test_a_program_that_calls_no_lm_cannot_be_compiled():
    with pytest.raises(CompileError, match="nothing to compile"):
        compile(RewardProgram(rounds=0, elicit_prior=False), make_tasks(["seed"]),
                optimizer="bootstrap", verbose=False)


def test_active_predictors_follow_rounds_and_the_prior_step():
    assert RewardProgram().active_predictors() == ["elicit", "analyze", "write"]
    assert RewardProgram(rounds=0).active_predictors() == ["elicit"]
    assert RewardProgram(elicit_prior=False).active_predictors() == ["analyze", "write"]
