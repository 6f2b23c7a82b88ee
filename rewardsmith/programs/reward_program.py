"""RewardProgram: elicit a prior, analyse the table, write scoring functions, keep the one that
cross-validates best.

One call (one task) runs:

    ElicitPrior (what each attribute should do, from the description alone)
    -> AnalyzeAttributes (what the fit rows' profile shows)
    -> WriteScoringFunction x samples, for up to ``rounds`` rounds, each judged by the ``Judge``:
       PARAMS fitted (in closed form when the form is linear in them), scored by cross-validation
       on the fit rows, feedback to the next round with the best attempts so far

The statistical candidates (the prior alone, ridge, ridge shrunk toward the prior) are fitted and
scored beside the written functions; the shrunk ridge is the statistical answer, and a written
function replaces it only when its cross-validated rho is higher by ``min_gain``. Held-out rows
are never touched here: only the metric sees them.
"""

from __future__ import annotations

import logging

import dspy
from dspy.utils.usage_tracker import track_usage

from ..corpus.examples import with_evidence
from ..corpus.library import combined_prior, prior_scores
from ..fitting import AttributePrior, Prior
from ..fitting.prior import match_name
from ..judge import Attempt, Judge
from ..lm.faults import (
    first_line,
    history_marker,
    is_fatal_lm_error,
    reply_since,
    was_cut_off,
    was_empty,
)
from ..lm.health import recording_calls
from ..lm.options import NoLogprobsError
from ..signatures import AnalyzeAttributes, ElicitPrior, WriteScoringFunction
from .persist import SavableProgram
from .prediction import program_prediction
from .questions import ask_attributes, prior_from_answers

#: Reply caps in tokens for the three steps.
ANALYSIS_MAX_TOKENS = 240
PRIOR_MAX_TOKENS = 900
CODE_MAX_TOKENS = 900
#: Sampling temperature for the second and later samples of a round, and for asking again when
#: the writer repeats an earlier attempt's code.
SAMPLE_TEMPERATURE = 0.7
#: How the prior step may ask (``RewardProgram(prior_step=...)``).
PRIOR_STEPS = ("json", "questions")
#: ``_ask``'s answer for a model without log-probabilities: ask for the JSON prior instead.
_NO_LOGPROBS = object()

log = logging.getLogger(__name__)

__all__ = ["Attempt", "RewardProgram", "code_text", "render_attempts"]


