"""write_report: a results.json becomes report.html (self-contained), report.md and PNG figures.

The figures are saved under ``figures/`` beside the report (for the Markdown and for committing)
and embedded into the HTML as data URIs, so the page is one file that opens anywhere.
"""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_write_text
from . import page, tables
from .errors import BenchError
from .figures import dataset_figures
from .results import BenchResults


def write_report(results_json_path, out_dir=None) -> Path:
    """Write report.html, report.md and figures/*.png into ``out_dir`` (default: beside the
    results file); return the path of report.html."""
    results = BenchResults.load(results_json_path)
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise BenchError(f"the report needs matplotlib: pip install 'rewardsmith[bench]', then "
                         f"rewardsmith report {results_json_path}") from None
    out_dir = Path(out_dir) if out_dir is not None else Path(results_json_path).parent
    figures_dir = out_dir / "figures"
    sections = [dataset_figures(results, name, figures_dir) for name in results.config["datasets"]]
    atomic_write_text(out_dir / "report.md", report_markdown(results, sections, out_dir))
    return atomic_write_text(out_dir / "report.html", page.render(results, sections))


def report_markdown(results, sections, out_dir: Path) -> str:
    """results.md's tables, then per dataset its figures (linked), function, analysis, attempts."""
    parts = [results.markdown()]
    for s in sections:
        parts.append(f"## {tables.md_cell(s.dataset)}{' (seen)' if s.seen else ' (unseen)'}\n")
        parts += [f"_{tables.md_cell(note)}_\n" for note in s.notes]
        parts += [f"![{tables.md_cell(caption)}]({path.relative_to(out_dir).as_posix()})\n"
                  for caption, path in s.images]
        record = s.showcase
        if record is None:
            continue
        parts.append(f"Learned function ({record['method']}, seed {record['seed']}, fit rows "
                     f"{tables.size_label(record['fit_size'], record.get('fit_rows'))}, "
                     f"held-out rho {record['rho']:.3f}):\n")
        parts.append(_fenced(record.get("source") or "(no valid function)", "python"))
        parts.append("Analysis:\n")
        parts.append(_fenced(record.get("analysis") or "(none)", "text"))
        rows = [[str(a.get("round")), "yes" if a.get("ok") else "no",
                 f"{a.get('fit_rho', -1):.3f}", f"{a.get('valid_rho', -1):.3f}",
                 a.get("feedback") or ""] for a in record.get("attempts") or []]
        parts.append(tables.markdown_table(tables.Table(
            "Attempt history", "Each attempt's rank agreement on fit rows and validation rows.",
            ["round", "ok", "fit rho", "validation rho", "feedback"], rows), level="###"))
    return "\n".join(parts)


def _fenced(text: str, language: str) -> str:
    """A code fence longer than any backtick run inside ``text``, so the text cannot close it."""
    longest, run = 0, 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}\n"
