"""The benchmark: learned functions against baselines on held-out data, with cost, and a report.

``run_bench`` runs the cells and writes results.json/results.md; ``write_report`` turns a
results.json into a self-contained report.html with figures. Names load on first use, so that
building the CLI's help does not import dspy or matplotlib.
"""

_LAZY = {
    "BenchError": "errors",
    "BenchResults": "results",
    "DEFAULT_METHODS": "methods",
    "METHODS": "methods",
    "bootstrap_interval": "summary",
    "run_bench": "runner",
    "write_report": "report",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
