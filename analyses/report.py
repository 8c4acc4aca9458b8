"""One page for all studies: figures and headline numbers (Markdown and HTML)."""

from __future__ import annotations

import html
import os
from datetime import datetime, timezone
from pathlib import Path

__all__ = ["write_report"]


def write_report(out, summaries, *, title="alignstat report", note=None, intro=""):
    """Write ``report.md`` and ``report.html`` in `out` linking every study's figures.

    Parameters
    ----------
    out : path
        The report's folder (the studies' folders are usually inside it).
    summaries : sequence of analyses.runners.StudySummary
    note : str, optional
        A banner shown at the top (e.g. the demo's "illustrative" label).

    Returns
    -------
    Path
        The Markdown report.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    md = [f"# {title}", "", f"_Generated {stamp} by alignstat._", ""]
    h = ["<!doctype html><html><head><meta charset='utf-8'>", f"<title>{html.escape(title)}</title>",
         "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%;border:1px solid #ddd;"
         "margin:4px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}"
         ".note{background:#fee;border:2px solid #c33;padding:8px;font-weight:bold}</style></head><body>",
         f"<h1>{html.escape(title)}</h1><p><i>Generated {stamp} by alignstat.</i></p>"]
    if note:
        md += [f"> **{note}**", ""]
        h.append(f"<p class='note'>{html.escape(note)}</p>")
    if intro:
        md += [intro, ""]
        h.append(f"<p>{html.escape(intro)}</p>")
    for s in summaries:
        rel = Path(os.path.relpath(s.folder, out))
        md += [f"## {s.study}", "", s.description, ""]
        h.append(f"<h2>{html.escape(s.study)}</h2><p>{html.escape(s.description)}</p><ul>")
        for k, v in s.headlines.items():
            md.append(f"- **{k}**: {v}")
            h.append(f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>")
        h.append("</ul>")
        md.append("")
        if s.preview:
            md += [s.preview, ""]
            h.append(_md_table_to_html(s.preview))
        for f in s.figures:
            md.append(f"![{s.study}: {f}]({(rel / f).as_posix()})")
            h.append(f"<img src='{html.escape((rel / f).as_posix())}' alt='{html.escape(f)}'>")
        md += ["", f"Tables (CSV and Parquet) and `provenance.json` are in `{rel.as_posix()}/`.", ""]
        h.append(f"<p>Tables (CSV and Parquet) and <code>provenance.json</code> are in "
                 f"<code>{html.escape(rel.as_posix())}/</code>.</p>")
    h.append("</body></html>")
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    (out / "report.html").write_text("\n".join(h), encoding="utf-8")
    return path


def _md_table_to_html(md):
    rows = [r for r in md.splitlines() if r.startswith("|") and not r.startswith("|---")]
    out = ["<table>"]
    for i, r in enumerate(rows):
        cells = [c.strip() for c in r.strip("|").split("|")]
        tag = "th" if i == 0 else "td"
        out.append("<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>")
    out.append("</table>")
    return "".join(out)
