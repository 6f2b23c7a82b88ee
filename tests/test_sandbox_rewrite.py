"""tidy_source, lift_constants and the PARAMS rewrites: mechanical rewrites of LLM-written code."""

import numpy as np
import pytest
from sandbox_helpers import COLUMNS, ROWS, src

from rewardsmith.sandbox import ScoringFunction, check_source, declared_params, default_sandbox
from rewardsmith.sandbox.rewrite import (
    MAX_LIFTED,
    declare_missing_params,
    drop_unused_params,
    lift_constants,
    tidy_source,
)

TYPED = src(
    "from typing import Dict, Any",
    "import math",
    "",
    "def score(attrs: Dict[str, float]) -> float:",
    "    # light counts double  (a comment the rewrite keeps)",
    "    total: float = 2.0 * attrs['a']",
    "    unused: int",
    "    return math.tanh(total - attrs['b'])",
)


def test_typing_import_and_annotations_are_removed_and_the_rest_kept():
    tidy = tidy_source(TYPED)
    check_source(tidy)  # the allow-list refused the typed version
    assert "typing" not in tidy and "Dict" not in tidy and "->" not in tidy
    assert "def score(attrs):" in tidy
    assert "    # light counts double  (a comment the rewrite keeps)" in tidy
    assert "    total = 2.0 * attrs['a']" in tidy


def test_tidied_function_computes_what_the_typed_one_would():
    plain = src("import math", "def score(attrs):",
                "    return math.tanh(2.0 * attrs['a'] - attrs['b'])")
    sandbox = default_sandbox()
    np.testing.assert_allclose(sandbox.evaluate(tidy_source(TYPED), COLUMNS, ROWS),
                               sandbox.evaluate(plain, COLUMNS, ROWS))


@pytest.mark.parametrize("source", [
    "def score(attrs) return 1",           # does not parse
    src("def score(attrs):", "    return attrs['a']"),  # nothing to tidy
    src("import os", "def score(attrs):", "    return 1"),  # refused later, not hidden here
])
def test_source_without_typing_noise_is_returned_unchanged(source):
    assert tidy_source(source) == source


def test_typing_used_outside_annotations_is_not_hidden():
    source = src("import typing", "def score(attrs):", "    return typing.cast(float, 1)")
    tidy = tidy_source(source)
    assert "typing.cast" in tidy  # the import goes; the use fails with a NameError the LLM sees


def test_literal_weights_become_named_params_with_their_values():
    source = src("def score(attrs):",
                 "    return 0.4 * attrs['a'] + attrs.get('b', 0) * -0.2 + (-3) * attrs['a'] ** 2")
    lifted = lift_constants(source)
    assert declared_params(lifted) == {"w_a": 0.4, "w_b": -0.2, "c3": -3.0}
    assert "PARAMS[\"w_a\"] * attrs['a']" in lifted


def test_lifted_function_computes_the_same_scores():
    source = src("import math", "def score(attrs):", "    # weights from the analysis",
                 "    x = 0.4 * attrs['a'] - 1.5 * attrs['b']",
                 "    return math.exp(x) * 2 + 3 * 4")
    lifted = lift_constants(source)
    assert "# weights from the analysis" in lifted and "3 * 4" in lifted  # 3 * 4 holds no weight
    sandbox = default_sandbox()
    np.testing.assert_allclose(sandbox.evaluate(lifted, COLUMNS, ROWS),
                               sandbox.evaluate(source, COLUMNS, ROWS))
    assert ScoringFunction(lifted).params == {"w_a": 0.4, "w_b": 1.5, "c3": 2.0}  # minus stays


@pytest.mark.parametrize("source", [
    src("PARAMS = {'w': 1.0}", "def score(attrs):", "    return PARAMS['w'] * attrs['a']"),
    src("def score(attrs):", "    return attrs['a'] + attrs['b']"),
    src("def score(attrs):", "    return 0 * attrs['a'] + 2 * 3"),
    src("def score(attrs):", "    return " + " + ".join(
        f"{i + 1}.5 * attrs['a']" for i in range(MAX_LIFTED + 1))),
    "def score(attrs) return 1",
])
def test_nothing_is_lifted_from_declared_params_no_weights_too_many_or_broken_source(source):
    assert lift_constants(source) is None


def test_repeated_attribute_gets_distinct_param_names():
    lifted = lift_constants(src("def score(attrs):",
                                "    return 2 * attrs['a'] + 3 * attrs['a'] ** 0.5 * 1"))
    assert list(declared_params(lifted)) == ["w_a", "c2", "c3"]
    lifted = lift_constants(src("def score(attrs):",
                                "    return 2 * attrs['a'] - 5 * attrs['a']"))
    assert declared_params(lifted) == {"w_a": 2.0, "w_a_2": 5.0}


UNDECLARED = src(
    "PARAMS = {",
    "    'w_a': 0.5,  # the analysis ranks a first",
    "    'bias': -2.0,",
    "    'w_c': 0.0,",
    "}",
    "",
    "def score(attrs):",
    "    return PARAMS['w_a'] * attrs['a'] + PARAMS['w_b'] * attrs['b'] + PARAMS['w_b'] "
    "+ PARAMS['bias'] + PARAMS.get('w_z', 0)",
)


