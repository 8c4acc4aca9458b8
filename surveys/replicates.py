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
by ``lonely_psu=``: ``"fail"`` (default; raises naming the strata),
``"collapse"`` (merge each with the next stratum in sorted order, the last
with the previous one -- the usual collapsed-strata approximation) or
``"certainty"`` (treat the PSU as selected with certainty: multiplier 1 in
every replicate, contributing no variance).

:func:`replicate_se` evaluates ratio estimators (means, shares, totals,
ratios of every question and domain at once) on the replicate weights of any
scheme, and :func:`jackknife_se` gives the delete-one-PSU jackknife
(JK1/JKn) in closed form from PSU totals.

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

from alignstat import ReplicateScheme

__all__ = ["RaoWuScheme", "CantyDavisonScheme", "replicate_scheme", "replicate_se", "jackknife_se"]

_LONELY = ("fail", "collapse", "certainty")


def _as_labels(values, name):
    arr = pd.Series(values) if not isinstance(values, pd.Series) else values
    if arr.isna().any():
        raise ValueError(f"`{name}` has {int(arr.isna().sum())} missing value(s); every respondent needs one.")
    return arr.reset_index(drop=True)


class _StratifiedScheme(ReplicateScheme):
    """Shared set-up: PSU codes, stratum of each PSU, singleton handling."""

    def __init__(self, strata, psu, *, lonely_psu="fail", nest=True, fpc=None):
        if lonely_psu not in _LONELY:
            raise ValueError(
                f"`lonely_psu` must be one of {_LONELY} for a bootstrap scheme, got {lonely_psu!r}."
            )
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
        self.lonely_psu = lonely_psu
        self.stratum_labels = np.asarray(s_labels)
        H = len(s_labels)
        n_h = np.bincount(psu_stratum, minlength=H)
        certain = np.zeros(H, dtype=bool)
        single = np.flatnonzero(n_h == 1)
        if single.size:
            if lonely_psu == "fail":
                shown = ", ".join(repr(x) for x in self.stratum_labels[single[:5]].tolist())
                raise ValueError(
                    f"{single.size} stratum/strata have a single PSU ({shown}"
                    f"{', ...' if single.size > 5 else ''}); choose `lonely_psu='collapse'` or "
                    "`lonely_psu='certainty'`."
                )
            if lonely_psu == "certainty":
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
        self._set_fpc(fpc, s_code, psu_stratum if single.size == 0 else None)
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

    def _rescale(self, counts):
        raise NotImplementedError

    def _set_fpc(self, fpc, s_code, psu_stratum):
        """Set the sampling fraction per stratum (0 without fpc) from a per-respondent ``fpc``."""
        self.sampling_fraction = np.zeros(self.n_strata)
        if fpc is None:
            return
        if psu_stratum is None:
            raise ValueError("a finite-population correction cannot be combined with collapsed strata.")
        f = np.asarray(fpc, dtype=np.float64)
        if f.shape != s_code.shape:
            raise ValueError(f"`fpc` must have one value per respondent ({s_code.size}), got shape {f.shape}.")
        frac = np.zeros(self.n_strata)
        frac[s_code] = f
        self.sampling_fraction = frac

    def psu_multipliers(self, rng, n_resamples):
        """Multipliers per PSU, shape ``(n_resamples, n_psu)``."""
        rng = np.random.default_rng(rng)
        R = _check_n_resamples(n_resamples, minimum=1)
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
        fac = self._rescale(counts)
        cert = self._certain[self._psu_stratum]
        if cert.any():
            fac[:, cert] = 1.0
        return fac

    def multipliers(self, rng, n_resamples):
        """Multipliers of respondents' base weights, shape ``(n_resamples, n_units)``."""
        return self.psu_multipliers(rng, n_resamples)[:, self._unit_psu]

    def jackknife_multipliers(self, rng, n_blocks):
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
            f"n_psu={self.n_psu}, lonely_psu={self.lonely_psu!r})"
        )


