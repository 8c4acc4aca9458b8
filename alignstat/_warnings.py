"""Warning classes of alignstat (one family, so users can filter them together)."""

__all__ = ["AlignstatWarning", "DataPolicyWarning", "DiagnosticsWarning", "SmallCellWarning"]


class AlignstatWarning(UserWarning):
    """Base class of every warning alignstat emits."""


class DataPolicyWarning(AlignstatWarning):
    """An input was repaired or dropped under an explicit, documented policy."""


class SmallCellWarning(AlignstatWarning):
    """An estimate rests on fewer respondents than the small-cell threshold."""


class DiagnosticsWarning(AlignstatWarning):
    """A sampler or estimator failed its convergence diagnostics."""
