"""Atomic output folders: write into a hidden temporary folder, move it into place only when complete.

A study (or the demo) never writes piecemeal into its output folder: every
file goes into ``.<name>.tmp-XXXX`` next to the nearest existing ancestor of
the target, and :meth:`AtomicFolder.commit` renames it onto the target in one
step.  A failing run removes its temporary folder, so the previous outputs,
and their ``provenance.json``, stay untouched and no empty folder is left.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

__all__ = ["AtomicFolder", "check_out"]

_MARKER = "provenance.json"


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists():
        if p.parent == p:
            break
        p = p.parent
    return p


def check_out(out, *, overwrite=False) -> Path:
    """Validate an output folder before anything is computed.

    Parameters
    ----------
    out : str or Path
        The output folder.
    overwrite : bool
        Allow replacing a non-empty folder that holds alignstat outputs
        (a ``provenance.json``).

    Returns
    -------
    Path
        The absolute output folder.

    Raises
    ------
    ValueError
        If `out` or one of its parents is a regular file, if `out` is a
        non-empty folder and `overwrite` is False, or if `overwrite` would
        replace a folder that is not an alignstat output, the working
        directory or one of its parents.
    """
    out = Path(out).expanduser().absolute()
    for p in [out, *out.parents]:
        if p.exists() and not p.is_dir():
            what = "is" if p == out else f"lies below {str(p)!r}, which is"
            raise ValueError(f"output folder {str(out)!r} {what} a regular file, not a folder; "
                             "choose another output folder.")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise ValueError(f"output folder {str(out)!r} is not empty; pass --overwrite (overwrite=True) to "
                             "replace its contents, or choose another folder.")
        cwd = Path.cwd().absolute()
        if out == cwd or out in cwd.parents:
            raise ValueError(f"--overwrite would replace {str(out)!r}, the working directory or one of its "
                             "parents; choose a sub-folder as output.")
        if not (out / _MARKER).is_file():
            raise ValueError(f"output folder {str(out)!r} is not empty and holds no {_MARKER}, so it is not an "
                             "alignstat output; --overwrite only replaces earlier alignstat outputs. Remove it "
                             "yourself or choose another folder.")
    return out


class AtomicFolder:
    """A temporary folder that becomes `out` on :meth:`commit` and vanishes on :meth:`abort`.

    Parameters
    ----------
    out : str or Path
        The final folder (checked with :func:`check_out`).
    overwrite : bool
        Replace an earlier alignstat output in `out`.

    Attributes
    ----------
    out : Path
        The final folder.
    path : Path
        The temporary folder every file is written into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with AtomicFolder(root / "study") as f:
    ...     _ = (f.path / "a.txt").write_text("x")
    >>> sorted(p.name for p in (root / "study").iterdir())
    ['a.txt']
    """

    def __init__(self, out, *, overwrite=False):
        self.out = check_out(out, overwrite=overwrite)
        self.overwrite = overwrite
        anchor = _nearest_existing(self.out.parent)
        self.path = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.tmp-", dir=anchor))
        self.done = False

    def contains(self, path) -> bool:
        """Whether `path` lies inside the final folder (an input there would be lost on overwrite)."""
        p = Path(path).expanduser().absolute()
        return p == self.out or self.out in p.parents

    def commit(self) -> Path:
        """Move the temporary folder onto `out` (replacing earlier outputs) and return `out`."""
        if self.done:
            return self.out
        try:
            check_out(self.out, overwrite=self.overwrite)  # the target may have changed during the run
        except ValueError:
            self.abort()
            raise
        self.out.parent.mkdir(parents=True, exist_ok=True)
        old = None
        if self.out.exists():
            if any(self.out.iterdir()):
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-", dir=self.out.parent))
                os.replace(self.out, old / "x")
            else:
                self.out.rmdir()
        try:
            os.replace(self.path, self.out)
        except OSError:
            if old is not None:  # put the previous outputs back
                os.replace(old / "x", self.out)
                shutil.rmtree(old, ignore_errors=True)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        self.done = True
        return self.out

    def abort(self):
        """Remove the temporary folder; the target is left as it was."""
        if not self.done:
            shutil.rmtree(self.path, ignore_errors=True)
            self.done = True

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.abort()
        return False
