"""Variance decomposition of alignment: country versus who people are.

:func:`decompose_variance` decomposes, by default, the between-group spread of
the ESS paper's group alignment (``estimand="group"``); ``estimand="respondent"``
decomposes each respondent's own alignment (a different quantity).  PyMC,
ArviZ and nutpie (the ``[bayes]`` extra) are imported when a decomposition is run.
"""

from ._decompose import DEFAULT_THRESHOLDS, ConvergenceError, decompose_outcome, decompose_variance
from ._result import DecompositionResult, GroupDecompositionResult
from ._simulate import simulate_outcome

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ConvergenceError",
    "DecompositionResult",
    "GroupDecompositionResult",
    "decompose_outcome",
    "decompose_variance",
    "simulate_outcome",
]
