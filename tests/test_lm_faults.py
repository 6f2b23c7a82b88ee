"""Failing language models: each fault is retried where that can help, else a failed attempt with
feedback, else (a bad key, an unknown model) one error line; never a crash or a hang."""

import json
import time

import dspy
import pytest
from fake_openai_server import FakeOpenAIServer
from scripted_responders import make_responder

from rewardsmith.cli import main
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.lm import Reply, make_lm, output_fields, scripted_lm
from rewardsmith.lm.errors import LMConfigError
from rewardsmith.programs import RewardProgram, compile

GOOD = "def score(attrs):\n    return attrs['composition'] + attrs['lighting']\n"
DOWN = "http://127.0.0.1:9/v1"  # the discard port: nothing listens there
SERVER_ERROR = {"status": 503, "headers": {"Retry-After": "0"}}  # retried at once, then failed


def writer_only(**settings) -> RewardProgram:
    """The writer's loop alone (one sample a round, no prior step, written functions preferred):
    the faults here are about the calls, not about which candidate wins."""
    return RewardProgram(**{"samples": 1, "elicit_prior": False, "min_gain": -2.0, **settings})


def run_over_http(server, program=None, **lm_options):
    lm = make_lm("openai/fake-model", api_base=server.url, cache=False, **lm_options)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return (program or writer_only(rounds=1)).run("seed")


def run_scripted(write_replies, rounds=None):
    """A program run whose write steps get ``write_replies`` (raw text or ``Reply``) in turn."""
    replies = list(write_replies)

    def respond(prompt):
        if output_fields(prompt) == ["analysis"]:
            return {"analysis": "Composition and lighting drive the judgment."}
        return replies.pop(0) if len(replies) > 1 else replies[0]

    lm, engine = scripted_lm(respond)
    rounds = rounds or len(write_replies)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        return writer_only(rounds=rounds, patience=rounds).run("seed"), engine


# -- transient HTTP faults: DSPy retries them inside the call; the user gets the function -------

def test_rate_limit_429_waits_as_long_as_retry_after_says_then_succeeds():
    with FakeOpenAIServer(make_responder(), faults=[
            {"status": 429, "headers": {"Retry-After": "1"}}]) as server:
        started = time.monotonic()
        result = run_over_http(server)
        waited = time.monotonic() - started
    assert result.function is not None and result.rho is not None
    assert server.requests == len(server.prompts) + 1  # the 429 was asked again, once
    assert waited >= 1.0  # the server's Retry-After was honoured


def test_server_errors_500_and_503_are_retried():
    faults = [{"status": 503, "headers": {"Retry-After": "0"}},
              {"status": 500, "headers": {"Retry-After": "0"}}]
    with FakeOpenAIServer(make_responder(), faults=faults) as server:
        result = run_over_http(server)
    assert result.function is not None
    assert server.requests == len(server.prompts) + 2
    assert [a.ok for a in result.attempts] == [True]


def test_a_reply_hanging_past_the_timeout_is_asked_again():
    with FakeOpenAIServer(make_responder(), faults=[{"hang": 2.0}]) as server:
        started = time.monotonic()
        result = run_over_http(server, timeout=0.5)
        took = time.monotonic() - started
    assert result.function is not None
    assert server.requests == len(server.prompts) + 1
    assert took < 4.0  # gave up on the hanging reply after 0.5 s, retried after 1 s


def test_server_errors_outlasting_the_retries_become_failed_attempts_with_feedback():
    faults = [{"status": 503, "headers": {"Retry-After": "0"}}] * 50
    with FakeOpenAIServer(make_responder(), faults=faults) as server:
        result = run_over_http(server, writer_only(rounds=2, patience=2), num_retries=1)
    # A result, not a crash: no written function, so the statistical candidate answers.
    assert not any(a.ok for a in result.attempts) and result.chosen == "ridge"
    assert server.requests == 3 * 2  # analysis + 2 writes, each tried twice
    assert "no analysis" in result.analysis
    assert all("The language model call failed (LMServerError" in a.feedback
               for a in result.attempts)
    assert result.lm_note.startswith("statistical answer only: the LM failed 3 of 3 calls")


def test_connection_refused_on_the_first_call_stops_the_run_naming_the_model_and_url():
    lm = make_lm("openai/fake-model", api_base=DOWN, cache=False, num_retries=1)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        with pytest.raises(LMConfigError) as caught:
            writer_only(rounds=1).run("seed")  # not a ridge fit that looks like the answer
    message = str(caught.value)
    assert "cannot reach the language model openai/fake-model at " + DOWN in message
    assert "Connection refused" in message and "--api-base" in message


def test_connection_refused_after_the_lm_answered_is_a_failed_attempt_marked_in_the_result():
    hang_ups = [{"hang": 0.01}] * 20  # the server closes the connection without answering
    with FakeOpenAIServer(make_responder(), faults=[{}, *hang_ups]) as server:
        result = run_over_http(server, writer_only(rounds=2, patience=2), num_retries=0)
    assert result.analysis and "no analysis" not in result.analysis  # the answered call
    assert not any(a.ok for a in result.attempts) and result.chosen == "ridge"
    assert "LMTransportError" in result.attempts[0].feedback
    assert result.lm_failed_calls == 2
    assert result.lm_note.startswith("the LM failed 2 of 3 calls (last: LMTransportError")


