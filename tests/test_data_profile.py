"""The text profile a language model reads: deterministic, compact, right numbers, fit rows only."""

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from rewardsmith.data import load_dataset, make_task, profile


def frame_of(n=40, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, n)
    frame = pd.DataFrame({
        "id": [f"SECRET{i}" for i in range(n)],
        "linear": x,
        "u_shape": rng.uniform(0, 10, n),
        "noise": rng.normal(size=n),
    })
    frame["human_score"] = frame["linear"] + (frame["u_shape"] - 5) ** 2 + 0.1 * frame["noise"]
    return frame


ATTRS = ("linear", "u_shape", "noise")


def attribute_line(text, name):
    return next(line for line in text.splitlines() if line.startswith(f"- {name}:"))


def test_profile_is_deterministic():
    frame = frame_of()
    assert profile(frame, ATTRS, "human_score") == profile(frame, ATTRS, "human_score")


def test_profile_names_every_attribute_and_the_row_count():
    text = profile(frame_of(), ATTRS, "human_score")
    assert text.startswith("rows: 40")
    for name in ATTRS:
        assert f"- {name}:" in text


def test_profile_rho_matches_scipy_spearman():
    ds = load_dataset("seed")
    fit = ds.fit_frame()
    text = profile(fit, ds.attributes, ds.target)
    for name in ds.attributes:
        rho = stats.spearmanr(fit[name], fit[ds.target]).statistic
        assert f"rho {rho:.2f};" in attribute_line(text, name)


def test_profile_of_seed_shows_composition_rho_0_85():
    ds = load_dataset("seed")
    assert "rho 0.85;" in attribute_line(profile(ds.fit_frame(), ds.attributes, ds.target),
                                         "composition")


def test_binned_target_means_reveal_a_u_shape():
    text = profile(frame_of(n=200), ATTRS, "human_score")
    line = attribute_line(text, "u_shape")
    means = [float(v) for v in line.split("5 bins ")[1].split(" | ")]
    assert len(means) == 5
    assert means[0] > means[2] < means[4]


def test_few_distinct_values_are_grouped_by_value():
    frame = frame_of()
    frame["stars"] = np.arange(len(frame)) % 3 + 1
    text = profile(frame, (*ATTRS, "stars"), "human_score")
    assert "by value 1: " in attribute_line(text, "stars")


def test_constant_attribute_shows_rho_not_available():
    frame = frame_of()
    frame["flat"] = 2.0
    text = profile(frame, (*ATTRS, "flat"), "human_score")
    assert "rho n/a (constant)" in attribute_line(text, "flat")
    assert "flat~" not in text and "~flat" not in text


def test_mostly_one_value_attribute_falls_back_to_below_at_above():
    frame = frame_of(n=50)
    frame["rare"] = 0.0
    frame.loc[:4, "rare"] = np.arange(1, 6, dtype=float)  # 10% of rows non-zero, all distinct
    line = attribute_line(profile(frame, (*ATTRS, "rare"), "human_score"), "rare")
    assert "=0 (90% of rows)" in line and ">0 (10% of rows)" in line


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5])
def test_profile_does_not_crash_on_tiny_tables(n):
    text = profile(frame_of(n=n), ATTRS, "human_score")
    assert text.startswith(f"rows: {n}")


def test_profile_handles_all_ties():
    frame = pd.DataFrame({"a": [0, 1] * 10, "b": [1.0] * 20, "human_score": [0, 0, 1, 1] * 5})
    text = profile(frame, ("a", "b"), "human_score")
    assert "- a:" in text and "rho n/a (constant)" in text


def test_strongest_pairs_are_sorted_by_strength_and_limited():
    rng = np.random.default_rng(1)
    base = rng.normal(size=100)
    frame = pd.DataFrame({
        "a": base, "b": base + 0.1 * rng.normal(size=100), "c": -base + rng.normal(size=100),
        "d": rng.normal(size=100), "human_score": base,
    })
    text = profile(frame, ("a", "b", "c", "d"), "human_score", max_pairs=2)
    line = next(line for line in text.splitlines() if line.startswith("strongest"))
    pairs = re.findall(r"(\w+~\w+) (-?\d\.\d\d)", line)
    assert [p for p, _ in pairs] == ["a~b", "a~c"] or [p for p, _ in pairs][0] == "a~b"
    assert len(pairs) == 2
    assert abs(float(pairs[0][1])) >= abs(float(pairs[1][1]))


def test_sample_rows_are_sorted_by_target_and_cover_its_range():
    frame = frame_of(n=100)
    text = profile(frame, ATTRS, "human_score", n_sample=6)
    rows = text.split("sample rows")[1].splitlines()[1:]
    targets = [float(row.split(" -> ")[1]) for row in rows]
    assert len(rows) == 6
    assert targets == sorted(targets)
    assert targets[0] == pytest.approx(frame["human_score"].min(), rel=1e-3)
    assert targets[-1] == pytest.approx(frame["human_score"].max(), rel=1e-3)


def test_sample_tie_breaking_depends_on_seed_only():
    frame = pd.DataFrame({"a": np.arange(60.0), "human_score": np.repeat([1.0, 2.0, 3.0], 20)})
    first = profile(frame, ("a",), "human_score", seed=3)
    assert first == profile(frame, ("a",), "human_score", seed=3)
    others = {profile(frame, ("a",), "human_score", seed=s) for s in range(5)}
    assert len(others) > 1


def test_profile_never_shows_ids():
    assert "SECRET" not in profile(frame_of(), ATTRS, "human_score")


@pytest.mark.parametrize("name", ["aadb", "wine_quality"])
def test_profile_of_eleven_attributes_stays_under_2500_characters(name):
    ds = load_dataset(name)
    assert len(profile(ds.fit_frame(), ds.attributes, ds.target)) < 2500


def test_task_profile_does_not_change_when_heldout_rows_change():
    ds = load_dataset("seed")
    before = make_task(ds).profile
    frame = ds.frame.copy()
    held = frame["split"] == "heldout"
    frame.loc[held, "composition"] = 1.0
    frame.loc[held, "human_score"] = frame.loc[held, "human_score"][::-1].to_numpy()
    changed = load_dataset(frame, name="seed", split_column="split")
    assert make_task(changed).profile == before


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 12).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from([0.0, 1.0, 2.5, -3.0, 1e6]), min_size=n, max_size=n),
    st.lists(st.floats(-1e3, 1e3), min_size=n, max_size=n),
    st.lists(st.sampled_from([1.0, 2.0, 3.0]), min_size=n, max_size=n),
)))
def test_profile_never_crashes_on_small_tied_or_constant_tables(columns):
    ties, spread, target = columns
    frame = pd.DataFrame({"ties": ties, "spread": spread, "flat": [4.0] * len(ties),
                          "human_score": target})
    text = profile(frame, ("ties", "spread", "flat"), "human_score", seed=1)
    assert text.startswith(f"rows: {len(ties)}")
    assert "nan" not in text.lower().replace("n/a", "")
