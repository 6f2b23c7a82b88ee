"""The options the ``rewardsmith`` subcommands share, and the parsing of their values.

Every command module (``cli.py``, ``bench/cli.py``, ``scoring/cli.py``) imports from here, so no
command module imports another and none reaches for another's private names.
"""

from __future__ import annotations

import argparse
import logging

log = logging.getLogger("rewardsmith.cli")


class BadArgument(ValueError):
    """A command-line value that cannot be used; printed as one ``error: ...`` line."""


def add_lm_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--lm", default=None, metavar="SPEC",
                   help="language model: 'local' (embedded, default) or any DSPy model string "
                   "such as openai/gpt-4o-mini, anthropic/..., ollama_chat/...; also "
                   "$REWARDSMITH_LM")
    p.add_argument("--api-base", default=None, metavar="URL",
                   help="an OpenAI-compatible server (llama.cpp, vLLM, Ollama's /v1); also "
                   "$REWARDSMITH_API_BASE")
    p.add_argument("--temperature", type=float, default=0.0, help="sampling temperature (0)")
    p.add_argument("--no-cache", action="store_true",
                   help="do not reuse cached LM replies (DSPy's disk cache)")
    p.add_argument("--lm-timeout", type=positive_float, default=None, metavar="SECONDS",
                   help="seconds to wait for one reply before retrying (default 600)")
    p.add_argument("--lm-retries", type=non_negative_int, default=3, metavar="N",
                   help="times to retry a call that timed out, could not connect, or got HTTP "
                   "429 or 5xx, waiting 1, 2, 4 ... s or as Retry-After says (default 3: a "
                   "server that is not there fails the first call after about 7 s)")


def add_run_dir_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", metavar="DIR",
                   help="keep this run's checkpoints (every finished LM call, the settings, the "
                   "result) in DIR, a new or empty directory")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in --run-dir DIR: the same command and "
                   "settings, without repeating the LM calls it finished")


def add_data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, metavar="NAME_OR_PATH",
                   help="a built-in dataset name (see `rewardsmith datasets`), a corpus table "
                   "(PACKAGE/ITEM, see `rewardsmith corpus`) or a .csv/.parquet file")
    p.add_argument("--card", metavar="DATAPACKAGE.json",
                   help="the table's card: a Frictionless datapackage.json whose schema.fields "
                   "describe the columns and whose resource's \"rewardsmith\": {\"target\": ..., "
                   "\"better\": \"higher\"|\"lower\"} names the target; a text field with "
                   "\"categories\": [...] in order and \"categoriesOrdered\": true is weighed "
                   "as its place in that order (default: NAME.datapackage.json or "
                   "datapackage.json beside the file, if there is one)")
    p.add_argument("--target", help="target column (default: human_score, if present)")
    p.add_argument("--id-column", help="id column (default: inferred, or row numbers)")
    p.add_argument("--attributes", help="comma-separated attribute columns (default: every "
                   "numeric or boolean column, and every text column with at most 20 distinct "
                   "values, except id, target and split)")
    p.add_argument("--split-column", help="column with train/test values (default: 'split' if "
                   "present, else a seeded random 80/20 cut)")
    p.add_argument("--group-column", help="column naming rows that belong together (a subject "
                   "or rater judged several times): the held-out cut and every cross-validation "
                   "fold keep each group on one side (default: the card's 'group', else an "
                   "inferred id such as 'id' or 'subject_id' whose values repeat, else none)")
    p.add_argument("--on-invalid", choices=("keep", "error", "drop"), default="keep",
                   help="missing values: keep rows with a missing attribute, which the function "
                   "reads as the fit rows' median, and drop rows with no target, with a note "
                   "(keep, the default); stop at the first missing or infinite value (error); "
                   "or drop every row with one, with a warning (drop)")
    p.add_argument("--seed", type=int, default=0, help="seed for random cuts and sub-samples")


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or a positive integer")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be a positive number")
    return value


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def data_names(text: str) -> list[str]:
    """Comma-separated table names; ``corpus:PART`` stands for every corpus table of that part
    (train, validation or unseen)."""
    names = []
    for name in split_list(text):
        if name.startswith("corpus:"):
            from .corpus import tables

            names += [t.key for t in tables(name.split(":", 1)[1])]
        else:
            names.append(name)
    return list(dict.fromkeys(names))


def parse_fit_sizes(text: str) -> list[int | None]:
    sizes = []
    for part in split_list(text):
        if part == "all":
            sizes.append(None)
        elif part.isdigit() and int(part) > 0:
            sizes.append(int(part))
        else:
            raise BadArgument(f"--fit-sizes: {part!r} is not a positive number or 'all'")
    return sizes


def parse_seeds(text: str) -> list[int]:
    try:
        return [int(part) for part in split_list(text)]
    except ValueError:
        raise BadArgument(f"--seeds: {text!r} must be comma-separated integers") from None


def load_data(args):
    """The dataset named by the ``add_data_arguments`` options; its load notes are logged."""
    from .data import load_dataset

    attributes = split_list(args.attributes) if args.attributes else None
    dataset = load_dataset(
        args.data, target=args.target, id_column=args.id_column, attributes=attributes,
        split_column=args.split_column, group_column=getattr(args, "group_column", None),
        on_invalid=args.on_invalid,
        card=getattr(args, "card", None),
    )
    for note in dataset.notes:
        log.info("note: %s", note)
    return dataset


def configure_lm(args):
    """Make the LM of the ``add_lm_arguments`` options and configure DSPy with it."""
    import dspy

    from .lm import make_lm
    from .lm.progress import LMProgress

    if args.no_cache and getattr(args, "run_dir", None):
        raise BadArgument("--no-cache cannot go with --run-dir: resuming a run replays its "
                          "finished LM calls from the cache")
    lm = make_lm(args.lm, api_base=args.api_base, temperature=args.temperature,
                 cache=not args.no_cache, timeout=getattr(args, "lm_timeout", None),
                 num_retries=getattr(args, "lm_retries", 3))
    log.info("language model: %s%s", lm.model, f" at {args.api_base}" if args.api_base else "")
    # JSON replies parse reliably across providers and small local models alike.
    dspy.configure(lm=lm, adapter=dspy.JSONAdapter(), callbacks=[LMProgress()])
    return lm
