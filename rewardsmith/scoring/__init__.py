"""Scoring big tables with a learned function: a DataFrame (``score_frame``), a file streamed in
chunks (``files.score_file``, the ``rewardsmith score`` command; needs pyarrow) and a Dask
DataFrame (``dask.score_dask``; needs the ``[dask]`` extra). Always in the sandbox."""

from .columns import ColumnReads, MissingColumnError, column_reads
from .frame import FrameScorer, score_frame

__all__ = ["ColumnReads", "FrameScorer", "MissingColumnError", "column_reads", "score_frame"]
