"""BenchResults: the records, the configuration and the summary, and their two files.

``results.json`` is the machine-readable form (every cell record, the configuration, the summary);
``results.md`` the tables. Both are written atomically, so a reader never sees half a file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..files import atomic_write_text, read_json
from . import tables
from .errors import BenchError

FORMAT = "rewardsmith-bench"
FORMAT_VERSION = 1


@dataclass
class BenchResults:
    records: list[dict]
    config: dict
    summary: dict
    paths: dict[str, Path] = field(default_factory=dict)

    def markdown(self) -> str:
        return tables.markdown(self)

    def headline(self) -> str:
        return tables.headline_text(self)

    def to_json(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "config": self.config,
                "summary": self.summary, "records": self.records}

    def write(self, out_dir) -> BenchResults:
        out_dir = Path(out_dir)
        text = json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n"
        self.paths["json"] = atomic_write_text(out_dir / "results.json", text)
        self.paths["markdown"] = atomic_write_text(out_dir / "results.md", self.markdown())
        return self

    @classmethod
    def load(cls, path) -> BenchResults:
        path = Path(path)
        document = read_json(
            path, BenchError, missing=f"results file not found: {path} (written by rewardsmith "
            "bench)", damaged=lambda exc: f"{path} is not valid JSON ({exc}); run the benchmark "
            "again")
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise BenchError(f"{path} is not a rewardsmith benchmark results file")
        if document.get("format_version") != FORMAT_VERSION:
            raise BenchError(f"{path} has format version {document.get('format_version')}; this "
                             f"rewardsmith reads version {FORMAT_VERSION}")
        return cls(document["records"], document["config"], document["summary"],
                   {"json": path})
