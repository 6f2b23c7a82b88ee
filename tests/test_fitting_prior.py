"""The prior: read from a user's file with clear errors, from the model's typed answer with names
matched loosely, rendered for the writer, and checked against the fit rows."""

import json

import dspy
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.fitting import Prior, PriorError
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram
from rewardsmith.programs.reward_program import prior_from_beliefs
from rewardsmith.signatures import AttributeBelief

SEED_ATTRS = ["composition", "subject_focus", "lighting", "color_palette"]


def test_short_and_full_entries_both_read():
    prior = Prior.from_dict({"attributes": {
        "lighting": {"direction": "higher", "importance": 3, "shape": "saturating"},
        "composition": "+", "color_palette": "lower_is_better", "subject_focus": "none"}})
    assert list(prior.vector(SEED_ATTRS)) == [2.0, 0.0, 3.0, -2.0]
    assert prior.attributes["lighting"].shape == "saturating"


@pytest.mark.parametrize("data, message", [
    ({"brightness": "higher"}, "names attribute 'brightness', which the table does not have"),
    ({"lighting": "sideways"}, "direction 'sideways' is not one of higher, lower, none"),
    ({"lighting": {"direction": "higher", "importance": "very"}}, "importance must be 1, 2 or 3"),
    ({"lighting": {"direction": "higher", "shape": "wobbly"}}, "shape 'wobbly' is not one of"),
    (["lighting"], "a prior is a JSON object"),
])
def test_a_bad_prior_names_the_entry_and_the_fix(data, message):
    with pytest.raises(PriorError, match=message):
        Prior.from_dict(data, known=SEED_ATTRS)


def test_a_saved_prior_loads_back_the_same(tmp_path):
    prior = Prior.from_dict({"lighting": {"direction": "higher", "importance": 3}})
    path = prior.save(tmp_path / "p.json")
    again = Prior.load(path, known=SEED_ATTRS)
    assert again.attributes == prior.attributes and again.origin == "user (p.json)"


def test_a_damaged_or_missing_prior_file_is_named(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(PriorError, match="bad.json is not valid JSON"):
        Prior.load(bad)
    with pytest.raises(PriorError, match="prior file not found"):
        Prior.load(tmp_path / "missing.json")


def test_agreement_counts_stated_directions_that_match_the_fit_rows():
    rows = make_task(load_dataset("seed")).fit_rows
    right = Prior.from_dict({a: "higher" for a in SEED_ATTRS})
    wrong = Prior.from_dict({a: "lower" for a in SEED_ATTRS})
    agree, stated = right.agreement(rows)
    assert stated == 4 and agree >= 3
    assert wrong.agreement(rows) == (stated - agree, stated)


def test_the_models_beliefs_match_names_loosely_and_drop_unknown_ones():
    beliefs = [AttributeBelief(attribute="Lighting", direction="higher", importance=3),
               AttributeBelief(attribute="color-palette", direction="lower", importance=1),
               AttributeBelief(attribute="sharpness", direction="higher", importance=2)]
    prior = prior_from_beliefs(beliefs, SEED_ATTRS)
    assert set(prior.attributes) == {"lighting", "color_palette"}
    assert prior_from_beliefs([], SEED_ATTRS) is None


def run_program(program, prior_reply=None, prior=None):
    lm, engine = scripted_lm(make_responder(prior=prior_reply))
    task = make_task(load_dataset("seed"))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return program(**task.inputs(), prior=prior), engine


def test_the_elicited_prior_reaches_the_writer_and_the_candidates():
    prediction, engine = run_program(RewardProgram(rounds=1, samples=1),
                                     prior_reply={a: "higher" for a in SEED_ATTRS})
    assert prediction.prior.origin == "elicited"
    assert {c["name"] for c in prediction.candidates} >= {"prior", "ridge", "shrunk ridge"}
    write_prompt = [p for p in engine.prompts if "previous_attempts" in p][-1]
    assert "- lighting: higher is better, importance 2/3, linear" in write_prompt


def test_the_prior_step_sees_no_rows():
    _, engine = run_program(RewardProgram(rounds=1, samples=1),
                            prior_reply={a: "higher" for a in SEED_ATTRS})
    prior_prompt = next(p for p in engine.prompts if "`beliefs`" in p)
    assert "profile" not in prior_prompt.split("[[ ## description ## ]]", 1)[1]


def test_a_users_prior_replaces_the_prior_step():
    user = Prior.from_dict({"lighting": "lower"}, origin="user")
    prediction, engine = run_program(RewardProgram(rounds=1, samples=1), prior=user)
    assert prediction.prior is user
    assert not any("`beliefs`" in p for p in engine.prompts)


def test_an_unusable_prior_reply_leaves_ridge_to_compete_alone():
    prediction, _ = run_program(RewardProgram(rounds=1, samples=1), prior_reply={})
    assert prediction.prior is None
    assert [c["name"] for c in prediction.candidates][:1] == ["ridge"]


def test_run_takes_a_prior_as_a_dict_and_checks_its_names(scripted):
    program = RewardProgram(rounds=1, samples=1)
    result = program.run("seed", prior={"lighting": "higher"})
    assert result.prior.origin == "user" and "candidates by cross-validated rho" in result.standings
    with pytest.raises(PriorError, match="which the table does not have"):
        program.run("seed", prior={"brightness": "higher"})


def test_a_prior_file_keeps_its_json_shape(tmp_path):
    path = Prior.from_dict({"lighting": "higher"}).save(tmp_path / "x.prior.json")
    assert json.loads(path.read_text())["attributes"]["lighting"]["direction"] == "higher"


def test_gepa_feedback_for_the_prior_step_names_the_contradicted_directions():
    from rewardsmith.metrics.spearman import spearman_feedback_metric

    task = make_task(load_dataset("seed"))
    prediction, _ = run_program(RewardProgram(rounds=1, samples=1),
                                prior_reply={a: "lower" for a in SEED_ATTRS})
    for_prior = spearman_feedback_metric(task, prediction, pred_name="elicit")
    for_code = spearman_feedback_metric(task, prediction, pred_name="write")
    assert for_prior.score == for_code.score
    assert "stated lower is better, but on the fit rows" in for_prior.feedback
    assert "Held-out Spearman rho" in for_code.feedback
    assert "Held-out" not in for_prior.feedback
