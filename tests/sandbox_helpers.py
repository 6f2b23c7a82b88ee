"""Shared pieces of the sandbox tests: a tiny table, a known-good function, source builders."""

import numpy as np

from rewardsmith.sandbox import Sandbox

COLUMNS = ["a", "b"]
ROWS = np.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.25]])
GOOD = "def score(attrs):\n    return 2.0 * attrs['a'] - attrs['b']\n"


def src(*lines: str) -> str:
    return "\n".join(lines) + "\n"


def body(*lines: str) -> str:
    """A ``score`` whose body is ``lines``; line 1 is the def, so body line k is line k + 1."""
    return src("def score(attrs):", *("    " + line for line in lines))


def assert_healthy(sandbox: Sandbox) -> None:
    out = sandbox.evaluate(GOOD, COLUMNS, ROWS)
    np.testing.assert_array_equal(out, [0.0, 7.0, 0.75])
