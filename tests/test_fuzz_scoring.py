"""Property-based test (hypothesis) of ``FrameScorer``: random scoring functions of the kind an LLM
writes (the generator of ``test_fuzz_sandbox.py``) score a table to what plain Python gives, or
raise its error and line, whether they end up scored by whole columns or row by row.

The settings make column mode as exposed as it can be: decided on 2 sampled rows, a spot check of
one row, and rows numpy flags (division by zero, log of 0, ...) found down to pieces of 2 rows. The
table's values include 0.0 and -0.0, so many programs divide by zero on some rows only.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import event, given
from test_fuzz_sandbox import COLUMNS, SETTINGS, TIMEOUT_S, programs, reference, rows

from rewardsmith.sandbox import (
    Sandbox,
    SandboxCrash,
    SandboxError,
    SandboxTimeout,
    ScoringFunction,
    check_source,
)
from rewardsmith.scoring import FrameScorer


@pytest.fixture(scope="module")
def sandbox():
    sb = Sandbox(timeout_s=TIMEOUT_S, cpu_s=TIMEOUT_S, columns=True)
    yield sb
    sb.close()


@SETTINGS
@given(program=programs(), matrix=rows)
def test_frames_score_like_plain_python_by_columns_or_by_rows(sandbox, program, matrix):
    check_source(program.source)
    expected, error = reference(program.source, matrix, None)
    function = ScoringFunction(program.source, COLUMNS, sandbox=sandbox)
    scorer = FrameScorer(function, sample_rows=2, spot_rows=1, split_rows=2)
    try:
        out = scorer.score(pd.DataFrame(matrix, columns=COLUMNS)).to_numpy()
    except (SandboxTimeout, SandboxCrash) as exc:
        pytest.fail(f"{type(exc).__name__}: {exc}\n{program.source}")
    except SandboxError as exc:
        event(f"{scorer.mode}: error")
        assert error is not None, f"failed where Python did not: {exc}\n{program.source}"
        reason, line = error
        assert exc.reason == reason, program.source
        if reason.startswith("UnboundLocalError") and sys.version_info[:2] == (3, 11):
            assert program.score_line < exc.line <= line  # see test_fuzz_sandbox.py
        else:
            assert exc.line == line, program.source
    else:
        event(f"{scorer.mode}: values")
        assert error is None, f"Python failed with {error}, scoring gave {out}\n{program.source}"
        # numpy's exp/log/tanh may differ from the math module's in the last place.
        np.testing.assert_allclose(out, expected, rtol=1e-9, atol=1e-12, err_msg=program.source)