def test_a_server_that_stays_down_stops_the_compile_after_three_failed_calls(caplog):
    caplog.set_level("INFO", logger="rewardsmith")
    tasks = make_tasks(["seed", "fed_turn"], fit_sizes=[20])
    with FakeOpenAIServer(make_responder(), faults=[{"status": 503}] * 100) as server:
        lm = make_lm("openai/fake-model", api_base=server.url, cache=False, num_retries=0)
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            compiled = compile(RewardProgram(rounds=2), tasks, optimizer="bootstrap", budget=4,
                               verbose=False)
    assert server.requests == 3  # not one timeout after another for every remaining task
    assert "failed 3 calls in a row" in compiled.stopped_early_
    assert "check that the server is up" in compiled.stopped_early_
    assert "keeping the best program so far (nothing better was found yet" in (
        compiled.stopped_early_)
    assert "failed 3 calls in a row" in caplog.text  # logged for the user to see


def test_one_failed_call_between_good_ones_does_not_stop_the_compile():
    tasks = make_tasks(["seed", "fed_turn"], fit_sizes=[20])
    faults = [{"status": 503}, {}, {"status": 503}, {}, {"status": 503}]
    with FakeOpenAIServer(make_responder(), faults=faults) as server:
        lm = make_lm("openai/fake-model", api_base=server.url, cache=False, num_retries=0)
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            compiled = compile(RewardProgram(rounds=2), tasks, optimizer="bootstrap", budget=2,
                               max_demos=2, verbose=False)
    assert server.requests > 5  # all three failures were met, never three in a row
    assert compiled.stopped_early_ is None


# -- faults retrying cannot help: one error line, exit code 2, no retries ------------------------

