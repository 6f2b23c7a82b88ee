"""Reading a written function as a model that is linear in its PARAMS.

Most functions a writer proposes are sums of terms times weights:
``PARAMS["w_light"] * min(attrs["light"], PARAMS["c_light"]) + PARAMS["w_noise"] * ...``.
Such a function is ``f(x) = b(x) + sum_j w_j * phi_j(x)`` in its weights ``w_j``, for fixed shape
constants (``c_light``). The structure is found numerically, by running the function in the sandbox
with chosen PARAMS, never by trusting its text:

- a PARAMS entry is *linear* when the output is affine in it and its slope varies across rows;
- *fixed* when the output is affine in it but its slope is the same on every row (it only shifts
  the score, so it cannot change a ranking and is left as written);
- a *shape* constant otherwise (a threshold, a centre, an exponent): searched on a small grid.

The linear weights are then fitted in closed form (``ridge.fit_linear``), which is what lets
cross-validation choose the penalty and the prior's scale exactly. A function that is not linear
in its weights jointly, or has more than ``MAX_SHAPE_PARAMS`` shape constants, gets ``None``: the
caller falls back to the general optimiser.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ..sandbox import SandboxError, UnsafeCodeError

#: Shape constants searched jointly on a grid; more than this and the form is fitted generally.
MAX_SHAPE_PARAMS = 2
#: Grid of a shape constant: its written value moved by these fractions of its size.
SHAPE_STEPS = (-0.5, -0.25, 0.0, 0.25, 0.5)
#: Rows used to find the structure (the check is exact, a few rows suffice).
PROBE_ROWS = 64


@dataclass(frozen=True)
class LinearForm:
    """The structure of a written function's PARAMS (see the module docstring)."""

    source: str
    start: dict[str, float]       # PARAMS as written
    linear: tuple[str, ...]
    fixed: tuple[str, ...]
    shape: tuple[str, ...]

    def shape_grid(self) -> list[dict[str, float]]:
        """Every combination of shape-constant values to try (one empty dict when none)."""
        axes = []
        for name in self.shape:
            value = self.start[name]
            size = abs(value) if value != 0 else 1.0
            axes.append([value + step * size for step in SHAPE_STEPS])
        return [dict(zip(self.shape, combo, strict=True)) for combo in itertools.product(*axes)]

    def design(self, sandbox, columns, X, shapes: list[dict[str, float]]):
        """(offsets, designs): for each shape setting, ``b(x)`` (n,) and ``phi(x)`` (n, p).

        One sandbox call evaluates every setting: weights at zero, then each weight at one.
        """
        p = len(self.linear)
        sets = []
        for shape in shapes:
            base = {**self.start, **shape, **dict.fromkeys(self.linear, 0.0)}
            sets.append(base)
            sets.extend({**base, name: 1.0} for name in self.linear)
        out = sandbox.evaluate(self.source, columns, X, sets, checked=True)
        out = out.reshape(len(shapes), p + 1, -1)
        offsets = out[:, 0, :]
        designs = np.transpose(out[:, 1:, :] - offsets[:, None, :], (0, 2, 1))
        return offsets, designs


def find_linear_form(function, sandbox, columns, X, seed: int = 0) -> LinearForm | None:
    """The structure of ``function``'s PARAMS on rows ``X``; None when it is not linear in its
    weights or it fails with the values probed."""
    start = function.params
    if not start:
        return None
    names = list(start)
    if len(X) > PROBE_ROWS:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), PROBE_ROWS, replace=False))]
    steps = (1.0, 2.0, -1.5)
    sets = [dict(start)]
    for name in names:
        size = max(1.0, abs(start[name]))
        sets.extend({**start, name: start[name] + t * size} for t in steps)
    try:
        out = sandbox.evaluate(function.source, columns, X, sets, checked=True)
    except (SandboxError, UnsafeCodeError):
        return None
    if not np.all(np.isfinite(out)):
        return None
    f0 = out[0]
    linear, fixed, shape = [], [], []
    for i, name in enumerate(names):
        f1, f2, f3 = out[1 + 3 * i: 4 + 3 * i]
        slope = f1 - f0
        if _close(f2 - f0, 2 * slope) and _close(f3 - f0, -1.5 * slope):
            (fixed if np.ptp(slope) <= _tolerance(slope) else linear).append(name)
        else:
            shape.append(name)
    if not linear or len(shape) > MAX_SHAPE_PARAMS:
        return None
    form = LinearForm(function.source, dict(start), tuple(linear), tuple(fixed), tuple(shape))
    # Affine in each weight alone is not enough (w1 * w2 * x is): check all weights together.
    rng = np.random.default_rng(seed)
    trial = {name: float(rng.normal(start[name], max(1.0, abs(start[name]))))
             for name in linear}
    try:
        (b,), (phi,) = form.design(sandbox, columns, X, [{}])
        joint = sandbox.evaluate(function.source, columns, X, [{**start, **trial}],
                                 checked=True)[0]
    except (SandboxError, UnsafeCodeError):
        return None
    predicted = b + phi @ np.array([trial[name] for name in linear])
    return form if _close(joint, predicted) else None


def _tolerance(values: np.ndarray) -> float:
    return 1e-7 * (1.0 + float(np.max(np.abs(values))))


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(a)) and np.all(np.isfinite(b))
                and np.max(np.abs(a - b)) <= _tolerance(np.concatenate([a, b])) * 10)
