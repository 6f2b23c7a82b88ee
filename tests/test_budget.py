"""Hard LM budgets: a compile stops cleanly at the limit, never past it, and keeps the best
program found so far."""

import json
import re
import time

import dspy
import pytest
from fake_openai_server import FakeOpenAIServer
from scripted_responders import GENERIC_CODE, make_responder

from rewardsmith.cli import main
from rewardsmith.data import make_tasks
from rewardsmith.lm import ScriptedEngine, output_fields, run_cache, scripted_lm
from rewardsmith.lm.budget import BudgetExhausted, LMBudget, LMGuard
from rewardsmith.programs import CompileError, RewardProgram, compile


@pytest.fixture(scope="module")
def tasks():
    return make_tasks(["seed", "fed_turn"], fit_sizes=[20], seeds=[0])


def compile_with(tasks, responder=None, budget=6, program=None, **options):
    lm, engine = scripted_lm(responder or make_responder())
    program = program or RewardProgram(rounds=2, samples=1)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compiled = compile(program, tasks, budget=budget, **options)
    return compiled, engine


def runs_on_an_unseen_dataset(program) -> bool:
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return program.run("spaq", fit_size=40).function is not None


@pytest.mark.parametrize("optimizer", ["gepa", "bootstrap", "mipro"])
def test_call_budget_stops_the_compile_without_going_past_it(caplog, tasks, optimizer):
    caplog.set_level("INFO", logger="rewardsmith")
    unlimited, engine = compile_with(tasks, optimizer=optimizer, verbose=False)
    assert unlimited.stopped_early_ is None and engine.calls >= 3
    limit = min(5, engine.calls - 1)
    compiled, engine = compile_with(tasks, optimizer=optimizer, max_lm_calls=limit)
    assert engine.calls <= limit  # real calls: the scripted engine's own count
    assert f"budget ({limit} calls) is spent" in compiled.stopped_early_
    err = caplog.text  # logged for the user (the command shows it on stderr)
    assert f"stopped after {limit} LM calls" in err and "keeping the best program so far" in err
    assert runs_on_an_unseen_dataset(compiled)


def improving(prompt):
    """GEPA's reflection proposes an IMPROVED instruction, which leads to a better function."""
    fields, better = output_fields(prompt), "IMPROVED" in prompt
    if fields == ["analysis"]:
        return {"analysis": "IMPROVED: every attribute rises with the judgment." if better
                else "No clear pattern."}
    if fields == ["code"]:
        return {"code": GENERIC_CODE if better else "def score(attrs):\n    return -sum("
                "attrs.values())\n"}
    return {"new_instruction": "IMPROVED: say that every attribute rises with the judgment."}


def written_always_wins():
    """A program whose written function wins whatever its CV score (min_gain -2), so a better
    written function is a better score (else ridge may win both ways and GEPA sees no gain)."""
    return RewardProgram(rounds=2, samples=1, min_gain=-2.0)


def test_gepa_keeps_its_best_candidate_so_far(tasks):
    unlimited, engine = compile_with(tasks, improving, optimizer="gepa", budget=12,
                                     verbose=False, program=written_always_wins())
    assert "IMPROVED" in unlimited.analyze.signature.instructions
    # Stop at the last call: GEPA has accepted the improved candidate and is trying another.
    compiled, _ = compile_with(tasks, improving, optimizer="gepa", budget=12, verbose=False,
                               max_lm_calls=engine.calls - 1, program=written_always_wins())
    assert "GEPA candidate 1 of 2" in compiled.stopped_early_
    assert compiled.analyze.signature.instructions == unlimited.analyze.signature.instructions
    assert compiled.write.signature.instructions == unlimited.write.signature.instructions


def test_bootstrap_keeps_the_demos_collected_before_the_budget_ran_out(tasks):
    compiled, engine = compile_with(tasks, optimizer="bootstrap", verbose=False, max_demos=2,
                                    max_lm_calls=5)  # one run: prior, analysis, 2 writes, 1 re-ask
    assert engine.calls == 5
    assert [len(p.demos) for _, p in compiled.named_predictors()] == [1, 1, 1]
    assert "3 demonstration(s) collected so far" in compiled.stopped_early_


def test_random_search_keeps_the_best_candidate_it_evaluated(tasks):
    valset = make_tasks(["spaq"], fit_sizes=[20], seeds=[0])
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compiled = compile(RewardProgram(rounds=2), tasks, valset, optimizer="bootstrap",
                           budget=6, verbose=False, max_lm_calls=10)  # random search: 5 programs
    assert engine.calls == 10
    assert "the best evaluated candidate, score 95.2" in compiled.stopped_early_
    assert runs_on_an_unseen_dataset(compiled)


