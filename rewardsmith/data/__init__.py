"""Tables of human judgments: load (CSV, TSV, Parquet, DataFrame, built-ins), validate, profile, and
cut into tasks for the DSPy program."""

from .dataset import Dataset, DatasetError
from .loading import builtin_info, builtin_names, load_dataset
from .overlap import seen_in_fit
from .profile import profile
from .rows import RowTable
from .tasks import make_task, make_tasks, split_frames

__all__ = [
    "Dataset",
    "DatasetError",
    "RowTable",
    "builtin_info",
    "builtin_names",
    "load_dataset",
    "make_task",
    "make_tasks",
    "profile",
    "seen_in_fit",
    "split_frames",
]
