"""The compile by retrieval (worked examples of corpus train tables) and the prior step's dense
metric, with the scripted LM."""

import json

import dspy
import numpy as np
import pytest
from scripted_responders import make_responder

from rewardsmith.corpus import tables
from rewardsmith.data import load_dataset, make_task, make_tasks
from rewardsmith.fitting import Prior
from rewardsmith.judge import Judge
from rewardsmith.lm import output_fields, scripted_lm
from rewardsmith.metrics.prior_agreement import (
    directions_agreed,
    prior_agreement,
    prior_feedback_metric,
)
from rewardsmith.programs import CompileError, RewardProgram, compile

TRAIN = [t.key for t in tables("train")[:6]]
UNSEEN = tables("unseen")[0].key


@pytest.fixture(scope="module")
def retrieval_program():
    return compile(RewardProgram(rounds=0), make_tasks(TRAIN, fit_sizes=[20]),
                   optimizer="retrieval", verbose=False)


def test_a_compile_by_retrieval_makes_no_lm_call_and_keeps_the_train_tables(retrieval_program):
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compile(RewardProgram(rounds=0), make_tasks(TRAIN[:2], fit_sizes=[20]),
                optimizer="retrieval", verbose=False)
    assert engine.calls == 0
    assert [t.table for t in retrieval_program.library_.tables] == TRAIN
    assert {e.table for e in retrieval_program.library_.attributes.entries} == set(TRAIN)


def test_a_compile_by_retrieval_without_gold_priors_is_refused():
    with pytest.raises(CompileError, match="corpus:train"):
        compile(RewardProgram(rounds=0), make_tasks(["seed"]), optimizer="retrieval",
                verbose=False)


def test_a_program_file_with_a_library_round_trips_and_holds_no_data_rows(
        retrieval_program, tmp_path):
    path = retrieval_program.save(tmp_path / "program.json")
    again = RewardProgram.from_file(path)
    assert again.library_.to_dict() == retrieval_program.library_.to_dict()
    text = path.read_text()
    # no row of any training table: a value of each target column never appears as a row dump
    document = json.loads(text)
    for table in document["library"]["tables"]:
        assert set(table) == {"table", "description", "attribute_schema", "beliefs"}
    frame = load_dataset(TRAIN[0]).frame
    first_row = ", ".join(f"{v:g}" for v in frame[list(load_dataset(TRAIN[0]).attributes)]
                          .iloc[0])
    assert first_row not in text


def test_similar_tables_and_attribute_evidence_reach_the_prior_prompt(retrieval_program):
    lm, engine = scripted_lm(make_responder(prior={}))
    task = make_task(load_dataset(UNSEEN), fit_size=20, seed=0)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        retrieval_program(**task.inputs())
    prior_prompts = [p for p in engine.prompts if output_fields(p) == ["beliefs"]]
    assert len(prior_prompts) == 1
    descriptions = [t.description for t in retrieval_program.library_.tables]
    assert sum(d in prior_prompts[0] for d in descriptions) == retrieval_program.examples


def test_a_library_table_never_sees_itself(retrieval_program):
    lm, engine = scripted_lm(make_responder(prior={}))
    task = make_task(load_dataset(TRAIN[0]), fit_size=20, seed=0)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        retrieval_program(**task.inputs())
    own = retrieval_program.library_.tables[0].description
    prompt = next(p for p in engine.prompts if output_fields(p) == ["beliefs"])
    assert prompt.count(own) == 1  # its own description as the question, never as a demo


def test_the_vote_stands_in_when_the_lm_gives_no_prior(retrieval_program):
    lm, _ = scripted_lm(make_responder(prior={}))
    task = make_task(load_dataset(UNSEEN), fit_size=20, seed=0)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = retrieval_program(**task.inputs())
    assert prediction.prior is not None and prediction.prior.origin == "retrieved"