def test_budget_spent_before_anything_was_found_keeps_the_uncompiled_program(tasks):
    compiled, engine = compile_with(tasks, optimizer="gepa", verbose=False, max_lm_calls=1)
    assert engine.calls == 1
    assert "the uncompiled program" in compiled.stopped_early_
    fresh = RewardProgram(rounds=2)
    assert [p.signature.instructions for _, p in compiled.named_predictors()] == [
        p.signature.instructions for _, p in fresh.named_predictors()]
    assert all(not p.demos for _, p in compiled.named_predictors())


def test_token_budget_stops_the_compile(tasks):
    compiled, engine = compile_with(tasks, optimizer="gepa", verbose=False, max_lm_tokens=3000)
    assert "token budget (3,000 tokens) is spent" in compiled.stopped_early_
    tokens = int(re.search(r"\(([\d,]+) tokens", compiled.stopped_early_)[1].replace(",", ""))
    last_call = len(engine.prompts[-1]) // 4 + 300  # its prompt and (short) reply
    assert tokens - last_call < 3000 <= tokens  # stopped right after the limit was crossed


def test_time_budget_stops_the_compile(tasks):
    def slow(prompt):
        time.sleep(0.15)
        return make_responder()(prompt)

    started = time.monotonic()
    compiled, engine = compile_with(tasks, slow, optimizer="gepa", verbose=False,
                                    max_seconds=0.5)
    assert "time budget (0.5 s) is spent" in compiled.stopped_early_
    assert engine.calls <= 5 and time.monotonic() - started < 10


def test_parallel_threads_together_stay_within_the_call_budget(tasks):
    compiled, engine = compile_with(tasks, optimizer="gepa", verbose=False, num_threads=4,
                                    max_lm_calls=4)
    assert engine.calls <= 4
    assert compiled.stopped_early_


def test_a_budget_that_is_not_positive_is_refused(tasks):
    with pytest.raises(CompileError, match="max_calls must be a positive number"):
        compile_with(tasks, optimizer="gepa", verbose=False, max_lm_calls=0)


def test_guard_refuses_the_call_past_the_limit_and_counts_tokens():
    now = [0.0]
    guard = LMGuard(LMBudget(max_calls=2, max_seconds=10), clock=lambda: now[0])
    guard.on_lm_start("a", None, {})
    guard.on_lm_start("b", None, {})
    with pytest.raises(BudgetExhausted) as stop:
        guard.on_lm_start("c", None, {})
    assert stop.value.calls == 2 and "2 calls" in stop.value.reason
    guard = LMGuard(LMBudget(max_seconds=10), clock=lambda: now[0])
    now[0] = 10.0
    with pytest.raises(BudgetExhausted, match="time budget"):
        guard.on_lm_start("d", None, {})
    assert not isinstance(BudgetExhausted("x", 0, 0, 0), Exception)  # passes `except Exception`


def test_a_reply_from_the_cache_counts_like_a_real_one(tmp_path):
    # So a resumed run, whose finished calls come from the cache, stops where the first would.
    engine = ScriptedEngine(lambda prompt: "an answer")
    lm = dspy.LM("scripted/test", engine=engine, cache=True)
    guard = LMGuard()
    with run_cache(tmp_path), dspy.context(callbacks=[guard]):
        lm("question")
        first = guard.tokens
        lm("question")
    assert engine.calls == 1 and first > 0
    assert guard.calls == 2 and guard.tokens == 2 * first


def test_cli_budget_flags_stop_compile_and_record_why_in_the_program(capsys, tmp_path):
    out = tmp_path / "program.json"
    with FakeOpenAIServer(make_responder()) as server:
        code = main(["compile", "--data", "seed,fed_turn", "--fit-sizes", "20", "--optimizer",
                     "gepa", "--budget", "6", "--rounds", "2", "--max-lm-calls", "5", "--out",
                     str(out), "--lm", "openai/fake-model", "--api-base", server.url,
                     "--no-cache"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert server.requests <= 5
    assert "keeping the best program so far" in err
    metadata = json.loads(out.read_text())["metadata"]
    assert "budget (5 calls) is spent" in metadata["stopped_early"]
    assert RewardProgram.from_file(out).write.signature.instructions
