"""Tasks and RowTable: fit/held-out cuts, seeded sub-samples, and no held-out row in any prompt."""

import copy
import pickle

import dspy
import numpy as np
import pandas as pd
import pytest

from rewardsmith.data import (
    Dataset,
    DatasetError,
    RowTable,
    load_dataset,
    make_task,
    make_tasks,
    split_frames,
)


def judged(n=50, split=None):
    rng = np.random.default_rng(7)
    frame = pd.DataFrame({
        "item_id": [f"ITEM{i:03d}" for i in range(n)],
        "a": rng.uniform(0, 1, n),
        "b": rng.uniform(0, 1, n),
    })
    frame["human_score"] = frame["a"] + 0.5 * frame["b"]
    if split is not None:
        frame["split"] = split
    return load_dataset(frame, name="judged")


def ids_of(rows):
    return set(rows.ids)


# -- split_frames --------------------------------------------------------------------------------

def test_split_column_decides_fit_and_heldout_rows():
    fit, heldout = split_frames(load_dataset("aadb"))
    assert len(fit) == 8831 and len(heldout) == 1000
    assert set(fit["split"]) == {"fit"} and set(heldout["split"]) == {"heldout"}


def test_random_cut_holds_out_a_fifth_and_is_seeded():
    ds = judged()
    fit, heldout = split_frames(ds, seed=1)
    assert len(heldout) == 10 and len(fit) == 40
    assert set(fit["item_id"]).isdisjoint(heldout["item_id"])
    again, _ = split_frames(ds, seed=1)
    other, _ = split_frames(ds, seed=2)
    assert fit["item_id"].tolist() == again["item_id"].tolist()
    assert fit["item_id"].tolist() != other["item_id"].tolist()


def test_random_cut_keeps_at_least_one_row_on_each_side():
    ds = judged(n=5)
    fit, heldout = split_frames(ds, holdout_fraction=0.01)
    assert len(heldout) == 1 and len(fit) == 4
    fit, heldout = split_frames(ds, holdout_fraction=0.99)
    assert len(fit) == 1 and len(heldout) == 4


def test_random_cut_of_one_row_is_impossible():
    ds = judged()
    one = Dataset(name="one", frame=ds.frame.iloc[:1], id_column="item_id", attributes=("a",),
                  target="human_score", split_column=None)
    with pytest.raises(DatasetError, match="at least 2"):
        split_frames(one)


@pytest.mark.parametrize("fraction", [0, 1, -0.2, 1.5])
def test_holdout_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(DatasetError, match="holdout_fraction"):
        split_frames(judged(), holdout_fraction=fraction)


def test_split_with_only_heldout_rows_has_no_fit_rows():
    # load_dataset refuses such a table; a Dataset changed after loading meets this check.
    ds = judged(split=["train"] * 50)
    ds.frame["split"] = "heldout"
    with pytest.raises(DatasetError, match="no fit rows"):
        split_frames(ds)


def test_split_with_only_fit_rows_gives_empty_heldout():
    fit, heldout = split_frames(judged(split=["train"] * 50))
    assert len(fit) == 50 and len(heldout) == 0


# -- make_task -----------------------------------------------------------------------------------

def test_task_is_an_example_with_the_program_inputs():
    task = make_task(load_dataset("seed"))
    assert isinstance(task, dspy.Example)
    assert set(task.inputs().keys()) == {"description", "schema", "profile", "fit_rows",
                                         "prior_schema", "card"}
    assert task.dataset == "seed" and task.seed == 0 and task.fit_size == 10
    assert isinstance(task.fit_rows, RowTable) and isinstance(task.heldout_rows, RowTable)
    assert len(task.fit_rows) == 10 and len(task.heldout_rows) == 7
    assert task.fit_rows.attributes == ("composition", "subject_focus", "lighting",
                                        "color_palette")


def test_prompt_fields_contain_no_heldout_ids():
    task = make_task(judged(), seed=3)
    prompt = task.description + task.schema + task.profile
    held = ids_of(task.heldout_rows)
    assert held and not any(item in prompt for item in held)
    assert not any(item in str(task) for item in held)


def test_prompt_fields_of_seed_contain_no_heldout_filenames():
    task = make_task(load_dataset("seed"))
    prompt = task.description + task.schema + task.profile
    assert not any(name in prompt for name in task.heldout_rows.ids)


def test_heldout_values_do_not_change_prompt_fields():
    split = ["train"] * 40 + ["test"] * 10
    ds = judged(split=split)
    frame = ds.frame.copy()
    frame.loc[40:, ["a", "human_score"]] = [[777.0, -777.0]] * 10
    changed = load_dataset(frame, name="judged")
    before, after = make_task(ds), make_task(changed)
    for field in ("description", "schema", "profile"):
        assert before[field] == after[field]
    assert "777" not in after.schema + after.profile


