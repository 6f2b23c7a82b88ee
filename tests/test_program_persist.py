"""Program files: the golden file keeps loading; damaged, foreign or edited files fail clearly
and never execute anything."""

import json
import shutil
from pathlib import Path

import dspy
import pytest
from scripted_responders import make_responder

from rewardsmith.data import load_dataset, make_task
from rewardsmith.lm import scripted_lm
from rewardsmith.programs import ProgramFileError, RewardProgram, SeedProgram

GOLDEN = Path(__file__).parent / "golden" / "program_v1.json"


@pytest.fixture
def golden_copy(tmp_path):
    path = tmp_path / "program.json"
    shutil.copy(GOLDEN, path)
    return path


def edit(path, change):
    document = json.loads(path.read_text())
    change(document)
    path.write_text(json.dumps(document))
    return path


def test_golden_file_keeps_loading_with_its_instructions_and_demos():
    program = RewardProgram.load(GOLDEN)
    assert program.write.signature.instructions.startswith("GOLDEN:")
    assert len(program.write.demos) == 1 and len(program.analyze.demos) == 1
    assert program.rounds == 1
    assert program.metadata_["compile_datasets"] == ["seed"]


def test_a_file_from_before_the_prior_step_loads_with_that_step_uncompiled():
    # The golden file has no "elicit" predictor and a retired setting (validation_fraction).
    program = RewardProgram.load(GOLDEN)
    assert program.uncompiled_predictors_ == ["elicit"]
    assert program.elicit.demos == []
    assert "validation_fraction" not in program.config()


def test_a_file_missing_a_predictor_other_than_a_new_one_is_refused(golden_copy):
    def drop_write(document):
        document["predictors"] = ["analyze"]
        del document["state"]["write"]

    with pytest.raises(ProgramFileError, match="different program structure"):
        RewardProgram.load(edit(golden_copy, drop_write))


def test_golden_program_runs_with_the_lm_chosen_at_load_time():
    program = RewardProgram.load(GOLDEN)
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        result = program.run("fed_turn")
    assert result.function is not None and result.rho is not None
    assert any("GOLDEN:" in prompt for prompt in engine.prompts)


def test_loading_into_an_existing_instance_works_too(golden_copy):
    program = RewardProgram(rounds=1)
    assert program.load(golden_copy) is program
    assert program.write.signature.instructions.startswith("GOLDEN:")


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ProgramFileError, match="not found"):
        RewardProgram.load(tmp_path / "nope.json")


def test_damaged_json_says_compile_again(golden_copy):
    golden_copy.write_text(golden_copy.read_text()[:500])
    with pytest.raises(ProgramFileError, match="damaged JSON"):
        RewardProgram.load(golden_copy)


def test_file_from_another_format_version_is_refused(golden_copy):
    edit(golden_copy, lambda d: d.update(format_version=99))
    with pytest.raises(ProgramFileError, match="format 99"):
        RewardProgram.load(golden_copy)


def test_plain_dspy_state_file_is_not_mistaken_for_a_program(golden_copy):
    edit(golden_copy, lambda d: d.pop("format"))
    with pytest.raises(ProgramFileError, match="not a rewardsmith program file"):
        RewardProgram.load(golden_copy)


def test_file_of_another_program_class_is_refused(golden_copy):
    with pytest.raises(ProgramFileError, match="holds a RewardProgram, not a SeedProgram"):
        SeedProgram.load(golden_copy)


def test_different_program_structure_is_refused(golden_copy):
    def rename(d):
        d["predictors"] = ["analyze", "writer"]
        d["state"]["writer"] = d["state"].pop("write")

    edit(golden_copy, rename)
    with pytest.raises(ProgramFileError, match="different program structure"):
        RewardProgram.load(golden_copy)


def test_unknown_setting_is_refused(golden_copy):
    edit(golden_copy, lambda d: d["config"].update(temperature_of_doom=3))
    with pytest.raises(ProgramFileError, match="settings this version does not know"):
        RewardProgram.load(golden_copy)


def test_lm_and_unknown_keys_in_an_edited_file_are_ignored(golden_copy):
    def poison(d):
        d["state"]["write"]["lm"] = {"model": "openai/evil", "api_base": "http://evil.example"}
        d["state"]["write"]["forward"] = "boom"

    edit(golden_copy, poison)
    program = RewardProgram.load(golden_copy)
    assert program.write.lm is None
    assert callable(program.write.forward)


def test_hostile_code_in_a_demo_is_never_executed_on_load_or_run(golden_copy, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"import os\nos.system('touch {marker}')\ndef score(attrs):\n    return 1\n"
    edit(golden_copy, lambda d: d["state"]["write"]["demos"][0].update(code=hostile))
    program = RewardProgram.load(golden_copy)
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        program(**make_task(load_dataset("seed")).inputs())
    assert not marker.exists()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = RewardProgram().save(tmp_path / "out" / "program.json")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["program.json"]
    assert RewardProgram.load(path).rounds == 2