class RewardProgram(SavableProgram, dspy.Module):
    """The DSPy program that writes a reward function for one task.

    Hyperparameters live here; data arrives in ``forward`` (one task's inputs). ``rounds`` is the
    most rounds of writing (0: no writing, the prior and the statistical candidates alone),
    ``samples`` the functions written per round (the first at the LM's own temperature, the
    others sampled), ``patience`` how many rounds in a row may fail to improve before stopping.
    ``min_gain`` is how much better (in CV rho) a written function must be than the statistical
    answer (the shrunk ridge) to be chosen. ``elicit_prior`` asks the LM for a prior (a
    ``prior=`` given to ``forward``/``run`` replaces it). ``fit_constants`` fits declared
    ``PARAMS``; ``lift_constants`` turns literal weights into PARAMS so they can be fitted.

    With a library of worked examples (``library_``, set by ``compile(..., optimizer=
    "retrieval")``), the prior step is shown the ``examples`` most similar tables with their gold
    priors as demonstrations, and, with ``evidence``, each attribute's nearest labelled
    attributes beside it; with ``vote_prior`` those neighbours' own prior competes in the judge
    as ridge shrunk toward it. Without a library these three do nothing.

    ``prior_step`` is how the prior is asked for: ``"json"``, one reply stating every attribute
    (the ``elicit`` predictor, which optimizers tune), or ``"questions"``, two one-word
    questions per attribute read as probabilities (``programs/questions.py``; evidence stands
    before each question, demos are not used). A model that gives no log-probabilities gets the
    JSON step instead.

    ``vote_weight`` mixes the neighbours' vote into the elicited prior (score plus weight x the
    neighbours' mean rho: ``corpus.library.combined_prior``); 0 keeps the LM's prior as it came.
    A prior given to ``forward``/``run`` is never mixed.

    ``select_terms`` offers, from 100 fit rows, a function of hinges, logs and products chosen by
    forward selection; it takes the fewest terms within one standard error of the best on its
    front, and never more than ``max_terms`` (None: up to ``fitting.terms.MAX_FRONT_TERMS``).
    """

    #: Settings of older program files that no longer mean anything; ignored on load.
    RETIRED_CONFIG_KEYS = ("validation_fraction",)
    #: Predictors added since format 1; a file without them loads with them uncompiled.
    ADDED_PREDICTORS = ("elicit",)

    def __init__(
        self,
        rounds: int = 2,
        samples: int = 2,
        patience: int = 1,
        min_gain: float = 0.01,
        elicit_prior: bool = True,
        fit_constants: bool = True,
        lift_constants: bool = True,
        select_terms: bool = True,
        seed: int = 0,
        examples: int = 2,
        evidence: bool = True,
        vote_prior: bool = True,
        prior_step: str = "json",
        vote_weight: float = 1.0,
        max_terms: int | None = None,
    ):
        super().__init__()
        if prior_step not in PRIOR_STEPS:
            raise ValueError(f"prior_step must be one of {', '.join(PRIOR_STEPS)}, not "
                             f"{prior_step!r}")
        self.rounds = rounds
        self.samples = samples
        self.patience = patience
        self.min_gain = min_gain
        self.elicit_prior = elicit_prior
        self.fit_constants = fit_constants
        self.lift_constants = lift_constants
        self.select_terms = select_terms
        self.seed = seed
        self.examples = examples
        self.evidence = evidence
        self.vote_prior = vote_prior
        self.prior_step = prior_step
        self.vote_weight = vote_weight
        self.max_terms = max_terms
        #: Worked examples (``corpus.examples.PriorLibrary``) set by a compile by retrieval;
        #: saved in the program file. None: the prior step works from the card alone.
        self.library_ = None
        # Caps on reply length keep a small local model from rambling (about 6 tokens/s on
        # 2 cores, and a 1.5B model loops without a frequency penalty); JSONAdapter repairs a
        # reply cut off at the cap, and the writer's cap leaves room for about 40 lines.
        self.analyze = dspy.Predict(AnalyzeAttributes, max_tokens=ANALYSIS_MAX_TOKENS,
                                    frequency_penalty=0.5)
        self.elicit = dspy.Predict(ElicitPrior, max_tokens=PRIOR_MAX_TOKENS)
        self.write = dspy.Predict(WriteScoringFunction, max_tokens=CODE_MAX_TOKENS)

    def active_predictors(self) -> list[str]:
        """The predictors a run calls: ``rounds=0`` writes nothing, so only the prior step."""
        names = ["elicit"] if self.elicit_prior else []
        return names + (["analyze", "write"] if self.rounds else [])

    def lm_calls_per_run(self) -> int:
        """The most LM calls one task can take (for cost estimates)."""
        return self.rounds * self.samples + int(self.rounds > 0) + int(self.elicit_prior)

    def forward(self, description: str, schema: str, profile: str, fit_rows,
                prior: Prior | None = None, prior_schema: str | None = None,
                card: dict | None = None) -> dspy.Prediction:
        library = self.library_ if card else None
        # A table of the library never learns from itself (a compile's own tables).
        own = card.get("name") if card else None
        with track_usage() as usage, recording_calls() as record:
            elicited, scores = prior is None and self.elicit_prior, None
            if elicited:
                # The prior step reads the card's text (no fit-row ranges where the card gives a
                # meaning), so its reply is the same for every fit size and seed of a table.
                text = prior_schema or schema
                evidence = (library.evidence(card, exclude_table=own)
                            if library is not None and self.evidence else {})
                answers = (self._ask(description, text, fit_rows.attributes, card, evidence)
                           if self.prior_step == "questions" else _NO_LOGPROBS)
                if answers is _NO_LOGPROBS:
                    demos = (library.demos(description, text, self.examples, exclude_table=own)
                             if library is not None and self.examples else None)
                    prior = self._elicit(description, with_evidence(text, evidence),
                                         fit_rows.attributes, demos)
                elif answers:
                    prior = prior_from_answers(answers)
                    scores = {a.attribute: a.score for a in answers}
            alternatives = {}
            if library is not None and (self.vote_prior or self.vote_weight):
                vote = library.attributes.vote_scores(card, exclude_table=own)
                voted = library.attributes.prior_from_vote(vote)
                if prior is None:
                    prior = voted  # the LM gave none: the neighbours' prior stands alone
                elif voted is not None:
                    if elicited and self.vote_weight:  # a user's own prior is not mixed
                        prior = combined_prior(
                            scores or prior_scores(prior), vote, self.vote_weight,
                            origin=f"{prior.origin} + retrieved",
                            shapes={a: e.shape for a, e in prior.attributes.items()})
                    if self.vote_prior:
                        alternatives["retrieved"] = voted
            # rounds=0 writes nothing: the prior and the statistical candidates alone.
            analysis = self._analyze(description, schema, profile) if self.rounds else ""
            judge = Judge(fit_rows, prior, seed=self.seed, min_gain=self.min_gain,
                          fit_constants=self.fit_constants, lift_constants=self.lift_constants,
                          select_terms=self.select_terms, alternatives=alternatives,
                          max_terms=self.max_terms)
            context = writer_context(analysis, prior, fit_rows.attributes)
            attempts: list[Attempt] = []
            best, stale = -2.0, 0
            for round_number in range(1, self.rounds + 1):
                improved = False
                for sample in range(1, self.samples + 1):
                    attempt = self._attempt(len(attempts) + 1, sample, schema, context, attempts,
                                            judge)
                    attempts.append(attempt)
                    if attempt.ok and attempt.cv_rho > best:
                        best, improved = attempt.cv_rho, True
                stale = 0 if improved else stale + 1
                if stale >= self.patience and round_number < self.rounds:
                    break
        return program_prediction(judge, judge.winner(), analysis=analysis, prior=prior,
                                  attempts=attempts, usage=usage, record=record)

    # -- steps -------------------------------------------------------------------------------
    def _elicit(self, description: str, schema: str, attributes, demos=None) -> Prior | None:
        try:
            extra = {"demos": demos} if demos else {}
            beliefs = self.elicit(description=description, attribute_schema=schema,
                                  **extra).beliefs
        except Exception as exc:  # an unparseable reply must not end the task
            if is_fatal_lm_error(exc):
                raise
            return None
        return prior_from_beliefs(beliefs, attributes)

    def _ask(self, description: str, schema: str, attributes, card: dict | None,
             evidence: dict[str, str]):
        card = card or {}
        try:
            return ask_attributes(description, schema, attributes,
                                  target=card.get("target") or "the judgment",
                                  meanings=card.get("attributes"), evidence=evidence)
        except NoLogprobsError as exc:
            log.warning("%s; asking for a JSON prior instead", exc)
            return _NO_LOGPROBS
        except Exception as exc:  # a failed question must not end the task
            if is_fatal_lm_error(exc):
                raise
            return None

    def _analyze(self, description: str, schema: str, profile: str) -> str:
        try:
            return self.analyze(
                description=description, attribute_schema=schema, profile=profile
            ).analysis
        except Exception as exc:  # an unparseable reply must not end the task
            if is_fatal_lm_error(exc):
                raise  # a bad key or an unknown model: every later call would fail the same way
            return f"(no analysis: the language model's reply could not be used: {_short(exc)})"

    def _attempt(self, number, sample, schema, context, attempts, judge) -> Attempt:
        earlier = {a.raw_source for a in attempts if a.raw_source}
        # The first sample of a round uses the LM's own temperature; later ones sample, each
        # with its own seed and rollout id (DSPy's cache would otherwise return the same reply).
        config: dict = ({} if sample == 1 else
                        {"rollout_id": number, "temperature": SAMPLE_TEMPERATURE, "seed": number})
        for _ in range(2):
            marker = history_marker(self.write)
            try:
                reply = self.write(
                    attribute_schema=schema,
                    analysis=context,
                    previous_attempts=render_attempts(attempts, judge),
                    **({"config": config} if config else {}),
                )
                source = code_text(reply.code)
            except Exception as exc:
                if is_fatal_lm_error(exc):
                    raise  # a bad key or an unknown model: every later call would fail the same
                return Attempt(number, "", False,
                               feedback=reply_feedback(exc, reply_since(self.write, marker)))
            if source.strip() not in earlier or config.get("rollout_id") == -number:
                break
            # The same code again (temperature 0 tends to repeat itself whatever the feedback
            # says): ask once more, sampling, instead of spending the attempt on known code.
            config = {"rollout_id": -number, "temperature": SAMPLE_TEMPERATURE, "seed": number}
        if was_cut_off(reply_since(self.write, marker)):
            # JSONAdapter repairs the cut JSON, so the code may even parse: it is still incomplete.
            return Attempt(number, "", False, feedback=reply_feedback(None, None, True))
        if not source.strip():
            return Attempt(number, "", False,
                           feedback="The code field was empty: write def score(attrs): ...")
        repeated = next((a for a in attempts if a.raw_source == source.strip()), None)
        if repeated is not None:  # judged already: the same candidate twice would only crowd
            return Attempt(number, repeated.source, False, raw_source=source.strip(),
                           feedback=f"The same code as attempt {repeated.round} again, even when "
                           "sampled; write a different form.")
        attempt = judge.judge(number, source)
        attempt.raw_source = source.strip()
        return attempt