def test_fit_and_heldout_rows_do_not_overlap():
    task = make_task(judged(), seed=5)
    assert ids_of(task.fit_rows).isdisjoint(ids_of(task.heldout_rows))
    assert len(task.fit_rows) + len(task.heldout_rows) == 50


def test_fit_size_subsample_is_the_same_for_the_same_seed():
    ds = load_dataset("aadb")
    first = make_task(ds, fit_size=20, seed=4)
    again = make_task(ds, fit_size=20, seed=4)
    assert first.fit_rows.ids == again.fit_rows.ids
    assert first.profile == again.profile
    assert len(first.fit_rows) == 20 and first.fit_size == 20


def test_fit_size_subsample_differs_between_seeds():
    ds = load_dataset("aadb")
    assert make_task(ds, fit_size=20, seed=0).fit_rows.ids != \
        make_task(ds, fit_size=20, seed=1).fit_rows.ids


def test_fit_size_subsample_never_takes_heldout_rows():
    ds = load_dataset("aadb")
    task = make_task(ds, fit_size=50, seed=2)
    assert len(task.heldout_rows) == 1000
    assert ids_of(task.fit_rows).isdisjoint(ids_of(task.heldout_rows))


def test_fit_size_larger_than_the_pool_uses_every_fit_row():
    task = make_task(load_dataset("seed"), fit_size=500)
    assert len(task.fit_rows) == 10 and task.fit_size == 10


def test_fit_size_below_one_is_refused():
    with pytest.raises(DatasetError, match="fit_size"):
        make_task(load_dataset("seed"), fit_size=0)


def test_task_without_description_gets_a_generic_one():
    assert "human_score" in make_task(judged()).description


# -- make_tasks ----------------------------------------------------------------------------------

def test_make_tasks_is_the_cross_product_in_order():
    tasks = make_tasks(["seed", judged()], fit_sizes=(None, 5), seeds=(0, 1))
    assert len(tasks) == 8
    assert [(t.dataset, t.seed) for t in tasks[:4]] == [
        ("seed", 0), ("seed", 1), ("seed", 0), ("seed", 1)]
    assert [t.fit_size for t in tasks[:4]] == [10, 10, 5, 5]
    assert {t.dataset for t in tasks[4:]} == {"judged"}


def test_make_tasks_accepts_a_single_name():
    assert len(make_tasks("seed")) == 1


# -- RowTable ------------------------------------------------------------------------------------

def rows():
    frame = pd.DataFrame({"item": ["x1", "x2", "x3"], "a": [1, 2, 3], "b": [0.5, 0.25, 0.125],
                          "human_score": [7, 8, 9], "other": ["p", "q", "r"]})
    return RowTable(frame, ("a", "b"), "human_score", "item")


def test_rowtable_repr_and_str_reveal_no_values():
    table = rows()
    for text in (repr(table), str(table), f"{table}"):
        assert text == "<RowTable 3 rows x 2 attributes>"


def test_rowtable_arrays_are_float64_in_attribute_order():
    table = rows()
    assert table.X.dtype == np.float64 and table.X.shape == (3, 2)
    assert table.X[:, 1].tolist() == [0.5, 0.25, 0.125]
    assert table.y.dtype == np.float64 and table.y.tolist() == [7.0, 8.0, 9.0]
    assert table.ids == ["x1", "x2", "x3"] and len(table) == 3


def test_rowtable_records_are_attribute_dicts_of_floats():
    assert rows().records()[1] == {"a": 2.0, "b": 0.25}


def test_rowtable_keeps_only_id_attributes_and_target():
    assert list(rows().frame.columns) == ["item", "a", "b", "human_score"]


def test_rowtable_cannot_be_changed_through_its_arrays_or_frame():
    table = rows()
    with pytest.raises(ValueError):
        table.X[0, 0] = 5.0
    frame = table.frame
    frame.loc[0, "a"] = 100
    assert table.X[0, 0] == 1.0


def test_rowtable_deepcopy_is_the_same_object_and_pickle_round_trips():
    table = rows()
    assert copy.deepcopy(table) is table and copy.copy(table) is table
    restored = pickle.loads(pickle.dumps(table))
    assert restored.ids == table.ids and np.array_equal(restored.X, table.X)


def test_deepcopy_of_a_task_shares_its_rows():
    task = make_task(load_dataset("seed"))
    assert copy.deepcopy(task).fit_rows is task.fit_rows


def test_rowtable_subset_by_positions_and_mask():
    table = rows()
    assert table.subset([2, 0]).ids == ["x3", "x1"]
    assert table.subset(np.array([True, False, True])).ids == ["x1", "x3"]


def test_rowtable_without_id_column_numbers_rows():
    table = RowTable(pd.DataFrame({"a": [1.0, 2.0], "t": [0.0, 1.0]}), ["a"], "t")
    assert table.ids == [0, 1]


def test_rowtable_missing_column_is_named():
    with pytest.raises(DatasetError, match="'c'"):
        RowTable(rows().frame, ("a", "c"), "human_score", "item")
