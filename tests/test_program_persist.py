"""Program files: the golden file keeps loading; damaged, foreign or edited files fail clearly
and never execute anything."""

import inspect
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
    program = RewardProgram.from_file(GOLDEN)
    assert program.write.signature.instructions.startswith("GOLDEN:")
    assert len(program.write.demos) == 1 and len(program.analyze.demos) == 1
    assert program.rounds == 1
    assert program.metadata_["compile_datasets"] == ["seed"]


def test_a_file_from_before_the_prior_step_loads_with_that_step_uncompiled():
    # The golden file has no "elicit" predictor and a retired setting (validation_fraction).
    program = RewardProgram.from_file(GOLDEN)
    assert program.uncompiled_predictors_ == ["elicit"]
    assert program.elicit.demos == []
    assert "validation_fraction" not in program.config()


def test_a_file_missing_a_predictor_other_than_a_new_one_is_refused(golden_copy):
    def drop_write(document):
        document["predictors"] = ["analyze"]
        del document["state"]["write"]

    with pytest.raises(ProgramFileError, match="different program structure"):
        RewardProgram.from_file(edit(golden_copy, drop_write))


def test_golden_program_runs_with_the_lm_chosen_at_load_time():
    program = RewardProgram.from_file(GOLDEN)
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
        RewardProgram.from_file(tmp_path / "nope.json")


def test_damaged_json_says_compile_again(golden_copy):
    golden_copy.write_text(golden_copy.read_text()[:500])
    with pytest.raises(ProgramFileError, match="damaged JSON"):
        RewardProgram.from_file(golden_copy)


def test_file_from_another_format_version_is_refused(golden_copy):
    edit(golden_copy, lambda d: d.update(format_version=99))
    with pytest.raises(ProgramFileError, match="format 99"):
        RewardProgram.from_file(golden_copy)


def test_plain_dspy_state_file_is_not_mistaken_for_a_program(golden_copy):
    edit(golden_copy, lambda d: d.pop("format"))
    with pytest.raises(ProgramFileError, match="not a rewardsmith program file"):
        RewardProgram.from_file(golden_copy)


def test_file_of_another_program_class_is_refused(golden_copy):
    with pytest.raises(ProgramFileError, match="holds a RewardProgram, not a SeedProgram"):
        SeedProgram.from_file(golden_copy)


def test_different_program_structure_is_refused(golden_copy):
    def rename(d):
        d["predictors"] = ["analyze", "writer"]
        d["state"]["writer"] = d["state"].pop("write")

    edit(golden_copy, rename)
    with pytest.raises(ProgramFileError, match="different program structure"):
        RewardProgram.from_file(golden_copy)


def test_unknown_setting_is_refused(golden_copy):
    edit(golden_copy, lambda d: d["config"].update(temperature_of_doom=3))
    with pytest.raises(ProgramFileError, match="settings this version does not know"):
        RewardProgram.from_file(golden_copy)


def test_lm_and_unknown_keys_in_an_edited_file_are_ignored(golden_copy):
    def poison(d):
        d["state"]["write"]["lm"] = {"model": "openai/evil", "api_base": "http://evil.example"}
        d["state"]["write"]["forward"] = "boom"

    edit(golden_copy, poison)
    program = RewardProgram.from_file(golden_copy)
    assert program.write.lm is None
    assert callable(program.write.forward)


def test_hostile_code_in_a_demo_is_never_executed_on_load_or_run(golden_copy, tmp_path):
    marker = tmp_path / "pwned"
    hostile = f"import os\nos.system('touch {marker}')\ndef score(attrs):\n    return 1\n"
    edit(golden_copy, lambda d: d["state"]["write"]["demos"][0].update(code=hostile))
    program = RewardProgram.from_file(golden_copy)
    lm, _ = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        program(**make_task(load_dataset("seed")).inputs())
    assert not marker.exists()


def test_save_is_atomic_and_leaves_no_temporary_files(tmp_path):
    path = RewardProgram().save(tmp_path / "out" / "program.json")
    assert path.exists()
    assert [p.name for p in path.parent.iterdir()] == ["program.json"]
    assert RewardProgram.from_file(path).rounds == 2


# -- DSPy's contracts --------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["save", "load"])
def test_save_and_load_keep_dspys_signature(method):
    ours = inspect.signature(getattr(RewardProgram, method)).parameters
    dspys = inspect.signature(getattr(dspy.Module, method)).parameters
    assert list(ours)[: len(dspys)] == list(dspys)
    assert all(ours[name].default == p.default for name, p in dspys.items())


def test_load_on_an_instance_reads_into_that_instance_and_returns_it(golden_copy):
    program = RewardProgram(rounds=5)
    assert program.load(golden_copy) is program
    assert program.write.signature.instructions.startswith("GOLDEN:")
    assert program.rounds == 5  # DSPy's load restores state, not the constructor's settings


def test_from_file_builds_the_program_with_the_files_settings(tmp_path):
    path = RewardProgram(rounds=3, samples=1).save(tmp_path / "p.json")
    program = RewardProgram.from_file(path)
    assert (program.rounds, program.samples) == (3, 1)


def test_a_state_file_saved_by_plain_dspy_loads_through_dspys_load(tmp_path):
    source = RewardProgram()
    source.write.signature = source.write.signature.with_instructions("PLAIN DSPY")
    path = tmp_path / "state.json"
    dspy.Module.save(source, path)  # DSPy's own layout, not a rewardsmith program file
    program = RewardProgram().load(path)
    assert program.write.signature.instructions == "PLAIN DSPY"


def test_save_program_true_is_dspys_whole_program_directory(tmp_path):
    RewardProgram(rounds=4).save(tmp_path / "whole", save_program=True)
    assert (tmp_path / "whole" / "program.pkl").is_file()
    assert dspy.load(str(tmp_path / "whole"), allow_pickle=True).rounds == 4


def test_a_pickle_is_refused_unless_allowed(tmp_path):
    path = tmp_path / "state.pkl"
    dspy.Module.save(RewardProgram(), path)
    with pytest.raises(ValueError, match="allow_pickle"):
        RewardProgram().load(path)


def test_config_follows_the_constructor_without_a_hand_kept_list(tmp_path):
    class WiderProgram(RewardProgram):
        def __init__(self, rounds: int = 2, extra_care: float = 0.5):
            super().__init__(rounds=rounds)
            self.extra_care = extra_care

    assert WiderProgram(extra_care=0.9).config() == {"rounds": 2, "extra_care": 0.9}
    assert set(RewardProgram().config()) == set(
        inspect.signature(RewardProgram.__init__).parameters) - {"self"}


@pytest.mark.parametrize("program_class", [RewardProgram, SeedProgram])
def test_both_programs_return_the_same_prediction_fields(program_class):
    from rewardsmith.programs.prediction import PREDICTION_FIELDS

    lm, _ = scripted_lm(make_responder(prior={"light": "higher"}))
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        prediction = program_class()(**make_task(load_dataset("seed")).inputs())
    assert tuple(prediction.keys()) == PREDICTION_FIELDS
