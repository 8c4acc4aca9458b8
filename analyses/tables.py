"""Paper-ready tables: estimates with their intervals, formatted p-values, Markdown and LaTeX.

:func:`format_table` turns any tidy result (a study's table, :func:`analyses.compare.compare`'s
differences) into a frame of strings: ``alignment``, ``ci_low`` and ``ci_high``
become one column ``"0.812 [0.801, 0.823]"``, p-values print as ``"< 0.001"``
or ``"0.032"``, other numbers with a fixed number of digits.  :func:`to_markdown`
and :func:`to_latex` render it, with a caption that names the interval (the
``interval`` column, when the table has one).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["format_pvalue", "format_estimate", "format_table", "to_markdown", "to_latex", "interval_label", "latex_escape",
           "PVALUE_COLUMNS", "ESTIMATE_COLUMNS"]

#: Columns printed as p-values.
PVALUE_COLUMNS = ("pvalue", "pvalue_adj", "p_null")
#: Columns that carry an estimate with ``ci_low``/``ci_high`` (the first present is combined).
ESTIMATE_COLUMNS = ("alignment", "difference", "estimate", "r", "mean")
#: Columns dropped from formatted tables (said in the caption instead, or bookkeeping).
_DROP = ("interval", "note", "code")


def format_pvalue(p, *, digits=3) -> str:
    """Format a p-value as a paper prints it: ``"< 0.001"``, ``"0.032"``; ``""`` for a missing one.

    Parameters
    ----------
    p : float
    digits : int
        Decimal places; values below ``10**-digits`` print as ``"< 0.001"`` (for 3).

    Examples
    --------
    >>> format_pvalue(0.00002), format_pvalue(0.0316), format_pvalue(float("nan"))
    ('< 0.001', '0.032', '')
    """
    if p is None or (isinstance(p, float) and math.isnan(p)) or pd.isna(p):
        return ""
    p = float(p)
    floor = 10.0 ** -digits
    if p < floor:
        return f"< {floor:.{digits}f}"
    return f"{min(p, 1.0):.{digits}f}"


def format_estimate(estimate, low=None, high=None, *, digits=3) -> str:
    """Format an estimate with its interval, ``"0.812 [0.801, 0.823]"`` (no interval when a limit is missing).

    Examples
    --------
    >>> format_estimate(0.81234, 0.8011, 0.8236)
    '0.812 [0.801, 0.824]'
    >>> format_estimate(0.5, float("nan"), 0.6)
    '0.500'
    """
    if estimate is None or pd.isna(estimate):
        return ""
    s = f"{float(estimate):.{digits}f}"
    if low is not None and high is not None and not pd.isna(low) and not pd.isna(high):
        s += f" [{float(low):.{digits}f}, {float(high):.{digits}f}]"
    return s


def interval_label(frame) -> str:
    """Describe the intervals of `frame` from its ``interval`` column (``""`` when it has none).

    Several distinct descriptions are joined with ``"; "``.
    """
    if not isinstance(frame, pd.DataFrame) or "interval" not in frame.columns:
        return ""
    vals = [str(v) for v in pd.unique(frame["interval"].dropna())]
    return "; ".join(vals)


def _confidence_label(frame) -> str:
    lab = interval_label(frame)
    for tok in lab.replace(";", " ").split():
        if tok.endswith("%"):
            return f"{tok} CI"
    return "CI"


def format_table(frame, *, digits=3, pvalue_digits=3, estimate=None, columns=None, rename=None):
    """Format a tidy result for a paper: every cell a string.

    Parameters
    ----------
    frame : pandas.DataFrame
        A result with e.g. ``alignment, ci_low, ci_high, pvalue``.
    digits : int
        Decimal places of estimates and other floats.
    pvalue_digits : int
        Decimal places of p-values (smaller ones print as ``"< 0.001"``).
    estimate : str, optional
        The column combined with ``ci_low``/``ci_high`` (default: the first
        of :data:`ESTIMATE_COLUMNS` present).
    columns : list of str, optional
        Columns of `frame` to keep, in order (``ci_low``/``ci_high`` and
        ``interval`` go with the estimate automatically); default: all but
        ``interval`` and ``note``.
    rename : dict, optional
        Header renames applied last.

    Returns
    -------
    pandas.DataFrame
        Strings only; ``attrs["interval"]`` holds :func:`interval_label`.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"model": ["m"], "alignment": [0.8123], "ci_low": [0.8], "ci_high": [0.83],
    ...                   "pvalue": [2e-5], "n": [120]})
    >>> format_table(t).iloc[0].tolist()
    ['m', '0.812 [0.800, 0.830]', '< 0.001', '120']
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"`frame` must be a pandas DataFrame, got {type(frame).__name__}.")
    f = frame.copy()
    f.attrs = {}
    if columns is not None:
        cols = [columns] if isinstance(columns, str) else list(columns)
        missing = [c for c in cols if c not in f.columns]
        if missing:
            raise ValueError(f"`columns` {missing} are not in the table (columns: {list(f.columns)}).")
        f = f[cols + [c for c in ("ci_low", "ci_high", "interval") if c in f.columns and c not in cols]]
    label = interval_label(frame)
    has_ci = {"ci_low", "ci_high"} <= set(f.columns)
    if estimate is None and has_ci:
        estimate = next((c for c in ESTIMATE_COLUMNS if c in f.columns), None)
    elif estimate is not None and estimate not in f.columns:
        raise ValueError(f"`estimate` column {estimate!r} is not in the table (columns: {list(f.columns)}).")
    out = pd.DataFrame(index=f.index)
    for c in f.columns:
        if c in _DROP or (has_ci and estimate and c in ("ci_low", "ci_high")):
            continue
        col = f[c]
        if has_ci and estimate and c == estimate:
            head = f"{c} [{_confidence_label(frame)}]"
            out[head] = [format_estimate(e, lo, hi, digits=digits)
                         for e, lo, hi in zip(col, f["ci_low"], f["ci_high"])]
        elif c in PVALUE_COLUMNS:
            out[str(c)] = [format_pvalue(p, digits=pvalue_digits) for p in col]
        elif pd.api.types.is_bool_dtype(col):
            out[str(c)] = col.map(lambda v: "yes" if v else "")
        elif pd.api.types.is_integer_dtype(col):
            out[str(c)] = col.map(str)
        elif pd.api.types.is_float_dtype(col):
            whole = col.dropna()
            if len(whole) and np.all(np.mod(whole, 1) == 0) and c.startswith("n"):
                out[str(c)] = col.map(lambda v: "" if pd.isna(v) else f"{int(v)}")
            else:
                out[str(c)] = col.map(lambda v: "" if pd.isna(v) else f"{v:.{digits}f}")
        else:
            out[str(c)] = col.map(lambda v: "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    if rename:
        out = out.rename(columns=rename)
    out = out.reset_index(drop=True)
    out.attrs["interval"] = label
    return out


def _caption(caption, formatted, frame):
    label = interval_label(frame) if isinstance(frame, pd.DataFrame) else ""
    label = label or formatted.attrs.get("interval", "")
    parts = [caption] if caption else []
    if label:
        parts.append(f"Intervals: {label}.")
    return " ".join(parts)


def to_markdown(frame, *, caption=None, formatted=False, **kwargs) -> str:
    r"""Render a tidy result as a pipe table (GitHub/Pandoc Markdown), with an optional caption line.

    Parameters
    ----------
    frame : pandas.DataFrame
    caption : str, optional
        Printed above the table in bold; the interval description follows.
    formatted : bool
        `frame` is already a :func:`format_table` result.
    **kwargs
        Passed to :func:`format_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_markdown(pd.DataFrame({"g": ["a|b"], "pvalue": [0.5]})))
    | g | pvalue |
    |---|---:|
    | a\|b | 0.500 |
    """
    f = frame if formatted else format_table(frame, **kwargs)
    cap = _caption(caption, f, frame)
    head = [str(c).replace("|", "\\|") for c in f.columns]
    align = ["---:" if _numeric_column(f[c]) else "---" for c in f.columns]
    lines = ([f"**{cap}**", ""] if cap else []) + ["| " + " | ".join(head) + " |", "|" + "|".join(align) + "|"]
    for row in f.itertuples(index=False):
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines)


