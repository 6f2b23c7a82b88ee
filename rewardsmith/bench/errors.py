"""The benchmark's one error class, kept apart so the CLI can name it without importing dspy."""


class BenchError(ValueError):
    """The benchmark cannot run as asked (unknown method, missing program or LM, bad results file);
    the message says what to change."""
