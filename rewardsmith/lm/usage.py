"""Counting LM use: the one place that turns a usage record into a token count."""

from __future__ import annotations


def tokens_of(usage: dict) -> int:
    """Tokens in one call's usage record: its total, or prompt + completion when a provider gives
    no total."""
    total = usage.get("total_tokens")
    if total is None:
        total = (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0)
    return int(total or 0)


def usage_totals(tracker) -> tuple[int, int]:
    """(calls, tokens) in a ``dspy.utils.usage_tracker.track_usage`` tracker."""
    calls = tokens = 0
    for entries in tracker.usage_data.values():
        calls += len(entries)
        tokens += sum(tokens_of(entry) for entry in entries)
    return calls, tokens
