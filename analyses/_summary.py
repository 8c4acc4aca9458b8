"""A short ``repr`` and a ``summary()`` for study results (dataclasses holding tidy frames).

A result class opts in with ``@dataclass(repr=False) class GlobalResult(StudyResultMixin): ...``
(``repr=False`` so that the dataclass does not replace the mixin's ``__repr__``).
Printing a result then gives one line naming its tables and their sizes
instead of hundreds of rows; ``summary()`` gives the headline table.
"""

from __future__ import annotations

import dataclasses

import pandas as pd

__all__ = ["StudyResultMixin", "short_repr", "result_summary"]


def short_repr(obj) -> str:
    """One line: the class name, each table's rows x columns and the number of parameters.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> import pandas as pd
    >>> @dataclass(repr=False)
    ... class R(StudyResultMixin):
    ...     scores: pd.DataFrame
    ...     params: dict
    >>> R(pd.DataFrame({"a": range(300)}), {"metric": "likert"})
    R(scores: 300 x 1, params: metric='likert')
    """
    parts = []
    fields = dataclasses.fields(obj) if dataclasses.is_dataclass(obj) else []
    for f in fields:
        v = getattr(obj, f.name)
        if isinstance(v, pd.DataFrame):
            parts.append(f"{f.name}: {v.shape[0]} x {v.shape[1]}")
        elif isinstance(v, dict):
            items = [f"{k}={val!r}" for k, val in v.items() if isinstance(val, (str, int, float, bool))][:4]
            more = len(v) - len(items)
            parts.append(f"{f.name}: " + ", ".join(items) + (f", +{more}" if more > 0 else "") if items
                         else f"{f.name}: {len(v)} keys")
        elif isinstance(v, (str, int, float, bool)) or v is None:
            parts.append(f"{f.name}={v!r}")
    text = f"{type(obj).__name__}({'; '.join(parts) if len(parts) > 2 else ', '.join(parts)})"
    return text if len(text) <= 300 else text[:297] + "..."


def result_summary(obj, *, table=None, n=10, digits=3) -> str:
    """Describe the result: its tables and sizes, then the first `n` rows of its headline table (Markdown).

    Parameters
    ----------
    obj : dataclass holding DataFrames
    table : str, optional
        The headline table (default: the class's ``_summary_table`` or its first table).
    n : int
        Rows of the headline table shown (the total is stated).
    digits : int
        Decimal places (estimates with intervals as ``0.812 [0.801, 0.824]``).
    """
    from .tables import to_markdown

    frames = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)
              if isinstance(getattr(obj, f.name), pd.DataFrame)}
    name = table or getattr(obj, "_summary_table", None) or next(iter(frames), None)
    lines = [short_repr(obj)]
    if name is not None:
        if name not in frames:
            raise ValueError(f"`table` must be one of {list(frames)}, got {name!r}.")
        t = frames[name]
        shown = f"first {n} of {len(t)} rows" if len(t) > n else f"{len(t)} rows"
        lines += ["", to_markdown(t.head(n), caption=f"{name} ({shown})", digits=digits)]
    return "\n".join(lines)


class StudyResultMixin:
    """Give a study-result dataclass a one-line ``repr`` and a ``summary()``."""

    _summary_table = None

    def __repr__(self):
        return short_repr(self)

    def summary(self, *, table=None, n=10, digits=3) -> str:
        """Return the tables and sizes, then the head of the headline table (see :func:`result_summary`)."""
        return result_summary(self, table=table, n=n, digits=digits)