def prior_from_beliefs(beliefs, attributes) -> Prior | None:
    """The model's typed answer as a ``Prior`` over the table's attributes (names matched loosely;
    unknown names dropped; None when nothing usable came back)."""
    entries = {}
    for belief in beliefs or []:
        name = match_name(getattr(belief, "attribute", ""), attributes)
        if name is None or name in entries:
            continue
        entries[name] = AttributePrior(belief.direction, int(belief.importance),
                                       getattr(belief, "shape", "linear") or "linear")
    return Prior(entries, origin="elicited") if entries else None


def writer_context(analysis: str, prior: Prior | None, attributes) -> str:
    """The analysis and the prior, as the writer reads them (one input field, so program files
    saved before the prior existed keep loading)."""
    if prior is None:
        return analysis
    return (f"{analysis}\n\nPrior ({prior.origin}; direction, importance 1-3, shape):\n"
            + prior.render(attributes))


def render_attempts(attempts: list[Attempt], judge=None, keep: int = 2) -> str:
    """For the writer: the ``keep`` best attempts so far (by CV rho) and the latest one when it
    is not among them, each with code, score and feedback; then the bar to beat."""
    if not attempts:
        return ""
    ranked = sorted((a for a in attempts if a.ok), key=lambda a: -a.cv_rho)[:keep]
    if attempts[-1] not in ranked:
        ranked.append(attempts[-1])
    blocks = []
    for attempt in ranked:
        score = f"cross-validated rho {attempt.cv_rho:.3f}" if attempt.ok else "failed"
        code = attempt.source.strip() or "(no code)"
        blocks.append(f"Attempt {attempt.round} ({score}):\n```python\n{code}\n```\n"
                      f"Feedback: {attempt.feedback}")
    if judge is not None:
        bar = judge.statistical_choice
        blocks.append(f"To beat: {bar.name}, cross-validated rho {bar.cv_rho:.3f}. Change the "
                      "form (a saturating, threshold or interaction term) rather than the numbers: "
                      "the numbers are fitted for you.")
    return "\n\n".join(blocks)


