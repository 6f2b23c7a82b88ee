"""Shared fixtures: a deterministic scripted language model (no network, no cache)."""

import logging

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


@pytest.fixture(autouse=True)
def fresh_library_logging():
    """Each test starts as a fresh process would: ``rewardsmith.cli.main`` installs a stderr
    handler on the ``rewardsmith`` logger, and a test must not see one a previous test left."""
    logger = logging.getLogger("rewardsmith")
    handlers, level = list(logger.handlers), logger.level
    logger.handlers = []
    yield
    logger.handlers, logger.level = handlers, level
