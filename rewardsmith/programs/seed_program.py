"""SeedProgram: the seed notebook's method, kept as a baseline for the benchmark.

K independent samples from one fixed prompt (no analysis, no feedback, no fitted constants); the
sample with the best rank agreement on the fit rows wins. It shows what the real program adds.
"""

from __future__ import annotations

import dspy
from dspy.utils.usage_tracker import track_usage

from ..judge import Attempt, Judge
from ..lm.health import recording_calls
from .persist import SavableProgram
from .prediction import program_prediction
from .reward_program import code_text


class SeedWrite(dspy.Signature):
    """Write a Python function `def score(attrs):` that returns a float scoring an item from its
    attributes (a dict of attribute name to number) so that better items, as people judged them,
    get higher scores. Use only arithmetic, if/else, attrs[...] and the math module."""

    description: str = dspy.InputField(desc="what is judged")
    attribute_schema: str = dspy.InputField(desc="the attributes")
    profile: str = dspy.InputField(desc="statistics and example rows of the data")
    code: dspy.Code = dspy.OutputField(desc="Python source defining def score(attrs)")


class SeedProgram(SavableProgram, dspy.Module):
    def __init__(self, samples: int = 3, temperature: float = 1.0):
        super().__init__()
        self.samples = samples
        self.temperature = temperature
        self.write = dspy.Predict(SeedWrite)

    def lm_calls_per_run(self) -> int:
        return self.samples

    def forward(self, description: str, schema: str, profile: str, fit_rows,
                prior=None, prior_schema=None, card=None) -> dspy.Prediction:
        # The judge scores each sample as written (the seed fitted nothing) on the fit rows, and
        # selects no terms: the seed's answer is always its best sample.
        judge = Judge(fit_rows, fit_constants=False, min_gain=float("inf"), select_terms=False)
        attempts: list[Attempt] = []
        with track_usage() as usage, recording_calls() as record:
            self._sample(description, schema, profile, judge, attempts)
        return program_prediction(judge, judge.best_written(), analysis="", prior=None,
                                  attempts=attempts, usage=usage, record=record)

    def _sample(self, description, schema, profile, judge, attempts) -> None:
        for i in range(1, self.samples + 1):
            try:
                reply = self.write(
                    description=description, attribute_schema=schema, profile=profile,
                    # rollout_id keeps the samples apart in DSPy's cache; seed makes an engine
                    # that samples by seed (the embedded model) draw a different sample each time.
                    config={"rollout_id": i, "temperature": self.temperature, "seed": i},
                )
                source = code_text(reply.code)
            except Exception as exc:  # a bad sample is recorded, never fatal
                attempts.append(Attempt(i, "", False, feedback=f"{type(exc).__name__}: {exc}"))
                continue
            attempts.append(judge.judge(i, source, name=f"sample {i}"))