def code_text(code) -> str:
    """The source inside a ``dspy.Code`` (or a plain string), without markdown fences."""
    text = getattr(code, "code", code)
    if not isinstance(text, str):
        return ""
    text = text.strip()
    if text.startswith("```"):
        lines = text.splitlines()[1:]
        if lines and lines[-1].strip().startswith("```"):
            lines = lines[:-1]
        text = "\n".join(lines)
    return text


def reply_feedback(exc: BaseException | None, entry: dict | None, cut_off: bool = False) -> str:
    """Feedback for a write step whose reply gave no code: specific, so the next attempt can fix
    it (a reply cut off at the token limit needs a shorter function, not a different one)."""
    from dspy.utils.exceptions import LMError

    if cut_off or was_cut_off(entry):
        return ("The reply was cut off at the length limit before the function was complete. "
                "Write a shorter function: fewer lines, no comments or docstring.")
    if was_empty(entry):
        return ("The reply was empty. Answer with a JSON object whose field code holds the "
                "complete Python source of def score(attrs).")
    if isinstance(exc, LMError):  # a timeout, 429 or server error that outlasted DSPy's retries
        return (f"The language model call failed ({type(exc).__name__}: "
                f"{first_line(getattr(exc, 'message', '') or str(exc))}); nothing was written. "
                "Write the function again.")
    return (f"The reply could not be read ({_short(exc)}). Answer with one JSON object whose "
            "field code holds the complete Python source of def score(attrs), nothing else.")


def _short(exc: BaseException, limit: int = 200) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= limit else text[:limit] + "..."
