"""A GEPA compile with the scripted LM in a run directory, for the kill-and-resume test.

As a script: ``python killable_compile.py RUN_DIR CALL_LOG [--resume]`` prints ``RESULT {json}``
with the number of real LM calls. Every real call appends a line to CALL_LOG before its reply
goes back, so a parent process can kill the compile after a known number of calls.
"""

import json
import sys
import time
import zlib

import dspy
from scripted_responders import GENERIC_CODE

from rewardsmith.data import make_tasks
from rewardsmith.lm import output_fields, scripted_lm
from rewardsmith.programs import RewardProgram, compile

#: Seconds per call: leaves the parent time to kill the compile half-way.
DELAY = 0.05
WORSE_CODE = "def score(attrs):\n    return -sum(attrs.values())\n"


def logging_responder(call_log):
    def respond(prompt):
        with open(call_log, "a") as fh:
            fh.write("call\n")
        time.sleep(DELAY)
        fields, better = output_fields(prompt), "IMPROVED" in prompt
        if fields == ["analysis"]:
            return {"analysis": "IMPROVED: every attribute rises with the judgment." if better
                    else "No clear pattern."}
        if fields == ["code"]:
            return {"code": GENERIC_CODE if better else WORSE_CODE}
        # GEPA's reflection: an instruction that leads to a better function, different for
        # each prompt, so the search goes on and the instruction GEPA keeps shows its history.
        variant = zlib.crc32(prompt.encode()) % 997
        return {name: f"IMPROVED (variant {variant}): every attribute rises with the judgment."
                for name in fields}

    return respond


def run_compile(run_dir, call_log, resume=False) -> int:
    """Compile into ``run_dir`` (its program lands in run_dir/program.json); return the number
    of real LM calls made."""
    tasks = make_tasks(["seed", "fed_turn"], fit_sizes=[20], seeds=[0])
    lm, engine = scripted_lm(logging_responder(call_log))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        # The written function always wins (min_gain -2), so a better one scores better and
        # GEPA has something to keep.
        compile(RewardProgram(rounds=2, min_gain=-2.0), tasks, optimizer="gepa", budget=20,
                run_dir=run_dir, resume=resume, verbose=False)
    return engine.calls


if __name__ == "__main__":
    calls = run_compile(sys.argv[1], sys.argv[2], resume="--resume" in sys.argv[3:])
    print("RESULT " + json.dumps({"calls": calls}), flush=True)