class RaoWuScheme(_StratifiedScheme):
    r"""Rao--Wu rescaling bootstrap (``m_h = n_h - 1``; R survey ``subbootstrap``).

    Parameters
    ----------
    strata : array_like or None, shape (n,)
        Stratum of each respondent (None: one stratum).  For pooled countries
        pass country x stratum labels (e.g. ``cntry + "_" + stratum``).
    psu : array_like, shape (n,)
        Primary sampling unit of each respondent (the respondent itself when
        the design has no clusters).
    lonely_psu : {"fail", "collapse", "certainty"}, default "fail"
        Treatment of strata with one PSU (see module notes).
    nest : bool, default True
        PSU ids are unique only within strata (R ``nest=TRUE``).
    fpc : array_like, optional
        Sampling fraction ``f_h`` of each respondent's stratum (PSUs sampled
        over PSUs in the population); none: sampling with replacement.

    Notes
    -----
    In replicate ``r`` stratum ``h`` draws ``m_h = n_h - 1`` of its ``n_h``
    PSUs with replacement; PSU ``i`` drawn ``m^*_{hi}`` times gets the
    multiplier

    .. math::

        1 - \lambda_h + \lambda_h \frac{n_h}{m_h} m^*_{hi}, \qquad
        \lambda_h = \sqrt{m_h (1 - f_h) / (n_h - 1)},

    which is ``n_h / (n_h - 1) m*_hi`` without fpc.  With ``Var = 1/(R-1)
    sum_r (theta_r - mean)^2`` this reproduces, as ``R`` grows, the
    stratified variance ``sum_h (1 - f_h) n_h/(n_h-1) sum_i (z_hi -
    zbar_h)^2`` of a linearised estimator (Rao & Wu 1988).

    Examples
    --------
    >>> import numpy as np, surveys
    >>> s = surveys.RaoWuScheme(["a", "a", "b", "b", "b"], [1, 2, 1, 2, 3])
    >>> m = s.multipliers(np.random.default_rng(0), 4)
    >>> m.shape, bool(np.allclose(m[:, :2].sum(axis=1), 2.0))
    ((4, 5), True)
    """

    name = "rao-wu"

    def _draws_per_stratum(self):
        return self.psu_per_stratum - 1

    def _rescale(self, counts):
        n_h = self.psu_per_stratum.astype(np.float64)
        m_h = np.maximum(n_h - 1, 1)
        lam = np.sqrt(m_h * (1.0 - self.sampling_fraction) / np.maximum(n_h - 1, 1))
        lam_p, n_p, m_p = (x[self._psu_stratum][None, :] for x in (lam, n_h, m_h))
        return 1.0 - lam_p + lam_p * (n_p / m_p) * counts


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

    def _set_fpc(self, fpc, s_code, psu_stratum):
        if fpc is not None:
            raise ValueError(
                "the Canty-Davison bootstrap takes no finite-population correction here; use "
                "se='rao-wu', se='jackknife' or se='linearization' for a design with fpc."
            )
        super()._set_fpc(None, s_code, psu_stratum)

    def _rescale(self, counts):
        return counts

    @property
    def harmonic_mean_psu(self):
        """Harmonic mean of the numbers of PSUs per stratum (certainty strata left out)."""
        n_h = self.psu_per_stratum[~self._certain].astype(np.float64)
        return float(n_h.size / np.sum(1.0 / n_h))

    def variance_scale(self, n_resamples):
        """``hbar / ((hbar - 1)(R - 1))`` (R ``survey::bootweights``)."""
        h = self.harmonic_mean_psu
        return h / ((h - 1.0) * max(int(n_resamples) - 1, 1))


def replicate_scheme(data, method="rao-wu", *, profile=None):
    """Replicate scheme of a survey design, for :func:`alignstat.bootstrap_alignment` and the estimators.

    Parameters
    ----------
    data : Design, SurveyData or SyntheticSurvey
        A :class:`surveys.Design`, or data with a survey profile whose design
        (:func:`surveys.design`) is used.  A plain DataFrame is an error: its
        strata and PSUs would be unknown.
    method : {"rao-wu", "canty-davison"}
        Rao--Wu rescaling bootstrap or Canty--Davison bootstrap.
    profile : str or Profile, optional
        Profile of data that carries none.

    Returns
    -------
    RaoWuScheme or CantyDavisonScheme
        Over the rows of the data in their order (the rows of
        :func:`surveys.responses`), with the design's strata, PSUs, fpc
        (Rao--Wu) and lonely-PSU rule.

    Examples
    --------
    >>> import surveys
    >>> s = surveys.make_ess(2_000, 3, 5, rng=0)
    >>> surveys.replicate_scheme(s).n_units
    2000
    """
    from .designs import Design, design

    if method not in ("rao-wu", "canty-davison"):
        raise ValueError(
            f"`method` must be 'rao-wu' or 'canty-davison', got {method!r} (the jackknife is "
            "computed in closed form by se='jackknife')."
        )
    if not isinstance(data, Design):
        if isinstance(data, pd.DataFrame) and profile is None:
            raise TypeError(
                "replicate_scheme needs the survey design: pass surveys.Design(data, weights=..., "
                "strata=..., psu=...) or data with a profile (profile='ess', 'wvs7')."
            )
        data = design(data, profile=profile)
    lonely = data.lonely_psu
    if lonely in ("adjust", "average") and data.lonely_strata().size:
        raise ValueError(
            f"the design's lonely_psu={lonely!r} has no bootstrap analogue; strata "
            f"{data.lonely_strata()[:5].tolist()} have one PSU -- use lonely_psu='certainty' or "
            "'collapse', or se='linearization'."
        )
    fpc = data.sampling_fraction[data.strata_codes] if data.has_fpc else None
    cls = RaoWuScheme if method == "rao-wu" else CantyDavisonScheme
    return cls(data.strata_codes, data.psu_codes, lonely_psu=lonely if lonely in _LONELY else "fail", fpc=fpc)


