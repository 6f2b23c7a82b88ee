"""The DSPy signatures of the program: what each LM call takes and gives."""

from .analyze import AnalyzeAttributes
from .elicit import AttributeBelief, ElicitPrior
from .write import WriteScoringFunction

__all__ = ["AnalyzeAttributes", "AttributeBelief", "ElicitPrior", "WriteScoringFunction"]