def _numeric_column(col):
    vals = [v for v in col if v != ""]
    if not vals:
        return False
    ok = 0
    for v in vals:
        t = str(v).split(" [")[0].replace("< ", "")
        try:
            float(t)
            ok += 1
        except ValueError:
            pass
    return ok == len(vals)


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                  "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}",
                  "<": r"\textless{}", ">": r"\textgreater{}", "×": r"$\times$", "†": r"\dag{}"}


def latex_escape(text) -> str:
    r"""Escape LaTeX's special characters in `text`.

    Examples
    --------
    >>> print(latex_escape("50% of a_b & <0.001"))
    50\% of a\_b \& \textless{}0.001
    """
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(frame, *, caption=None, label=None, formatted=False, **kwargs) -> str:
    r"""Render a tidy result as a booktabs ``table`` environment (needs the booktabs package).

    Parameters
    ----------
    frame : pandas.DataFrame
    caption : str, optional
        The caption; the interval description is appended.
    label : str, optional
        ``\label{...}`` of the table.
    formatted : bool
        `frame` is already a :func:`format_table` result.
    **kwargs
        Passed to :func:`format_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> print(to_latex(pd.DataFrame({"group": ["a_b"], "pvalue": [1e-6]})))
    \begin{table}[htbp]
    \centering
    \begin{tabular}{lr}
    \toprule
    group & pvalue \\
    \midrule
    a\_b & \textless{} 0.001 \\
    \bottomrule
    \end{tabular}
    \end{table}
    """
    f = frame if formatted else format_table(frame, **kwargs)
    cap = _caption(caption, f, frame)
    spec = "".join("r" if _numeric_column(f[c]) else "l" for c in f.columns)
    lines = [r"\begin{table}[htbp]", r"\centering"]
    if cap:
        lines.append(r"\caption{" + latex_escape(cap) + "}")
    if label:
        lines.append(r"\label{" + str(label) + "}")
    lines += [r"\begin{tabular}{" + spec + "}", r"\toprule",
              " & ".join(latex_escape(c) for c in f.columns) + r" \\", r"\midrule"]
    for row in f.itertuples(index=False):
        lines.append(" & ".join(latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)
