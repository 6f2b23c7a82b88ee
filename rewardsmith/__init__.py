"""rewardsmith: learn a transparent reward function ``score(attrs) -> float`` from human judgments.

An LLM writes the function, a DSPy program organises the writing, the code runs in a sandbox and is
scored by Spearman rho against the human ranking on rows it never saw.
"""

import os

# LiteLLM would fetch its model cost map from the network at import; there may be none.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

# The public names, imported on first use so that `import rewardsmith` stays fast (dspy is heavy).
_LAZY = {
    "compile": "rewardsmith.programs",
    "RewardProgram": "rewardsmith.programs",
    "SeedProgram": "rewardsmith.programs",
    "RewardRegressor": "rewardsmith.sklearn",  # needs the [sklearn] extra
    "load_dataset": "rewardsmith.data",
    "make_task": "rewardsmith.data",
    "make_tasks": "rewardsmith.data",
    "ScoringFunction": "rewardsmith.sandbox",
    "make_lm": "rewardsmith.lm",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'rewardsmith' has no attribute {name!r}")
