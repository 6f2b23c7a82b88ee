"""RewardProgram on one task with a scripted LM: recovery through feedback, no leaks, usage.

Most tests here are about the writer's loop, so they run the program with ``WRITTEN``: one sample
a round, no prior step, no selected terms, and a written function always preferred to the
statistical candidates.
"""

import dspy
import numpy as np
import pandas as pd
import pytest
from scripted_responders import GENERIC_CODE, make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.lm import scripted_lm
from rewardsmith.metrics import evaluate_function, spearman_metric
from rewardsmith.programs import RewardProgram, SeedProgram

GOOD = "def score(attrs):\n    return attrs['composition'] + attrs['lighting']\n"
#: The writer's loop alone: one sample a round, no prior step, written functions always win.
WRITTEN = {"samples": 1, "elicit_prior": False, "min_gain": -2.0, "select_terms": False}


def written(**settings) -> RewardProgram:
    return RewardProgram(**{**WRITTEN, **settings})


def run_with(codes, program=None, data="seed", prior=None):
    lm, engine = scripted_lm(make_responder(codes, prior=prior))
    task = make_task(load_dataset(data))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = (program or written(rounds=len(codes)))(**task.inputs())
    return prediction, task, engine


def test_broken_code_no_code_and_raising_code_recover_through_feedback():
    codes = [
        "def score(attrs) return 1",                   # syntax error
        "",                                             # no code
        "def score(attrs):\n    return attrs['nope']\n",  # raises KeyError
        GOOD,
    ]
    prediction, task, _ = run_with(codes, written(rounds=4, patience=4))
    assert prediction.code.strip() == GOOD.strip()
    feedback = [a.feedback for a in prediction.attempts]
    assert "syntax error" in feedback[0]
    assert "empty" in feedback[1] or "no usable code" in feedback[1]
    assert "KeyError" in feedback[2] and "line 2" in feedback[2]
    assert [a.ok for a in prediction.attempts] == [False, False, False, True]


def test_a_function_reading_an_undeclared_params_key_is_fitted_instead_of_failing():
    # The 1.5B writer's habit: PARAMS["w_<attr>"] for every attribute, one left out of the dict.
    code = ("PARAMS = {'w_lighting': 0.2}\n\ndef score(attrs):\n"
            "    return PARAMS['w_composition'] * attrs['composition'] "
            "+ PARAMS['w_lighting'] * attrs['lighting']\n")
    prediction, _, _ = run_with([code], written(rounds=1))
    attempt = prediction.attempts[0]
    assert attempt.ok, attempt.feedback
    assert "did not declare (w_composition)" in attempt.feedback
    assert set(prediction.function.params) == {"w_lighting", "w_composition"}


def test_params_a_function_never_reads_are_not_fitted_or_kept():
    # The writer copies a demonstration's whole PARAMS dict and reads a few of its keys.
    code = ("PARAMS = {'w_composition': 1.0, 'w_light': 0.3, 'w_color': 0.2}\n\n"
            "def score(attrs):\n    return PARAMS['w_composition'] * attrs['composition']\n")
    prediction, _, _ = run_with([code], written(rounds=1))
    assert "never read were removed (w_light, w_color)" in prediction.attempts[0].feedback
    assert list(prediction.function.params) == ["w_composition"]
    assert "w_light" not in prediction.code


def test_reading_a_key_attrs_lacks_gets_feedback_naming_the_real_keys():
    # The writer prefixed attribute names with w_ (or read the target) on every retry when the
    # feedback only said KeyError.
    code = "def score(attrs):\n    return attrs['w_lighting'] + attrs['human_score']\n"
    prediction, task, _ = run_with([code], written(rounds=1))
    feedback = prediction.attempts[0].feedback
    assert "KeyError: 'w_lighting'" in feedback
    assert "the keys of attrs are exactly " + ", ".join(task.fit_rows.attributes) in feedback


def test_feedback_of_a_failed_attempt_reaches_the_next_prompt():
    codes = ["def score(attrs):\n    return attrs['nope']\n", GOOD]
    _, _, engine = run_with(codes, written(rounds=2, patience=2))
    write_prompts = [p for p in engine.prompts if "previous_attempts" in p]
    assert "KeyError" not in write_prompts[0].split("[[ ## previous_attempts ## ]]")[1]
    assert "KeyError" in write_prompts[1]


