"""Loading tables: built-ins unchanged, roles inferred out loud, every bad table one clear error."""

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import (
    Dataset,
    DatasetError,
    builtin_info,
    builtin_names,
    load_dataset,
)
from rewardsmith.data.catalog import BUILTIN_DIR, CATALOG


def table(n=8, **columns):
    """A small valid table: ids, two attributes that track the target, a comment."""
    frame = pd.DataFrame({
        "item_id": [f"it{i}" for i in range(n)],
        "a": np.arange(n, dtype=float),
        "b": np.arange(n, dtype=float)[::-1] % 3,
        "human_score": np.arange(n, dtype=float) * 0.5,
        "comment": ["fine"] * n,
    })
    for name, values in columns.items():
        frame[name] = values
    return frame


def csv(tmp_path, frame, name="judgments.csv", **kwargs):
    path = tmp_path / name
    frame.to_csv(path, index=False, **kwargs)
    return path


def error_of(*args, **kwargs) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message, "a DatasetError must be one line"
    return message


# -- built-ins -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "rows", "heldout", "n_attributes"), [
    ("seed", 17, 7, 4),
    ("aadb", 9831, 1000, 11),
    ("spaq", 11125, 2225, 5),
    ("wine_quality", 6497, 1299, 11),
    ("fed_turn", 375, 75, 8),
])
def test_builtin_loads_with_documented_row_counts(name, rows, heldout, n_attributes):
    ds = load_dataset(name)
    assert len(ds.frame) == rows
    assert len(ds.heldout_frame()) == heldout
    assert len(ds.fit_frame()) == rows - heldout
    assert len(ds.attributes) == n_attributes
    assert ds.target == "human_score"
    assert ds.has_official_split
    assert ds.source == f"builtin:{name}"
    assert ds.description and ds.license


def test_builtin_names_are_the_five_shipped_datasets():
    assert builtin_names() == ["seed", "aadb", "spaq", "wine_quality", "fed_turn"]


def test_seed_train_file_becomes_fit_rows_and_test_file_heldout_rows():
    ds = load_dataset("seed")
    train = pd.read_csv(BUILTIN_DIR / "seed" / "train.csv")
    test = pd.read_csv(BUILTIN_DIR / "seed" / "test.csv")
    assert ds.fit_frame()["filename"].tolist() == train["filename"].tolist()
    assert ds.heldout_frame()["filename"].tolist() == test["filename"].tolist()
    assert ds.id_column == "filename"


@pytest.mark.parametrize("name", ["aadb", "spaq", "wine_quality", "fed_turn"])
def test_builtin_values_are_the_csv_values_unchanged(name):
    ds = load_dataset(name)
    raw = pd.read_csv(BUILTIN_DIR / name / f"{name}.csv")
    for column in (*ds.attributes, ds.target):
        np.testing.assert_array_equal(ds.frame[column].to_numpy(), raw[column].to_numpy(float))
    assert ds.frame[ds.id_column].tolist() == raw[ds.id_column].tolist()


@pytest.mark.parametrize(("name", "item", "column", "value"), [
    ("seed", "a.jpg", "human_score", 9.0),
    ("seed", "2.jpg", "lighting", 3.0),
    ("aadb", "farm1_452_19898743300_201156d984_b.jpg", "rule_of_thirds", 0.8),
    ("spaq", "00002.jpg", "sharpness", 47.5),
    ("wine_quality", "red_2", "volatile_acidity", 0.88),
    ("fed_turn", "fed_001", "human_score", 3.4),
])
def test_builtin_spot_checked_cells(name, item, column, value):
    ds = load_dataset(name)
    row = ds.frame[ds.frame[ds.id_column] == item]
    assert row[column].item() == value


@pytest.mark.parametrize("name", list(CATALOG))
def test_builtin_attributes_are_exactly_the_catalog_notes(name):
    ds = load_dataset(name)
    assert list(ds.attributes) == list(CATALOG[name].attributes)
    assert all(ds.attribute_notes[a] for a in ds.attributes)


