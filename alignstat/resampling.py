"""Replicate schemes: how the bootstrap engine perturbs respondent weights.

A replicate scheme draws *multipliers* on the base weights of the
``n_units`` respondents, one row per replicate.  Plain respondent resampling
(multinomial counts, Poisson counts) lives here; design-based schemes
(Rao--Wu, Canty--Davison) are supplied by :mod:`surveys` as subclasses of
:class:`ReplicateScheme`, so that the engine in :mod:`alignstat.bootstrap`
never needs to know about strata or PSUs.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ReplicateScheme", "MultinomialScheme", "PoissonScheme", "FixedReplicates"]


class ReplicateScheme:
    """Base class of replicate-weight schemes.

    Subclasses implement :meth:`multipliers` and may override :meth:`variance_scale`.

    Attributes
    ----------
    n_units : int
        Number of respondents the multipliers apply to.
    name : str
        Short name reported in results and provenance.
    """

    name = "custom"
    #: Number of replicates a fixed scheme holds (``None``: draws are unlimited).
    n_replicates = None

    def __init__(self, n_units: int):
        if isinstance(n_units, bool) or not isinstance(n_units, (int, np.integer)):
            raise TypeError(f"`n_units` must be an integer; got {type(n_units).__name__}.")
        n_units = int(n_units)
        if n_units < 1:
            raise ValueError(f"`n_units` must be a positive integer; got {n_units}.")
        self.n_units = n_units

    def multipliers(self, rng: np.random.Generator, n_resamples: int) -> np.ndarray:
        """Replicate multipliers on the base weights.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the random draws (schemes hold no random state).
        n_resamples : int
            Number of replicates to draw.

        Returns
        -------
        ndarray, shape (n_resamples, n_units)
            Non-negative multipliers, one row per replicate.
        """
        raise NotImplementedError

    def variance_scale(self, n_replicates: int) -> float:
        """Multiplier ``c`` with ``Var(theta) = c * sum_r (theta_r - mean)**2``.

        The default, ``1 / (R - 1)``, is the ordinary bootstrap variance.
        """
        return 1.0 / max(int(n_replicates) - 1, 1)

    def reset(self) -> None:
        """Rewind a fixed replicate stream to its first replicate (no-op for random schemes).

        :func:`alignstat.bootstrap.bootstrap_alignment` calls this before drawing.
        """

    def jackknife_multipliers(self, rng: np.random.Generator, n_blocks: int) -> np.ndarray:
        """Delete-a-block jackknife multipliers, shape ``(K, n_units)``.

        Used for the acceleration of BCa intervals.  The default assigns the
        units at random to ``K = min(n_blocks, n_units)`` blocks of (nearly)
        equal size; replicate ``k`` gives factor 0 to block ``k`` and
        ``K / (K - 1)`` to every other unit (the JK1 factor; ratio statistics
        such as means do not depend on it).  With ``n_blocks >= n_units`` this
        is the ordinary delete-one jackknife.  Design-based subclasses should
        override this to delete whole PSUs within strata.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the random block assignment.
        n_blocks : int
            Requested number of blocks (at least 2).
        """
        n = self.n_units
        n_blocks = int(n_blocks)
        if n_blocks < 2:
            raise ValueError(f"`n_blocks` must be at least 2; got {n_blocks}.")
        if n < 2:
            raise ValueError("the jackknife needs at least 2 units.")
        k = min(n_blocks, n)
        block = np.empty(n, dtype=np.int64)
        block[rng.permutation(n)] = np.arange(n) % k
        out = np.full((k, n), k / (k - 1.0))
        out[block, np.arange(n)] = 0.0
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_units={self.n_units})"


class MultinomialScheme(ReplicateScheme):
    """Classic nonparametric bootstrap: each replicate draws ``n`` respondents with replacement.

    The multiplier of respondent ``i`` is the number of times it was drawn.
    """

    name = "multinomial"

    def multipliers(self, rng, n_resamples):
        """Draw counts: ``(n_resamples, n_units)``, each row a multinomial(n, 1/n) draw."""
        from ._kernels.resample import count_rows

        n = self.n_units
        # 32-bit draws are several times faster than int64 ones and exact for n < 2**32.
        dtype = np.uint32 if n < 2**32 else np.int64
        idx = rng.integers(0, n, size=(int(n_resamples), n), dtype=dtype)
        return count_rows(idx, n)


class PoissonScheme(ReplicateScheme):
    """Poisson bootstrap: independent Poisson(1) counts per respondent (Hanley & MacGibbon 2006)."""

    name = "poisson"

    def multipliers(self, rng, n_resamples):
        """Draw independent Poisson(1) counts, ``(n_resamples, n_units)``."""
        return rng.poisson(1.0, size=(int(n_resamples), self.n_units)).astype(np.float64)


class FixedReplicates(ReplicateScheme):
    """Replicate multipliers given up front (e.g. replicate weights shipped with a survey).

    Parameters
    ----------
    multipliers : array_like, shape (R, n_units)
        Multipliers on the base weights (replicate weight / base weight).
    scale : float, optional
        Variance multiplier ``c`` (see :meth:`ReplicateScheme.variance_scale`);
        default ``1 / (R - 1)``.
    name : str, optional
        Name reported in results.
    """

    def __init__(self, multipliers, *, scale=None, name="fixed"):
        arr = np.asarray(multipliers, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[0] < 1:
            raise ValueError(
                "`multipliers` must be a 2-D array of shape (n_resamples, n_units) with at "
                f"least one replicate; got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)) or np.any(arr < 0):
            raise ValueError("`multipliers` must be finite and non-negative.")
        if scale is not None:
            scale = float(scale)
            if not np.isfinite(scale) or scale <= 0:
                raise ValueError(f"`scale` must be a positive finite number; got {scale}.")
        super().__init__(arr.shape[1])
        self._multipliers = arr
        self._scale = scale
        self.name = name
        self._next = 0

    @property
    def n_replicates(self) -> int:
        """Number of replicates held."""
        return self._multipliers.shape[0]

    def reset(self) -> None:
        """Rewind to the first replicate."""
        self._next = 0

    def multipliers(self, rng, n_resamples):
        """Return the next `n_resamples` stored rows (`rng` is not used)."""
        n_resamples = int(n_resamples)
        start = self._next
        stop = start + n_resamples
        if stop > self.n_replicates:
            raise ValueError(
                f"only {self.n_replicates} fixed replicates are available; "
                f"{stop} were requested."
            )
        self._next = stop % self.n_replicates
        return self._multipliers[start:stop]

    def variance_scale(self, n_replicates):
        """Return the given `scale`, else ``1 / (R - 1)``."""
        if self._scale is not None:
            return float(self._scale)
        return super().variance_scale(n_replicates)
