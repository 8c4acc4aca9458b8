"""Design-based bootstrap replicate schemes (strata and primary sampling units).

Both schemes resample whole PSUs independently within each stratum and turn
the draw counts into multiplicative factors on the base weights, so they
plug into :func:`alignstat.bootstrap.bootstrap_alignment` and into
:func:`surveys.distributions` as any :class:`alignstat.ReplicateScheme`.
Estimates for groups are computed from the *full* replicate weights
restricted to the group (domain estimation), never by resampling a subset.

* :class:`RaoWuScheme` -- the Rao--Wu rescaling bootstrap with
  ``m_h = n_h - 1`` draws per stratum and factor ``n_h / (n_h - 1) * count``
  (R ``survey``: ``as.svrepdesign(type = "subbootstrap")``); variance scale
  ``1 / (R - 1)``.
* :class:`CantyDavisonScheme` -- ``m_h = n_h`` draws, factor = count
  (R ``survey``: ``type = "bootstrap"``), variance scale
  ``hbar / ((hbar - 1) (R - 1))`` with ``hbar`` the harmonic mean of the
  numbers of PSUs per stratum.

Strata with a single PSU (which give no within-stratum variance) are handled
by ``singleton=``: ``"fail"`` (default; raises naming the strata),
``"collapse"`` (merge each with the next stratum in sorted order, the last
with the previous one -- the usual collapsed-strata approximation) or
``"certainty"`` (treat the PSU as selected with certainty: factor 1 in every
replicate, contributing no variance).

References
----------
Rao, J. N. K. & Wu, C. F. J. (1988). Resampling inference with complex survey
data. *JASA* 83, 231-241.  Canty, A. J. & Davison, A. C. (1999). Resampling-based
variance estimation for labour force surveys. *The Statistician* 48, 379-391.
Lumley, T. R package ``survey``: ``subbootweights``, ``bootweights``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alignstat.resampling import ReplicateScheme

__all__ = ["RaoWuScheme", "CantyDavisonScheme", "stratified_variance"]

_SINGLETON = ("fail", "collapse", "certainty")


def _as_labels(values, name):
    arr = pd.Series(values) if not isinstance(values, pd.Series) else values
    if arr.isna().any():
        raise ValueError(f"`{name}` has {int(arr.isna().sum())} missing value(s); every respondent needs one.")
    return arr.reset_index(drop=True)


class _StratifiedScheme(ReplicateScheme):
    """Shared set-up: PSU codes, stratum of each PSU, singleton handling."""

    def __init__(self, strata, psu, *, singleton="fail", nest=True):
        if singleton not in _SINGLETON:
            raise ValueError(f"`singleton` must be one of {_SINGLETON}, got {singleton!r}.")
        psu_s = _as_labels(psu, "psu")
        n = len(psu_s)
        if strata is None:
            strata_s = pd.Series(np.zeros(n, dtype=np.int64))
        else:
            strata_s = _as_labels(strata, "strata")
            if len(strata_s) != n:
                raise ValueError(
                    f"`strata` has {len(strata_s)} entries but `psu` has {n}; give one per respondent."
                )
        super().__init__(n)
        s_code, s_labels = pd.factorize(strata_s, sort=True)
        if nest:
            p_code, _ = pd.factorize(pd.MultiIndex.from_arrays([s_code, psu_s.to_numpy()]), sort=True)
        else:
            p_code, _ = pd.factorize(psu_s, sort=True)
        p_code = np.asarray(p_code, dtype=np.int64)
        P = int(p_code.max()) + 1
        psu_stratum = np.full(P, -1, dtype=np.int64)
        psu_stratum[p_code] = s_code
        # every PSU must lie in one stratum (only checkable without nesting)
        if not nest:
            chk = np.zeros(P, dtype=bool)
            np.logical_or.at(chk, p_code, psu_stratum[p_code] != s_code)
            if chk.any():
                raise ValueError(
                    "some PSUs appear in more than one stratum; PSU ids are then only unique "
                    "within strata -- pass `nest=True`."
                )
        self.singleton = singleton
        self.stratum_labels = np.asarray(s_labels)
        H = len(s_labels)
        n_h = np.bincount(psu_stratum, minlength=H)
        certain = np.zeros(H, dtype=bool)
        single = np.flatnonzero(n_h == 1)
        if single.size:
            if singleton == "fail":
                shown = ", ".join(repr(x) for x in self.stratum_labels[single[:5]].tolist())
                raise ValueError(
                    f"{single.size} stratum/strata have a single PSU ({shown}"
                    f"{', ...' if single.size > 5 else ''}); choose `singleton='collapse'` or "
                    "`singleton='certainty'`."
                )
            if singleton == "certainty":
                certain[single] = True
            else:
                if H < 2:
                    raise ValueError("cannot collapse: the design has a single stratum with one PSU.")
                target = np.arange(H)
                for h in single:  # merge into the next stratum (the last one into the previous)
                    t = h + 1 if h + 1 < H else h - 1
                    target[target == h] = target[t]
                # a merged stratum may still be a singleton only if all merged were; re-check
                _, psu_stratum = np.unique(target[psu_stratum], return_inverse=True)
                H = int(psu_stratum.max()) + 1
                n_h = np.bincount(psu_stratum, minlength=H)
                certain = np.zeros(H, dtype=bool)
                if np.any(n_h == 1):  # pragma: no cover - needs >= 2 strata, each merged
                    raise ValueError("collapsing singleton strata left a stratum with one PSU.")
        self.n_strata = H
        self.n_psu = P
        self.psu_per_stratum = n_h
        self._unit_psu = p_code
        self._psu_stratum = psu_stratum
        self._certain = certain
        # draw layout: PSUs ordered by stratum
        order = np.argsort(psu_stratum, kind="stable")
        self._order = order
        self._start = np.concatenate([[0], np.cumsum(n_h)[:-1]])

    def _draws_per_stratum(self):
        raise NotImplementedError

    def _psu_scale(self):
        raise NotImplementedError

    def psu_factors(self, rng, n_replicates):
        """Factors per PSU, shape ``(R, n_psu)``."""
        rng = np.random.default_rng(rng)
        R = int(n_replicates)
        if R < 1:
            raise ValueError("`n_replicates` must be a positive integer.")
        m_h = self._draws_per_stratum()
        m_h = np.where(self._certain, 0, m_h)
        draw_h = np.repeat(np.arange(self.n_strata), m_h)
        M = draw_h.size
        local = np.floor(rng.random((R, M)) * self.psu_per_stratum[draw_h]).astype(np.int64)
        pos = self._start[draw_h][None, :] + local  # position in the stratum-sorted PSU list
        flat = (np.arange(R, dtype=np.int64)[:, None] * self.n_psu + pos).ravel()
        counts_sorted = np.bincount(flat, minlength=R * self.n_psu).reshape(R, self.n_psu)
        counts = np.empty_like(counts_sorted, dtype=np.float64)
        counts[:, self._order] = counts_sorted
        fac = counts * self._psu_scale()[self._psu_stratum][None, :]
        cert = self._certain[self._psu_stratum]
        if cert.any():
            fac[:, cert] = 1.0
        return fac

    def factors(self, rng, n_replicates):
        """Multiplicative factors on respondents' base weights, shape ``(R, n_units)``."""
        return self.psu_factors(rng, n_replicates)[:, self._unit_psu]

    def jackknife_factors(self, rng, n_blocks):
        """Delete-a-group jackknife over whole PSUs, shape ``(K, n_units)``.

        PSUs are assigned at random to ``K = min(n_blocks, n_psu)`` groups;
        replicate ``k`` gives factor 0 to every respondent of a PSU in group
        ``k`` and ``K / (K - 1)`` to all others, so clusters stay intact (used
        by alignstat's BCa acceleration).
        """
        rng = np.random.default_rng(rng)
        n_blocks = int(n_blocks)
        if n_blocks < 2:
            raise ValueError(f"`n_blocks` must be at least 2, got {n_blocks}.")
        if self.n_psu < 2:
            raise ValueError("the jackknife needs at least 2 PSUs.")
        k = min(n_blocks, self.n_psu)
        block = np.empty(self.n_psu, dtype=np.int64)
        block[rng.permutation(self.n_psu)] = np.arange(self.n_psu) % k
        unit_block = block[self._unit_psu]
        out = np.full((k, self.n_units), k / (k - 1.0))
        out[unit_block, np.arange(self.n_units)] = 0.0
        return out

    def __repr__(self):
        return (
            f"{type(self).__name__}(n_units={self.n_units}, n_strata={self.n_strata}, "
            f"n_psu={self.n_psu}, singleton={self.singleton!r})"
        )


