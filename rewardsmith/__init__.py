"""rewardsmith: learn a transparent reward function ``score(attrs) -> float`` from human judgments.

An LLM writes the function, a DSPy program organises the writing, the code runs in a sandbox and is
scored by Spearman rho against the human ranking on rows it never saw.
"""

__version__ = "0.1.0"
