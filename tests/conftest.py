"""Shared fixtures: a deterministic scripted language model (no network, no cache)."""

import dspy
import pytest
from scripted_responders import make_responder

from rewardsmith.lm import scripted_lm


@pytest.fixture
def scripted():
    """(lm, engine) with the generic responder, configured for this test via dspy.context."""
    lm, engine = scripted_lm(make_responder())
    with dspy.context(lm=lm, adapter=dspy.JSONAdapter()):
        yield lm, engine
