"""`rewardsmith score`: streamed CSV/Parquet in and out, the scores of ``predict``, one-line errors,
and never a half-written output file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from sandbox_helpers import body

from rewardsmith.cli import main
from rewardsmith.sandbox import ScoringFunction
from rewardsmith.scoring import tables

LINEAR = body("return 2.0 * attrs['a'] - attrs['b'] + 0.5 * attrs['c']")
BRANCHING = body("if attrs['a'] > 0:", "    return attrs['b']", "return -attrs['c']")
N = 300


@pytest.fixture
def items() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "id": [f"item-{i}" for i in range(N)],
        "a": rng.normal(size=N).round(6),
        "b": rng.normal(size=N).round(6),
        "c": rng.integers(0, 5, N),
        "note": ["plain", "with, comma", 'with "quotes"'] * (N // 3),
    })


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys, *argv):
    code = main(["score", "--no-progress", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def expected(source, frame):
    return ScoringFunction(source).predict(frame[["a", "b", "c"]])


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# -- round trips ----------------------------------------------------------------------------------

def test_parquet_to_parquet_round_trip_has_the_right_scores(capsys, tmp_path, items):
    items.to_parquet(tmp_path / "items.parquet")
    fn = write(tmp_path, "reward.py", LINEAR)
    code, out, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                             "--out", tmp_path / "scores.parquet")
    assert code == 0, err
    assert f"wrote {N} scores to" in out and "by whole columns" in out
    result = pd.read_parquet(tmp_path / "scores.parquet")
    assert list(result.columns) == ["id", "a", "b", "c", "note", "score"]
    pd.testing.assert_frame_equal(result.drop(columns="score"), items)
    np.testing.assert_array_equal(result["score"].to_numpy(), expected(LINEAR, items))


def test_csv_to_csv_round_trip_keeps_the_columns_and_adds_scores(capsys, tmp_path, items):
    items.to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", BRANCHING)
    code, out, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                             "--out", tmp_path / "scores.csv")
    assert code == 0, err
    assert "row by row" in out
    result = pd.read_csv(tmp_path / "scores.csv")
    pd.testing.assert_frame_equal(result.drop(columns="score"), items, check_dtype=False)
    np.testing.assert_array_equal(result["score"].to_numpy(), expected(BRANCHING, items))


def test_csv_to_parquet_and_back_give_the_same_scores(capsys, tmp_path, items):
    items.to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", LINEAR)
    assert run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                   "--out", tmp_path / "scores.parquet")[0] == 0
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "scores.parquet")["score"],
                                  expected(LINEAR, items))


def test_only_score_writes_the_id_and_the_score(capsys, tmp_path, items):
    items.to_parquet(tmp_path / "items.parquet")
    fn = write(tmp_path, "reward.py", LINEAR)
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                           "--out", tmp_path / "scores.csv", "--only-score", "--id-column", "id",
                           "--score-column", "reward")
    assert code == 0, err
    result = pd.read_csv(tmp_path / "scores.csv")
    assert list(result.columns) == ["id", "reward"]
    assert result["id"].tolist() == items["id"].tolist()
    np.testing.assert_array_equal(result["reward"].to_numpy(), expected(LINEAR, items))


def test_chunking_gives_the_same_file_as_one_chunk(capsys, tmp_path, items):
    items.to_parquet(tmp_path / "items.parquet")
    for source in (LINEAR, BRANCHING):
        fn = write(tmp_path, "reward.py", source)
        for chunk, workers in (("1000", "1"), ("7", "1"), ("40", "2")):
            assert run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                           "--out", tmp_path / f"s{chunk}.parquet", "--chunk-rows", chunk,
                           "--workers", workers)[0] == 0
        one = pq.read_table(tmp_path / "s1000.parquet")
        assert pq.read_table(tmp_path / "s7.parquet").equals(one)
        assert pq.read_table(tmp_path / "s40.parquet").equals(one)


def test_an_id_column_is_not_an_attribute(capsys, tmp_path, items):
    # A function that sums every attribute must not add the numeric id.
    frame = items[["a", "b"]].assign(item_no=np.arange(N) * 1000)
    frame.to_parquet(tmp_path / "items.parquet")
    fn = write(tmp_path, "reward.py", body("return sum(attrs.values())"))
    assert run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                   "--out", tmp_path / "s.parquet", "--id-column", "item_no")[0] == 0
    np.testing.assert_allclose(pd.read_parquet(tmp_path / "s.parquet")["score"],
                               frame["a"] + frame["b"], rtol=1e-12)


def test_the_csv_reader_works_in_several_blocks(capsys, tmp_path, items, monkeypatch):
    monkeypatch.setattr(tables, "_CSV_BLOCK_BYTES", 1024)  # the file is ~15 KB: many blocks
    items.to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", LINEAR)
    assert run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                   "--out", tmp_path / "s.parquet", "--chunk-rows", "64")[0] == 0
    np.testing.assert_array_equal(pd.read_parquet(tmp_path / "s.parquet")["score"],
                                  expected(LINEAR, items))


# -- one error line, no output ------------------------------------------------------------------

def test_a_missing_column_is_one_error_line_and_leaves_no_output_file(capsys, tmp_path, items):
    items.to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", body("return attrs['a'] + attrs['zzz']"))
    code, out, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                             "--out", tmp_path / "scores.csv")
    assert code == 2
    assert err.splitlines() == [
        "error: the function reads column 'zzz' (line 2), which items.csv lacks; add that column "
        "or rename the matching one to 'zzz' (columns: id, a, b, c, note)"]
    assert not (tmp_path / "scores.csv").exists() and not leftovers(tmp_path)


def test_a_run_that_fails_midway_leaves_no_partial_output(capsys, tmp_path, items):
    frame = items.copy()
    frame.loc[250, "b"] = 2.0  # row 250: in the third chunk of 100
    frame.to_parquet(tmp_path / "items.parquet")
    (tmp_path / "scores.parquet").write_text("the previous output")
    fn = write(tmp_path, "reward.py", body("return attrs['a'] / (attrs['b'] - 2.0)"))
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                           "--out", tmp_path / "scores.parquet", "--chunk-rows", "100")
    assert code == 2
    assert err.splitlines()[-1] == "error: line 2: ZeroDivisionError: float division by zero"
    assert (tmp_path / "scores.parquet").read_text() == "the previous output"
    assert not leftovers(tmp_path)


def test_an_interrupted_run_leaves_no_partial_output(capsys, tmp_path, items, monkeypatch):
    items.to_parquet(tmp_path / "items.parquet")
    fn = write(tmp_path, "reward.py", LINEAR)
    written = []

    def interrupt_on_second_chunk(self, table):
        written.append(table.num_rows)
        if len(written) == 2:
            raise KeyboardInterrupt
        self._writer.write_table(table)

    monkeypatch.setattr(tables.ChunkWriter, "write", interrupt_on_second_chunk)
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                           "--out", tmp_path / "scores.parquet", "--chunk-rows", "100")
    assert code == 130 and "interrupted" in err
    assert written == [100, 100]
    assert not (tmp_path / "scores.parquet").exists() and not leftovers(tmp_path)


@pytest.mark.parametrize("argv, message", [
    (["--out", "{tmp}/s.xlsx"], "cannot tell the format of 's.xlsx': name it .csv, .tsv or "
     ".parquet"),
    (["--out", "{tmp}/s.csv", "--id-column", "nope"], "items.csv has no column 'nope'"),
    (["--out", "{tmp}/items.csv"], "is the input file"),
    (["--out", "{tmp}/s.csv", "--attributes", "a,zzz"], "reads column 'zzz'"),
])
def test_bad_options_are_one_error_line(capsys, tmp_path, items, argv, message):
    items.assign(score=1.0).to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", LINEAR)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                           "--only-score", *argv)
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["items.csv", "reward.py"]


def test_an_existing_score_column_is_an_error_with_the_fix(capsys, tmp_path, items):
    items.assign(score=1.0).to_parquet(tmp_path / "items.parquet")
    fn = write(tmp_path, "reward.py", LINEAR)
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.parquet",
                           "--out", tmp_path / "s.parquet")
    assert code == 2
    assert err.strip() == ("error: items.parquet already has a column 'score'; choose another "
                           "name for the score column")


def test_text_in_an_attribute_column_is_one_error_line(capsys, tmp_path, items):
    frame = items.astype({"a": object})
    frame.loc[290, "a"] = "n/a?"
    frame.to_csv(tmp_path / "items.csv", index=False)
    fn = write(tmp_path, "reward.py", LINEAR)
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "items.csv",
                           "--out", tmp_path / "s.csv")
    assert code == 2 and len(err.splitlines()) == 1
    assert "column 'a'" in err and "n/a?" in err
    assert not (tmp_path / "s.csv").exists() and not leftovers(tmp_path)


def test_an_unsafe_function_is_refused_before_reading(capsys, tmp_path):
    fn = write(tmp_path, "reward.py", "import os\ndef score(attrs):\n    return 1.0\n")
    code, _, err = run_cli(capsys, "--function", fn, "--data", tmp_path / "missing.csv",
                           "--out", tmp_path / "s.csv")
    assert code == 2
    assert err.strip() == "error: line 1: import of 'os' is not allowed; only 'import math' is"


def test_score_help_documents_the_output_columns(capsys):
    with pytest.raises(SystemExit):
        main(["score", "--help"])
    out = capsys.readouterr().out
    for option in ("--only-score", "--id-column", "--chunk-rows", "--no-progress", "--workers"):
        assert option in out
    assert "every input column plus the score" in " ".join(out.split())
