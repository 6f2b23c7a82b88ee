"""The `rewardsmith score` subcommand (registered by rewardsmith.cli).

Bad input raises ``DatasetError`` (a missing or non-numeric column, an unknown file type),
``UnsafeCodeError`` (the function) or ``BadArgument``, which the main command prints as one
``error: ...`` line with exit code 2.
"""

from __future__ import annotations

from ..cli_options import BadArgument, positive_int, split_list


def add_score_command(sub) -> None:
    """Register `score` on the CLI's subparsers."""
    p = sub.add_parser(
        "score", help="score every row of a CSV/Parquet file with a scoring function",
        description="Score every row of --data with the function in --function (run in the "
        "sandbox) and write the scores to --out. The file is streamed in chunks, so it may be "
        "larger than memory; the output is written to a temporary file and renamed at the end, "
        "so an error or Ctrl-C leaves none. The function runs once per chunk on whole columns "
        "when it is plain arithmetic, else once per row; the results are the same. No target "
        "column is needed. Formats by extension: .csv, .tsv, .parquet.",
    )
    p.add_argument("--function", required=True, metavar="FUNCTION.py",
                   help="file defining def score(attrs) (e.g. written by `rewardsmith run`)")
    p.add_argument("--data", required=True, metavar="ITEMS.parquet|ITEMS.csv",
                   help="the table to score")
    p.add_argument("--out", required=True, metavar="SCORES.parquet|SCORES.csv",
                   help="where to write the scores")
    p.add_argument("--id-column", metavar="NAME",
                   help="the items' id column: never passed to the function as an attribute, and "
                   "with --only-score written beside the score")
    p.add_argument("--only-score", action="store_true",
                   help="write only the id column (if --id-column) and the score; default: every "
                   "input column plus the score, rows in input order")
    p.add_argument("--score-column", default="score", metavar="NAME",
                   help="name of the score column (default: score)")
    p.add_argument("--attributes", metavar="A,B,C",
                   help="the columns passed to the function (default: the columns it reads as "
                   "attrs['name'] / attrs.get('name'), or every numeric column except the id if "
                   "it loops over attrs); a column it compares with text (attrs['colour'] == "
                   "'red') is read as text, the others as numbers, an empty cell as missing)")
    p.add_argument("--chunk-rows", type=positive_int, default=100_000, metavar="N",
                   help="rows read, scored and written at a time; bounds the memory (default: "
                   "100000)")
    p.add_argument("--workers", type=positive_int, default=None, metavar="N",
                   help="chunks scored at once, each in its own sandbox process (default: one "
                   "per CPU)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(handler=_cmd_score)


def _cmd_score(args) -> int:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise BadArgument(
            "the score command needs pyarrow: pip install 'rewardsmith[parquet]'") from None
    from ..sandbox import ScoringFunction
    from .files import score_file

    function = ScoringFunction.from_file(args.function)  # a bad function fails before reading
    result = score_file(
        function, args.data, args.out, chunk_rows=args.chunk_rows, id_column=args.id_column,
        only_score=args.only_score, score_column=args.score_column,
        attributes=split_list(args.attributes) if args.attributes else None,
        workers=args.workers, progress=not args.no_progress,
    )
    print(result.summary())
    return 0