def test_all_attempts_failing_still_returns_the_statistical_answer():
    prediction, task, _ = run_with(["import os\ndef score(a):\n    return 1\n"] * 2)
    assert all("import of 'os'" in a.feedback for a in prediction.attempts)
    assert not any(a.ok for a in prediction.attempts)
    assert prediction.chosen == "ridge" and prediction.function.name == "ridge"
    assert spearman_metric(task, prediction) > 0.5


def test_best_attempt_wins_even_when_a_later_one_is_worse():
    worse = "def score(attrs):\n    return -attrs['composition']\n"
    prediction, _, _ = run_with([GOOD, worse], written(rounds=2, patience=3))
    assert prediction.code.strip() == GOOD.strip()


def test_stops_early_when_attempts_stop_improving():
    prediction, _, engine = run_with([GOOD] * 5, written(rounds=5, patience=1))
    assert len(prediction.attempts) == 2  # the second equals the first: no improvement, stop
    assert engine.calls == 1 + 3  # one analysis, two writes, and the repeat asked once more


def test_code_repeated_at_temperature_zero_is_asked_again_with_sampling():
    bad = "from typing import Dict\nimport os\ndef score(attrs):\n    return 1\n"
    prediction, _, engine = run_with([bad, bad, GOOD], written(rounds=2, patience=2))
    assert engine.calls == 1 + 3
    assert engine.temperatures[-1] == pytest.approx(0.7)  # the repeat was re-asked, sampling
    assert engine.temperatures[2] != pytest.approx(0.7)
    assert prediction.code.strip() == GOOD.strip()
    assert [a.ok for a in prediction.attempts] == [False, True]


def test_code_repeated_after_the_resample_is_not_asked_a_third_time_or_judged_again():
    prediction, _, engine = run_with([GOOD] * 4, written(rounds=2, patience=5))
    assert engine.calls == 1 + 3
    assert len(prediction.attempts) == 2
    assert "The same code as attempt 1 again" in prediction.attempts[1].feedback
    assert [c["name"] for c in prediction.candidates].count("attempt 1") == 1
    assert "attempt 2" not in [c["name"] for c in prediction.candidates]


def test_typing_imports_and_annotations_are_tidied_away_not_refused():
    typed = ("from typing import Dict\n\n"
             "def score(attrs: Dict[str, float]) -> float:\n"
             "    # composition matters most\n"
             "    return attrs['composition'] + attrs['lighting']\n")
    prediction, _, _ = run_with([typed], written(rounds=1, lift_constants=False))
    assert prediction.attempts[0].ok
    assert "typing" not in prediction.code and "Dict" not in prediction.code
    assert "def score(attrs):" in prediction.code and "# composition" in prediction.code


def test_literal_weights_are_fitted_when_that_ranks_validation_rows_better():
    # AADB's judges reward good light and colour harmony; these literal weights point the wrong way.
    wrong = "def score(attrs):\n    return -2.0 * attrs['light'] - 1.5 * attrs['color_harmony']\n"
    run = written(rounds=1)
    prediction, task, _ = run_with([wrong], run, data="aadb")
    kept = written(rounds=1, lift_constants=False)
    as_written, _, _ = run_with([wrong], kept, data="aadb")
    assert "PARAMS[" in prediction.code and "w_light" in prediction.code
    assert "literal weights were declared as PARAMS" in prediction.attempts[0].feedback
    assert spearman_metric(task, prediction) > spearman_metric(task, as_written) + 0.5


def test_a_single_literal_weight_is_lifted_and_fitted_without_changing_the_ranking():
    # One positive weight on one attribute the rows agree with: fitting rescales it, no more.
    single = "def score(attrs):\n    return 2.0 * attrs['composition']\n"
    prediction, task, _ = run_with([single], written(rounds=1))
    assert prediction.attempts[0].ok
    assert list(prediction.function.params) == ["w_composition"]
    assert prediction.function.params["w_composition"] > 0
    as_written = evaluate_function(single, task.heldout_rows).rho
    assert spearman_metric(task, prediction) == pytest.approx(as_written)


def test_declared_constants_are_fitted_into_the_returned_source():
    prediction, _, _ = run_with([GENERIC_CODE], written(rounds=1))
    assert "PARAMS" in prediction.code
    assert prediction.function.params  # values are numbers parsed back from the source