@pytest.mark.parametrize(("name", "text_column"), [
    ("seed", "comment"), ("wine_quality", "wine_type"), ("fed_turn", "system"),
])
def test_builtin_text_columns_are_ignored_and_said_in_notes(name, text_column):
    ds = load_dataset(name)
    assert text_column not in ds.attributes
    assert f"ignored non-numeric column {text_column!r}" in ds.notes


def test_builtin_load_returns_a_frame_the_caller_may_change():
    first = load_dataset("seed")
    first.frame.loc[0, "composition"] = -99.0
    assert load_dataset("seed").frame.loc[0, "composition"] != -99.0


def test_builtin_info_gives_rows_split_and_license_per_dataset():
    info = {row["name"]: row for row in builtin_info()}
    assert set(info) == set(builtin_names())
    assert info["aadb"]["rows"] == 9831 and info["aadb"]["n_attributes"] == 11
    assert info["aadb"]["split"] == "official train/val/test"
    assert info["spaq"]["split"] == "random 80/20 seed 0"
    assert info["seed"]["license"] == "MIT"
    assert info["fed_turn"]["attributes"][0] == "interesting"
    assert all(row["description"] for row in info.values())


def test_unknown_name_lists_the_builtin_names():
    message = error_of("aadbb")
    assert "'aadbb'" in message and "seed, aadb, spaq, wine_quality, fed_turn" in message


# -- files ---------------------------------------------------------------------------------------

def test_missing_file_names_the_path(tmp_path):
    message = error_of(tmp_path / "nope.csv")
    assert "file not found" in message and "nope.csv" in message


def test_missing_file_given_as_text_names_the_path(tmp_path):
    assert "file not found" in error_of(str(tmp_path / "nope.csv"))


def test_directory_is_refused_with_a_hint(tmp_path):
    assert "is a directory" in error_of(tmp_path)


def test_unsupported_extension_names_it_and_the_supported_ones(tmp_path):
    path = tmp_path / "table.xlsx"
    path.write_text("x")
    message = error_of(path)
    assert "'.xlsx'" in message and ".csv" in message and ".parquet" in message


