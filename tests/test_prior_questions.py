"""The prior by questions (``prior_step="questions"``): two one-word questions per attribute,
read as probabilities, with the scripted LM reporting first-token log-probabilities."""

import math
import re

import dspy
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.fitting.prior import belief_from_score
from rewardsmith.lm import Reply, scripted_lm
from rewardsmith.lm.options import NoLogprobsError, option_logprobs
from rewardsmith.programs import RewardProgram
from rewardsmith.programs.questions import SYSTEM, ask_attributes, prior_from_answers

QUESTION = re.compile(r"does a (higher|lower) (\w+)")


def question_responder(truth: dict[str, float], lean: float = 1.5, fallback=None):
    """Answers each question with log-probabilities: log-odds of "better" are ``lean`` (a bias
    toward "better" whatever is asked) plus the attribute's ``truth`` for a higher value, minus
    it for a lower one. Prompts that are not questions go to ``fallback``."""
    def respond(prompt):
        found = QUESTION.search(prompt)
        if SYSTEM not in prompt or not found:
            return fallback(prompt) if fallback else "{}"
        end, attribute = found.groups()
        odds = lean + truth.get(attribute, 0.0) * (1 if end == "higher" else -1)
        better = -math.log1p(math.exp(-odds))
        worse = -math.log1p(math.exp(odds))
        listed = {"better": better, "worse": worse} if better >= worse else {
            "worse": worse, "better": better}
        return Reply(next(iter(listed)), logprobs=listed)
    return respond


@pytest.fixture
def seed_task():
    return make_task(load_dataset("seed"), fit_size=10, seed=0)


def ask(task, lm, evidence=None):
    card = task.card
    with dspy.context(lm=lm):
        return ask_attributes(task.description, task.prior_schema, list(card["attributes"]),
                              target=card["target"], meanings=card["attributes"],
                              evidence=evidence)


def test_a_lean_toward_better_cancels_between_the_two_questions(seed_task):
    truth = {"composition": 1.0, "lighting": -0.8, "subject_focus": 0.0, "color_palette": 0.4}
    lm, _ = scripted_lm(question_responder(truth, lean=2.5))
    answers = {a.attribute: a for a in ask(seed_task, lm)}
    assert answers["lighting"].higher > 0  # the lean alone says "better" for a higher lighting
    for name, value in truth.items():
        assert answers[name].score == pytest.approx(value, abs=1e-9)


def test_scores_become_directions_and_importances(seed_task):
    truth = {"composition": 1.0, "lighting": -0.4, "subject_focus": 0.01, "color_palette": 0.2}
    lm, _ = scripted_lm(question_responder(truth))
    prior = prior_from_answers(ask(seed_task, lm))
    assert prior.origin == "asked"
    assert [(prior.attributes[a].direction, prior.attributes[a].importance) for a in truth] == [
        ("higher", 3), ("lower", 2), ("none", 1), ("higher", 1)]


def test_every_question_about_a_table_starts_with_the_same_text(seed_task):
    # The embedded model reuses the key-value cache of a shared prefix: the description and
    # schema must come first, and the attribute only in the question's own last lines.
    lm, engine = scripted_lm(question_responder({}))
    ask(seed_task, lm, evidence={"lighting": "'light' for photo appeal: higher was better"})
    shared = f"{seed_task.description}\n\n{seed_task.prior_schema}\n\n"
    assert len(engine.prompts) == 2 * len(seed_task.card["attributes"])
    assert all(shared in prompt for prompt in engine.prompts)


def test_evidence_stands_before_its_own_attributes_question_only(seed_task):
    lm, engine = scripted_lm(question_responder({}))
    line = "'light' for photo appeal: higher was better"
    ask(seed_task, lm, evidence={"lighting": line})
    with_line = [p for p in engine.prompts if line in p]
    assert len(with_line) == 2
    assert all(QUESTION.search(p).group(2) == "lighting" for p in with_line)


def test_a_model_without_logprobs_raises_the_no_logprobs_error(seed_task):
    lm, _ = scripted_lm(lambda prompt: "better")
    with pytest.raises(NoLogprobsError, match="no log-probabilities"):
        ask(seed_task, lm)