def test_lm_calls_and_tokens_are_counted():
    prediction, _, engine = run_with([GOOD], written(rounds=1))
    assert prediction.lm_calls == engine.calls == 2
    assert prediction.tokens > 0


def test_the_prior_step_is_one_more_call_and_each_round_writes_every_sample():
    program = RewardProgram(rounds=2, samples=2, patience=5)
    prediction, _, engine = run_with([GOOD, GENERIC_CODE, GOOD, GENERIC_CODE], program,
                                     prior={"composition": "higher"})
    assert program.lm_calls_per_run() == 6
    assert len(prediction.attempts) == 4
    assert prediction.lm_calls == engine.calls >= 6  # repeats may be asked once more
    assert engine.temperatures[3] == pytest.approx(0.7)  # the second sample of round 1 samples


def test_heldout_rows_appear_in_no_prompt():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.uniform(1, 9, size=(60, 3)).round(2), columns=["a", "b", "c"])
    frame["human_score"] = frame["a"] + rng.normal(size=60).round(3)
    frame["item_id"] = [f"FIT{i:03d}" for i in range(60)]
    frame["split"] = ["train"] * 40 + ["test"] * 20
    frame.loc[40:, "item_id"] = [f"HELDOUT{i:03d}" for i in range(20)]
    frame.loc[40:, "a"] = 123.456  # a value that exists only in held-out rows
    dataset = load_dataset(frame)
    task = make_task(dataset)
    lm, engine = scripted_lm(make_responder(["def score(attrs):\n    return attrs['a']\n"]))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        written(rounds=2, patience=2)(**task.inputs())
    text = "\n".join(engine.prompts)
    assert engine.calls >= 3
    assert "HELDOUT" not in text and "123.456" not in text and "123.46" not in text
    assert "FIT0" in text or "rows" in text  # the profile of fit rows did reach the prompt


def test_run_on_a_dataset_reports_rho_equal_to_the_sandbox_computation(scripted):
    result = written(rounds=1).run("fed_turn")
    task = make_task(load_dataset("fed_turn"))
    expected = evaluate_function(result.function.source, task.heldout_rows).rho
    assert result.rho == pytest.approx(expected)
    assert result.heldout_rows == len(task.heldout_rows)


def test_seed_program_samples_independently_and_keeps_the_best_on_fit_rows():
    worse = "def score(attrs):\n    return -attrs['composition']\n"
    lm, engine = scripted_lm(make_responder([worse, GOOD, worse]))
    task = make_task(load_dataset("seed"))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = SeedProgram(samples=3)(**task.inputs())
    assert engine.calls == 3
    assert prediction.code.strip() == GOOD.strip()
    assert "analysis" not in "".join(engine.prompts).split("Your output fields are")[1][:200]


def test_seed_program_samples_draw_with_different_seeds_so_a_seeded_engine_varies():
    # DSPy keeps rollout_id to itself; a local engine seeded alike returned the same sample 3 times.
    lm, engine = scripted_lm(make_responder([GOOD, GOOD, GOOD]))
    task = make_task(load_dataset("seed"))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        SeedProgram(samples=3)(**task.inputs())
    assert engine.seeds == [1, 2, 3]


def test_a_run_reports_rho_on_held_out_rows_that_repeat_no_fit_row():
    rng = np.random.default_rng(0)
    fit = rng.normal(size=(30, 3))
    X = np.vstack([fit, fit[:6], rng.normal(size=(6, 3))])  # 6 of 12 held-out rows repeat
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["t"] = X @ [1.0, -0.5, 0.2] + 0.5 * rng.normal(size=len(X))
    frame["split"] = ["train"] * 30 + ["test"] * 12
    data = load_dataset(frame, target="t", split_column="split", name="repeats")
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = written(rounds=1).run(data)
    outputs = evaluate_function(result.function, result.task.heldout_rows).outputs
    y = result.task.heldout_rows.y
    assert result.heldout_seen == 6
    assert result.unseen_rho == pytest.approx(spearman_of(outputs[6:], y[6:]))
    assert result.rho == pytest.approx(spearman_of(outputs, y))


def spearman_of(a, b):
    from scipy import stats

    return stats.spearmanr(a, b).statistic
