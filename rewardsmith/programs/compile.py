"""Compiling a RewardProgram: a DSPy optimizer tunes its prompts across many tasks.

``compile(program, trainset, valset, optimizer="gepa", budget=...)`` where ``budget`` is the one
knob for cost: the number of metric calls (one metric call = one program run on one task, i.e.
about ``rounds x samples + 2`` LM calls). Each optimizer gets the budget in its own units:

- ``gepa``: ``max_metric_calls=budget``; uses the metric's textual feedback and a reflection LM.
- ``mipro``: MIPROv2 with ``num_trials`` derived from the budget (needs ``optuna``).
- ``bootstrap``: BootstrapFewShot (or with random search when the budget allows several
  candidate programs); raw tasks never become demos (``max_labeled_demos=0``).
- ``retrieval``: no LM call. The program keeps the trainset's corpus tables (those with a gold
  prior) as worked examples: similar tables become the prior step's demonstrations, similar
  attributes its evidence and a prior of their own (``corpus/examples.py``).
- ``none``: the program as it is.

Two more knobs make long compiles safe (see docs/reliability.md):

- a hard limit on LM use, ``max_lm_calls``/``max_lm_tokens``/``max_seconds``: the compile stops
  before the call past it and returns the best program found so far (``BudgetExhausted``);
  three LM calls failing in a row after their retries (a server that stays down) stop it the
  same way (``LMUnavailable``);
- ``run_dir``: a run directory whose cache holds every finished LM call, so that the same compile
  with ``resume=True`` after Ctrl-C, a kill or a crash repeats none of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass

import dspy

from ..lm.budget import BudgetExhausted, LMBudget, LMGuard, LMRefused, LMUnavailable
from ..lm.errors import LMConfigError
from ..lm.health import LMUnreachable
from ..metrics.prior_agreement import prior_feedback_metric, prior_metric
from ..metrics.spearman import FAILURE_SCORE, spearman_feedback_metric, spearman_metric
from ..rundir import RunDir, digest, lm_settings
from .best_so_far import BestSoFar
from .gepa_selector import ActivePredictorSelector, active_predictors
from .persist import save_program_file

log = logging.getLogger(__name__)

#: The compiled program's file in a run directory.
PROGRAM_FILE = "program.json"

OPTIMIZERS = ("retrieval", "gepa", "mipro", "bootstrap", "none")
#: What an optimizer maximises: held-out rho of the written function, or the prior step's
#: agreement with the gold prior (corpus train tables; dense where rho after 20 rows is noise).
METRICS = {"rho": (spearman_metric, spearman_feedback_metric),
           "prior": (prior_metric, prior_feedback_metric)}


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
    per_run = program.lm_calls_per_run() if hasattr(program, "lm_calls_per_run") else 2
    if optimizer in ("none", "retrieval"):
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
    max_demos: int = 1,
    log_dir: str | None = None,
    verbose: bool = True,
    max_lm_calls: int | None = None,
    max_lm_tokens: int | None = None,
    max_seconds: float | None = None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    metric: str = "rho",
):
    """Optimize ``program`` on ``trainset`` tasks; return the compiled program (a new object).

    The language model is the one configured with ``dspy.configure``/``dspy.context``; the
    reflection LM defaults to it. Tasks of one dataset must not sit in both trainset and valset.

    ``max_lm_calls``, ``max_lm_tokens``, ``max_seconds``: hard limits on LM use (every LM call
    counts, also one answered from the cache). When one is reached the compile stops and returns
    the best program found so far, with the reason in its ``stopped_early_`` attribute.
    ``max_demos``: demonstrations per predictor (bootstrap, mipro). One by default: each carries
    a whole table profile, and a second one doubled the prompt (about 4,000 tokens, 50 s of
    reading per call on the embedded model).
    ``run_dir``/``resume``: see the module docstring. A language model that refuses every call
    (a bad key, an unknown model) stops the compile with ``LMConfigError``.
    """
    if optimizer not in OPTIMIZERS:
        choices = ", ".join(OPTIMIZERS)
        raise CompileError(f"unknown optimizer {optimizer!r}; choose one of {choices}")
    if metric not in METRICS:
        raise CompileError(f"unknown metric {metric!r}; choose one of {', '.join(METRICS)}")
    if metric == "prior" and not any(t.get("gold_prior") for t in trainset):
        raise CompileError("metric 'prior' needs training tables with gold priors: corpus "
                           "train tables (--data corpus:train)")
    if not trainset:
        raise CompileError("the trainset is empty: make tasks with make_tasks(datasets, ...)")
    if budget < 1:
        raise CompileError("budget must be at least 1 metric call")
    try:
        limits = LMBudget(max_lm_calls, max_lm_tokens, max_seconds)
    except ValueError as exc:
        raise CompileError(str(exc)) from None
    check_no_overlap(trainset, valset or [])
    if optimizer not in ("none", "retrieval") and not active_predictors(program):
        raise CompileError("the program calls no language model (rounds=0 and no prior step), "
                           "so there is nothing to compile: give it rounds, keep its prior step, "
                           "or use optimizer 'none'")
    if optimizer == "gepa" and (reflection_lm or dspy.settings.lm) is None:
        raise CompileError("GEPA needs a language model: configure one first")
    run = None
    if run_dir is not None:
        if not hasattr(program, "config"):
            raise CompileError("run_dir needs a rewardsmith program (RewardProgram, "
                               "SeedProgram): its file is saved in the run directory")
        settings = compile_settings(program, trainset, valset, optimizer=optimizer, budget=budget,
                                    reflection_lm=reflection_lm, seed=seed,
                                    num_threads=num_threads, max_demos=max_demos,
                                    metric=metric)
        run = RunDir.open(run_dir, "compile", settings, resume=resume)
        if run.finished and run.file(PROGRAM_FILE).is_file():
            _say(verbose, f"compile: the run in {run.path} had finished; its program is "
                 f"{run.file(PROGRAM_FILE)}")
            finished = type(program).from_file(run.file(PROGRAM_FILE))
            finished.stopped_early_ = None
            return finished
    cost = estimate_cost(program, optimizer, budget, len(trainset), len(valset or []))
    _say(verbose, f"compile: optimizer {optimizer}, {len(trainset)} train tasks, "
         f"{len(valset or [])} validation tasks, budget {budget} metric calls: {cost}"
         + (f"; resuming the run in {run.path}" if run and run.resumed else ""))
    guard, best = LMGuard(limits), BestSoFar(program)
    stopped = None
    with contextlib.ExitStack() as stack:
        lms = {}
        if run is not None:
            stack.enter_context(run.cache())
            # Resuming needs every reply stored: an LM made with cache=False gets a caching copy.
            lms["lm"] = _caching(dspy.settings.lm)
            reflection_lm = _caching(reflection_lm)
        callbacks = [*dspy.settings.get("callbacks", []), guard, best.evaluations]
        stack.enter_context(dspy.context(callbacks=callbacks, **lms))
        try:
            compiled = _optimize(program, trainset, valset, optimizer, budget, reflection_lm,
                                 seed, num_threads, log_dir, best, max_demos, metric)
        except (BudgetExhausted, LMUnavailable) as stop:
            compiled, what = best.best()
            stopped = (f"{stop.reason}: stopped after {stop.calls} LM calls "
                       f"({stop.tokens:,} tokens, {stop.seconds:.0f} s); keeping the best program "
                       f"so far ({what})")
            _say(True, f"compile: {stopped}")
        except (LMRefused, LMUnreachable) as stop:
            raise LMConfigError(stop.message) from stop.error
    compiled.stopped_early_ = stopped
    if run is not None:
        save_program_file(compiled, run.file(PROGRAM_FILE),
                     metadata={"stopped_early": stopped} if stopped else None)
        # A stopped compile is not finished: resumed with a larger budget, it goes on.
        run.record(finished=not stopped, stopped_early=stopped, lm_calls=guard.calls,
                   tokens=guard.tokens)
    return compiled


def _optimize(program, trainset, valset, optimizer, budget, reflection_lm, seed, num_threads,
              log_dir, best, max_demos, metric="rho"):
    score_metric, feedback_metric = METRICS[metric]
    if optimizer == "none":
        return program.deepcopy()
    if optimizer == "retrieval":
        from ..corpus.examples import PriorLibrary

        library = PriorLibrary.from_tasks(trainset)
        if not library.tables:
            raise CompileError("a compile by retrieval needs training tables with gold priors: "
                               "corpus train tables (--data corpus:train)")
        compiled = program.deepcopy()
        compiled.library_ = library
        return compiled
    if optimizer == "gepa":
        teleprompter = dspy.GEPA(
            metric=feedback_metric,
            reflection_lm=reflection_lm or dspy.settings.lm,
            max_metric_calls=budget,
            failure_score=FAILURE_SCORE,
            perfect_score=1.0,
            num_threads=num_threads,
            seed=seed,
            log_dir=log_dir,
            track_stats=False,
            use_merge=False,
            warn_on_score_mismatch=False,
            component_selector=ActivePredictorSelector(active_predictors(program)),
            gepa_kwargs={"callbacks": [best]},  # sees GEPA's state, to keep its best so far
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
            metric=score_metric, auto=None, num_candidates=n_candidates,
            max_bootstrapped_demos=max_demos, max_labeled_demos=0, num_threads=num_threads,
            seed=seed, verbose=False, track_stats=False, log_dir=log_dir, metric_threshold=0.0,
        )
        return teleprompter.compile(
            program, trainset=trainset, valset=valset or None,
            num_trials=max(1, budget // max(1, len(valset or trainset))),
            minibatch=False, data_aware_proposer=False,
        )
    # bootstrap
    # A float metric is truthy even at -1: the threshold makes only good runs become demos.
    kwargs = dict(metric=score_metric, metric_threshold=0.0, max_labeled_demos=0,
                  max_bootstrapped_demos=max_demos, max_rounds=1)
    n_candidates = budget // max(1, len(trainset)) - 1
    if n_candidates >= 2 and valset:
        teleprompter = dspy.BootstrapFewShotWithRandomSearch(
            num_candidate_programs=n_candidates, num_threads=num_threads, **kwargs)
        return teleprompter.compile(program, trainset=trainset, valset=valset)
    best.bootstrap = dspy.BootstrapFewShot(**kwargs)
    return best.bootstrap.compile(program, trainset=trainset)


def compile_settings(program, trainset, valset, **options) -> dict:
    """What decides a compile's result, for its run directory: a resumed compile must match.
    The LM limits are not in it (a stopped compile may be resumed with a larger budget), nor
    the LM's address (the same model may be reached at another address after a restart)."""
    reflection_lm = options.pop("reflection_lm", None) or dspy.settings.lm
    return {
        "program": type(program).__name__,
        "program_config": program.config() if hasattr(program, "config") else None,
        "program_state": digest(program.dump_state()),
        "trainset": _tasks_digest(trainset),
        "valset": _tasks_digest(valset or []),
        "lm": lm_settings(dspy.settings.lm),
        "reflection_lm": lm_settings(reflection_lm),
        **options,
    }


def _tasks_digest(tasks) -> str:
    parts = []
    for task in tasks:
        parts.append([getattr(task, name, None) for name in
                      ("dataset", "description", "schema", "profile", "fit_size", "seed")])
        for rows in (getattr(task, "fit_rows", None), getattr(task, "heldout_rows", None)):
            if rows is not None:
                parts += [rows.X.tobytes(), rows.y.tobytes()]
    return digest(*parts)


def _caching(lm):
    return lm if lm is None or getattr(lm, "cache", True) else lm.copy(cache=True)


def _say(verbose: bool, message: str) -> None:
    if verbose:
        log.info(message)


def check_no_overlap(trainset: list, valset: list) -> None:
    """Tasks from one dataset never sit in both trainset and valset (that would leak)."""
    train_names = {getattr(t, "dataset", None) for t in trainset}
    shared = sorted(n for n in train_names & {getattr(t, "dataset", None) for t in valset} if n)
    if shared:
        raise CompileError(
            f"dataset(s) {', '.join(shared)} appear in both trainset and valset; give each "
            "dataset to one side only"
        )
