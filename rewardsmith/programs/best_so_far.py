"""The best program an optimizer has found so far, for a compile that has to stop early.

A stopped compile (``BudgetExhausted``) leaves the optimizer's ``compile`` by an exception, so its
return value is lost. What each optimizer has found is kept on the side while it runs:

- GEPA: its state (every fully evaluated candidate with its validation scores), seen through a
  GEPA callback; the best candidate is the one GEPA itself would return.
- BootstrapFewShot: the demonstrations collected so far (``name2traces``).
- BootstrapFewShotWithRandomSearch, MIPROv2: every program scored by ``dspy.Evaluate`` on the
  validation tasks, seen through a DSPy callback; the best-scoring one.

Nothing found yet means the uncompiled program.
"""

from __future__ import annotations

import threading

from dspy.utils.callback import BaseCallback


class BestSoFar:
    """Collects what the running optimizer found; ``best()`` is (program, what it is)."""

    def __init__(self, program):
        self.program = program
        self.gepa_state = None
        self.bootstrap = None
        self.evaluations = EvaluatedPrograms()

    # -- GEPA calls this (``gepa_kwargs={"callbacks": [best_so_far]}``) ------------------------
    def on_iteration_start(self, event) -> None:
        self.gepa_state = event["state"]

    def best(self):
        found = self._gepa() or self._bootstrap() or self.evaluations.best()
        if found is not None:
            return found
        return self.program.deepcopy(), "nothing better was found yet: the uncompiled program"

    def _gepa(self):
        if self.gepa_state is None:
            return None
        from gepa import GEPAResult

        result = GEPAResult.from_state(self.gepa_state)
        index, candidate = result.best_idx, result.best_candidate
        program = self.program.deepcopy()
        for name, predictor in program.named_predictors():
            if name in candidate:
                predictor.signature = predictor.signature.with_instructions(candidate[name])
        score = result.val_aggregate_scores[index]
        if index == 0:
            return program, (f"the uncompiled program: GEPA found no better candidate yet "
                             f"(validation score {score:.3f})")
        return program, (f"GEPA candidate {index} of {len(result.candidates)}, validation "
                         f"score {score:.3f}")

    def _bootstrap(self):
        teleprompter = self.bootstrap
        traces = getattr(teleprompter, "name2traces", None)
        if not traces or not any(traces.values()):
            return None
        # What BootstrapFewShot._train does with the traces (raw demos are off for us).
        program = self.program.reset_copy()
        count = 0
        for name, predictor in program.named_predictors():
            predictor.demos = list(traces.get(name, []))[: teleprompter.max_bootstrapped_demos]
            count += len(predictor.demos)
        return program, f"{count} demonstration(s) collected so far"


class EvaluatedPrograms(BaseCallback):
    """The best program a ``dspy.Evaluate`` run finished scoring (a DSPy callback)."""

    def __init__(self):
        self._running: dict[str, object] = {}
        self._best = None
        self._lock = threading.Lock()

    def on_evaluate_start(self, call_id, instance, inputs):
        with self._lock:
            self._running[call_id] = inputs.get("program")

    def on_evaluate_end(self, call_id, outputs, exception):
        with self._lock:
            program = self._running.pop(call_id, None)
            score = getattr(outputs, "score", None)
            if exception is not None or program is None or score is None:
                return  # an evaluation cut short says nothing about the program
            if self._best is None or score > self._best[1]:
                self._best = (program, score)

    def best(self):
        if self._best is None:
            return None
        program, score = self._best
        return program.deepcopy(), f"the best evaluated candidate, score {score:.1f}"
