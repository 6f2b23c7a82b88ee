"""Compiling a RewardProgram: a DSPy optimizer tunes its prompts across many tasks.

``compile(program, trainset, valset, optimizer="gepa", budget=...)`` where ``budget`` is the one
knob for cost: the number of metric calls (one metric call = one program run on one task, i.e.
about ``rounds + 1`` LM calls). Each optimizer gets the budget in its own units:

- ``gepa``: ``max_metric_calls=budget``; uses the metric's textual feedback and a reflection LM.
- ``mipro``: MIPROv2 with ``num_trials`` derived from the budget (needs ``optuna``).
- ``bootstrap``: BootstrapFewShot (or with random search when the budget allows several
  candidate programs); raw tasks never become demos (``max_labeled_demos=0``).
- ``none``: the program as it is.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import dspy

from ..metrics.spearman import FAILURE_SCORE, spearman_feedback_metric, spearman_metric

OPTIMIZERS = ("gepa", "mipro", "bootstrap", "none")


class CompileError(ValueError):
    """The compile request cannot be carried out as given (bad optimizer, overlap, budget...)."""


@dataclass
class CostEstimate:
    metric_calls: int
    lm_calls: int

    def __str__(self) -> str:
        return (f"about {self.metric_calls} program runs, about {self.lm_calls} LM calls "
                "(upper bound)")


def estimate_cost(program, optimizer: str, budget: int, n_train: int, n_val: int) -> CostEstimate:
    """An upper bound on program runs and LM calls, printed before a long compile."""
    per_run = getattr(program, "rounds", 1) + 1
    if optimizer == "none":
        runs = 0
    elif optimizer == "bootstrap":
        runs = n_train * max(1, budget // max(1, n_train))
    else:
        runs = budget
    reflection = runs // 3 if optimizer == "gepa" else 0
    return CostEstimate(runs, runs * per_run + reflection)


def compile(
    program,
    trainset: list,
    valset: list | None = None,
    *,
    optimizer: str = "gepa",
    budget: int = 20,
    reflection_lm=None,
    seed: int = 0,
    num_threads: int = 1,
    log_dir: str | None = None,
    verbose: bool = True,
):
    """Optimize ``program`` on ``trainset`` tasks; return the compiled program (a new object).

    The language model is the one configured with ``dspy.configure``/``dspy.context``; the
    reflection LM defaults to it. Tasks of one dataset must not sit in both trainset and valset.
    """
    if optimizer not in OPTIMIZERS:
        choices = ", ".join(OPTIMIZERS)
        raise CompileError(f"unknown optimizer {optimizer!r}; choose one of {choices}")
    if not trainset:
        raise CompileError("the trainset is empty: make tasks with make_tasks(datasets, ...)")
    if budget < 1:
        raise CompileError("budget must be at least 1 metric call")
    check_no_overlap(trainset, valset or [])
    cost = estimate_cost(program, optimizer, budget, len(trainset), len(valset or []))
    if verbose:
        print(f"compile: optimizer {optimizer}, {len(trainset)} train tasks, "
              f"{len(valset or [])} validation tasks, budget {budget} metric calls: {cost}",
              file=sys.stderr)
    if optimizer == "none":
        return program.deepcopy()
    if optimizer == "gepa":
        lm = reflection_lm or dspy.settings.lm
        if lm is None:
            raise CompileError("GEPA needs a language model: configure one first")
        teleprompter = dspy.GEPA(
            metric=spearman_feedback_metric,
            reflection_lm=lm,
            max_metric_calls=budget,
            failure_score=FAILURE_SCORE,
            perfect_score=1.0,
            num_threads=num_threads,
            seed=seed,
            log_dir=log_dir,
            track_stats=False,
            use_merge=False,
            warn_on_score_mismatch=False,
        )
        return teleprompter.compile(program, trainset=trainset, valset=valset or None)
    if optimizer == "mipro":
        try:
            import optuna  # noqa: F401
        except ImportError:
            raise CompileError(
                "the mipro optimizer needs optuna: pip install 'rewardsmith[mipro]'"
            ) from None
        n_candidates = max(2, min(6, budget // 4))
        teleprompter = dspy.MIPROv2(
            metric=spearman_metric, auto=None, num_candidates=n_candidates,
            max_bootstrapped_demos=1, max_labeled_demos=0, num_threads=num_threads,
            seed=seed, verbose=False, track_stats=False, log_dir=log_dir, metric_threshold=0.0,
        )
        return teleprompter.compile(
            program, trainset=trainset, valset=valset or None,
            num_trials=max(1, budget // max(1, len(valset or trainset))),
            minibatch=False, data_aware_proposer=False,
        )
    # bootstrap
    # A float metric is truthy even at -1: the threshold makes only good runs become demos.
    kwargs = dict(metric=spearman_metric, metric_threshold=0.0, max_labeled_demos=0,
                  max_bootstrapped_demos=2, max_rounds=1)
    n_candidates = budget // max(1, len(trainset)) - 1
    if n_candidates >= 2 and valset:
        teleprompter = dspy.BootstrapFewShotWithRandomSearch(
            num_candidate_programs=n_candidates, num_threads=num_threads, **kwargs)
        return teleprompter.compile(program, trainset=trainset, valset=valset)
    return dspy.BootstrapFewShot(**kwargs).compile(program, trainset=trainset)


def check_no_overlap(trainset: list, valset: list) -> None:
    """Tasks from one dataset never sit in both trainset and valset (that would leak)."""
    train_names = {getattr(t, "dataset", None) for t in trainset}
    shared = sorted(n for n in train_names & {getattr(t, "dataset", None) for t in valset} if n)
    if shared:
        raise CompileError(
            f"dataset(s) {', '.join(shared)} appear in both trainset and valset; give each "
            "dataset to one side only"
        )
