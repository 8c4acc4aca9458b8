"""Writing study outputs: tidy tables, figures and a provenance record.

Every study writes through a :class:`StudyWriter` into a temporary folder
(:class:`analyses._atomic.AtomicFolder`): tables (CSV and Parquet), figures
(PNG and PDF), the report and finally ``provenance.json`` -- the package
version, the SHA-256 of every input, the parameters, the seeds, the start and
end times and the SHA-256 of every file beside it.  Only then is the folder
moved into place, in one rename: a failing run leaves the previous outputs
and their provenance untouched and no empty folder.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["StudyWriter", "sha256_file", "sha256_frame", "ILLUSTRATIVE_NOTE"]

#: Label put on every output of the demo, whose model answers come from a toy model.
ILLUSTRATIVE_NOTE = "ILLUSTRATIVE: model answers from a deterministic demo model (local test server), not a real LLM"


def sha256_file(path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_frame(frame: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's content (column names, dtypes-independent row hashes)."""
    h = hashlib.sha256()
    h.update(json.dumps([str(c) for c in frame.columns]).encode())
    h.update(pd.util.hash_pandas_object(frame.reset_index(drop=True), index=False).to_numpy().tobytes())
    return h.hexdigest()


def _final_path(path) -> str:
    """Return the path a file will have once the atomic output folders around it are moved into place.

    A component ``.<name>.tmp-XXXX`` (an :class:`~analyses._atomic.AtomicFolder`
    being written, a sibling of its target) becomes ``<name>``.
    """
    import re

    parts = [re.sub(r"^\.(.+)\.tmp-[A-Za-z0-9_]+$", r"\1", part) for part in Path(path).parts]
    return str(Path(*parts)) if parts else str(path)


def _now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(x):
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.floating,)):
        return float(x)
    if isinstance(x, (str, int, float, bool)) or x is None:
        return x
    if isinstance(x, Path):
        return str(x)
    return repr(x)


