"""Cards (Frictionless Data Package descriptors): read, written, found beside a file, and read by
the prompt."""

import json

import dspy
import pandas as pd
import pytest
from scripted_responders import make_responder

from rewardsmith.data import DatasetError, load_dataset, make_task
from rewardsmith.data.card import Card
from rewardsmith.data.catalog import CATALOG
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import RewardProgram

DESCRIPTOR = {
    "name": "wines",
    "description": "Wines graded by a tasting panel.",
    "resources": [{
        "name": "wines", "path": "wines.csv",
        "schema": {"fields": [
            {"name": "wine_id", "type": "string"},
            {"name": "alcohol", "type": "number", "description": "alcohol, percent by volume"},
            {"name": "acidity", "type": "number", "description": "volatile acidity, g/l"},
            {"name": "grade", "type": "number", "description": "panel grade, 0..10"}],
            "primaryKey": "wine_id"},
        "rewardsmith": {"target": "grade", "better": "higher"}}],
}


def wines(n=30):
    return pd.DataFrame({"wine_id": [f"w{i}" for i in range(n)],
                         "alcohol": [9 + (i % 7) for i in range(n)],
                         "acidity": [0.2 + (i % 5) / 10 for i in range(n)],
                         "grade": [i % 9 for i in range(n)]})


def write_table(folder, descriptor=DESCRIPTOR, name="datapackage.json"):
    wines().to_csv(folder / "wines.csv", index=False)
    (folder / name).write_text(json.dumps(descriptor))
    return folder / "wines.csv"


def test_a_card_round_trips_through_its_descriptor():
    card = Card.from_descriptor(DESCRIPTOR)
    again = Card.from_descriptor(card.to_descriptor())
    assert again.attributes == card.attributes == {"alcohol": "alcohol, percent by volume",
                                                   "acidity": "volatile acidity, g/l"}
    assert (again.target, again.target_note, again.id_column) == ("grade", "panel grade, 0..10",
                                                                  "wine_id")


def test_every_builtin_has_a_card_naming_every_attribute():
    for name, spec in CATALOG.items():
        ds = load_dataset(name)
        assert list(ds.attributes) == list(spec.card.attributes), name
        assert all(spec.card.attributes[a] for a in ds.attributes), name
        assert spec.card.target_note and spec.card.description, name


def test_a_card_beside_a_csv_is_read_without_being_named(tmp_path):
    ds = load_dataset(write_table(tmp_path))
    assert ds.target == "grade" and ds.id_column == "wine_id"
    assert ds.attribute_notes["acidity"] == "volatile acidity, g/l"
    assert ds.description == "Wines graded by a tasting panel."
    assert any("card" in note for note in ds.notes)


def test_a_card_named_after_the_file_is_read_too(tmp_path):
    ds = load_dataset(write_table(tmp_path, name="wines.datapackage.json"))
    assert ds.target == "grade"


def test_a_shared_card_for_another_file_is_not_taken(tmp_path):
    other = json.loads(json.dumps(DESCRIPTOR))
    other["resources"][0]["path"] = "beers.csv"
    path = write_table(tmp_path, other)
    with pytest.raises(DatasetError, match="no target column"):
        load_dataset(path)


def test_a_card_given_explicitly_wins_over_the_one_beside(tmp_path):
    path = write_table(tmp_path)
    mine = json.loads(json.dumps(DESCRIPTOR))
    mine["resources"][0]["rewardsmith"]["target"] = "alcohol"
    mine["resources"][0]["rewardsmith"]["attributes"] = ["acidity", "grade"]
    ds = load_dataset(path, card=mine)
    assert ds.target == "alcohol" and list(ds.attributes) == ["acidity", "grade"]


def test_a_card_beside_a_csv_reaches_the_prior_prompt(tmp_path):
    task = make_task(load_dataset(write_table(tmp_path)), seed=0)
    assert "volatile acidity, g/l" in task.prior_schema
    assert "range" not in task.prior_schema  # the card's words, not the fit rows' ranges
    lm, engine = scripted_lm(make_responder(prior={"alcohol": "higher"}))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        RewardProgram(rounds=0)(**task.inputs())
    assert any("volatile acidity, g/l" in p and "tasting panel" in p for p in engine.prompts)


