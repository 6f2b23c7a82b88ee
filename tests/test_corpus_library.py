"""Retrieval: TF-IDF words, the labelled attributes of train tables, and the prior they vote."""

import json

import numpy as np
import pytest

from rewardsmith.bench import run_bench
from rewardsmith.bench.cli import SUITE_BUILTINS, suite_tables
from rewardsmith.cli import main
from rewardsmith.corpus import catalog, tables
from rewardsmith.corpus.library import AttributeLibrary, LabelledAttribute, default_library
from rewardsmith.corpus.tfidf import TfidfVectorizer, words


def entry(table, attribute, meaning, rho, target="wage per hour", judged="workers"):
    direction = "higher" if rho > 0 else "lower"
    return LabelledAttribute(table, attribute, meaning, target, judged, direction, 3, rho)


def test_words_split_names_the_way_cards_write_them():
    assert words("volatile.acidity") == words("VolatileAcidity") == ["volatile", "acidity"]
    assert words("years_of_education in the state") == ["years", "education", "state"]


def test_tfidf_vectors_are_unit_length_and_similar_texts_are_closer():
    vec = TfidfVectorizer().fit(["years of education", "hours worked per week", "crime rate"])
    m = vec(["education years", "weekly hours worked", "unknown words only"])
    assert np.allclose(np.linalg.norm(m[:2], axis=1), 1.0) and not m[2].any()
    query = vec(["years of schooling education"])[0]
    assert query @ m[0] > query @ m[1]


def test_the_vote_follows_the_nearest_labelled_attributes():
    library = AttributeLibrary([
        entry("a/wages", "educ", "years of education", 0.4),
        entry("a/wages", "exper", "years of work experience", 0.2),
        entry("b/survival", "age", "age in years", -0.5, target="survival time", judged="patients"),
    ], k=1)
    prior = library.vote({"description": "workers and their pay", "target_note": "hourly wage",
                          "attributes": {"schooling": "years of education completed",
                                         "age": "age of the patient in years"}})
    assert prior.attributes["schooling"].direction == "higher"
    assert prior.attributes["age"].direction == "lower"
    assert prior.origin == "retrieved"


def test_a_table_never_votes_for_itself():
    library = AttributeLibrary([entry("a/wages", "educ", "years of education", 0.4)])
    card = {"attributes": {"educ": "years of education"}, "target_note": "wage per hour"}
    assert library.vote(card, exclude_table="a/wages") is None
    assert library.vote(card) is not None


def test_retrieval_never_returns_an_unseen_table():
    unseen = {t.key for t in tables("unseen")}
    library = default_library()
    assert library.entries and not {e.table for e in library.entries} & unseen
    assert {catalog()[e.table].part for e in library.entries} == {"train"}
    with pytest.raises(ValueError, match="unseen"):
        AttributeLibrary.from_catalog("unseen")


def test_a_library_round_trips_and_holds_no_rows():
    library = AttributeLibrary([entry("a/wages", "educ", "years of education", 0.4)], k=3)
    data = json.loads(json.dumps(library.to_dict()))
    again = AttributeLibrary.from_dict(data)
    assert again.entries == library.entries and again.k == 3
    assert set(data["entries"][0]) == {"table", "attribute", "meaning", "target", "judged",
                                       "direction", "importance", "rho"}


def test_the_unseen_suite_is_the_unseen_part_and_the_benchmark_tables():
    names = suite_tables("unseen")
    assert names[-3:] == list(SUITE_BUILTINS)
    assert names[:-3] == [t.key for t in tables("unseen")]


def test_bench_without_tables_is_one_error_line(tmp_path, capsys):
    assert main(["bench", "--methods", "ridge", "--out", str(tmp_path)]) == 2
    assert "--suite unseen" in capsys.readouterr().err


def test_the_retrieved_method_needs_no_lm_and_reports_its_prior(tmp_path):
    key = tables("unseen")[0].key
    results = run_bench([key, "seed"], ["retrieved", "ridge"], [10], [0], out_dir=tmp_path,
                        progress=False)
    cells = {(r["dataset"], r["method"]): r for r in results.records}
    cell = cells[(key, "retrieved")]
    assert cell["error"] is None and cell["lm_calls"] == 0 and cell["rho"] is not None
    assert cell["prior"]["origin"] == "retrieved" and cell["chosen"]
    assert results.config["corpus_parts"] == {key: "unseen", "seed": "built-in"}