class RaoWuScheme(_StratifiedScheme):
    """Rao--Wu rescaling bootstrap (``m_h = n_h - 1``; R survey ``subbootstrap``).

    Parameters
    ----------
    strata : array_like or None, shape (n,)
        Stratum of each respondent (None: one stratum).  For pooled countries
        pass country x stratum labels (e.g. ``cntry + "_" + stratum``).
    psu : array_like, shape (n,)
        Primary sampling unit of each respondent (the respondent itself when
        the design has no clusters).
    singleton : {"fail", "collapse", "certainty"}, default "fail"
        Treatment of strata with one PSU (see module notes).
    nest : bool, default True
        PSU ids are unique only within strata (R ``nest=TRUE``).

    Notes
    -----
    In replicate ``r`` stratum ``h`` draws ``n_h - 1`` of its ``n_h`` PSUs with
    replacement; PSU ``i`` drawn ``m*_hi`` times gets factor
    ``n_h / (n_h - 1) * m*_hi``.  With ``Var = 1/(R-1) sum_r (theta_r -
    mean)^2`` this reproduces, as ``R`` grows, the with-replacement
    stratified variance ``sum_h n_h/(n_h-1) sum_i (z_hi - zbar_h)^2`` of a
    linearised estimator (Rao & Wu 1988).
    """

    name = "rao-wu"

    def _draws_per_stratum(self):
        return self.psu_per_stratum - 1

    def _psu_scale(self):
        n_h = self.psu_per_stratum.astype(np.float64)
        return n_h / np.maximum(n_h - 1, 1)