def test_prior_text_is_the_same_for_every_fit_size_and_seed(tmp_path):
    ds = load_dataset(write_table(tmp_path))
    texts = {make_task(ds, fit_size=size, seed=seed).prior_schema
             for size in (5, 10, None) for seed in (0, 1)}
    assert len(texts) == 1


def test_an_undescribed_attribute_keeps_its_range_in_the_prior_text(tmp_path):
    frame = wines().assign(oak=range(30))
    frame.to_csv(tmp_path / "wines.csv", index=False)
    (tmp_path / "datapackage.json").write_text(json.dumps(DESCRIPTOR))
    task = make_task(load_dataset(tmp_path / "wines.csv", attributes=["alcohol", "oak"]))
    assert "- oak (range" in task.prior_schema and "- alcohol: alcohol" in task.prior_schema


def test_lower_is_better_negates_the_target_and_says_so(tmp_path):
    lower = json.loads(json.dumps(DESCRIPTOR))
    lower["resources"][0]["rewardsmith"]["better"] = "lower"
    ds = load_dataset(write_table(tmp_path, lower))
    assert (ds.frame["grade"] <= 0).all()
    assert "negated" in ds.target_note and any("negated" in n for n in ds.notes)


@pytest.mark.parametrize("change, message", [
    (lambda d: d["resources"][0]["rewardsmith"].update(target="price"), "not among the described"),
    (lambda d: d["resources"][0]["rewardsmith"].update(better="up"), "'higher' or 'lower'"),
    (lambda d: d.update(resources=[]), "no resources"),
    (lambda d: d["resources"][0]["rewardsmith"].update(attributes=["oak"]), "not described"),
])
def test_a_broken_card_is_one_clear_error(tmp_path, change, message):
    broken = json.loads(json.dumps(DESCRIPTOR))
    change(broken)
    with pytest.raises(DatasetError, match=message):
        load_dataset(write_table(tmp_path, broken))


def test_a_damaged_card_file_names_the_file(tmp_path):
    path = write_table(tmp_path)
    (tmp_path / "datapackage.json").write_text("{not json")
    with pytest.raises(DatasetError, match="datapackage.json is not valid JSON"):
        load_dataset(path)


def test_the_card_option_of_the_command_line(tmp_path, capsys):
    from rewardsmith.cli import main

    path = write_table(tmp_path, name="elsewhere.json")
    assert main(["baseline", "--data", str(path), "--card", str(tmp_path / "elsewhere.json"),
                 "--quiet"]) == 0
    assert "ridge" in capsys.readouterr().out


def with_group(group, attributes=None):
    descriptor = json.loads(json.dumps(DESCRIPTOR))
    descriptor["resources"][0]["schema"]["fields"].insert(
        0, {"name": "taster", "type": "string", "description": "who graded it"})
    own = descriptor["resources"][0]["rewardsmith"]
    own["group"] = group
    if attributes is not None:
        own["attributes"] = attributes
    return descriptor


def test_a_cards_group_round_trips_and_is_never_an_attribute():
    card = Card.from_descriptor(with_group("taster"))
    assert card.group_column == "taster" and "taster" not in card.attributes
    again = Card.from_descriptor(card.to_descriptor())
    assert again.group_column == "taster" and again.attributes == card.attributes


def test_a_group_that_is_not_one_column_name_is_refused():
    with pytest.raises(DatasetError, match="'group' is \\['taster'\\]; it must be one column"):
        Card.from_descriptor(with_group(["taster"]))


def test_a_group_listed_among_the_attributes_is_refused():
    with pytest.raises(DatasetError, match="'taster' is both the group and an attribute"):
        Card.from_descriptor(with_group("taster", attributes=["taster", "alcohol"]))