def _check_n_resamples(n_resamples, minimum=2):
    """``n_resamples`` as an int; a float such as 2.7 or a bool is an error, never truncated."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(
            f"`n_resamples` must be an integer (a number of replicates), got {n_resamples!r}."
        )
    if n_resamples < minimum:
        raise ValueError(f"`n_resamples` must be at least {minimum}, got {n_resamples}.")
    return int(n_resamples)


def replicate_se(scheme, rng, n_resamples, w, targets, *, chunk_bytes=64 << 20):
    r"""Replicate standard errors of ratio estimators, all sharing the same replicates.

    Parameters
    ----------
    scheme : alignstat.ReplicateScheme
        Supplies multipliers of the base weights (``scheme.multipliers``).
    rng : numpy.random.Generator
    n_resamples : int
        Number of replicates ``R``.
    w : numpy.ndarray, shape (n,)
        Base weights.
    targets : surveys.designs.Targets
        Numerator and denominator matrices of the estimators.
    chunk_bytes : int
        Memory of one chunk of replicate weights.

    Returns
    -------
    se : numpy.ndarray
        Standard error of each estimate (NaN where fewer than two replicates
        define it).
    n_valid : numpy.ndarray of int
        Replicates in which each estimate was defined.

    Notes
    -----
    With replicate estimates :math:`\hat\theta_r` around their mean
    :math:`\bar\theta` (R ``survey``'s default ``mse = FALSE``)

    .. math::

        \widehat{V} = c \sum_r (\hat\theta_r - \bar\theta)^2,

    ``c`` the scheme's ``variance_scale``.  Deviations are accumulated from
    the full-sample estimate for numerical stability.
    """
    R = _check_n_resamples(n_resamples)
    n = w.shape[0]
    est = targets.estimate
    step = max(1, min(R, chunk_bytes // max(8 * n, 1)))
    s1, s2 = np.zeros_like(est), np.zeros_like(est)
    m = np.zeros(est.shape, dtype=np.int64)
    reset = getattr(scheme, "reset", None)
    if callable(reset):
        reset()
    multipliers = scheme.multipliers
    done = 0
    while done < R:
        r = min(step, R - done)
        F = np.asarray(multipliers(rng, r), dtype=np.float64)
        if F.shape != (r, n):
            raise ValueError(f"the replicate scheme returned multipliers of shape {F.shape}, expected {(r, n)}.")
        th = targets.evaluate(F * w[None, :])
        ok = np.isfinite(th)
        d = np.where(ok, th - est[None, :], 0.0)
        s1 += d.sum(axis=0)
        s2 += (d * d).sum(axis=0)
        m += ok.sum(axis=0)
        done += r
    var = np.full(est.shape, np.nan)
    good = m >= 2
    ss = s2[good] - s1[good] ** 2 / m[good]
    scales = {int(k): scheme.variance_scale(int(k)) for k in np.unique(m[good])}
    var[good] = np.maximum(ss, 0.0) * np.array([scales[int(k)] for k in m[good]])
    return np.sqrt(var), m


def jackknife_se(design, targets):
    r"""Delete-one-PSU jackknife (JK1 without strata, JKn with) in closed form.

    Parameters
    ----------
    design : surveys.Design
    targets : surveys.designs.Targets

    Returns
    -------
    se : numpy.ndarray
    n_valid : numpy.ndarray of int
        Number of replicates (PSUs in strata with at least two PSUs).

    Notes
    -----
    Deleting PSU ``i`` of stratum ``h`` multiplies the weights of the other
    PSUs of ``h`` by ``n_h/(n_h-1)``, so with PSU totals ``a_hi``, ``b_hi``
    and stratum totals ``A_h``, ``B_h`` of numerator and denominator the
    replicate estimate is

    .. math::

        \hat\theta_{(hi)} = \frac{A - A_h + (A_h - a_{hi}) n_h/(n_h-1)}
                                   {B - B_h + (B_h - b_{hi}) n_h/(n_h-1)}

    and

    .. math::

        \widehat{V} = \sum_h (1 - f_h) \frac{n_h - 1}{n_h}
                     \sum_i (\hat\theta_{(hi)} - \bar\theta_h)^2

    (Wolter 2007, ch. 4), centred at the stratum means of the replicates;
    for a total it equals the linearisation variance exactly.  Strata with
    one PSU contribute nothing under ``lonely_psu="certainty"`` and raise
    under ``"fail"``; ``"adjust"`` and ``"average"`` are not defined for the
    jackknife and raise.

    References
    ----------
    Wolter, K. M. (2007). *Introduction to Variance Estimation*, 2nd ed. Springer.
    """
    import scipy.sparse as sparse

    design._check_lonely(jackknife=True)
    H, nc = design.n_strata, targets.n_columns
    n_h = design.psu_per_stratum.astype(np.float64)
    ok_h = n_h > 1
    k_h = np.where(ok_h, n_h / np.maximum(n_h - 1, 1), 1.0)
    a = targets.psu_numerator(design).tocoo()
    b = targets.psu_denominator(design)
    keys_a = a.row.astype(np.int64) * nc + a.col
    if b is None:
        keys = keys_a
        uk, inv = np.unique(keys, return_inverse=True)
        av = np.bincount(inv, weights=a.data, minlength=uk.size)
        bv = np.zeros(uk.size)
    else:
        b = b.tocoo()
        keys_b = b.row.astype(np.int64) * nc + b.col
        uk, inv = np.unique(np.concatenate([keys_a, keys_b]), return_inverse=True)
        av = np.bincount(inv[: keys_a.size], weights=a.data, minlength=uk.size)
        bv = np.bincount(inv[keys_a.size:], weights=b.data, minlength=uk.size)
    p_of, c_of = uk // nc, uk % nc
    h_of = design.psu_stratum[p_of]
    hc = h_of * nc + c_of
    A_h = np.bincount(hc, weights=av, minlength=H * nc).reshape(H, nc)
    A = A_h.sum(axis=0)
    if b is None:
        B_h, B = np.zeros((H, nc)), np.ones(nc)
    else:
        B_h = np.bincount(hc, weights=bv, minlength=H * nc).reshape(H, nc)
        B = B_h.sum(axis=0)
    est = targets.estimate
    kh = k_h[:, None]

    def theta(Ah_minus_a, Bh_minus_b, Ah, Bh):
        num = A[None, :] - Ah + Ah_minus_a * kh
        if b is None:
            return num
        den = B[None, :] - Bh + Bh_minus_b * kh
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den

    # replicate of a PSU with no entries for a column (a = b = 0)
    d0 = theta(A_h, B_h, A_h, B_h) - est[None, :]
    kn = k_h[h_of][:, None][:, 0]
    num_nz = A[c_of] - A_h[h_of, c_of] + (A_h[h_of, c_of] - av) * kn
    if b is None:
        th_nz = num_nz
    else:
        den_nz = B[c_of] - B_h[h_of, c_of] + (B_h[h_of, c_of] - bv) * kn
        with np.errstate(invalid="ignore", divide="ignore"):
            th_nz = num_nz / den_nz
    d_nz = th_nz - est[c_of]
    bad = ~np.isfinite(d_nz)
    nnz = np.bincount(hc, minlength=H * nc).reshape(H, nc).astype(np.float64)
    s1 = np.bincount(hc, weights=np.where(bad, 0.0, d_nz), minlength=H * nc).reshape(H, nc)
    s2 = np.bincount(hc, weights=np.where(bad, 0.0, d_nz) ** 2, minlength=H * nc).reshape(H, nc)
    nbad = np.bincount(hc, weights=bad.astype(np.float64), minlength=H * nc).reshape(H, nc)
    nzero = n_h[:, None] - nnz
    d0f = np.where(np.isfinite(d0), d0, 0.0)
    bad0 = ~np.isfinite(d0) & (nzero > 0)
    S1 = s1 + nzero * d0f
    S2 = s2 + nzero * d0f**2
    m_h = n_h[:, None] - nbad - np.where(bad0, nzero, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.where(m_h > 0, S2 - S1**2 / np.where(m_h > 0, m_h, 1.0), 0.0)
    fac = np.where(ok_h, (1.0 - design.sampling_fraction) * (n_h - 1) / n_h, 0.0)[:, None]
    var = (np.maximum(ss, 0.0) * fac).sum(axis=0)
    undefined = ((bad0 | (nbad > 0)) & ok_h[:, None]).any(axis=0)
    var[undefined] = np.nan
    n_valid = np.full(nc, int(n_h[ok_h].sum()), dtype=np.int64)
    del sparse
    return np.sqrt(var), n_valid
