"""A run as a page to look at (``rewardsmith run --report``, ``RunResult._repr_html_``)."""

from .page import run_page, write_run_page

__all__ = ["run_page", "write_run_page"]
