"""Design of the crossed random-effects model and its exact sufficient statistics.

The Gaussian likelihood of ``y = X b + e`` (``e ~ N(0, sigma^2 W^-1)``) depends on
the data only through ``X'WX``, ``X'Wy`` and ``y'Wy``.  With the eigen
decomposition ``X'WX = U D U'`` (``d > 0``) and

    R = D^(1/2) U',   z = D^(-1/2) U' X'Wy,   rss0 = y'Wy - z'z,

the log-likelihood equals, up to a constant that does not depend on ``b`` or
``sigma``, ``log N(z | R b, sigma^2 I) + log Gamma(rss0 | (n - r)/2, 1/(2 sigma^2))``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

__all__ = ["Component", "Design", "SufficientStats", "build_design", "compress", "prior_blocks", "sufficient_stats"]


@dataclass(frozen=True)
class Component:
    """One block of random effects.

    Attributes
    ----------
    name : str
        Component name (a factor column, ``"country:religion"`` for an interaction).
    labels : tuple of str
        Level labels, in column order.  For an interaction, ``"a|b"``.
    parents : tuple of str
        The factor(s) the block is built from (one for a main effect, two for an
        interaction).
    shape : tuple of int
        Levels per parent; the block has ``prod(shape)`` columns.
    start : int
        First column of the block in the design matrix (column 0 is the intercept).
    """

    name: str
    labels: tuple
    parents: tuple
    shape: tuple
    start: int

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def columns(self) -> slice:
        return slice(self.start, self.start + self.size)

    @property
    def dof(self) -> int:
        """Degrees of freedom of the centred effects: ``prod(L_j - 1)``."""
        return int(np.prod([s - 1 for s in self.shape]))

    def zero_sum_basis(self) -> np.ndarray:
        """Orthonormal basis ``Q`` (size × dof) of the (double-)centred subspace."""
        qs = [_helmert_basis(s) for s in self.shape]
        out = qs[0]
        for q in qs[1:]:
            out = np.kron(out, q)
        return out


def _helmert_basis(n: int) -> np.ndarray:
    """Orthonormal ``n × (n-1)`` basis of the vectors summing to zero."""
    if n < 2:
        return np.zeros((n, 0))
    # Orthonormal complement of the constant vector via QR of [1, I].
    m = np.column_stack([np.ones(n), np.eye(n)[:, : n - 1]])
    q, _ = np.linalg.qr(m)
    return q[:, 1:n]


@dataclass(frozen=True)
class Design:
    """Codes of every row for every component, plus row weights.

    Attributes
    ----------
    components : list of Component
    codes : ndarray of int, shape (n, K)
        Column ``k`` holds the level index (within the block) of component ``k``.
    weights : ndarray, shape (n,)
        Row weights normalised to mean 1 (all ones when unweighted).
    """

    components: list
    codes: np.ndarray
    weights: np.ndarray

    @property
    def n_rows(self) -> int:
        return int(self.codes.shape[0])

    @property
    def n_columns(self) -> int:
        return 1 + sum(c.size for c in self.components)

    @property
    def names(self) -> list:
        return [c.name for c in self.components]

    def matrix(self, *, scaled: bool = True) -> sp.csr_matrix:
        """Sparse one-hot design ``X`` (intercept first); rows scaled by ``sqrt(w)``."""
        n, k = self.codes.shape
        cols = np.empty((n, k + 1), dtype=np.int64)
        cols[:, 0] = 0
        for j, comp in enumerate(self.components):
            cols[:, j + 1] = comp.start + self.codes[:, j]
        rows = np.repeat(np.arange(n), k + 1)
        vals = np.sqrt(self.weights) if scaled else np.ones(n)
        vals = np.repeat(vals, k + 1)
        return sp.csr_matrix((vals, (rows, cols.ravel())), shape=(n, self.n_columns))


def build_design(level_codes: dict, level_labels: dict, *, interactions=(), weights=None) -> Design:
    """Assemble the components from per-factor integer codes.

    Parameters
    ----------
    level_codes : dict of str -> ndarray of int, shape (n,)
        Level index (0 … L-1) of each row for each main-effect factor, in order.
    level_labels : dict of str -> sequence of str
        Labels of the levels of each factor.
    interactions : sequence of (str, str), optional
        Pairs of factors whose crossed (double-centred) effects are added.
    weights : ndarray, shape (n,), optional
        Row weights; normalised to mean 1.
    """
    names = list(level_codes)
    n = len(next(iter(level_codes.values())))
    comps, codes = [], []
    start = 1
    for name in names:
        labels = tuple(str(v) for v in level_labels[name])
        comps.append(Component(name, labels, (name,), (len(labels),), start))
        codes.append(np.asarray(level_codes[name], dtype=np.int64))
        start += len(labels)
    for a, b in interactions:
        la, lb = comps[names.index(a)].labels, comps[names.index(b)].labels
        labels = tuple(f"{x}|{y}" for x in la for y in lb)
        comps.append(Component(f"{a}:{b}", labels, (a, b), (len(la), len(lb)), start))
        codes.append(codes[names.index(a)] * len(lb) + codes[names.index(b)])
        start += len(labels)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    w = w / w.mean()
    return Design(comps, np.column_stack(codes), w)


@dataclass(frozen=True)
class SufficientStats:
    """Exact compression of a Gaussian crossed design (see module docstring).

    Attributes
    ----------
    R : ndarray, shape (r, p)
    z : ndarray, shape (r,)
    rss0 : float
        Weighted residual sum of squares after projecting on the column space of X.
    n : float
        Sum of the (mean-1) weights, i.e. the number of rows.
    XtX : ndarray, shape (p, p)
        ``X'WX`` (used for variance-explained summaries).
    y_mean, y_sd : float
        Weighted mean and SD of the outcome.
    """

    R: np.ndarray
    z: np.ndarray
    rss0: float
    n: float
    XtX: np.ndarray
    y_mean: float
    y_sd: float
    extra: dict = field(default_factory=dict)

    @property
    def rank(self) -> int:
        return int(self.R.shape[0])


def sufficient_stats(design: Design, y: np.ndarray, *, X=None) -> SufficientStats:
    """Compress ``(X, y, w)`` to ``(R, z, rss0)`` exactly."""
    y = np.asarray(y, dtype=float)
    if X is None:
        X = design.matrix(scaled=True)
    sw = np.sqrt(design.weights)
    ys = y * sw
    XtX = np.asarray((X.T @ X).toarray())
    Xty = np.asarray(X.T @ ys).ravel()
    yty = float(ys @ ys)
    return compress(XtX, Xty, yty, n=float(design.weights.sum()), y_mean=float(np.average(y, weights=design.weights)),
                    y_sd=float(np.sqrt(np.average((y - np.average(y, weights=design.weights)) ** 2, weights=design.weights))))


def compress(XtX, Xty, yty, *, n, y_mean=0.0, y_sd=1.0, tol=1e-9) -> SufficientStats:
    """Reduce cross-products to ``(R, z, rss0)``."""
    d, U = np.linalg.eigh(XtX)
    keep = d > tol * d.max()
    d, U = d[keep], U[:, keep]
    R = np.sqrt(d)[:, None] * U.T
    z = (U.T @ Xty) / np.sqrt(d)
    rss0 = max(float(yty - z @ z), 0.0)
    return SufficientStats(R=R, z=z, rss0=rss0, n=float(n), XtX=XtX, y_mean=y_mean, y_sd=y_sd)


def prior_blocks(design: Design, stats: SufficientStats) -> tuple:
    """Per-component marginal covariance blocks ``A_k = R_k P_k R_k'`` and ``a0 = R[:, 0]``.

    ``P_k = Q_k Q_k'`` is the projector on the (double-)centred subspace, so the
    zero-sum effects ``b_k = sigma_k Q_k eta_k`` (``eta_k ~ N(0, I)``) contribute
    ``sigma_k^2 A_k`` to ``Cov(z)``.
    """
    R = stats.R
    A = np.empty((len(design.components), R.shape[0], R.shape[0]))
    for k, comp in enumerate(design.components):
        G = R[:, comp.columns] @ comp.zero_sum_basis()
        A[k] = G @ G.T
    return A, R[:, 0].copy()