class StudyWriter:
    """Write one study's tables, figures and provenance into a folder.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    study : str
        Study name recorded in the provenance.
    params : dict, optional
        Parameters recorded in the provenance.
    seed : int or None, optional
        Seed recorded in the provenance.
    note : str, optional
        A label added to every table (column ``note``) and figure (footer),
        e.g. :data:`ILLUSTRATIVE_NOTE`.
    formats : sequence of str
        Table formats among ``"csv"`` and ``"parquet"``.
    overwrite : bool
        Replace earlier alignstat outputs in a non-empty `out` (otherwise a
        non-empty `out` is an error, raised before anything is computed).

    Attributes
    ----------
    out : Path
        The final folder.
    folder : Path
        The temporary folder written into until :meth:`finish`.

    Notes
    -----
    Use it as a context manager, or call :meth:`abort` on failure: leaving the
    ``with`` block by an exception removes the temporary folder.

    Examples
    --------
    >>> import tempfile, pathlib, pandas as pd
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with StudyWriter(root / "s", study="demo") as w:
    ...     _ = w.table("t", pd.DataFrame({"a": [1]}))
    ...     _ = w.finish()
    >>> sorted(p.name for p in (root / "s").iterdir())
    ['provenance.json', 't.csv', 't.parquet']
    """

    def __init__(self, out, *, study, params=None, seed=None, note=None, formats=("csv", "parquet"),
                 overwrite=False):
        from ._atomic import AtomicFolder

        self._atomic = AtomicFolder(out, overwrite=overwrite)
        self.out = self._atomic.out
        self.folder = self._atomic.path
        self.study = study
        self.params = dict(params or {})
        self.seed = seed
        self.note = note
        self.formats = tuple(formats)
        bad = set(self.formats) - {"csv", "parquet"}
        if bad:
            self._atomic.abort()
            raise ValueError(f"`formats` must be among 'csv', 'parquet'; got {sorted(bad)}.")
        self.inputs = {}
        self.outputs = []
        self.headlines = {}
        self.started = _now()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.abort()
        elif not self._atomic.done:
            self.finish()
        return False

    def abort(self):
        """Discard everything written so far; the output folder is left as it was."""
        self._atomic.abort()

    def add_input(self, name, source):
        """Record an input: a file path (hashed from its bytes) or a DataFrame (hashed from its content).

        An input file inside the output folder is refused: replacing the
        folder would delete it.
        """
        if not isinstance(source, pd.DataFrame) and self._atomic.contains(source):
            self.abort()
            raise ValueError(f"input {str(source)!r} lies inside the output folder {str(self.out)!r}, which this "
                             "run replaces; choose another output folder.")
        if isinstance(source, pd.DataFrame):
            self.inputs[str(name)] = {"kind": "dataframe", "rows": int(len(source)), "sha256": sha256_frame(source)}
        else:
            p = Path(source)
            if p.is_dir():
                files = sorted(x for x in p.rglob("*") if x.is_file())
                self.inputs[str(name)] = {
                    "kind": "directory", "path": _final_path(p),
                    "files": {str(f.relative_to(p)): sha256_file(f) for f in files},
                }
            else:
                self.inputs[str(name)] = {"kind": "file", "path": _final_path(p), "sha256": sha256_file(p)}

    def table(self, name, frame: pd.DataFrame) -> pd.DataFrame:
        """Write `frame` as ``<name>.csv`` and ``<name>.parquet`` now; return it."""
        f = frame.copy()
        if self.note:
            f["note"] = self.note
        f.attrs = {}
        if "csv" in self.formats:
            f.to_csv(self.folder / f"{name}.csv", index=False)
            self.outputs.append(f"{name}.csv")
        if "parquet" in self.formats:
            g = f.copy()
            for c in g.columns:
                if g[c].dtype == object:
                    g[c] = g[c].map(lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
            g.to_parquet(self.folder / f"{name}.parquet", index=False)
            self.outputs.append(f"{name}.parquet")
        return frame

    def figure(self, name, fig):
        """Save a matplotlib figure as ``<name>.png`` and ``<name>.pdf`` and close it."""
        from alignstat._optional import require

        plt = require("matplotlib.pyplot")

        if self.note:
            # a watermark on every plotting area, and the full note hanging below the figure
            for ax in fig.axes:
                if ax.get_label() == "<colorbar>":
                    continue
                ax.text(0.5, 0.5, "ILLUSTRATIVE", transform=ax.transAxes, fontsize=34, color="firebrick",
                        alpha=0.13, rotation=25, ha="center", va="center", zorder=0)
            short = self.note if len(self.note) <= 110 else self.note[:107] + "..."
            fig.text(0.5, 0.0, short, ha="center", va="top", fontsize=7, color="firebrick")
        for ext in ("png", "pdf"):
            fig.savefig(self.folder / f"{name}.{ext}", dpi=130 if ext == "png" else None, bbox_inches="tight")
            self.outputs.append(f"{name}.{ext}")
        plt.close(fig)

    def headline(self, key, value):
        """Record a headline number for the report."""
        self.headlines[str(key)] = _jsonable(value)

    def path(self, name) -> Path:
        """Where to write an extra file `name` (e.g. the report) so that it is moved and recorded with the rest."""
        return self.folder / name

    def files(self) -> dict:
        """``{relative path: sha256}`` of every file in the folder now (provenance.json aside)."""
        return {f.relative_to(self.folder).as_posix(): sha256_file(f)
                for f in sorted(self.folder.rglob("*"))
                if f.is_file() and f.relative_to(self.folder).as_posix() != "provenance.json"}

    def finish(self) -> Path:
        """Write ``provenance.json``, move the folder into place and return the final provenance path.

        ``outputs`` lists every file beside ``provenance.json`` (sub-folders
        included) with its SHA-256, read from disk at this moment.
        """
        from alignstat import __version__

        rec = {
            "study": self.study,
            "package": "alignstat",
            "version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "started": self.started,
            "finished": _now(),
            "parameters": _jsonable(self.params),
            "seed": _jsonable(self.seed),
            "inputs": self.inputs,
            "outputs": self.files(),
            "headlines": self.headlines,
        }
        if self.note:
            rec["note"] = self.note
        try:
            with open(self.folder / "provenance.json", "w", encoding="utf-8") as fh:
                json.dump(rec, fh, indent=2)
        except BaseException:
            self.abort()
            raise
        self._atomic.commit()
        return self.out / "provenance.json"
