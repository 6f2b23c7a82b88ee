"""The HTML page: one self-contained file (figures as base64 data URIs, inline CSS, no scripts).

Everything inserted is escaped with ``html.escape``: function sources, analyses and feedback are
written by a language model and dataset names come from files, so none of it may become markup.
"""

from __future__ import annotations

import base64
from html import escape

from .tables import all_tables, headline_text, size_label

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;padding:.25em .6em}
th{background:#f2f2f2}td{font-variant-numeric:tabular-nums}.note{color:#555;font-size:.9em}
.headline{font-weight:600;background:#eef4ff;padding:.6em;border-radius:4px}
figure{display:inline-block;margin:.5em}img{max-width:100%}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto}details{margin:.4em 0}
"""


def render(results, sections) -> str:
    c = results.config
    parts = [
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        "<title>rewardsmith benchmark</title>", f"<style>{STYLE}</style></head><body>",
        "<h1>rewardsmith benchmark</h1>",
        _p(f"Datasets: {', '.join(c['datasets'])}. Methods: {', '.join(c['methods'])}. Seeds: "
           f"{', '.join(map(str, c['seeds']))}. Compile datasets (seen): "
           f"{', '.join(c['compile_datasets']) or 'none'}. Language model: "
           f"{c.get('lm') or 'none'}. Program: {c.get('program') or 'none'}."),
        f'<p class="headline">{escape(headline_text(results))}</p>',
    ]
    for table in all_tables(results):
        parts += [f"<h2>{escape(table.title)}</h2>", _p(table.note, "note"), _table(table)]
    for section in sections:
        parts += _dataset(section)
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _p(text: str, cls: str = "") -> str:
    attr = f' class="{cls}"' if cls else ""
    return f"<p{attr}>{escape(text)}</p>"


def _table(table) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in table.header)
    body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in row) + "</tr>"
                   for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _dataset(section) -> list[str]:
    label = " (seen in the compile)" if section.seen else " (unseen)"
    parts = [f"<h2>{escape(section.dataset + label)}</h2>"]
    for note in section.notes:
        parts.append(_p(note, "note"))
    for caption, path in section.images:
        data = base64.b64encode(path.read_bytes()).decode("ascii")
        parts.append(f'<figure><img src="data:image/png;base64,{data}" alt="{escape(caption)}">'
                     f"<figcaption>{escape(caption)}</figcaption></figure>")
    record = section.showcase
    if record is None:
        return parts
    what = (f"{record['method']}, seed {record['seed']}, fit rows "
            f"{size_label(record['fit_size'], record.get('fit_rows'))}: held-out rho "
            f"{record['rho']:.3f}, complexity {record.get('complexity')}")
    source = record.get("source") or "(no valid function)"
    parts.append(f"<details open><summary>Learned function ({escape(what)})</summary>"
                 f"<pre><code>{escape(source)}</code></pre></details>")
    parts.append(f"<details><summary>Analysis</summary><pre>"
                 f"{escape(record.get('analysis') or '(none)')}</pre></details>")
    parts.append(_attempts(record.get("attempts") or []))
    return parts


def _attempts(attempts: list[dict]) -> str:
    rows = []
    for a in attempts:
        rho = (f"fit {a.get('fit_rho', -1):.3f}, validation {a.get('valid_rho', -1):.3f}"
               if a.get("ok") else "failed")
        code = escape(a.get("source") or "(no code)")
        rows.append(f"<tr><td>{escape(str(a.get('round')))}</td><td>{escape(rho)}</td>"
                    f"<td>{escape(a.get('feedback') or '')}<details><summary>code</summary>"
                    f"<pre><code>{code}</code></pre></details></td></tr>")
    return (f"<details><summary>Attempt history ({len(attempts)} in all)</summary><table>"
            "<thead><tr><th>round</th><th>rank agreement</th><th>feedback and code</th></tr>"
            f"</thead><tbody>{''.join(rows)}</tbody></table></details>")
