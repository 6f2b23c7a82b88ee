"""Run directories: an interrupted compile or run resumes to the same result without repeating
the LM calls it finished; a run directory is never mixed up with another run's."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dspy
import pytest
from fake_openai_server import FakeOpenAIServer
from killable_compile import run_compile
from scripted_responders import make_responder

from rewardsmith.cli import main
from rewardsmith.data import make_tasks
from rewardsmith.lm import ScriptedEngine, scripted_lm
from rewardsmith.lm.select import run_cache
from rewardsmith.programs import RewardProgram, compile
from rewardsmith.rundir import RunDirError

TESTS_DIR = Path(__file__).parent


@pytest.fixture(scope="module")
def tasks():
    return make_tasks(["seed", "fed_turn"], fit_sizes=[20], seeds=[0])


def compile_in(run_dir, tasks, resume=False, **options):
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compiled = compile(RewardProgram(rounds=2), tasks, optimizer=options.pop("optimizer",
                           "gepa"), budget=options.pop("budget", 6), run_dir=run_dir,
                           resume=resume, verbose=False, **options)
    return compiled, engine


def state(run_dir) -> dict:
    return json.loads((Path(run_dir) / "program.json").read_text())["state"]


def test_run_cache_answers_a_finished_call_without_the_engine_even_in_a_new_process(tmp_path):
    engine = ScriptedEngine(lambda prompt: "an answer")
    lm = dspy.LM("scripted/test", engine=engine, cache=True)
    with run_cache(tmp_path):
        assert lm("question") == ["an answer"]
        assert lm("question") == ["an answer"]
    assert engine.calls == 1
    with run_cache(tmp_path):  # a fresh cache object: only the disk holds the answer now
        assert lm("question") == ["an answer"]
        assert lm("another question") == ["an answer"]
    assert engine.calls == 2


def test_killed_compile_resumes_to_the_same_program_with_fewer_lm_calls(tmp_path):
    reference_calls = run_compile(tmp_path / "reference", tmp_path / "reference.log")
    run_dir, log = tmp_path / "run", tmp_path / "run.log"
    helper = [sys.executable, str(TESTS_DIR / "killable_compile.py"), str(run_dir), str(log)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS_DIR), *sys.path])}
    child = subprocess.Popen(helper, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while _lines(log) < reference_calls // 2:
        assert child.poll() is None, "the compile ended before it could be killed"
        assert time.monotonic() < deadline, "the compile made too few LM calls"
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    assert child.wait(timeout=30) == -signal.SIGKILL
    killed_calls = _lines(log)
    assert not (run_dir / "program.json").exists()

    resumed = subprocess.run([*helper, "--resume"], env=env, capture_output=True, text=True,
                             timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    line = next(x for x in resumed.stdout.splitlines() if x.startswith("RESULT "))
    resumed_calls = json.loads(line[len("RESULT "):])["calls"]
    # Every call the killed run finished came from the cache; the one in flight when it was
    # killed may have to be made again.
    assert reference_calls - killed_calls <= resumed_calls <= reference_calls - killed_calls + 1
    assert resumed_calls < reference_calls
    assert state(run_dir) == state(tmp_path / "reference")
    assert "IMPROVED (variant" in json.dumps(state(run_dir))  # GEPA did change the program


def test_finished_compile_resumed_makes_no_lm_call_and_gives_the_same_program(tmp_path, tasks):
    first, engine = compile_in(tmp_path / "run", tasks)
    assert engine.calls > 0
    again, engine = compile_in(tmp_path / "run", tasks, resume=True)
    assert engine.calls == 0
    assert again.dump_state() == first.dump_state()


def test_compile_stopped_by_the_budget_resumes_with_a_larger_one(tmp_path, tasks):
    reference, full = compile_in(tmp_path / "reference", tasks)
    stopped, first = compile_in(tmp_path / "run", tasks, max_lm_calls=6)
    assert stopped.stopped_early_ and first.calls <= 6
    assert json.loads((tmp_path / "run" / "manifest.json").read_text())["finished"] is False
    resumed, second = compile_in(tmp_path / "run", tasks, resume=True)
    assert resumed.stopped_early_ is None
    assert first.calls + second.calls == full.calls  # nothing asked twice
    assert state(tmp_path / "run") == state(tmp_path / "reference")


def test_existing_run_dir_is_refused_without_resume(tmp_path, tasks):
    compile_in(tmp_path / "run", tasks)
    with pytest.raises(RunDirError, match="pass --resume to continue the run in it, or choose "
                       "another --run-dir"):
        compile_in(tmp_path / "run", tasks)


def test_resume_with_other_settings_is_refused_naming_them(tmp_path, tasks):
    compile_in(tmp_path / "run", tasks, budget=6)
    with pytest.raises(RunDirError, match="other settings \\(budget: 6 then, 8 now\\)"):
        compile_in(tmp_path / "run", tasks, resume=True, budget=8)
    with pytest.raises(RunDirError, match="optimizer"):
        compile_in(tmp_path / "run", tasks, resume=True, optimizer="bootstrap")


def test_a_directory_that_is_not_a_run_dir_is_refused(tmp_path, tasks):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunDirError, match="not a rewardsmith run directory"):
        compile_in(tmp_path, tasks, resume=True)


def test_cli_run_resumes_from_its_run_dir_without_lm_calls(capsys, tmp_path):
    program = RewardProgram(rounds=1).save(tmp_path / "program.json")
    run_dir = tmp_path / "run"
    with FakeOpenAIServer(make_responder()) as server:
        argv = ["run", "--program", str(program), "--data", "seed", "--run-dir", str(run_dir),
                "--lm", "openai/fake-model", "--api-base", server.url]
        assert main(argv) == 0
        first, asked = capsys.readouterr().out, server.requests
        assert main([*argv, "--resume"]) == 0
        second = capsys.readouterr().out
    assert asked > 0 and server.requests == asked  # the resumed run asked the server nothing
    assert second.split("LM calls")[0] == first.split("LM calls")[0]  # same function and rho
    assert (run_dir / "function.py").is_file()
    assert json.loads((run_dir / "manifest.json").read_text())["finished"] is True
    assert not [p for p in run_dir.iterdir() if p.name.endswith(".tmp")]  # atomic writes


def test_cli_refuses_a_run_dir_made_by_another_command(capsys, tmp_path, tasks):
    compile_in(tmp_path / "run", tasks)
    program = RewardProgram().save(tmp_path / "program.json")
    code = main(["run", "--program", str(program), "--data", "seed", "--run-dir",
                 str(tmp_path / "run"), "--resume", "--lm", "openai/x", "--api-base",
                 "http://127.0.0.1:9/v1"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        f"error: run directory {tmp_path / 'run'} was made by `rewardsmith compile`, not `run`: "
        "choose another --run-dir")


def test_cli_refuses_no_cache_with_a_run_dir_and_resume_without_one(capsys, tmp_path):
    common = ["compile", "--data", "seed", "--out", str(tmp_path / "p.json"), "--lm",
              "openai/x", "--api-base", "http://127.0.0.1:9/v1"]
    assert main([*common, "--run-dir", str(tmp_path / "run"), "--no-cache"]) == 2
    assert "--no-cache cannot go with --run-dir" in capsys.readouterr().err
    assert main([*common, "--resume"]) == 2
    assert "--resume needs --run-dir" in capsys.readouterr().err


def test_ctrl_c_with_a_run_dir_says_how_to_resume(capsys, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("rewardsmith.programs.compile", interrupted)
    code = main(["compile", "--data", "seed", "--out", str(tmp_path / "p.json"), "--run-dir",
                 str(tmp_path / "run"), "--lm", "openai/x", "--api-base",
                 "http://127.0.0.1:9/v1"])
    assert code == 130
    assert "run the same command with --resume to continue" in capsys.readouterr().err


def _lines(path) -> int:
    try:
        return Path(path).read_text().count("\n")
    except FileNotFoundError:
        return 0