def test_an_answer_missing_from_the_listed_tokens_gets_the_smallest_listed_value():
    lm, _ = scripted_lm(lambda prompt: Reply("Better", logprobs={
        "Better": -0.1, " better": -2.5, "yes": -4.0}))
    with dspy.context(lm=lm):
        found = option_logprobs("system", "question", ("better", "worse"))
    assert found["better"] == pytest.approx(math.log(math.exp(-0.1) + math.exp(-2.5)))
    assert found["worse"] == -4.0


def test_a_short_token_is_not_taken_for_the_start_of_an_answer():
    # "b" starts "better" but is too short to say so; "bet" is long enough.
    lm, _ = scripted_lm(lambda prompt: Reply("b", logprobs={"b": -0.5, "bet": -1.0,
                                                             "wor": -2.0}))
    with dspy.context(lm=lm):
        found = option_logprobs("system", "question", ("better", "worse"))
    assert found == {"better": -1.0, "worse": -2.0}


def test_the_program_asks_questions_and_the_judge_reads_the_asked_prior(seed_task):
    truth = {"composition": 1.0, "lighting": 0.7, "subject_focus": 0.5, "color_palette": 0.2}
    lm, engine = scripted_lm(question_responder(truth))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = RewardProgram(rounds=0, prior_step="questions")(**seed_task.inputs())
    assert prediction.prior.origin == "asked"
    assert prediction.prior.attributes["composition"].direction == "higher"
    assert engine.calls == 2 * len(truth)  # no JSON prior was asked for


def test_a_model_without_logprobs_gets_the_json_prior_step_instead(seed_task, caplog):
    lm, engine = scripted_lm(make_responder(prior={"composition": "higher",
                                                   "lighting": "lower"}))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = RewardProgram(rounds=0, prior_step="questions")(**seed_task.inputs())
    assert prediction.prior.origin == "elicited"
    assert prediction.prior.attributes["lighting"].direction == "lower"
    assert "asking for a JSON prior instead" in caplog.text
    assert engine.calls == 2  # one question, then the JSON step


def test_an_unknown_prior_step_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="prior_step must be one of json, questions"):
        RewardProgram(prior_step="logits")


def test_the_prior_step_survives_a_program_file(tmp_path):
    path = tmp_path / "program.json"
    RewardProgram(rounds=0, prior_step="questions", vote_weight=2.0).save(path)
    loaded = RewardProgram.from_file(path)
    assert (loaded.prior_step, loaded.vote_weight) == ("questions", 2.0)


def test_belief_thresholds_are_symmetric():
    for size in (0.01, 0.2, 0.45, 2.0):
        up, down = belief_from_score(size), belief_from_score(-size)
        assert up.importance == down.importance
        assert {up.direction, down.direction} in ({"none"}, {"higher", "lower"})


def test_the_neighbours_vote_decides_where_the_model_is_unsure():
    from rewardsmith.corpus.library import combined_prior

    prior = combined_prior({"a": 0.01, "b": 0.9, "c": 0.3}, {"a": -0.3, "b": -0.1, "c": -0.4},
                           1.0, origin="asked + retrieved", shapes={"b": "saturating"})
    assert prior.attributes["a"].direction == "lower"   # the model had no view
    assert prior.attributes["b"].direction == "higher"  # a sure model outweighs a weak vote
    assert prior.attributes["b"].shape == "saturating"
    assert prior.attributes["c"].direction == "lower"   # an unsure model, a clear vote


def test_a_compiled_program_mixes_the_vote_into_the_elicited_prior_but_not_a_users(seed_task):
    from rewardsmith.corpus.examples import PriorLibrary
    from rewardsmith.corpus.library import AttributeLibrary, LabelledAttribute
    from rewardsmith.fitting import Prior

    library = PriorLibrary([], AttributeLibrary([LabelledAttribute(
        "other/table", "lighting", "how well the photo is lit", "photo appeal",
        "photos judged by people", "lower", 3, -0.6)]))
    program = RewardProgram(rounds=0, prior_step="questions", vote_weight=1.0)
    program.library_ = library
    lm, _ = scripted_lm(question_responder({"lighting": 0.05, "composition": 1.0}))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        mixed = program(**seed_task.inputs()).prior
        own = Prior.from_dict({"lighting": "higher"})
        kept = program(**seed_task.inputs(), prior=own).prior
    assert mixed.origin == "asked + retrieved"
    assert mixed.attributes["lighting"].direction == "lower"
    assert mixed.attributes["composition"].direction == "higher"
    assert kept.attributes["lighting"].direction == "higher"
