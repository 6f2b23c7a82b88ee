"""One LM call of the demo on the embedded model, on an idle machine and with one core kept busy.

The call is the run's first one: the prior for aadb (``ElicitPrior``, the same prompt every time,
no cache). Each setting loads the model afresh in a new process, so nothing is shared between
them:

- idle:          no other process; threads chosen from the free cores (all of them);
- busy, chosen:  one CPU-bound process beside it; threads chosen from the free cores;
- busy, all:     the same, with the old rule (a thread per core), for comparison;
                 stopped after --cap seconds, since it can take many minutes.

Run it with nothing else CPU-bound on the machine:

    .venv/bin/python benchmarks/local_model_busy.py            # needs `make local-model`
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CALL = r"""
import json, os, sys, time
import dspy
from rewardsmith.data import load_dataset, make_task
from rewardsmith.lm import make_lm
from rewardsmith.programs import RewardProgram

lm = make_lm("local", cache=False)
task = make_task(load_dataset("aadb"), fit_size=50, seed=0)
program = RewardProgram()
with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
    lm("warm up: say ok", max_tokens=2)  # loads the model; not timed
    started = time.perf_counter()
    program.elicit(description=task.description, attribute_schema=task.schema)
    seconds = time.perf_counter() - started
engine = lm.engine if hasattr(lm, "engine") else None
print(json.dumps({"seconds": seconds, "threads": getattr(engine, "threads_used", None)}))
"""

SPIN = "while True:\n    pass\n"


def one_call(threads: str | None, busy: bool, cap: float) -> dict:
    env = dict(os.environ)
    env.pop("REWARDSMITH_LM_THREADS", None)
    if threads:
        env["REWARDSMITH_LM_THREADS"] = threads
    spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if busy else None
    try:
        time.sleep(1.0 if busy else 0.0)  # let the spinner show up in the CPU counters
        done = subprocess.run([sys.executable, "-c", CALL], env=env, capture_output=True,
                              text=True, timeout=cap)
    except subprocess.TimeoutExpired:
        return {"seconds": None, "threads": threads, "note": f"stopped after {cap:.0f} s"}
    finally:
        if spinner is not None:
            spinner.kill()
            spinner.wait()
    if done.returncode != 0:
        raise SystemExit(f"the LM call failed:\n{done.stderr[-2000:]}")
    import json

    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=float, default=400.0,
                        help="seconds after which a setting is stopped (400)")
    parser.add_argument("--skip-old-rule", action="store_true",
                        help="do not run 'busy, all cores' (the slow one)")
    args = parser.parse_args()
    cores = len(os.sched_getaffinity(0))
    settings = [("idle", None, False), ("busy, chosen", None, True)]
    if not args.skip_old_rule:
        settings.append(("busy, all cores", str(cores), True))
    rows = [(label, one_call(threads, busy, args.cap)) for label, threads, busy in settings]
    print(f"\none ElicitPrior call (aadb), embedded model, {cores} cores")
    print(f"{'setting':<18}{'threads':>8}{'seconds':>10}")
    for label, result in rows:
        seconds = f"{result['seconds']:.1f}" if result["seconds"] is not None else result["note"]
        print(f"{label:<18}{result['threads'] or '-':>8}{seconds:>10}")
    idle, busy = rows[0][1]["seconds"], rows[1][1]["seconds"]
    if idle and busy:
        print(f"slowdown with one core busy: {busy / idle:.2f}x (goal: at most 2x)")


if __name__ == "__main__":
    main()
