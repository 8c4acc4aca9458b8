"""Optional dependencies: import on first use, or say which extra installs them.

``pip install alignstat`` is the light core.  The heavier parts of the
package need an extra::

    pip install "alignstat[bayes]"        # PyMC, ArviZ, nutpie: the variance decomposition
    pip install "alignstat[llm]"          # openai, transformers, torch: collecting answers
    pip install "alignstat[plots]"        # matplotlib: figures and reports
    pip install "alignstat[distributed]"  # dask.distributed: study sweeps
    pip install "alignstat[all]"          # all of the above
"""

from __future__ import annotations

import importlib

__all__ = ["MissingExtraError", "require", "EXTRAS"]

#: The extra that provides each optional top-level module.
EXTRAS = {
    "pymc": "bayes",
    "arviz": "bayes",
    "nutpie": "bayes",
    "pytensor": "bayes",
    "openai": "llm",
    "transformers": "llm",
    "tokenizers": "llm",
    "torch": "llm",
    "matplotlib": "plots",
    "dask": "distributed",
    "distributed": "distributed",
}


class MissingExtraError(ImportError):
    """An optional dependency is not installed; the message names the extra."""


def require(module: str, *, purpose: str | None = None):
    """Import `module`, or raise :class:`MissingExtraError` naming the extra.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"matplotlib.pyplot"``.
    purpose : str, optional
        What the caller needs it for, used in the message.

    Examples
    --------
    >>> from alignstat._optional import require
    >>> require("numpy").__name__
    'numpy'
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        top = module.split(".")[0]
        if exc.name is not None and exc.name.split(".")[0] != top:
            raise
        extra = EXTRAS.get(top)
        what = f" for {purpose}" if purpose else ""
        if extra is None:
            raise MissingExtraError(f"`{top}` is needed{what} but is not installed.") from exc
        raise MissingExtraError(
            f"`{top}` is needed{what} but is not installed; install the `{extra}` extra: "
            f'pip install "alignstat[{extra}]".'
        ) from exc
