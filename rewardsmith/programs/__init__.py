"""The DSPy programs: RewardProgram (analyze -> write -> feedback) and the seed baseline;
compiling, saving, loading and running them."""

from .compile import OPTIMIZERS, CompileError, compile, estimate_cost
from .persist import ProgramFileError
from .reward_program import Attempt, RewardProgram, code_text
from .run import RunResult, run_program
from .seed_program import SeedProgram

__all__ = [
    "OPTIMIZERS", "Attempt", "CompileError", "ProgramFileError", "RewardProgram", "RunResult",
    "SeedProgram", "code_text", "compile", "estimate_cost", "run_program",
]