def test_the_retrieved_prior_competes_in_the_judge_only_by_the_margin():
    rows = make_task(load_dataset("seed")).fit_rows
    voted = Prior.from_dict({"composition": "higher"}, origin="retrieved")
    stated = Prior.from_dict({"lighting": "higher"})
    judge = Judge(rows, stated, alternatives={"retrieved": voted})
    rival = next(c for c in judge.candidates if c.name == "shrunk ridge (retrieved)")
    assert not rival.challenger and "retrieved prior" in rival.function.source
    strict = Judge(rows, stated, alternatives={"retrieved": voted}, min_gain=1.0)
    assert strict.statistical_choice.name == "shrunk ridge"
    eager = Judge(rows, stated, alternatives={"retrieved": voted}, min_gain=-1.0)
    best = max((c for c in eager.candidates if not c.challenger), key=lambda c: c.cv_rho)
    assert eager.statistical_choice.cv_rho == best.cv_rho


def test_gold_priors_are_labels_of_train_tasks_only():
    train = make_task(load_dataset(TRAIN[0]), fit_size=20)
    unseen = make_task(load_dataset(UNSEEN), fit_size=20)
    assert train.gold_prior and "gold_prior" not in train.inputs()
    assert unseen.get("gold_prior") is None


def test_prior_agreement_weights_attributes_by_their_effect():
    gold = {"alcohol": {"direction": "higher", "importance": 3, "rho": 0.4},
            "ph": {"direction": "lower", "importance": 1, "rho": -0.1},
            "noise": {"direction": "none", "importance": 1, "rho": 0.0}}
    right = Prior.from_dict({"alcohol": "higher", "ph": "lower"})
    wrong_big = Prior.from_dict({"alcohol": "lower", "ph": "lower"})
    wrong_small = Prior.from_dict({"alcohol": "higher", "ph": "higher"})
    assert prior_agreement(right, gold) == (1.0, [])
    score_big, lines = prior_agreement(wrong_big, gold)
    score_small, _ = prior_agreement(wrong_small, gold)
    assert np.isclose(score_big, -0.6) and np.isclose(score_small, 0.6)
    assert lines[0].startswith("alcohol: you said lower")
    assert directions_agreed(wrong_big, gold) == (1, 2) and directions_agreed(None, gold) == (0, 2)


def test_the_prior_metric_feedback_names_the_wrong_attribute():
    task = make_task(load_dataset(TRAIN[0]), fit_size=20)
    name, label = max(task.gold_prior.items(), key=lambda kv: abs(kv[1]["rho"]))
    flipped = {"higher": "lower", "lower": "higher", "none": "higher"}[label["direction"]]
    prediction = dspy.Prediction(prior=Prior.from_dict({name: flipped}))
    result = prior_feedback_metric(task, prediction, pred_name="elicit")
    assert result.score < 0.5 and f"{name}: you said {flipped}" in result.feedback


def test_gepa_on_the_prior_metric_rewrites_the_prior_step():
    reflected = []

    def responder(prompt):
        if output_fields(prompt) == ["new_instruction"]:
            reflected.append(prompt)
            return {"new_instruction": "Think about what each attribute means."}
        return make_responder(prior={})(prompt)

    lm, _ = scripted_lm(responder)
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        compile(RewardProgram(rounds=0), make_tasks(TRAIN[:3], fit_sizes=[20]),
                optimizer="gepa", metric="prior", budget=8, verbose=False)
    assert reflected and all("You know the domain" in p for p in reflected)
    assert any("you said" in p or "No usable prior" in p for p in reflected)


def test_the_prior_metric_without_gold_priors_is_refused():
    with pytest.raises(CompileError, match="gold priors"):
        compile(RewardProgram(rounds=0), make_tasks(["seed"]), optimizer="gepa", metric="prior",
                verbose=False)


def test_the_compile_command_by_retrieval_starts_no_model(tmp_path, monkeypatch, capsys):
    from rewardsmith import cli

    def no_lm(args):
        raise AssertionError("a compile by retrieval must not configure an LM")

    monkeypatch.setattr(cli, "configure_lm", no_lm)
    out = tmp_path / "program.json"
    assert cli.main(["compile", "--data", ",".join(TRAIN[:2]), "--optimizer", "retrieval",
                     "--rounds", "0", "--fit-sizes", "20", "--out", str(out)]) == 0
    program = RewardProgram.from_file(out)
    assert [t.table for t in program.library_.tables] == TRAIN[:2]
    assert program.metadata_["lm"] is None and program.metadata_["optimizer"] == "retrieval"


def test_corpus_part_names_expand_to_their_tables():
    from rewardsmith.cli_options import data_names

    assert data_names("seed,corpus:unseen") == ["seed", *[t.key for t in tables("unseen")]]