@pytest.mark.parametrize("status, words", [
    (401, "check the API key"),
    (404, "check the model name"),
])
def test_bad_key_or_unknown_model_is_one_error_line_not_retried(capsys, tmp_path, status, words):
    program = RewardProgram().save(tmp_path / "program.json")
    with FakeOpenAIServer(make_responder(), faults=[{"status": status}] * 5) as server:
        code = main(["run", "--program", str(program), "--data", "seed", "--lm",
                     "openai/fake-model", "--api-base", server.url, "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert server.requests == 1  # not retried, and the program did not try again
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1 and "Traceback" not in err
    assert f"refused the request (HTTP {status})" in error_lines[0] and words in error_lines[0]


@pytest.mark.parametrize("optimizer", ["gepa", "bootstrap"])
def test_bad_key_stops_a_compile_at_once_with_one_error_line(capsys, tmp_path, optimizer):
    out = tmp_path / "program.json"
    with FakeOpenAIServer(make_responder(), faults=[{"status": 401}] * 50) as server:
        code = main(["compile", "--data", "seed,fed_turn", "--fit-sizes", "20", "--optimizer",
                     optimizer, "--budget", "4", "--rounds", "1", "--out", str(out), "--lm",
                     "openai/fake-model", "--api-base", server.url, "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2
    assert server.requests == 1  # the optimizer did not go on with -1 scores for every task
    assert "error: openai/fake-model refused the request (HTTP 401)" in err
    assert "Traceback" not in err and not out.exists()


def test_compile_raises_lm_config_error_for_a_refusing_model():
    def refuse(prompt):
        raise dspy.lm15.AuthError("invalid key", status=401)

    lm, engine = scripted_lm(refuse)
    tasks = make_tasks(["seed"], fit_sizes=[10])
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        with pytest.raises(LMConfigError, match="check the API key"):
            compile(RewardProgram(rounds=1), tasks, optimizer="gepa", budget=4, verbose=False)
    assert engine.calls == 1


# -- replies that arrive but cannot be used: a failed attempt whose feedback says what to fix ----

def test_empty_reply_is_a_failed_attempt_saying_it_was_empty():
    result, _ = run_scripted(["", {"code": GOOD}])
    first, second = result.attempts
    assert not first.ok and first.feedback.startswith("The reply was empty")
    assert second.ok and result.function.source.strip() == GOOD.strip()


def test_unparseable_reply_asks_for_the_json_code_field():
    result, engine = run_scripted(["Sure! Here it is: def score(a): return 1", {"code": GOOD}])
    assert result.attempts[0].feedback.startswith("The reply could not be read")
    assert "field code" in result.attempts[0].feedback
    assert result.attempts[1].ok
    # the feedback reached the second writing prompt
    assert "could not be read" in [p for p in engine.prompts if "previous_attempts" in p][1]


@pytest.mark.parametrize("cut", [
    '{"code": "def score(attrs):\\n    total = attrs[',       # repaired JSON, broken code
    '{"code": "def score(attrs):\\n    return 1.0',          # repaired JSON, code that parses
])
def test_reply_cut_off_at_the_token_limit_asks_for_a_shorter_function(cut):
    result, _ = run_scripted([Reply(cut, finish_reason="length"), {"code": GOOD}])
    first, second = result.attempts
    assert not first.ok
    assert "cut off at the length limit" in first.feedback and "shorter" in first.feedback
    assert second.ok


def test_reply_cut_off_over_http_is_recognised_too():
    cut = '{"code": "def score(attrs):\\n    return 1.0'
    with FakeOpenAIServer(make_responder(), faults=[
            {}, {"content": cut, "finish_reason": "length"}]) as server:
        result = run_over_http(server, writer_only(rounds=2, patience=2))
    assert "cut off at the length limit" in result.attempts[0].feedback
    assert result.attempts[1].ok


def test_running_a_program_with_no_lm_configured_stops_instead_of_fitting_silently():
    from rewardsmith.lm.faults import describe_lm_error

    task = make_task(load_dataset("seed"))
    with dspy.context(lm=None), pytest.raises(ValueError, match="No LM is loaded") as caught:
        RewardProgram(rounds=1, samples=1)(**task.inputs())
    assert "dspy.configure" in describe_lm_error(caught.value)


# -- the LM away: one error line when it was never there, a marked result when it left ----------

def test_run_with_nothing_listening_is_one_error_line_after_the_first_call(capsys, tmp_path):
    program = RewardProgram(rounds=1).save(tmp_path / "program.json")
    out = tmp_path / "score.py"
    code = main(["run", "--program", str(program), "--data", "seed", "--out", str(out),
                 "--lm", "openai/fake-model", "--api-base", DOWN, "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and not out.exists()
    assert err.count("failed: LMTransportError") == 1  # not one wait after another
    error_lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error_lines) == 1
    assert "cannot reach the language model openai/fake-model at " + DOWN in error_lines[0]


@pytest.mark.parametrize("command", [
    ["bench", "--data", "seed", "--methods", "uncompiled", "--fit-sizes", "10", "--seeds", "0"],
    ["compile", "--data", "seed,fed_turn", "--fit-sizes", "20", "--optimizer", "bootstrap",
     "--budget", "4", "--rounds", "1"],
])
def test_bench_and_compile_with_nothing_listening_stop_with_one_error_line(capsys, tmp_path,
                                                                           command):
    code = main([*command, "--out", str(tmp_path / "out"), "--lm", "openai/fake-model",
                 "--api-base", DOWN, "--no-cache", "--lm-retries", "0"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.count("failed: LMTransportError") == 1
    assert "error: cannot reach the language model openai/fake-model" in err


def run_cli_with_failures_after_the_first_call(tmp_path, *extra):
    program = RewardProgram(rounds=1, samples=1).save(tmp_path / "program.json")
    out = tmp_path / "score.py"
    responder = make_responder(prior={"composition": "higher", "lighting": "higher"})
    with FakeOpenAIServer(responder, faults=[{}, *[SERVER_ERROR] * 40]) as server:
        code = main(["run", "--program", str(program), "--data", "seed", "--out", str(out),
                     "--lm", "openai/fake-model", "--api-base", server.url, "--no-cache",
                     *extra])
    return code, out


def test_a_run_whose_later_calls_failed_says_so_in_its_output_and_files(capsys, tmp_path):
    code, out = run_cli_with_failures_after_the_first_call(tmp_path)
    printed = capsys.readouterr().out
    assert code == 0
    note = "the LM failed 2 of 3 calls (last: LMServerError"
    assert f"note: {note}" in printed
    assert note in out.read_text()  # the exported function's header
    saved = json.loads(out.with_name("score.prior.json").read_text())
    assert note in saved["note"] and saved["attributes"]


def test_require_lm_turns_failed_calls_into_an_error_and_writes_nothing(capsys, tmp_path):
    code, out = run_cli_with_failures_after_the_first_call(tmp_path, "--require-lm")
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and not out.exists()
    assert "error: the LM failed 2 of 3 calls" in err and "--require-lm" in err


def test_a_bench_cell_whose_lm_calls_failed_is_an_error_not_a_measurement():
    from rewardsmith.bench.methods import run_program

    task = make_task(load_dataset("seed"), fit_size=10)
    with FakeOpenAIServer(make_responder(), faults=[{}, *[SERVER_ERROR] * 20]) as server:
        lm = make_lm("openai/fake-model", api_base=server.url, cache=False, num_retries=0)
        with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
            with pytest.raises(RuntimeError, match="the LM failed 2 of 3 calls.*run again"):
                run_program(task, RewardProgram(rounds=1, samples=1))


def test_a_prior_file_with_a_note_reads_back_as_the_same_prior(tmp_path):
    from rewardsmith.fitting import Prior

    prior = Prior.from_dict({"light": {"direction": "higher", "importance": 3}})
    path = prior.save(tmp_path / "p.prior.json", note="the LM failed 1 of 4 calls")
    assert Prior.load(path).to_dict()["attributes"] == prior.to_dict()["attributes"]