def test_params_read_but_not_declared_are_added_at_the_median_declared_size():
    sandbox = default_sandbox()
    with pytest.raises(Exception, match="KeyError"):  # the failure the rewrite exists for
        sandbox.evaluate(UNDECLARED, COLUMNS, ROWS)
    declared, added = declare_missing_params(UNDECLARED)
    assert added == {"w_b": 2.0}  # median of |0.5|, |-2.0| (zeros say nothing about size)
    assert declared_params(declared) == {"w_a": 0.5, "bias": -2.0, "w_c": 0.0, "w_b": 2.0}
    assert "    'w_a': 0.5,  # the analysis ranks a first" in declared  # the rest kept as written
    assert '    "w_b": 2.0,\n}' in declared  # in the dict's own one-key-per-line layout
    np.testing.assert_allclose(sandbox.evaluate(declared, COLUMNS, ROWS),
                               0.5 * ROWS[:, 0] + 2.0 * ROWS[:, 1] + 2.0 - 2.0)


def test_params_read_without_any_params_dict_get_one_before_the_function():
    source = src("import math", "", "def score(attrs):",
                 "    return PARAMS['w_a'] * math.log1p(attrs['a'] ** 2)")
    declared, added = declare_missing_params(source)
    assert added == {"w_a": 1.0}
    assert declared.index("PARAMS = {") < declared.index("def score")
    assert ScoringFunction(declared).params == {"w_a": 1.0}


@pytest.mark.parametrize("source", [
    src("PARAMS = {'w': 1.0}", "def score(attrs):", "    return PARAMS['w'] * attrs['a']"),
    src("PARAMS = {'w_a': 1.0}", "def score(attrs):",  # a computed key cannot be known here
        "    return sum(PARAMS['w_' + k] * v for k, v in attrs.items())"),
    src("def score(attrs):", "    return attrs['a']"),
    "def score(attrs) return PARAMS['w']",
])
def test_nothing_is_declared_when_no_literal_key_is_missing_or_the_source_is_broken(source):
    assert declare_missing_params(source) == (source, {})


def test_a_one_line_or_empty_params_dict_grows_on_its_own_line():
    one_line, _ = declare_missing_params(src(
        "PARAMS = {'w_a': 3}", "def score(attrs):",
        "    return PARAMS['w_a'] * attrs['a'] - PARAMS['w_b'] * attrs['b']"))
    assert one_line.startswith("PARAMS = {'w_a': 3, \"w_b\": 3.0}\n")
    empty, added = declare_missing_params(src(
        "PARAMS = {}", "def score(attrs):", "    return PARAMS['k'] * attrs['a']"))
    assert empty.startswith('PARAMS = {"k": 1.0}\n') and added == {"k": 1.0}


def test_params_the_function_never_reads_are_removed_with_their_comments():
    source = src(
        "PARAMS = {",
        "    'w_a': 0.5,",
        "    'w_x': 9.0,  # copied from another table",
        "    'w_b': -1.0,",
        "    'w_y': 2.0,",
        "    'w_z': 3.0,",
        "}",
        "def score(attrs):",
        "    return PARAMS['w_a'] * attrs['a'] + PARAMS['w_b'] * attrs['b']",
    )
    dropped, removed = drop_unused_params(source)
    assert removed == ["w_x", "w_y", "w_z"]
    assert dropped.startswith("PARAMS = {\n    'w_a': 0.5,\n    'w_b': -1.0,\n}\n")
    sandbox = default_sandbox()
    np.testing.assert_allclose(sandbox.evaluate(dropped, COLUMNS, ROWS),
                               sandbox.evaluate(source, COLUMNS, ROWS))


def test_a_one_line_params_dict_loses_its_unread_keys_and_stays_valid():
    first, removed = drop_unused_params(src(
        "PARAMS = {'u': 1, 'w': 2, 'v': 3}", "def score(attrs):",
        "    return PARAMS['w'] * attrs['a']"))
    assert first.startswith("PARAMS = {'w': 2}\n") and removed == ["u", "v"]
    nothing_read, removed = drop_unused_params(src(
        "PARAMS = {'u': 1}", "def score(attrs):", "    return attrs['a']"))
    assert nothing_read.startswith("PARAMS = {}\n") and removed == ["u"]
    check_source(nothing_read)


@pytest.mark.parametrize("use", [
    "sum(PARAMS['w_' + k] * v for k, v in attrs.items())",  # a computed key
    "PARAMS.get('w_a', 1) * attrs['a']",
    "len(PARAMS) * attrs['a']",
])
def test_no_param_is_removed_when_a_use_could_read_any_entry(use):
    source = src("PARAMS = {'w_a': 1.0, 'w_b': 2.0}", "def score(attrs):",
                 f"    return PARAMS['w_a'] + {use}")
    assert drop_unused_params(source) == (source, [])
