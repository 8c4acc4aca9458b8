"""Group alignment (the ESS paper's estimand) and its between-group spread, per posterior draw."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ._group import main_matrix

__all__ = ["GroupSet", "group_alignment_draws", "component_sds", "group_set"]


@dataclass(frozen=True)
class GroupSet:
    """The groups whose alignment is decomposed, and their composition.

    Attributes
    ----------
    component : list of str
        Component of each group (a main component or the interaction).
    level : list of str
        Level label of each group.
    M_m : ndarray, shape (G, p)
        Weighted mean of each group's rows of the main design (its
        composition): the group mean answer of outcome ``q`` is
        ``M_m @ beta_m[q] + M_c @ beta_c[q]``.
    M_c : ndarray, shape (G, c)
    n : ndarray, shape (G,)
        Respondents per group (unweighted).
    blocks : dict
        ``{component: slice of groups}``.
    inter_shape : tuple or None
        ``(I, J)`` of the interaction table, and ``inter_present`` marks its non-empty cells.
    """

    component: list
    level: list
    M_m: np.ndarray
    M_c: np.ndarray
    n: np.ndarray
    blocks: dict
    inter_name: str | None = None
    inter_shape: tuple | None = None
    inter_cells: np.ndarray | None = None  # flat cell index of each interaction group


def group_set(codes, sizes, names, labels, *, weights=None, inter=None, cell_codes=None):
    """Build the groups of every component (and interaction cells) with their weighted composition."""
    n = len(codes[0])
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    X = main_matrix(codes, sizes)
    c = int(np.prod(inter[3])) if inter is not None else 0
    Z = sp.csr_matrix((np.ones(n), (np.arange(n), cell_codes)), shape=(n, c)) if c else None
    comp, lev, Ms, Mc, ns, blocks = [], [], [], [], [], {}
    start = 0

    def add(name, g_codes, n_groups, labs, keep=None):
        nonlocal start
        G = sp.csr_matrix((w, (g_codes, np.arange(n))), shape=(n_groups, n))
        tot = np.asarray(G.sum(axis=1)).ravel()
        cnt = np.bincount(g_codes, minlength=n_groups)
        idx = np.flatnonzero(cnt > 0) if keep is None else keep
        Ms.append((G @ X).toarray()[idx] / tot[idx, None])
        Mc.append((G @ Z).toarray()[idx] / tot[idx, None] if c else np.zeros((len(idx), 0)))
        ns.append(cnt[idx])
        comp.extend([name] * len(idx))
        lev.extend([labs[i] for i in idx])
        blocks[name] = slice(start, start + len(idx))
        start += len(idx)
        return idx

    for k, name in enumerate(names):
        add(name, codes[k], sizes[k], labels[k])
    cells = None
    if c:
        a, b = inter[1], inter[2]
        la, lb = labels[names.index(a)], labels[names.index(b)]
        labs = [f"{x}|{y}" for x in la for y in lb]
        cells = add(inter[0], cell_codes, c, labs)
    return GroupSet(comp, lev, np.vstack(Ms), np.vstack(Mc), np.concatenate(ns), blocks,
                    inter[0] if c else None, tuple(inter[3]) if c else None, cells)


def group_alignment_draws(beta_m, beta_c, groups, target, coef, question_of, n_questions, *, chunk=32):
    """Alignment of every group with every model, per draw.

    Parameters
    ----------
    beta_m : ndarray, shape (S, O, p)
    beta_c : ndarray, shape (S, O, c)
    groups : GroupSet
    target : ndarray, shape (M, O)
        The model's value of each outcome on the rescaled answer scale (its
        mean answer for Likert; its cumulative probability for Wasserstein).
    coef : ndarray, shape (O,)
        Weight of each outcome's absolute difference (1 for Likert; the gap
        to the next position over the scale's span for Wasserstein).
    question_of : ndarray of int, shape (O,)
    n_questions : int

    Returns
    -------
    ndarray, shape (S, M, G)
        ``A_G = 1 - (1/Q) sum_o coef_o |m_{G,o} - target_o|``.
    """
    S = beta_m.shape[0]
    M = target.shape[0]
    out = np.empty((S, M, len(groups.component)))
    for lo in range(0, S, chunk):
        hi = min(S, lo + chunk)
        m = beta_m[lo:hi] @ groups.M_m.T  # s × O × G
        if groups.M_c.shape[1]:
            m = m + beta_c[lo:hi] @ groups.M_c.T
        for j in range(M):
            dev = np.abs(m - target[j][None, :, None]) * coef[None, :, None]
            out[lo:hi, j] = 1.0 - dev.sum(axis=1) / n_questions
    return out


def _interaction_residual_projector(groups):
    """Matrix mapping present cells' values to residuals from an additive (row + column) fit."""
    n_rows, J = groups.inter_shape
    cells = groups.inter_cells
    r, col = cells // J, cells % J
    D = np.column_stack([np.ones(len(cells))] + [(r == i).astype(float) for i in range(1, n_rows)]
                        + [(col == j).astype(float) for j in range(1, J)])
    H = D @ np.linalg.pinv(D)
    dof = len(cells) - np.linalg.matrix_rank(D)
    return np.eye(len(cells)) - H, int(dof)


def component_sds(A, groups):
    """Finite-population SD of the group alignments of each component.

    Parameters
    ----------
    A : ndarray, shape (..., G)

    Returns
    -------
    names : list of str
    sds : ndarray, shape (..., K)
        For a main component, the SD (``ddof=1``) of its groups' alignments;
        for the interaction, ``sqrt(sum r^2 / dof)`` with ``r`` the residuals
        of the cells' alignments from an additive row + column fit (double
        centring when every cell is present, ``dof = (I-1)(J-1)``).
    """
    names, out = [], []
    for name, sl in groups.blocks.items():
        x = A[..., sl]
        if name == groups.inter_name:
            E, dof = _interaction_residual_projector(groups)
            res = x @ E.T
            out.append(np.sqrt((res**2).sum(axis=-1) / max(dof, 1)))
        else:
            out.append(x.std(axis=-1, ddof=1) if x.shape[-1] > 1 else np.zeros(x.shape[:-1]))
        names.append(name)
    return names, np.stack(out, axis=-1)
