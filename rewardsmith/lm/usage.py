"""Counting LM use: calls and tokens recorded by DSPy's usage tracker."""

from __future__ import annotations


def usage_totals(tracker) -> tuple[int, int]:
    """(calls, tokens) in a ``dspy.utils.usage_tracker.track_usage`` tracker."""
    calls = tokens = 0
    for entries in tracker.usage_data.values():
        calls += len(entries)
        for entry in entries:
            total = entry.get("total_tokens")
            if total is None:
                total = (entry.get("prompt_tokens") or 0) + (entry.get("completion_tokens") or 0)
            tokens += int(total or 0)
    return calls, tokens