class CantyDavisonScheme(_StratifiedScheme):
    """Canty--Davison bootstrap (``m_h = n_h``, factor = count; R survey ``bootstrap``).

    Parameters are those of :class:`RaoWuScheme`.

    Notes
    -----
    Resampling ``n_h`` of ``n_h`` PSUs underestimates the variance by the
    factor ``(n_h - 1) / n_h``; :meth:`variance_scale` corrects it with the
    harmonic mean ``hbar`` of ``n_h`` over strata:
    ``hbar / ((hbar - 1)(R - 1))`` -- exact when all strata have the same
    number of PSUs.
    """

    name = "canty-davison"

    def _draws_per_stratum(self):
        return self.psu_per_stratum.copy()

    def _psu_scale(self):
        return np.ones(self.n_strata)

    @property
    def harmonic_mean_psu(self):
        n_h = self.psu_per_stratum[~self._certain].astype(np.float64)
        return float(n_h.size / np.sum(1.0 / n_h))

    def variance_scale(self, n_replicates):
        h = self.harmonic_mean_psu
        return h / ((h - 1.0) * max(int(n_replicates) - 1, 1))


def stratified_variance(z, strata, psu):
    """With-replacement stratified variance of a total of linearised values.

    ``sum_h n_h/(n_h-1) sum_i (z_hi - zbar_h)^2`` with ``z_hi`` the sum of
    ``z`` over respondents of PSU ``i`` in stratum ``h`` (PSU ids nested in
    strata).  Strata with one PSU contribute nothing.  This is the
    closed-form (Taylor linearisation) variance that the Rao--Wu bootstrap
    approximates.
    """
    z = np.asarray(z, dtype=np.float64)
    s_code, _ = pd.factorize(pd.Series(strata).reset_index(drop=True), sort=True)
    p_code, _ = pd.factorize(pd.MultiIndex.from_arrays([s_code, pd.Series(psu).to_numpy()]), sort=True)
    zp = np.bincount(p_code, weights=z)
    sp = np.zeros(zp.size, dtype=np.int64)
    sp[p_code] = s_code
    H = int(s_code.max()) + 1
    n_h = np.bincount(sp, minlength=H).astype(np.float64)
    zbar = np.bincount(sp, weights=zp, minlength=H) / n_h
    ss = np.bincount(sp, weights=(zp - zbar[sp]) ** 2, minlength=H)
    ok = n_h > 1
    return float(np.sum(n_h[ok] / (n_h[ok] - 1) * ss[ok]))