def test_unparseable_csv_is_one_line_naming_the_file(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("a,human_score\n1,2\n3,4,5,6\n")
    message = error_of(path)
    assert "cannot parse" in message and "broken.csv" in message


def test_non_utf8_csv_says_to_save_as_utf8(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,a,human_score\ncaf\xe9,1,2\n".encode("latin-1"))
    message = error_of(path)
    assert "UTF-8" in message and "latin.csv" in message


def test_empty_file_is_an_empty_table_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    assert "empty" in error_of(path)


def test_header_only_csv_is_an_empty_table_error(tmp_path):
    path = tmp_path / "header.csv"
    path.write_text("item_id,a,human_score\n")
    assert "table is empty (0 rows" in error_of(path)


def test_dataframe_without_columns_is_an_empty_table_error():
    assert "table is empty" in error_of(pd.DataFrame())


def test_csv_round_trip_names_dataset_after_the_file(tmp_path):
    ds = load_dataset(csv(tmp_path, table()))
    assert ds.name == "judgments" and ds.source.endswith("judgments.csv")
    assert ds.attributes == ("a", "b") and ds.id_column == "item_id"


def test_tsv_is_read_with_tabs(tmp_path):
    ds = load_dataset(csv(tmp_path, table(), name="t.tsv", sep="\t"))
    assert ds.attributes == ("a", "b") and len(ds.frame) == 8


def test_gzipped_csv_is_read(tmp_path):
    ds = load_dataset(csv(tmp_path, table(), name="t.csv.gz"))
    assert ds.name == "t" and len(ds.frame) == 8


def test_parquet_round_trip_keeps_values(tmp_path):
    pytest.importorskip("pyarrow")
    frame = table()
    path = tmp_path / "judgments.parquet"
    frame.to_parquet(path)
    ds = load_dataset(path)
    np.testing.assert_array_equal(ds.frame["a"].to_numpy(), frame["a"].to_numpy())
    assert ds.attributes == ("a", "b") and ds.target == "human_score"


def test_parquet_without_pyarrow_says_how_to_install(tmp_path, monkeypatch):
    path = tmp_path / "t.pq"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # makes `import pyarrow` fail
    assert "pip install 'rewardsmith[parquet]'" in error_of(path)


def test_corrupt_parquet_is_one_line_naming_the_file(tmp_path):
    pytest.importorskip("pyarrow")
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"this is not parquet")
    message = error_of(path)
    assert "cannot read" in message and "bad.parquet" in message


def test_unsupported_source_type_says_what_is_accepted():
    assert "built-in name" in error_of(42)


# -- target --------------------------------------------------------------------------------------

def test_target_human_score_is_inferred_and_noted():
    ds = load_dataset(table())
    assert ds.target == "human_score"
    assert "inferred target column 'human_score'" in ds.notes


def test_target_named_rating_is_inferred_when_it_is_the_only_candidate():
    ds = load_dataset(table().rename(columns={"human_score": "Rating"}))
    assert ds.target == "Rating" and "inferred target column 'Rating'" in ds.notes


def test_two_candidate_targets_ask_for_target():
    frame = table().rename(columns={"human_score": "score"})
    frame["label"] = frame["score"]
    message = error_of(frame)
    assert "several possible target columns (score, label)" in message
    assert "target=" in message


def test_no_target_column_says_pass_target_and_lists_columns():
    message = error_of(table().rename(columns={"human_score": "overall"}))
    assert "no target column" in message and "--target" in message and "overall" in message


def test_missing_target_column_names_the_column_and_lists_available():
    message = error_of(table(), target="quality")
    assert "target column 'quality' not found" in message
    assert "item_id, a, b, human_score, comment" in message


def test_non_numeric_target_names_the_first_bad_value_and_row():
    frame = table()
    frame["human_score"] = frame["human_score"].astype(object)
    frame.loc[3, "human_score"] = "great"
    message = error_of(frame)
    assert "target column 'human_score' is not numeric" in message
    assert "'great'" in message and "item_id 'it3'" in message


def test_constant_target_is_refused():
    message = error_of(table(human_score=[3.0] * 8))
    assert "target column 'human_score' is constant" in message


def test_target_is_float64():
    assert load_dataset(table(human_score=list(range(8)))).frame["human_score"].dtype == np.float64


# -- attributes ----------------------------------------------------------------------------------

def test_attributes_are_every_numeric_column_but_id_target_and_split():
    frame = table(split=["train"] * 6 + ["test"] * 2)
    ds = load_dataset(frame)
    assert ds.attributes == ("a", "b")
    assert ("ignored text column 'comment' (1 distinct value; first value 'fine'); pass "
            "attributes=[...] to use it") in ds.notes


def test_attributes_are_converted_to_float64():
    ds = load_dataset(table(a=list(range(8))))
    assert all(ds.frame[a].dtype == np.float64 for a in ds.attributes)


def test_bool_columns_count_as_numeric_attributes():
    ds = load_dataset(table(flag=[True, False] * 4))
    assert "flag" in ds.attributes
    assert ds.frame["flag"].tolist() == [1.0, 0.0] * 4


def test_missing_attribute_column_names_it():
    message = error_of(table(), attributes=["a", "brightness"])
    assert "attribute column 'brightness' not found" in message


def test_named_text_attribute_with_one_level_is_kept_with_a_warning():
    with pytest.warns(UserWarning, match="'comment' is constant"):
        ds = load_dataset(table(), attributes=["a", "comment"])
    assert ds.levels == {"comment": ("fine",)} and ds.features == ("a",)


def test_named_text_attribute_with_too_many_levels_names_column_count_and_fix():
    message = error_of(table(n=60, comment=[f"c{i}" for i in range(60)]),
                       attributes=["a", "comment"])
    assert "'comment' holds text with 60 distinct values" in message
    assert "at most 50 levels" in message and "leave it out of attributes" in message


def test_numbers_stored_as_text_are_accepted_as_attributes():
    frame = table(a=[str(i) for i in range(8)])
    ds = load_dataset(frame, attributes=["a", "b"])
    assert ds.frame["a"].tolist() == [float(i) for i in range(8)]


def test_no_numeric_attribute_columns_is_an_error():
    frame = table().drop(columns=["a", "b"])
    assert "no attribute columns (numbers, or text with at most 20 distinct values)" in \
        error_of(frame)


def test_target_listed_as_attribute_is_refused():
    message = error_of(table(), attributes=["a", "human_score"])
    assert "'human_score'" in message and "never an input" in message


def test_attribute_listed_twice_is_refused():
    assert "'a' is listed more than once" in error_of(table(), attributes=["a", "a"])


def test_empty_attribute_list_is_refused():
    assert "empty list" in error_of(table(), attributes=[])


def test_given_attributes_keep_their_order():
    assert load_dataset(table(), attributes=["b", "a"]).attributes == ("b", "a")


def test_constant_attribute_warns_and_is_kept():
    with pytest.warns(UserWarning, match="attribute 'c' is constant"):
        ds = load_dataset(table(c=[1.0] * 8))
    assert "c" in ds.attributes


def test_saved_pandas_index_column_is_not_an_attribute(tmp_path):
    path = tmp_path / "with_index.csv"
    table().to_csv(path)  # index=True writes an unnamed first column
    ds = load_dataset(path)
    assert ds.attributes == ("a", "b")
    assert any("Unnamed: 0" in note for note in ds.notes)


# -- ids -----------------------------------------------------------------------------------------

def test_id_column_is_inferred_by_name_and_noted():
    ds = load_dataset(table())
    assert ds.id_column == "item_id" and "inferred id column 'item_id'" in ds.notes


def test_numeric_id_column_is_an_id_not_an_attribute():
    frame = table().drop(columns=["item_id"])
    frame.insert(0, "id", range(100, 108))
    ds = load_dataset(frame)
    assert ds.id_column == "id" and "id" not in ds.attributes


def test_row_id_is_added_when_no_id_column_exists():
    ds = load_dataset(table().drop(columns=["item_id"]))
    assert ds.id_column == "row_id"
    assert ds.frame["row_id"].tolist() == list(range(8))
    assert any("added 'row_id'" in note for note in ds.notes)


def test_column_named_as_attribute_is_not_taken_for_the_id():
    frame = table().drop(columns=["item_id"])
    frame["row_id"] = np.arange(8) % 4
    ds = load_dataset(frame, attributes=["a", "row_id"])
    assert ds.id_column == "row_id_1" and "row_id" in ds.attributes
    assert ds.frame["row_id_1"].tolist() == list(range(8))


def test_non_unique_user_id_is_neither_id_nor_attribute():
    frame = table().drop(columns=["item_id"])
    frame["rater_id"] = [1, 2] * 4
    ds = load_dataset(frame)
    assert ds.id_column == "row_id" and "rater_id" not in ds.attributes


def test_unique_text_name_column_is_taken_as_id():
    frame = table().drop(columns=["item_id"])
    frame["photo_id"] = [f"p{i}" for i in range(8)]
    assert load_dataset(frame).id_column == "photo_id"


def test_duplicated_ids_name_the_id_and_rows():
    frame = table()
    frame.loc[5, "item_id"] = "it2"
    message = error_of(frame)
    assert "duplicated id 'it2'" in message and "[2, 5]" in message and "item_id" in message


def test_given_id_column_missing_names_it():
    assert "id column 'photo' not found" in error_of(table(), id_column="photo")


def test_missing_id_value_is_invalid_when_strict():
    frame = table()
    frame.loc[4, "item_id"] = None
    message = error_of(frame, on_invalid="error")
    assert "'item_id' has a missing id in 1 row" in message


def test_missing_id_value_gets_the_row_number_by_default_and_a_note():
    frame = table()
    frame.loc[4, "item_id"] = None
    ds = load_dataset(frame)
    assert ds.frame["item_id"].tolist()[4] == "row 4" and len(ds.frame) == 8
    assert any("with no id the id 'row N'" in note for note in ds.notes)


# -- NaN / inf -----------------------------------------------------------------------------------

def test_nan_in_attribute_when_strict_names_column_count_first_row_and_fix():
    frame = table()
    frame.loc[[2, 6], "b"] = np.nan
    message = error_of(frame, on_invalid="error")
    assert "column 'b' has missing or infinite values in 2 rows" in message
    assert "item_id 'it2'" in message and "on_invalid='drop'" in message
    assert "--on-invalid drop" in message and "--on-invalid keep" in message


def test_rows_with_a_missing_attribute_are_kept_by_default_with_a_note():
    frame = table()
    frame.loc[[2, 6], "b"] = np.nan
    ds = load_dataset(frame)
    assert len(ds.frame) == 8 and ds.gaps() == ("b",)
    assert any(note.startswith("kept 2 rows with no value in 'b'") for note in ds.notes)


def test_rows_with_a_missing_target_are_dropped_by_default_with_a_note():
    frame = table(n=10)
    frame.loc[[3, 5], "human_score"] = np.nan
    ds = load_dataset(frame)
    assert len(ds.frame) == 8 and "it3" not in ds.frame["item_id"].tolist()
    assert "dropped 2 rows with no value (or an infinite one) in the target 'human_score'" in \
        ds.notes


def test_inf_in_an_attribute_is_an_error_even_when_keeping_gaps():
    frame = table()
    frame.loc[1, "a"] = np.inf
    message = error_of(frame)
    assert "'a' has infinite values in 1 row" in message and "--on-invalid drop" in message


def test_inf_in_target_is_invalid_when_strict():
    frame = table()
    frame.loc[0, "human_score"] = -np.inf
    assert "column 'human_score' has missing or infinite values in 1 row" in \
        error_of(frame, on_invalid="error")


def test_nan_without_id_column_names_the_row_number():
    frame = table().drop(columns=["item_id"])
    frame.loc[3, "a"] = np.nan
    assert "row_id 3 (row number from 0)" in error_of(frame, on_invalid="error")


def test_drop_mode_drops_rows_warns_with_the_count_and_notes_it():
    frame = table(n=10)
    frame.loc[1, "a"] = np.nan
    frame.loc[[4, 7], "human_score"] = np.inf
    with pytest.warns(UserWarning, match="dropped 3 of 10 rows"):
        ds = load_dataset(frame, on_invalid="drop")
    assert len(ds.frame) == 7
    assert "it1" not in ds.frame["item_id"].tolist()
    assert ds.frame.index.tolist() == list(range(7))
    assert "dropped 1 row with a missing or infinite value in 'a'" in ds.notes
    assert "dropped 2 rows with a missing or infinite value in 'human_score'" in ds.notes


def test_drop_mode_leaving_too_few_rows_says_rows_were_dropped():
    frame = table(n=6)
    frame.loc[[0, 1], "a"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        message = error_of(frame, on_invalid="drop")
    assert "only 4 rows after dropping invalid rows" in message


def test_nan_in_ignored_column_is_not_a_problem():
    frame = table()
    frame.loc[0, "comment"] = None
    assert len(load_dataset(frame).frame) == 8


def test_on_invalid_must_be_keep_error_or_drop():
    assert "on_invalid must be 'keep', 'error' or 'drop'" in error_of(table(), on_invalid="skip")


# -- rows, columns, splits -----------------------------------------------------------------------

def test_too_few_rows_says_how_many_are_needed():
    message = error_of(table(n=4))
    assert "only 4 rows" in message and "at least 5" in message


def test_min_rows_can_be_lowered():
    assert len(load_dataset(table(n=3), min_rows=3).frame) == 3


def test_duplicated_column_names_are_named():
    frame = pd.concat([table(), table()[["a"]]], axis=1)
    assert "duplicated column names: 'a'" in error_of(frame)


def test_split_values_are_normalized_case_insensitively():
    values = ["Train", "fit", "VAL", "validation", "dev", " test ", "holdout", "held_out"]
    ds = load_dataset(table(split=values))
    assert ds.frame["split"].tolist() == ["fit"] * 5 + ["heldout"] * 3
    assert ds.split_column == "split" and ds.has_official_split


def test_unknown_split_values_name_the_column_values_and_allowed_ones():
    message = error_of(table(split=["train"] * 6 + ["later", None]))
    assert "split column 'split' has unknown values 'later', '(empty)' in 2 rows" in message
    assert "train" in message and "holdout" in message


def test_rownames_of_a_table_written_by_r_is_the_id_not_an_attribute():
    frame = table().drop(columns="item_id")
    frame.insert(0, "rownames", [f"car {i}" for i in range(8)])
    ds = load_dataset(frame)
    assert ds.id_column == "rownames" and "rownames" not in ds.attributes
    numbered = table().drop(columns="item_id")
    numbered.insert(0, "rownames", np.arange(1, 9))
    assert load_dataset(numbered).attributes == ("a", "b")


def test_split_marking_every_row_held_out_is_refused_at_load():
    # Found by the fuzz test: it loaded, and the first fit stopped with "no fit rows".
    message = error_of(table(split=["test"] * 8))
    assert "split column 'split' marks no row for fitting" in message
    assert "mark some rows 'train'" in message


def test_split_whose_only_fit_row_is_dropped_is_refused_at_load():
    frame = table(split=["train"] + ["test"] * 7)
    frame.loc[0, "human_score"] = np.nan  # a row without a target is dropped
    assert "marks no row for fitting" in error_of(frame)


def test_given_split_column_is_used_and_must_exist():
    ds = load_dataset(table(part=["train"] * 6 + ["test"] * 2), split_column="part")
    assert len(ds.heldout_frame()) == 2 and "part" not in ds.attributes
    assert "split column 'fold' not found" in error_of(table(), split_column="fold")


def test_table_without_split_has_no_heldout_frame():
    ds = load_dataset(table())
    assert not ds.has_official_split
    assert len(ds.fit_frame()) == 8 and len(ds.heldout_frame()) == 0


# -- the Dataset object --------------------------------------------------------------------------

def test_dataframe_source_is_not_changed_by_loading():
    frame = table(a=list(range(8)))
    before = frame.copy()
    load_dataset(frame)
    pd.testing.assert_frame_equal(frame, before)


def test_named_index_becomes_a_column():
    ds = load_dataset(table().set_index("item_id"))
    assert ds.id_column == "item_id" and ds.frame["item_id"].tolist()[0] == "it0"


def test_name_and_description_can_be_given():
    ds = load_dataset(table(), name="mine", description="Photos judged by me.")
    assert ds.name == "mine" and ds.description == "Photos judged by me."
    assert load_dataset(table()).name == "dataframe"


def test_dataset_repr_shows_shape_not_values():
    text = repr(load_dataset(table()))
    assert "8 rows" in text and "it3" not in text


def test_schema_text_lists_attributes_with_notes_and_says_target_is_never_an_input():
    ds = load_dataset("seed")
    text = ds.schema_text()
    assert "never an input" in text
    assert "- composition: the author's score for composition, integer 1..10 (range 4..9)" in text


def test_schema_text_ranges_come_from_fit_rows_only():
    frame = table(split=["train"] * 6 + ["test"] * 2)
    frame.loc[7, "a"] = 1000.0  # a held-out row
    ds = load_dataset(frame)
    assert "1000" not in ds.schema_text()
    assert "- a (range 0..5)" in ds.schema_text()


def test_dataset_is_a_frozen_dataclass():
    ds = load_dataset(table())
    assert isinstance(ds, Dataset)
    with pytest.raises(AttributeError):
        ds.target = "a"
