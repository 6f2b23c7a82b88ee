"""Integration tests with the real embedded model (temperature 0; about 12 LM calls and 16
probability reads in all).

`make test` installs the model and sets REWARDSMITH_REQUIRE_LOCAL_MODEL=1, so there a missing
model is a failure, not a skip. Run alone with: pytest -m integration
"""

import os
from pathlib import Path

import dspy
import pytest

from rewardsmith.data import load_dataset, make_task
from rewardsmith.lm import LMConfigError, make_lm
from rewardsmith.lm.options import option_logprobs
from rewardsmith.metrics import evaluate_function
from rewardsmith.programs import RewardProgram, code_text
from rewardsmith.sandbox import check_source
from rewardsmith.signatures import AnalyzeAttributes, ElicitPrior, WriteScoringFunction

pytestmark = pytest.mark.integration

GOLDEN = Path(__file__).parent / "golden" / "program_v1.json"


@pytest.fixture(scope="module")
def local():
    try:
        lm = make_lm("local", cache=False)
    except LMConfigError as exc:
        if os.environ.get("REWARDSMITH_REQUIRE_LOCAL_MODEL"):
            pytest.fail(f"the local model is required here but missing: {exc}")
        pytest.skip(f"local model not installed: {exc}")
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        yield lm


@pytest.fixture(scope="module")
def seed_task():
    return make_task(load_dataset("seed"))


def test_analyze_module_returns_a_parseable_analysis(local, seed_task):
    result = dspy.Predict(AnalyzeAttributes)(
        description=seed_task.description, attribute_schema=seed_task.schema,
        profile=seed_task.profile)
    assert isinstance(result.analysis, str) and len(result.analysis.strip()) > 20


def test_write_module_returns_code_that_passes_the_safety_check(local, seed_task):
    result = dspy.Predict(WriteScoringFunction)(
        attribute_schema=seed_task.schema,
        analysis="composition and lighting drive the score; color_palette helps a little.",
        previous_attempts="")
    source = code_text(result.code)
    assert "def score" in source
    check_source(source)


def test_prior_module_returns_a_typed_belief_per_attribute(local, seed_task):
    result = dspy.Predict(ElicitPrior, max_tokens=900)(
        description=seed_task.description, attribute_schema=seed_task.schema)
    named = {belief.attribute for belief in result.beliefs}
    assert named == set(seed_task.fit_rows.attributes)
    assert all(belief.direction in ("higher", "lower", "none") for belief in result.beliefs)


def test_one_program_run_writes_a_valid_function_and_states_a_prior(local, seed_task):
    prediction = RewardProgram(rounds=2, samples=1, patience=2)(**seed_task.inputs())
    assert any(a.ok for a in prediction.attempts), [a.feedback for a in prediction.attempts]
    assert evaluate_function(prediction.function, seed_task.heldout_rows).ok
    assert prediction.prior is not None and prediction.prior.attributes
    # The prior, the analysis, two functions, and one re-ask if the second repeats the first.
    assert 4 <= prediction.lm_calls <= 5


def test_compiled_program_file_reloads_and_runs(local):
    program = RewardProgram.from_file(GOLDEN)
    result = program.run("fed_turn", fit_size=40)
    assert result.function is not None, [a.feedback for a in result.attempts]
    assert -1.0 <= result.rho <= 1.0


def test_answer_probabilities_are_read_without_generating_and_match_a_fresh_read(local):
    system = "Answer with one word: yes or no."
    hot = option_logprobs(system, "Facts about the world.\nIs fire hot?", ("yes", "no"), lm=local)
    cold = option_logprobs(system, "Facts about the world.\nIs ice hot?", ("yes", "no"), lm=local)
    assert hot["yes"] > hot["no"] and cold["no"] > cold["yes"]
    # Each read reuses the previous prompt's key-value cache for the lines they share. A prompt
    # read again, after other prompts, must give the same numbers, not numbers that depend on
    # where the cache was split (free splits differed by up to 0.09 nats here, 0.05 on CI).
    prompts = [f"Facts about the world, part {part}.\n{question}" for part in (1, 2)
               for question in ("Is fire hot?", "Is the sea salty? Think of oceans and rivers.")]
    first = {p: option_logprobs(system, p, ("yes", "no"), lm=local) for p in prompts}
    for prompt in [*reversed(prompts), *prompts[1::2], *prompts[::2]]:
        assert option_logprobs(system, prompt, ("yes", "no"), lm=local) == pytest.approx(
            first[prompt], abs=1e-4), prompt


def test_a_probability_read_after_a_generation_matches_the_read_before_it(local):
    system = "Answer with one word: yes or no."
    before = option_logprobs(system, "Is snow cold?", ("yes", "no"), lm=local)
    local("Is snow cold? Answer in a short sentence.", max_tokens=16)
    after = option_logprobs(system, "Is snow cold?", ("yes", "no"), lm=local)
    assert after == pytest.approx(before, abs=1e-4)


def test_a_reply_is_generated_normally_after_a_probability_read(local, seed_task):
    option_logprobs("Answer with one word: yes or no.", "Is water wet?", ("yes", "no"), lm=local)
    prediction = RewardProgram(rounds=0, prior_step="questions")(**seed_task.inputs())
    assert prediction.prior.origin == "asked"
    result = dspy.Predict(ElicitPrior, max_tokens=900)(
        description=seed_task.description, attribute_schema=seed_task.schema)
    assert {b.attribute for b in result.beliefs} == set(seed_task.fit_rows.attributes)
