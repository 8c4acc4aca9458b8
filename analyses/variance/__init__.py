"""Variance decomposition of alignment: country versus who people are.

PyMC is imported lazily, when a decomposition is run.
"""

from ._decompose import DEFAULT_THRESHOLDS, ConvergenceError, decompose_outcome, decompose_variance
from ._result import DecompositionResult
from ._simulate import simulate_outcome

__all__ = [
    "DEFAULT_THRESHOLDS",
    "ConvergenceError",
    "DecompositionResult",
    "decompose_outcome",
    "decompose_variance",
    "simulate_outcome",
]
